"""App configuration for ``realtime``: validates settings, registers system checks, connects user rechecks."""

from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class RealtimeConfig(AppConfig):
    name = "realtime"
    verbose_name = "Realtime"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from realtime import checks  # noqa: F401  (registers the system checks)
        from realtime.conf import realtime_settings
        from realtime.tracking import connect_user_rechecks

        realtime_settings.validate()
        connect_user_rechecks()
        # Every installed app's live.py, like the admin's admin.py.
        autodiscover_modules("live")

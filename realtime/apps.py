"""App configuration for ``realtime``: settings validated, system checks, user rechecks and the query counter."""

from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class RealtimeConfig(AppConfig):
    name = "realtime"
    verbose_name = "Realtime"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from realtime import checks  # noqa: F401  (registers the system checks)
        from realtime.conf import realtime_settings
        from realtime.metrics import count_queries
        from realtime.tracking import connect_user_rechecks

        realtime_settings.validate()
        connect_user_rechecks()
        connection_created.connect(count_queries, dispatch_uid="realtime.metrics.count_queries")
        # Every installed app's live.py, like the admin's admin.py.
        autodiscover_modules("live")

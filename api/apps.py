"""App configuration for the demo domain: connects the sharing notifications (``live.py`` is autodiscovered)."""

from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "Demo API"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from api import sharing  # noqa: F401  (signal receivers; api/live.py is found by realtime)

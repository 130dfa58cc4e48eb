"""App configuration for the demo domain: registers ``Foo`` as live and the sharing notifications."""

from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "Demo API"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from api import live, sharing  # noqa: F401  (registration and signal receivers)

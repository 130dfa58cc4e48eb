"""App configuration for the demo domain."""

from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "Demo API"
    default_auto_field = "django.db.models.BigAutoField"

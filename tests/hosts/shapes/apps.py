"""App configuration of the shapes test host app."""

from django.apps import AppConfig


class ShapesConfig(AppConfig):
    name = "tests.hosts.shapes"
    label = "shapes"
    default_auto_field = "django.db.models.BigAutoField"

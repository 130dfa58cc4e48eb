"""App configuration of ``people``."""

from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "tests.hosts.custom_user.people"
    label = "people"
    default_auto_field = "django.db.models.BigAutoField"

"""App configuration of ``board``."""

from django.apps import AppConfig


class BoardConfig(AppConfig):
    name = "tests.hosts.no_hashids.board"
    label = "board"
    default_auto_field = "django.db.models.BigAutoField"

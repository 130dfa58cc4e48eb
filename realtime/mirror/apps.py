"""App configuration for ``realtime.mirror``: the follower's stored positions."""

from django.apps import AppConfig


class MirrorConfig(AppConfig):
    name = "realtime.mirror"
    label = "realtime_mirror"
    verbose_name = "Mirror (following another service)"
    default_auto_field = "django.db.models.BigAutoField"

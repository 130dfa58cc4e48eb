"""App configuration for ``realtime.push``: hooks the outbox into the notification log."""

from django.apps import AppConfig


class PushConfig(AppConfig):
    name = "realtime.push"
    label = "push"
    verbose_name = "Push delivery"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from realtime.push import outbox

        outbox.connect()

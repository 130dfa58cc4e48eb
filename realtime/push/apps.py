"""App configuration for ``realtime.push``: hooks the outbox into the notification log, checks provider settings."""

from django.apps import AppConfig


class PushConfig(AppConfig):
    name = "realtime.push"
    label = "push"
    verbose_name = "Push delivery"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from realtime.push import outbox
        from realtime.push.backends import get_backends

        outbox.connect()
        for backend in get_backends().values():
            backend.check()  # a malformed key or half-done provider set-up fails here, in every process

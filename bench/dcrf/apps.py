"""App configuration of the DCRF reference."""

from django.apps import AppConfig


class DcrfReferenceConfig(AppConfig):
    name = "bench.dcrf"
    label = "bench_dcrf"
    default_auto_field = "django.db.models.BigAutoField"

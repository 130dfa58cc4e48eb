"""App configuration of ``shop``."""

from django.apps import AppConfig


class ShopConfig(AppConfig):
    name = "tests.hosts.no_authtoken.shop"
    label = "shop"
    default_auto_field = "django.db.models.BigAutoField"

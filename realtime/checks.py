"""Django system checks of the realtime app (``manage.py check``, and every start-up of a management command).

Each message names the setting at fault and how to fix it. Declaration
mistakes in a ``live.py`` fail earlier, at registration, with
``ImproperlyConfigured`` (``realtime.registry``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.http.request import validate_host
from django.urls import NoReverseMatch, reverse

from realtime.conf import realtime_settings


@register(Tags.security)
def check_allowed_hosts(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``ALLOWED_HOSTS = ["*"]`` lets any ``Host`` through, and so any site origin for the WebSocket check."""
    if "*" not in settings.ALLOWED_HOSTS:
        return []
    return [
        Warning(
            "ALLOWED_HOSTS contains '*': every Host header is accepted, so a WebSocket handshake from any origin "
            "that names itself as the Host (DNS rebinding) passes the same-origin check.",
            hint="List the host names you serve in ALLOWED_HOSTS, e.g. ['example.com', 'www.example.com'].",
            id="realtime.W001",
        )
    ]


@register()
def check_channel_layer(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The consumer and the publisher need a default channel layer."""
    layers = getattr(settings, "CHANNEL_LAYERS", None) or {}
    if layers.get("default", {}).get("BACKEND"):
        return []
    return [
        Error(
            "CHANNEL_LAYERS has no 'default' layer: live events cannot be published and sockets cannot subscribe.",
            hint="For one process: CHANNEL_LAYERS = {'default': {'BACKEND': 'channels.layers.InMemoryChannelLayer'}}; "
            "for several: channels_redis.pubsub.RedisPubSubChannelLayer with CONFIG {'hosts': [REDIS_URL]} "
            "(pip install django-realtime-subscriptions[redis]).",
            id="realtime.E001",
        )
    ]


@register(Tags.urls)
def check_urls(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``realtime.urls`` must be mounted: the notification log, tickets and the ``history`` links live there."""
    try:
        reverse("realtime:notification-log")
    except NoReverseMatch:
        return [
            Error(
                "realtime.urls is not mounted: GET /.../notifications/ (replay over REST) and the WebSocket ticket "
                "endpoint do not exist, and subscribe replies cannot link to the history.",
                hint="Add path('api/', include('realtime.urls')) to your ROOT_URLCONF.",
                id="realtime.E002",
            )
        ]
    except Exception:  # a broken URLconf is reported by Django's own checks
        return []
    return []


@register()
def check_base_url(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``REALTIME["BASE_URL"]`` must be an absolute URL on one of ``ALLOWED_HOSTS``; hyperlinked payloads need it."""
    from realtime.registry import registry

    base_url = realtime_settings.BASE_URL
    messages: list[CheckMessage] = []
    if base_url:
        parts = urlsplit(base_url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            messages.append(
                Error(
                    f"REALTIME['BASE_URL'] = {base_url!r} is not an absolute http(s) URL.",
                    hint="Set it to the address clients reach the API at, e.g. 'https://api.example.com'.",
                    id="realtime.E003",
                )
            )
        elif not validate_host(parts.hostname, settings.ALLOWED_HOSTS or [".localhost", "127.0.0.1", "[::1]"]):
            messages.append(
                Error(
                    f"REALTIME['BASE_URL'] names host {parts.hostname!r}, which is not in ALLOWED_HOSTS: rendering "
                    f"hyperlinked payloads would fail.",
                    hint=f"Add {parts.hostname!r} to ALLOWED_HOSTS, or correct BASE_URL.",
                    id="realtime.E004",
                )
            )
        return messages
    for live in registry.declarations():
        if _renders_urls(live.serializer_class):
            messages.append(
                Warning(
                    f"{live.serializer_class.__name__} (live type {live.object_type!r}) renders hyperlinks, but "
                    f"REALTIME['BASE_URL'] is not set: event payloads carry relative URLs where REST responses "
                    f"carry absolute ones.",
                    hint="Set REALTIME['BASE_URL'] to the address clients reach the API at.",
                    id="realtime.W002",
                )
            )
    return messages


@register()
def check_authentication_classes(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The handshake authenticates with ``REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"]``: each must work."""
    from django.apps import apps
    from rest_framework.authentication import TokenAuthentication
    from rest_framework.settings import api_settings

    try:
        classes = api_settings.DEFAULT_AUTHENTICATION_CLASSES
    except ImportError as exc:
        return [
            Error(
                f"REST_FRAMEWORK['DEFAULT_AUTHENTICATION_CLASSES'] cannot be imported ({exc}): no REST request and "
                f"no WebSocket handshake can be authenticated.",
                hint="Correct the dotted path, or install the package that provides the class.",
                id="realtime.E006",
            )
        ]
    return [
        Error(
            f"REST_FRAMEWORK['DEFAULT_AUTHENTICATION_CLASSES'] lists {cls.__module__}.{cls.__name__}, but "
            f"'rest_framework.authtoken' is not in INSTALLED_APPS: a request or WebSocket handshake with an "
            f"'Authorization: Token ...' header would fail with a server error.",
            hint="Add 'rest_framework.authtoken' to INSTALLED_APPS (then migrate), or remove the class.",
            id="realtime.E005",
        )
        for cls in classes
        if issubclass(cls, TokenAuthentication)
        and cls.model is None
        and not apps.is_installed("rest_framework.authtoken")
    ]


def _renders_urls(serializer_class: Any) -> bool:
    from rest_framework.relations import HyperlinkedIdentityField, HyperlinkedRelatedField, ManyRelatedField

    try:
        fields = serializer_class().fields.values()
    except Exception:
        return False
    for field in fields:
        inner = field.child_relation if isinstance(field, ManyRelatedField) else field
        if isinstance(inner, HyperlinkedRelatedField | HyperlinkedIdentityField):
            return True
    return False


@register()
def check_send_buffer(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``REALTIME["SEND_BUFFER_BYTES"]`` must be at least 1: on daphne it is also how much a socket's read asks
    for (``realtime.transport``), and a read of 0 bytes would never get a client's frame."""
    size = realtime_settings.SEND_BUFFER_BYTES
    if size >= 1:
        return []
    return [
        Error(
            f"REALTIME['SEND_BUFFER_BYTES'] = {size!r}: on daphne it is also the size of each read of a socket, "
            f"so no client's frame could be read.",
            hint="Set it to the bytes that may wait to be sent to one socket (the default is 262144).",
            id="realtime.E007",
        )
    ]

"""Settings of the realtime app, with defaults, read from ``settings.REALTIME``.

``settings.REALTIME`` is a dict that a project sets in its ``settings.py``,
like DRF's ``REST_FRAMEWORK``. The demo project fills it from ``REALTIME_*``
environment variables, so values may arrive as strings; they are coerced to
the type of their default. An unknown key is a start-up error that lists the
valid ones (a typo must not silently fall back to a default). Every key is
documented in ``docs/settings.md``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver

DEFAULTS: dict[str, Any] = {
    # Connections
    "ALLOW_ANONYMOUS": False,
    "ALLOWED_ORIGINS": (),
    "MAX_SUBSCRIPTIONS": 100,
    "MAX_FRAME_BYTES": 16 * 1024,
    "RATE_LIMIT": 20.0,
    "RATE_BURST": 40,
    "MAX_SOCKETS_PER_USER": 20,
    "USER_RATE_LIMIT": 50.0,
    "USER_RATE_BURST": 100,
    "SEND_BUFFER_BYTES": 256 * 1024,
    "SEND_TIMEOUT": 10.0,
    "DB_THREADS": 0,
    "ADMISSION_LIMIT": 50,
    "ADMISSION_WAIT": 2.0,
    "GC_FREEZE": True,
    # Log and recovery
    "REPLAY_LIMIT": 1000,
    "LIST_MAX_MEMBERS": 1000,
    "REPLAY_BUDGET": 10_000,
    "REPLAY_RATE": 1000.0,
    "LOG_CACHE_BYTES": 16 * 1024 * 1024,
    "SNAPSHOT_CHECKS": True,
    "REST_PAGE_SIZE": 100,
    "REST_MAX_PAGE_SIZE": 1000,
    "RETENTION_DAYS": 30,
    "RETENTION_MAX_PER_STREAM": 10_000,
    # Channel layer
    "GROUP_PREFIX": "rt",
    "SYNC_INTERVAL": 5.0,
    "RECONNECT_AFTER_MS": 250,
    "RECONNECT_SPREAD_MS": 3000,
    # Payloads
    "BASE_URL": "",
    # Auth
    "TICKET_TTL": 30,
    # Push queue and worker (realtime.push; docs/push.md)
    "PUSH_BATCH_SIZE": 20,
    "PUSH_LEASE_SECONDS": 60.0,
    "PUSH_IDLE_SECONDS": 1.0,
    "PUSH_MAX_ATTEMPTS": 10,
    "PUSH_BACKOFF_BASE": 10.0,
    "PUSH_BACKOFF_MAX": 6 * 3600.0,
    "PUSH_TIMEOUT": 10.0,
    "PUSH_TTL": 24 * 3600,
    "PUSH_REQUIRE_HTTPS": True,
    # CIDRs that webhook URLs and Web Push endpoints may reach although they are not public (docs/push.md)
    "PUSH_ALLOWED_INTERNAL_NETWORKS": "",
    "PUSH_WEBPUSH_HOSTS": (
        "fcm.googleapis.com,updates.push.services.mozilla.com,push.services.mozilla.com,notify.windows.com,push.apple.com"
    ),
    "PUSH_VAPID_PRIVATE_KEY": "",
    "PUSH_VAPID_SUBJECT": "",
    "PUSH_FCM_CREDENTIALS": "",
    "PUSH_FCM_PROJECT_ID": "",
    "PUSH_FCM_ENDPOINT": "https://fcm.googleapis.com",
    "PUSH_FCM_TOKEN_URL": "",
    "PUSH_APNS_KEY": "",
    "PUSH_APNS_KEY_ID": "",
    "PUSH_APNS_TEAM_ID": "",
    "PUSH_APNS_TOPIC": "",
    "PUSH_APNS_ENDPOINT": "https://api.push.apple.com",
    # Operations: dotted path of a callable returning the push queue depth, for /metrics ("" = not exported)
    "PUSH_QUEUE_DEPTH": "",
    # Operations: the bearer token /metrics requires ("" = public with DEBUG on, refused with DEBUG off)
    "METRICS_TOKEN": "",
}


class RealtimeSettings:
    """Attribute access to the realtime settings: ``realtime_settings.REPLAY_LIMIT``."""

    def __init__(self) -> None:
        self._cache: dict[str, Any] | None = None

    def _load(self) -> dict[str, Any]:
        configured = getattr(settings, "REALTIME", {}) or {}
        unknown = sorted(set(configured) - set(DEFAULTS))
        if unknown:
            raise ImproperlyConfigured(
                f"Unknown realtime setting(s) {', '.join(unknown)} (from REALTIME / REALTIME_* variables). "
                f"Valid keys: {', '.join(sorted(DEFAULTS))}."
            )
        values = dict(DEFAULTS)
        for key, raw in configured.items():
            values[key] = _coerce(key, raw, DEFAULTS[key])
        return values

    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(name)
        if self._cache is None:
            self._cache = self._load()
        return self._cache[name]

    def validate(self) -> None:
        """Load now, so a bad value fails at start-up rather than on first use."""
        self._cache = self._load()

    def reload(self) -> None:
        self._cache = None


def _coerce(key: str, raw: Any, default: Any) -> Any:
    kind = type(default)
    if kind is tuple:
        # A list setting: a list/tuple in settings.REALTIME, or comma-separated text from the environment.
        items = raw.split(",") if isinstance(raw, str) else raw
        if not isinstance(items, list | tuple) or not all(isinstance(item, str) for item in items):
            raise ImproperlyConfigured(f"Realtime setting {key}={raw!r} must be a list of strings.")
        return tuple(item.strip() for item in items if item.strip())
    if isinstance(raw, kind) and not (kind is int and isinstance(raw, bool)):
        return raw
    text = str(raw).strip().lower()
    try:
        if kind is bool:
            if text in {"1", "true", "yes", "on"}:
                return True
            if text in {"0", "false", "no", "off"}:
                return False
            raise ValueError(text)
        return kind(str(raw).strip())
    except ValueError:
        raise ImproperlyConfigured(
            f"Realtime setting {key}={raw!r} is not a valid {kind.__name__} (default {default!r})."
        ) from None


realtime_settings = RealtimeSettings()


@receiver(setting_changed)
def _reload(*, setting: str, **kwargs: object) -> None:
    if setting == "REALTIME":
        realtime_settings.reload()

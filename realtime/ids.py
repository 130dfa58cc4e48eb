"""Public ids: integer primary keys encoded as hashids.

Used for the realtime app's own rows (inbox entries, devices), for inbox
stream names, and for live models whose REST API speaks hashids (a viewset
with ``lookup_value_converter = "hashid"``; ``realtime.registry``). Hashids
are obfuscation, not security: visibility is always checked against the
database. ``decode_id`` accepts exactly one canonical number and returns
``None`` for anything else, so callers can turn a bad id into a 404 rather
than a 500.

The codec is built from the optional settings ``HASHIDS_SALT`` (default:
derived from ``SECRET_KEY``, so every deployment has its own ids without
configuring anything) and ``HASHIDS_MIN_LENGTH`` (default 8).
"""

from __future__ import annotations

from functools import cache

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.crypto import salted_hmac
from hashids import Hashids

HASHID_REGEX = "[0-9A-Za-z]+"


@cache
def get_hashids() -> Hashids:
    """Return the codec built from ``HASHIDS_SALT`` and ``HASHIDS_MIN_LENGTH`` (both optional)."""
    salt = getattr(settings, "HASHIDS_SALT", "") or salted_hmac("realtime.ids", "hashids salt").hexdigest()
    return Hashids(salt=salt, min_length=getattr(settings, "HASHIDS_MIN_LENGTH", 8))


@receiver(setting_changed)
def _reset_codec(*, setting: str, **kwargs: object) -> None:
    if setting in {"HASHIDS_SALT", "HASHIDS_MIN_LENGTH", "SECRET_KEY"}:
        get_hashids.cache_clear()


def encode_id(pk: int) -> str:
    """Encode a primary key as its public hashid."""
    return get_hashids().encode(pk)


def decode_id(value: object) -> int | None:
    """Decode a public hashid to exactly one primary key, or ``None``."""
    if not isinstance(value, str) or not value or len(value) > 64:
        return None
    numbers = get_hashids().decode(value)
    if len(numbers) != 1:
        return None
    return numbers[0]

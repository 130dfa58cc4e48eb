"""Typed readers for configuration taken from environment variables.

Settings come from the environment only (12-factor). Each reader returns the
embedded default when the variable is unset or empty, and raises
``ImproperlyConfigured`` naming the variable when a value cannot be parsed,
so a typo fails at start-up instead of silently falling back.
"""

from __future__ import annotations

import os
import re

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def env_str(name: str, default: str) -> str:
    """Return the variable as text, or ``default`` when unset or empty."""
    return os.environ.get(name) or default


def env_bool(name: str, default: bool) -> bool:
    """Return the variable as a boolean (1/0, true/false, yes/no, on/off)."""
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean; use 1/0, true/false, yes/no or on/off.")


def env_int(name: str, default: int) -> int:
    """Return the variable as an integer."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer.") from None


_RATE = re.compile(r"^[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day)$")


def env_rate(name: str, default: str) -> str:
    """Return the variable as a DRF throttle rate, ``<number>/<second|minute|hour|day>`` (``10/minute``)."""
    raw = os.environ.get(name, "").strip() or default
    if not _RATE.match(raw):
        raise ImproperlyConfigured(
            f"{name}={raw!r} is not a rate; use <number>/<second|minute|hour|day>, e.g. 10/minute."
        )
    return raw


def env_list(name: str, default: list[str]) -> list[str]:
    """Return the variable split on commas, blanks dropped."""
    raw = os.environ.get(name)
    if not raw:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_prefixed(prefix: str) -> dict[str, str]:
    """Return every variable that starts with ``prefix``, keyed without it."""
    return {key[len(prefix) :]: value for key, value in os.environ.items() if key.startswith(prefix) and value != ""}

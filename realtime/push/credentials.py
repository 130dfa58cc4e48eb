"""Provider credentials given in a setting either as the text itself or as a path to a file holding it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured


def credential_text(*, setting: str, value: str, marker: str) -> str:
    """``value`` itself if it contains ``marker`` (``{`` for JSON, ``-----BEGIN`` for PEM), else the file it names."""
    if marker in value:
        return value
    path = Path(value).expanduser()
    try:
        return path.read_text()
    except OSError as exc:
        raise ImproperlyConfigured(
            f"REALTIME_{setting}={value!r} is neither the credential itself nor a readable file ({exc.strerror})."
        ) from None


def credential_json(*, setting: str, value: str) -> dict[str, Any]:
    text = credential_text(setting=setting, value=value, marker="{")
    try:
        data = json.loads(text)
    except ValueError:
        raise ImproperlyConfigured(f"REALTIME_{setting} is not valid JSON.") from None
    if not isinstance(data, dict):
        raise ImproperlyConfigured(f"REALTIME_{setting} must be a JSON object.")
    return data

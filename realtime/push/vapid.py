"""VAPID keys (RFC 8292) for Web Push: generate, load from ``REALTIME_PUSH_VAPID_PRIVATE_KEY``, sign.

The private key is given as the raw 32-byte scalar in base64url (what
``manage.py push_vapid_keys`` prints) or as PEM. Browsers need the public
key, base64url of the uncompressed point, as ``applicationServerKey`` when
they subscribe; ``GET /api/push/vapid-public-key`` serves it.
"""

from __future__ import annotations

import base64
from functools import cache
from typing import TYPE_CHECKING

from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver

from realtime.conf import realtime_settings

if TYPE_CHECKING:  # cryptography and py-vapid come with the [push] extra: imported where used
    from cryptography.hazmat.primitives.asymmetric import ec
    from py_vapid import Vapid02


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def public_key_b64(key: ec.EllipticCurvePublicKey) -> str:
    from cryptography.hazmat.primitives import serialization

    return b64url(key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint))


def vapid_keys_generate() -> tuple[str, str]:
    """A new key pair: (private key as base64url raw scalar, public key as base64url point)."""
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    private = b64url(key.private_numbers().private_value.to_bytes(32, "big"))
    return private, public_key_b64(key.public_key())


@cache
def vapid_signer() -> Vapid02 | None:
    """The configured signer, or ``None`` when ``PUSH_VAPID_PRIVATE_KEY`` is unset."""
    value = realtime_settings.PUSH_VAPID_PRIVATE_KEY.strip()
    if not value:
        return None
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from py_vapid import Vapid02

    try:
        if value.startswith("-----BEGIN"):
            key = serialization.load_pem_private_key(value.encode(), password=None)
            if not isinstance(key, ec.EllipticCurvePrivateKey):
                raise ValueError("not an EC key")
            return Vapid02(key)
        return Vapid02.from_string(value)
    except Exception as exc:
        raise ImproperlyConfigured(
            f"REALTIME_PUSH_VAPID_PRIVATE_KEY is not a P-256 private key ({exc}). "
            "Generate one with `manage.py push_vapid_keys`."
        ) from None


def vapid_public_key() -> str:
    """The public key browsers subscribe with (base64url), or ``""`` when Web Push is not configured."""
    signer = vapid_signer()
    return public_key_b64(signer.public_key) if signer else ""


@receiver(setting_changed)
def _reset(*, setting: str, **kwargs: object) -> None:
    if setting == "REALTIME":
        vapid_signer.cache_clear()

"""VAPID keys: generated pairs load back, PEM works, and a bad key fails naming the variable."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.core.exceptions import ImproperlyConfigured

from realtime.push.vapid import public_key_b64, vapid_keys_generate, vapid_public_key, vapid_signer


def test_generated_keys_load_and_give_the_public_key(settings):
    """The printed private key configures Web Push and yields the printed public key."""
    private, public = vapid_keys_generate()
    settings.REALTIME = {**settings.REALTIME, "PUSH_VAPID_PRIVATE_KEY": private}
    assert vapid_public_key() == public


def test_pem_keys_are_accepted(settings):
    """A PEM private key works as well as the raw form."""
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    settings.REALTIME = {**settings.REALTIME, "PUSH_VAPID_PRIVATE_KEY": pem}
    assert vapid_public_key() == public_key_b64(key.public_key())


def test_unset_and_malformed_keys(settings):
    """No key means no Web Push; a malformed key is a configuration error that says how to fix it."""
    settings.REALTIME = {**settings.REALTIME, "PUSH_VAPID_PRIVATE_KEY": ""}
    assert vapid_public_key() == ""
    settings.REALTIME = {**settings.REALTIME, "PUSH_VAPID_PRIVATE_KEY": "not-a-key"}
    with pytest.raises(ImproperlyConfigured, match="push_vapid_keys"):
        vapid_signer()

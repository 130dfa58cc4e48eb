"""Webhook signatures verify for the exact body, secret and a recent timestamp only."""

from __future__ import annotations

from realtime.push.signing import webhook_sign, webhook_verify


def test_signature_round_trip():
    """A fresh signature of the body verifies with the same secret."""
    header = webhook_sign(secret="s3cret", body=b'{"a":1}')
    assert webhook_verify(secret="s3cret", body=b'{"a":1}', header=header)


def test_tampering_wrong_secret_and_stale_timestamps_fail():
    """A changed body, another secret, an old timestamp or a garbled header do not verify."""
    header = webhook_sign(secret="s3cret", body=b'{"a":1}', timestamp=1_000_000)
    assert webhook_verify(secret="s3cret", body=b'{"a":1}', header=header, now=1_000_010)
    assert not webhook_verify(secret="s3cret", body=b'{"a":2}', header=header, now=1_000_010)
    assert not webhook_verify(secret="other", body=b'{"a":1}', header=header, now=1_000_010)
    assert not webhook_verify(secret="s3cret", body=b'{"a":1}', header=header, now=1_000_000 + 301)
    assert not webhook_verify(secret="s3cret", body=b'{"a":1}', header="v1=abc")

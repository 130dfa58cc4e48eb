"""Hashids encode and decode primary keys, rejecting anything but one canonical number."""

from __future__ import annotations

import pytest

from realtime.ids import decode_id, encode_id, get_hashids


def test_round_trip():
    """Encoded ids decode back to the same key and honour the minimum length."""
    for pk in (1, 2, 99, 10**12):
        hashid = encode_id(pk)
        assert len(hashid) >= 8
        assert decode_id(hashid) == pk


@pytest.mark.parametrize("value", ["", "!!!", "x" * 65, None, 12, "a b"])
def test_garbage_decodes_to_none(value):
    """Non-strings, empty, over-long and out-of-alphabet values are rejected."""
    assert decode_id(value) is None


def test_multi_number_hashids_are_rejected():
    """A hashid of several numbers is not a valid single id."""
    assert decode_id(get_hashids().encode(1, 2)) is None


def test_salt_change_invalidates_ids(settings):
    """Ids depend on HASHIDS_SALT, and changing the setting rebuilds the codec."""
    before = encode_id(7)
    settings.HASHIDS_SALT = "another salt"
    assert encode_id(7) != before
    assert decode_id(before) != 7


def test_without_a_salt_ids_derive_from_the_secret_key(settings):
    """A project that sets no salt still gets its own ids, derived from SECRET_KEY."""
    del settings.HASHIDS_SALT
    first = encode_id(7)
    settings.SECRET_KEY = "another secret key for this test"
    assert encode_id(7) != first
    assert decode_id(encode_id(7)) == 7

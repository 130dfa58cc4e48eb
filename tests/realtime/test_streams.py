"""Stream names round-trip, malformed names are rejected, and groups are valid channel-layer names."""

from __future__ import annotations

import re

import pytest

from realtime import protocol
from realtime.ids import encode_id
from realtime.streams import group_name, inbox_stream, object_stream, parse_stream, user_group


def test_object_and_inbox_names_round_trip():
    """foo.<hashid> and user.<hashid> parse back to the same reference."""
    foo = object_stream("foo", 42)
    inbox = inbox_stream(7)
    assert foo.name == f"foo.{encode_id(42)}"
    assert inbox.name == f"user.{encode_id(7)}"
    assert parse_stream(foo.name) == foo
    assert parse_stream(inbox.name) == inbox
    assert inbox.is_inbox
    assert inbox.object_type == protocol.INBOX
    assert not foo.is_inbox


@pytest.mark.parametrize(
    "name", [None, 5, "", "foo", "foo.", ".abc", "foo.bad!", "foo.a.b", "foo.zz", f"inbox.{encode_id(1)}"]
)
def test_malformed_names(name):
    """Anything but <type>.<one valid hashid> is None."""
    assert parse_stream(name) is None


def test_group_names_are_valid_for_channels():
    """Group names use only the characters and length Channels accepts."""
    valid = re.compile(r"^[a-zA-Z\d\-_.]{1,99}$")
    assert valid.match(group_name(object_stream("foo", 10**15).name))
    assert valid.match(user_group(10**15))

"""Stream names round-trip, malformed names are rejected, and groups are valid channel-layer names."""

from __future__ import annotations

import re

import pytest

from realtime import protocol
from realtime.ids import encode_id
from realtime.registry import registry
from realtime.streams import group_name, inbox_stream, user_group

FOO = registry.get("foo")


def test_object_and_inbox_names_round_trip():
    """foo.<hashid> and user.<hashid> parse back to the same reference."""
    foo = FOO.get_stream(42)
    inbox = inbox_stream(7)
    assert foo.name == f"foo.{encode_id(42)}"
    assert (foo.object_type, foo.object_id, foo.public_id) == ("foo", "42", encode_id(42))
    assert inbox.name == f"user.{encode_id(7)}"
    assert registry.parse_stream(foo.name) == foo
    assert registry.parse_stream(inbox.name) == inbox
    assert inbox.is_inbox
    assert inbox.object_type == protocol.INBOX
    assert not foo.is_inbox


@pytest.mark.parametrize(
    "name",
    [None, 5, "", "foo", "foo.", ".abc", "foo.bad!", "foo.a.b", "foo.zz", f"inbox.{encode_id(1)}", "nothing.1"],
)
def test_malformed_names(name):
    """Anything but <registered type>.<one valid id> is None."""
    assert registry.parse_stream(name) is None


def test_group_names_are_valid_for_channels():
    """Group names use only the characters and length Channels accepts, whatever the ids look like."""
    valid = re.compile(r"^[a-zA-Z\d\-_.]{1,99}$")
    assert valid.match(group_name(FOO.get_stream(10**15).name))
    assert valid.match(user_group(10**15))
    assert valid.match(user_group("0b9e4a4e-5f0b-4c1e-9a8e-2f1d3c4b5a69"))
    assert valid.match(group_name("recipe.a name with spaces and ünïcode"))
    assert valid.match(group_name("x." + "y" * 140))
    assert group_name("recipe.a b") != group_name("recipe.a c")

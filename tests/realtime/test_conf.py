"""Realtime settings: defaults, coercion of REALTIME_* strings, and loud failure on typos."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from realtime.conf import DEFAULTS, realtime_settings
from tests.servers import ROOT


def test_defaults(settings):
    """With nothing configured every key has its documented default."""
    settings.REALTIME = {}
    assert realtime_settings.REPLAY_LIMIT == 1000
    assert realtime_settings.ALLOW_ANONYMOUS is False


def test_strings_from_the_environment_are_coerced(settings):
    """Values arriving as environment strings take the type of their default."""
    settings.REALTIME = {"REPLAY_LIMIT": "50", "ALLOW_ANONYMOUS": "yes", "RATE_LIMIT": "2.5"}
    assert realtime_settings.REPLAY_LIMIT == 50
    assert realtime_settings.ALLOW_ANONYMOUS is True
    assert realtime_settings.RATE_LIMIT == 2.5


def test_unknown_key_fails_with_the_valid_ones(settings):
    """A misspelt key is an error that lists the valid keys."""
    settings.REALTIME = {"REPLAY_LIMT": "5"}
    with pytest.raises(ImproperlyConfigured, match=r"REPLAY_LIMT.*Valid keys: .*REPLAY_LIMIT"):
        realtime_settings.validate()


@pytest.mark.parametrize(("key", "value"), [("REPLAY_LIMIT", "many"), ("ALLOW_ANONYMOUS", "perhaps")])
def test_unparseable_value_fails(settings, key, value):
    """A value that does not parse names the key and the expected type."""
    settings.REALTIME = {key: value}
    with pytest.raises(ImproperlyConfigured, match=key):
        realtime_settings.validate()


def test_unknown_attribute_is_an_attribute_error():
    """Reading a setting that does not exist is a programming error, not None."""
    with pytest.raises(AttributeError):
        realtime_settings.NOT_A_SETTING  # noqa: B018


def test_every_key_is_documented():
    """docs/settings.md has a row for every key of REALTIME, under the key and its demo variable."""
    text = (ROOT / "docs" / "settings.md").read_text()
    assert [key for key in DEFAULTS if f"| `{key}` (`REALTIME_{key}`) |" not in text] == []

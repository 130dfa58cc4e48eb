"""``frontend/src/realtime/protocol.ts`` mirrors every wire constant of ``realtime/protocol.py``."""

from __future__ import annotations

import json
import re

from realtime import protocol
from realtime.streams import INBOX_PREFIX
from tests.servers import ROOT

PROTOCOL_TS = ROOT / "frontend" / "src" / "realtime" / "protocol.ts"
EXPORT = re.compile(r"^export const ([A-Z][A-Z0-9_]*) = (.+);$", re.MULTILINE)
LIST_EXPORT = re.compile(r"^export const ([A-Z][A-Z0-9_]*): readonly string\[\] = (\[.*\]);$", re.MULTILINE)


def typescript_constants() -> dict[str, object]:
    return {name: json.loads(value) for name, value in EXPORT.findall(PROTOCOL_TS.read_text())}


def test_every_python_constant_has_the_same_value_in_typescript():
    """Each str/int constant of realtime.protocol exists in protocol.ts with the same value."""
    python = {
        name: value
        for name, value in vars(protocol).items()
        if name.isupper() and isinstance(value, str | int) and not isinstance(value, bool)
    }
    assert python, "realtime.protocol defines constants"
    typescript = typescript_constants()
    assert {name: typescript.get(name) for name in python} == python


def test_inbox_stream_prefix_matches_the_server():
    """The client recognises inbox streams by the same prefix the server names them with."""
    assert typescript_constants()["INBOX_STREAM_PREFIX"] == INBOX_PREFIX


def test_every_python_tuple_of_strings_has_the_same_list_in_typescript():
    """Tuple constants (LIST_IGNORED_PARAMS) exist in protocol.ts as the same list, in the same order."""
    python = {
        name: list(value)
        for name, value in vars(protocol).items()
        if name.isupper() and isinstance(value, tuple) and all(isinstance(item, str) for item in value)
    }
    python.pop("ACTIONS", None)  # the client spells its actions one by one
    assert "LIST_IGNORED_PARAMS" in python
    typescript = {name: json.loads(value) for name, value in LIST_EXPORT.findall(PROTOCOL_TS.read_text())}
    assert {name: typescript.get(name) for name in python} == python

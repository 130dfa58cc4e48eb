"""The AsyncAPI document validates with the AsyncAPI parser, and the frontend's copy and types are current."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from realtime.asyncapi import asyncapi_document
from tests.frontend.generated import FRONTEND, manage, node_tool, run_node

ASYNCAPI_JSON = FRONTEND / "src" / "realtime" / "asyncapi.json"
MESSAGES_TS = FRONTEND / "src" / "realtime" / "messages.ts"
SCRIPT = "scripts/asyncapi.mjs"
REGENERATE = "regenerate them: cd frontend && npm run gen"


def test_the_document_validates_with_the_asyncapi_parser(tmp_path: Path):
    """@asyncapi/parser reads the server's current document (every live model of the test session's apps too)
    without a single error diagnostic."""
    node_tool("openapi-typescript")  # npm ci has run
    document = tmp_path / "asyncapi.json"
    document.write_text(json.dumps(asyncapi_document(server={"host": "127.0.0.1:8000", "protocol": "ws"})))
    output = run_node("node", SCRIPT, "validate", document)
    assert "valid AsyncAPI 3.0.0" in output


def test_the_parser_refuses_a_broken_document(tmp_path: Path):
    """The validation is real: a schema with an impossible type is reported, and the script exits non-zero."""
    node_tool("openapi-typescript")
    broken = asyncapi_document()
    broken["components"]["schemas"]["PongFrame"]["type"] = "objekt"
    document = tmp_path / "broken.json"
    document.write_text(json.dumps(broken))
    with pytest.raises(AssertionError, match="PongFrame"):
        run_node("node", SCRIPT, "validate", document)


def test_the_frontends_copy_is_the_servers_document():
    """frontend/src/realtime/asyncapi.json is what `manage.py asyncapi` prints now (on the demo's settings)."""
    committed = json.loads(ASYNCAPI_JSON.read_text())
    current = json.loads(manage("asyncapi"))
    assert committed == current, f"frontend/src/realtime/asyncapi.json is out of date; {REGENERATE}"


def test_the_typescript_message_types_are_generated_from_it():
    """frontend/src/realtime/messages.ts (which protocol.contract.ts checks protocol.ts against) is current."""
    node_tool("openapi-typescript")
    generated = run_node("node", SCRIPT, "types", ASYNCAPI_JSON.relative_to(FRONTEND))
    assert MESSAGES_TS.read_text() == generated, f"frontend/src/realtime/messages.ts is not generated; {REGENERATE}"

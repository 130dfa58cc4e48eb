"""The frontend's REST types are generated from ``/api/schema/``, and what is committed is what the server says."""

from __future__ import annotations

from pathlib import Path

from tests.frontend.generated import FRONTEND, manage, node_tool, run_node

OPENAPI_JSON = FRONTEND / "src" / "api" / "openapi.json"
SCHEMA_TS = FRONTEND / "src" / "api" / "schema.ts"
REGENERATE = "regenerate them: cd frontend && npm run gen"


def test_committed_openapi_schema_is_the_servers(tmp_path: Path):
    """frontend/src/api/openapi.json equals `manage.py spectacular` now: a serializer change shows up as a diff."""
    current = tmp_path / "openapi.json"
    manage("spectacular", "--format", "openapi-json", "--file", str(current))
    assert OPENAPI_JSON.read_text() == current.read_text(), f"the committed OpenAPI schema is out of date; {REGENERATE}"


def test_committed_typescript_types_are_generated_from_that_schema():
    """frontend/src/api/schema.ts is openapi-typescript's output for the committed schema, unedited."""
    generated = run_node(node_tool("openapi-typescript"), OPENAPI_JSON.relative_to(FRONTEND))
    assert SCHEMA_TS.read_text() == generated, f"frontend/src/api/schema.ts is not the generated types; {REGENERATE}"

"""The OpenAPI schema, its docs UI and the browsable API login are served."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_schema_lists_each_route_once(client):
    """/api/schema/ documents the Foo routes in their trailing-slash form only."""
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/api/foo/" in paths
    assert "/api/foo/{id}/" in paths
    assert "/api/foo" not in paths
    assert "/api/foo/{id}" not in paths


@pytest.mark.parametrize("url", ["/api/docs/", "/api/redoc/", "/api-auth/login/"])
def test_human_pages_render(client, url):
    """The docs UIs and the login page render for a visitor."""
    assert client.get(url).status_code == 200


def test_schema_generates_without_warnings(tmp_path):
    """Every endpoint and field resolves to a real OpenAPI type (spectacular --fail-on-warn)."""
    from django.core.management import call_command

    call_command("spectacular", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    assert "StreamPosition" in (tmp_path / "schema.yaml").read_text()

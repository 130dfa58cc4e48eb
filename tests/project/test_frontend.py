"""The demo app's index.html is served at / and at its client-side routes, with the CSRF cookie."""

from __future__ import annotations

import pytest

from project import frontend

pytestmark = pytest.mark.django_db


@pytest.fixture
def built(tmp_path, settings):
    """A stand-in Vite build in a temporary directory."""
    (tmp_path / "index.html").write_text('<!doctype html><div id="root"></div>')
    settings.FRONTEND_DIST = tmp_path
    settings.STATIC_ROOT = tmp_path / "no-static-root"
    return tmp_path


@pytest.mark.parametrize("url", ["/", "/foo/abc123", "/foo/abc123/"])
def test_index_is_served_with_csrf_cookie(client, built, url):
    """The app's routes all return index.html, uncached, and set the csrftoken cookie."""
    response = client.get(url)
    assert response.status_code == 200
    assert b'<div id="root">' in response.content
    assert "csrftoken" in response.cookies
    assert "no-cache" in response["Cache-Control"]


def test_missing_build_says_how_to_build(client, tmp_path, settings):
    """Without a build, / answers 503 and names the command that makes one."""
    settings.FRONTEND_DIST = tmp_path / "dist"
    settings.STATIC_ROOT = tmp_path / "static"
    response = client.get("/")
    assert response.status_code == 503
    assert b"make run" in response.content


def test_collected_index_is_used_when_dist_is_absent(client, tmp_path, settings):
    """A deployment that only has collectstatic output still serves the app."""
    (tmp_path / "static" / "frontend").mkdir(parents=True)
    (tmp_path / "static" / "frontend" / "index.html").write_text("collected")
    settings.FRONTEND_DIST = tmp_path / "dist"
    settings.STATIC_ROOT = tmp_path / "static"
    assert client.get("/").content == b"collected"
    assert frontend.index_candidates()[1].is_file()

"""Session login for the SPA: CSRF cookie, login, logout, and the session working for REST afterwards."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser() -> Client:
    """A browser-like client: CSRF checks on, as in production."""
    return Client(enforce_csrf_checks=True)


def csrf_token(browser: Client) -> str:
    response = browser.get("/api/auth/csrf")
    assert response.status_code == 200
    return response.cookies["csrftoken"].value


def test_csrf_endpoint_sets_the_cookie(browser):
    """GET /api/auth/csrf sets the csrftoken cookie and returns a token for it."""
    response = browser.get("/api/auth/csrf/")
    assert response.status_code == 200
    assert "csrftoken" in response.cookies
    assert response.json()["csrfToken"]


def test_login_starts_a_session_used_by_rest(browser, alice):
    """A correct login returns the user and the session cookie then authenticates REST calls."""
    token = csrf_token(browser)
    response = browser.post(
        "/api/auth/login",
        {"username": "alice", "password": "pw-for-tests"},
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 200, response.content
    assert response.json()["username"] == "alice"
    assert browser.get("/api/me").json()["username"] == "alice"


def test_login_with_wrong_password_is_one_400(browser, alice):
    """Wrong credentials give 400 with a message, and no session."""
    token = csrf_token(browser)
    response = browser.post(
        "/api/auth/login",
        {"username": "alice", "password": "nope"},
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["Wrong username or password."]}
    assert browser.get("/api/me").status_code in {401, 403}


def test_login_with_missing_fields_names_them(browser):
    """A body without username and password gets field errors, not a 500."""
    token = csrf_token(browser)
    response = browser.post("/api/auth/login", {}, content_type="application/json", headers={"X-CSRFToken": token})
    assert response.status_code == 400
    assert set(response.json()) == {"username", "password"}


def test_login_without_csrf_token_is_refused(browser, alice):
    """Login requires the CSRF token (no login CSRF)."""
    browser.get("/api/auth/csrf")
    response = browser.post(
        "/api/auth/login", {"username": "alice", "password": "pw-for-tests"}, content_type="application/json"
    )
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def test_logout_ends_the_session(browser, alice):
    """After logout the session no longer authenticates; logging out again is still fine."""
    browser.force_login(alice)
    token = csrf_token(browser)
    assert browser.post("/api/auth/logout", headers={"X-CSRFToken": token}).status_code == 204
    assert browser.get("/api/me").status_code in {401, 403}
    token = csrf_token(browser)
    assert browser.post("/api/auth/logout/", headers={"X-CSRFToken": token}).status_code == 204

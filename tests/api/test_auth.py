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


@pytest.fixture
def login_rate(settings) -> int:
    """A login budget of 3 attempts a minute per client address."""
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"login": "3/minute"}}
    return 3


def test_login_attempts_are_throttled_with_retry_after(browser, alice, login_rate):
    """Past the login rate, attempts get 429 with Retry-After, even with the right password."""
    token = csrf_token(browser)
    for _ in range(login_rate):
        wrong = {"username": "alice", "password": "nope"}
        response = browser.post(
            "/api/auth/login", wrong, content_type="application/json", headers={"X-CSRFToken": token}
        )
        assert response.status_code == 400
    right = {"username": "alice", "password": "pw-for-tests"}
    response = browser.post("/api/auth/login", right, content_type="application/json", headers={"X-CSRFToken": token})
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    assert browser.get("/api/me").status_code in {401, 403}


def test_a_forged_forwarded_for_does_not_reset_the_budget(browser, login_rate):
    """The client address is REMOTE_ADDR: a made-up X-Forwarded-For per attempt is still the same client."""
    token = csrf_token(browser)
    statuses = [
        browser.post(
            "/api/auth/login/",
            {},
            content_type="application/json",
            headers={"X-CSRFToken": token, "X-Forwarded-For": f"203.0.113.{i}"},
        ).status_code
        for i in range(login_rate + 1)
    ]
    assert statuses == [400] * login_rate + [429]


def test_other_addresses_have_their_own_budget(browser, login_rate):
    """One address's throttled attempts do not lock out another address."""
    token = csrf_token(browser)
    for _ in range(login_rate + 1):
        browser.post("/api/auth/login", {}, content_type="application/json", headers={"X-CSRFToken": token})
    other = browser.post(
        "/api/auth/login", {}, content_type="application/json", headers={"X-CSRFToken": token}, REMOTE_ADDR="192.0.2.7"
    )
    assert other.status_code == 400


def test_browsable_api_login_shares_the_budget(browser, alice, login_rate):
    """The browsable API's login form counts against the same budget and answers 429 with Retry-After past it."""
    token = csrf_token(browser)
    for _ in range(login_rate - 1):
        browser.post("/api/auth/login", {}, content_type="application/json", headers={"X-CSRFToken": token})
    form = {"username": "alice", "password": "nope", "csrfmiddlewaretoken": token}
    assert browser.post("/api-auth/login/", form).status_code == 200  # the form again, with its error
    response = browser.post("/api-auth/login/", {**form, "password": "pw-for-tests"})
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert browser.get("/api/me").status_code in {401, 403}


def test_browsable_api_login_still_logs_in(browser, alice):
    """Within the budget the browsable API's login form logs in and redirects."""
    token = csrf_token(browser)
    form = {"username": "alice", "password": "pw-for-tests", "csrfmiddlewaretoken": token}
    response = browser.post("/api-auth/login/", form)
    assert response.status_code == 302
    assert browser.get("/api/me").json()["username"] == "alice"

"""Shared fixtures: users, authenticated API clients, and gates for tests that need real services.

Tests marked ``postgres`` or ``redis`` run against the services named by
``DATABASE_URL`` / ``REDIS_URL``. Outside CI a missing service skips them with
the variable to set; under ``CI=true`` it fails them, so CI can never pass by
skipping.
"""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from asgiref.sync import SyncToAsync
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import AbstractUser
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.db import connections
from rest_framework.test import APIClient

from realtime.logcache import get_log_cache

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
#: Debian's Chromium, the only browser the browser tests use (never a downloaded one).
CHROMIUM = "/usr/bin/chromium"


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _require_services(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("postgres") and settings.DATABASES["default"]["ENGINE"] != (
        "django.db.backends.postgresql"
    ):
        _unavailable("this test needs PostgreSQL: set DATABASE_URL=postgres://postgres@127.0.0.1:5432/test")
    if request.node.get_closest_marker("redis"):
        if not settings.REDIS_URL:
            _unavailable("this test needs Redis: set REDIS_URL=redis://127.0.0.1:6379/0")
        try:
            redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2).ping()
        except redis.RedisError as exc:
            pytest.fail(f"REDIS_URL={settings.REDIS_URL} is set but Redis does not answer: {exc}", pytrace=False)


@pytest.fixture(autouse=True)
def _require_browser(request: pytest.FixtureRequest) -> None:
    if not request.node.get_closest_marker("browser"):
        return
    if not Path(CHROMIUM).exists():
        _unavailable(f"this test needs Chromium at {CHROMIUM}: apt-get install chromium")
    if not (Path(settings.FRONTEND_DIST) / "index.html").is_file():
        _unavailable("this test needs the frontend build: make test builds it (cd frontend && npm ci && npm run build)")


@pytest.fixture(autouse=True)
def _close_async_test_connections(request: pytest.FixtureRequest) -> Iterator[None]:
    """After an async test, close the database connection its ORM calls opened in asgiref's shared thread.

    Left open, it outlives the test; after the last one PostgreSQL refuses to drop the test database.
    """
    yield
    if inspect.iscoroutinefunction(getattr(request, "function", None)):
        SyncToAsync.single_thread_executor.submit(connections.close_all).result()


@pytest.fixture(autouse=True)
def _forget_throttle_history() -> None:
    """Each test starts with no login-throttle history (DRF keeps it in the default, per-process memory cache)."""
    if isinstance(caches["default"], LocMemCache):  # never clear a shared cache (Redis) under other runs
        caches["default"].clear()


@pytest.fixture(autouse=True)
def _forget_cached_log_rows() -> None:
    """Each test starts with no log rows kept in memory (``realtime.logcache``) by the tests before it."""
    get_log_cache().clear()


@functools.cache
def _password_hash(password: str) -> str:
    """Hash each test password once per session: PBKDF2 takes ~0.25 s, and most tests create several users.

    Still the default (PBKDF2) hasher, so a daphne subprocess with the project's settings verifies it.
    """
    return make_password(password)


@pytest.fixture
def make_user(db: None) -> Callable[..., AbstractUser]:
    def make(username: str, *, is_staff: bool = False, password: str = "pw-for-tests") -> AbstractUser:
        user = get_user_model().objects.create_user(username=username, password=None, is_staff=is_staff)
        user.password = _password_hash(password)
        user.save(update_fields=["password"])
        return user

    return make


@pytest.fixture
def alice(make_user: Callable[..., AbstractUser]) -> AbstractUser:
    return make_user("alice")


@pytest.fixture
def bob(make_user: Callable[..., AbstractUser]) -> AbstractUser:
    return make_user("bob")


@pytest.fixture
def carol(make_user: Callable[..., AbstractUser]) -> AbstractUser:
    """A stranger: neither owner nor member of anything by default."""
    return make_user("carol")


@pytest.fixture
def staff(make_user: Callable[..., AbstractUser]) -> AbstractUser:
    return make_user("staff", is_staff=True)


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def client_for() -> Callable[[AbstractUser | None], APIClient]:
    """An API client authenticated as the given user (``None`` for anonymous)."""

    def make(user: AbstractUser | None) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return make

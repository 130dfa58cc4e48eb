"""Settings come from the environment, and production misconfiguration fails at start-up."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRINT_DEBUG = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"


def run_settings(code: str = PRINT_DEBUG, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` after Django's set-up in a subprocess, with ``env`` over a development environment."""
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "SECURE_COOKIES"}}
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "project.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_defaults_start_in_debug():
    """With nothing set the project starts on its embedded development defaults."""
    result = run_settings()
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


def test_debug_off_with_default_secret_fails_loudly():
    """DEBUG=0 without a SECRET_KEY refuses to start and says what to set."""
    result = run_settings(DEBUG="0")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
    assert "ImproperlyConfigured" in result.stderr


def test_debug_off_with_wildcard_hosts_fails_loudly():
    """DEBUG=0 with ALLOWED_HOSTS=* refuses to start and says what to set."""
    result = run_settings(DEBUG="0", SECRET_KEY="s" * 50, ALLOWED_HOSTS="*")
    assert result.returncode != 0
    assert "ALLOWED_HOSTS" in result.stderr


def test_debug_off_with_real_settings_starts():
    """A complete production configuration starts."""
    result = run_settings(DEBUG="0", SECRET_KEY="s" * 50, ALLOWED_HOSTS="example.com")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


@pytest.mark.parametrize(("name", "value"), [("DEBUG", "maybe"), ("HASHIDS_MIN_LENGTH", "eight")])
def test_unparseable_values_fail_with_the_variable_name(name, value):
    """A typo in a variable is an error naming it, not a silent default."""
    result = run_settings(**{name: value})
    assert result.returncode != 0
    assert name in result.stderr


PRINT_DATABASE_AND_LAYER = (
    "import django; django.setup(); from django.conf import settings; "
    "print(settings.DATABASES['default'].get('OPTIONS', {}).get('pool')); "
    "print(settings.CHANNEL_LAYERS['default']['CONFIG']['hosts'])"
)


def test_db_pool_size_turns_on_psycopgs_pool():
    """DB_POOL_SIZE on PostgreSQL configures Django's psycopg pool of that size."""
    result = run_settings(
        PRINT_DATABASE_AND_LAYER,
        DATABASE_URL="postgres://u@db.invalid:5432/x",
        DB_POOL_SIZE="7",
        DB_CONN_MAX_AGE="0",
        REDIS_URL="redis://127.0.0.1:6379/0",
    )
    assert result.returncode == 0, result.stderr
    assert "'max_size': 7" in result.stdout.splitlines()[0]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DATABASE_URL": "sqlite:////tmp/x.sqlite3"}, "DB_POOL_SIZE needs PostgreSQL"),
        ({"DATABASE_URL": "postgres://u@db.invalid/x", "DB_CONN_MAX_AGE": "60"}, "exclude each other"),
    ],
)
def test_db_pool_size_misuse_fails_loudly(env, message):
    """A pool on SQLite, or together with persistent connections, is a start-up error saying why."""
    result = run_settings(PRINT_DATABASE_AND_LAYER, DB_POOL_SIZE="5", **env)
    assert result.returncode != 0
    assert message in result.stderr


def test_redis_max_connections_sizes_the_pool():
    """REDIS_MAX_CONNECTIONS turns the host into an address with redis-py's max_connections."""
    result = run_settings(
        PRINT_DATABASE_AND_LAYER, REDIS_URL="redis://127.0.0.1:6379/3", REDIS_MAX_CONNECTIONS="500", DB_POOL_SIZE=""
    )
    assert result.returncode == 0, result.stderr
    assert "{'address': 'redis://127.0.0.1:6379/3', 'max_connections': 500}" in result.stdout


def test_production_cookies_are_https_only():
    """With DEBUG=0 the session and CSRF cookies are marked Secure unless SECURE_COOKIES=0."""
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE)"
    )
    production = {"DEBUG": "0", "SECRET_KEY": "s" * 50, "ALLOWED_HOSTS": "example.com"}
    assert run_settings(code, **production).stdout.split() == ["True", "True"]
    assert run_settings(code, **production, SECURE_COOKIES="0").stdout.split() == ["False", "False"]
    assert run_settings(code).stdout.split() == ["False", "False"]

"""Settings come from the environment, and production misconfiguration fails at start-up."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRINT_DEBUG = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"
#: Inherited variables that would change what these tests check.
CLEARED = {
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "SECURE_COOKIES",
    "HASHIDS_SALT",
    "SECURE_HSTS_SECONDS",
    "LOGIN_RATE",
}
PRODUCTION = {"DEBUG": "0", "SECRET_KEY": "s" * 50, "HASHIDS_SALT": "a-salt-of-our-own", "ALLOWED_HOSTS": "example.com"}


def run_settings(code: str = PRINT_DEBUG, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` after Django's set-up in a subprocess, with ``env`` over a development environment."""
    clean = {k: v for k, v in os.environ.items() if k not in CLEARED}
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


def test_debug_off_with_default_hashids_salt_fails_loudly():
    """DEBUG=0 with the built-in HASHIDS_SALT (public ids anyone could decode) refuses to start and says what to set."""
    result = run_settings(**{**PRODUCTION, "HASHIDS_SALT": ""})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "HASHIDS_SALT=" in result.stderr


def test_debug_off_with_wildcard_hosts_fails_loudly():
    """DEBUG=0 with ALLOWED_HOSTS=* refuses to start and says what to set."""
    result = run_settings(**{**PRODUCTION, "ALLOWED_HOSTS": "*"})
    assert result.returncode != 0
    assert "ALLOWED_HOSTS" in result.stderr


def test_debug_off_with_real_settings_starts():
    """A complete production configuration starts."""
    result = run_settings(**PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


@pytest.mark.parametrize(
    ("name", "value"),
    [("DEBUG", "maybe"), ("HASHIDS_MIN_LENGTH", "eight"), ("LOGIN_RATE", "10 per minute"), ("LOGIN_RATE", "0/minute")],
)
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
    assert run_settings(code, **PRODUCTION).stdout.split() == ["True", "True"]
    assert run_settings(code, **PRODUCTION, SECURE_COOKIES="0").stdout.split() == ["False", "False"]
    assert run_settings(code).stdout.split() == ["False", "False"]


PRINT_HSTS = "import django; django.setup(); from django.conf import settings; print(settings.SECURE_HSTS_SECONDS)"


@pytest.mark.parametrize(
    ("env", "seconds"),
    [
        (PRODUCTION, "31536000"),
        ({**PRODUCTION, "SECURE_HSTS_SECONDS": "600"}, "600"),
        ({**PRODUCTION, "SECURE_COOKIES": "0"}, "0"),
        ({}, "0"),
    ],
    ids=["production", "explicit", "plain-http-production", "development"],
)
def test_hsts_is_on_whenever_cookies_are_https_only(env, seconds):
    """Production (secure cookies) sends HSTS for a year by default; development and SECURE_COOKIES=0 do not."""
    result = run_settings(PRINT_HSTS, **env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == seconds


@pytest.mark.parametrize(("page", "most"), [("0", "10"), ("50", "10"), ("", "0")])
def test_page_sizes_out_of_order_fail_loudly(page, most):
    """API_PAGE_SIZE must lie in 1..API_MAX_PAGE_SIZE (a zero cap would mean no cap at all)."""
    result = run_settings(API_PAGE_SIZE=page, API_MAX_PAGE_SIZE=most)
    assert result.returncode != 0
    assert "API_MAX_PAGE_SIZE" in result.stderr


PRINT_SYNC_INTERVAL = (
    "import django; django.setup(); from realtime.conf import realtime_settings; print(realtime_settings.SYNC_INTERVAL)"
)


def test_the_in_memory_layer_polls_stream_heads_every_quarter_second():
    """Without REDIS_URL the watcher (the only path from another process) runs every 0.25 s; with Redis, 5 s."""
    embedded = run_settings(PRINT_SYNC_INTERVAL, REDIS_URL="", REALTIME_SYNC_INTERVAL="")
    assert embedded.returncode == 0, embedded.stderr
    assert embedded.stdout.strip() == "0.25"
    redis = run_settings(PRINT_SYNC_INTERVAL, REDIS_URL="redis://127.0.0.1:6379/0", REALTIME_SYNC_INTERVAL="")
    assert redis.stdout.strip() == "5.0"
    chosen = run_settings(PRINT_SYNC_INTERVAL, REDIS_URL="", REALTIME_SYNC_INTERVAL="2")
    assert chosen.stdout.strip() == "2.0"

"""The wheel ``pip install .`` builds: ``realtime`` alone, its dependencies, and a core install that imports no extra.

The wheel is built from this checkout (``realtime_wheel``). Its file list
must be exactly the package's source files (migrations, management
commands and ``py.typed`` included; no ``project``, ``api``, ``tests``,
``bench`` or ``frontend``), its dependencies those docs/integration.md
promises, and the demo's pins (requirements.txt) must satisfy them, so the
demo runs on what the package declares.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import zipfile
from email.parser import Parser
from pathlib import Path

from packaging.requirements import Requirement

from tests.servers import ROOT

DIST_INFO = "django_realtime_subscriptions-0.1.0.dist-info"
CORE = {"django", "channels", "djangorestframework", "django-model-utils", "hashids", "prometheus-client"}
EXTRAS = {
    "redis": {"channels-redis"},
    "daphne": {"daphne"},
    "push": {"httpx", "h2", "sniffio", "pywebpush", "py-vapid", "http-ece", "pyjwt", "cryptography"},
    "schema": {"drf-spectacular"},
    "listen": {"websockets"},
    "mirror": {"websockets", "httpx"},
}
#: Every module an extra brings, and the demo's own packages: a core install has none of them.
NOT_IN_CORE = (
    "channels_redis",
    "redis",
    "daphne",
    "twisted",
    "drf_spectacular",
    "websockets",
    "httpx",
    "httpcore",
    "h2",
    "sniffio",
    "pywebpush",
    "py_vapid",
    "http_ece",
    "jwt",
    "cryptography",
    "dj_database_url",
    "whitenoise",
    "psycopg",
)


def _metadata(wheel: Path) -> tuple[list[str], dict[str, list[str]]]:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = Parser().parsestr(archive.read(f"{DIST_INFO}/METADATA").decode())
    return names, {key: metadata.get_all(key) or [] for key in ("Name", "Requires-Dist", "Provides-Extra")}


def _requirements(wheel: Path) -> list[Requirement]:
    return [Requirement(line) for line in _metadata(wheel)[1]["Requires-Dist"]]


def _extra_of(requirement: Requirement) -> str:
    for extra in EXTRAS:
        if requirement.marker is not None and requirement.marker.evaluate({"extra": extra}):
            return extra
    return ""


def test_the_wheel_holds_the_realtime_package_and_nothing_else(realtime_wheel):
    """Every source file of realtime/ (migrations, commands, py.typed) is in the wheel, and nothing outside it."""
    names, _ = _metadata(realtime_wheel)
    packaged = {name for name in names if not name.startswith(f"{DIST_INFO}/")}
    sources = {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "realtime").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert packaged == sources
    assert {name.split("/")[0] for name in names} == {"realtime", DIST_INFO}
    assert "realtime/migrations/0001_initial.py" in packaged
    assert "realtime/push/migrations/0001_initial.py" in packaged
    assert "realtime/management/commands/prune_notifications.py" in packaged
    assert "realtime/py.typed" in packaged


def test_the_wheel_declares_the_core_dependencies_and_the_extras(realtime_wheel):
    """Core: Django, Channels, DRF, django-model-utils, hashids, prometheus-client; the rest only in extras."""
    _, metadata = _metadata(realtime_wheel)
    assert metadata["Name"] == ["django-realtime-subscriptions"]
    assert set(metadata["Provides-Extra"]) == set(EXTRAS)
    by_extra: dict[str, set[str]] = {}
    for requirement in _requirements(realtime_wheel):
        by_extra.setdefault(_extra_of(requirement), set()).add(requirement.name.lower())
        assert requirement.specifier, f"{requirement.name} has no lower bound"
    assert by_extra == {"": CORE, **EXTRAS}


def test_the_demo_pins_satisfy_every_declared_dependency(realtime_wheel):
    """requirements.txt pins each dependency of the package (extras included) at a version it accepts."""
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            pin = Requirement(line)
            pins[pin.name.lower()] = next(iter(pin.specifier)).version
    for requirement in _requirements(realtime_wheel):
        name = requirement.name.lower()
        assert name in pins, f"requirements.txt does not pin {name}"
        assert requirement.specifier.contains(pins[name]), f"{name}=={pins[name]} is outside {requirement.specifier}"


def test_a_core_install_imports_no_extra(tmp_path):
    """Without any extra's modules Django starts, every realtime module but push.transport imports, checks pass."""
    block = f"""
    import sys

    MISSING = {NOT_IN_CORE!r}


    class Uninstalled:
        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] in MISSING:
                raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)


    sys.meta_path.insert(0, Uninstalled())
    """
    code = """
    import importlib
    import pkgutil

    import django
    from django.conf import settings
    from django.core.management import call_command
    from django.urls import reverse

    settings.configure(
        INSTALLED_APPS=[
            "django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions",
            "django.contrib.messages", "rest_framework", "realtime",
        ],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        ROOT_URLCONF="core_urls",
        SECRET_KEY="core-install-test",
        CHANNEL_LAYERS={"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}},
        TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True, "OPTIONS": {
            "context_processors": ["django.contrib.auth.context_processors.auth",
                                   "django.contrib.messages.context_processors.messages",
                                   "django.template.context_processors.request"]}}],
        MIDDLEWARE=["django.contrib.sessions.middleware.SessionMiddleware",
                    "django.contrib.auth.middleware.AuthenticationMiddleware",
                    "django.contrib.messages.middleware.MessageMiddleware"],
    )
    django.setup()
    import realtime

    failed = []
    for module in pkgutil.walk_packages(realtime.__path__, "realtime."):
        try:
            importlib.import_module(module.name)
        except ImportError as exc:
            failed.append((module.name, exc.name))
    assert failed == [("realtime.push.transport", "httpcore")], failed
    call_command("check", fail_level="WARNING")
    assert reverse("realtime:ticket") == "/api/realtime/ticket/"
    print("ok")
    """
    (tmp_path / "core_urls.py").write_text(
        'from django.urls import include, path\n\nurlpatterns = [path("api/", include("realtime.urls"))]\n'
    )
    env = {key: value for key, value in os.environ.items() if key not in {"DJANGO_SETTINGS_MODULE", "PYTHONPATH"}}
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(block) + textwrap.dedent(code)],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "ok", result.stdout

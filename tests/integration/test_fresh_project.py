"""A new DRF project becomes live by following docs/integration.md alone, with realtime installed from its wheel.

In a temporary directory: ``django-admin startproject mysite`` and
``startapp snippets``, with a model, a hyperlinked serializer, a
``ModelViewSet`` and the project's own REST tests, the DRF tutorial's
shape. Its tests pass; then every ``# file:`` block of docs/integration.md
is applied as written, the wheel built from this checkout is installed
(``pip install --no-deps --target``; the checkout itself is not importable
there), and ``manage.py check``, ``migrate`` and the project's tests run
again. Finally daphne serves the project and a ``websockets`` client
subscribed to a snippet receives its ``UPDATE_SNIPPET`` after a REST PATCH,
with the payload the PATCH response carried.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import textwrap
from base64 import b64encode
from pathlib import Path

import httpx
from websockets.asyncio.client import connect

from tests.servers import ROOT, DaphneServer

DOC = ROOT / "docs" / "integration.md"
#: A fenced Python block whose first line is ``# file: <path>`` or ``# file: <path> (append)``.
BLOCK = re.compile(r"^```python\n# file: (?P<path>\S+)(?P<append> \(append\))?\n(?P<code>.*?)^```", re.M | re.S)
PASSWORD = "alice-password-for-tests"

# The host project before realtime: the DRF tutorial's snippets, with its own tests.
HOST_FILES = {
    "snippets/models.py": """
        from django.conf import settings
        from django.db import models


        class Snippet(models.Model):
            created = models.DateTimeField(auto_now_add=True)
            title = models.CharField(max_length=100, blank=True, default="")
            code = models.TextField()
            owner = models.ForeignKey(settings.AUTH_USER_MODEL, related_name="snippets", on_delete=models.CASCADE)

            class Meta:
                ordering = ["created"]
        """,
    "snippets/serializers.py": """
        from rest_framework import serializers

        from snippets.models import Snippet


        class SnippetSerializer(serializers.HyperlinkedModelSerializer):
            owner = serializers.ReadOnlyField(source="owner.username")

            class Meta:
                model = Snippet
                fields = ["url", "id", "title", "code", "owner", "created"]
        """,
    "snippets/views.py": """
        from rest_framework import permissions, viewsets

        from snippets.models import Snippet
        from snippets.serializers import SnippetSerializer


        class IsOwnerOrReadOnly(permissions.BasePermission):
            def has_object_permission(self, request, view, obj):
                return request.method in permissions.SAFE_METHODS or obj.owner == request.user


        class SnippetViewSet(viewsets.ModelViewSet):
            queryset = Snippet.objects.all()
            serializer_class = SnippetSerializer
            permission_classes = [permissions.IsAuthenticatedOrReadOnly, IsOwnerOrReadOnly]

            def perform_create(self, serializer):
                serializer.save(owner=self.request.user)
        """,
    "snippets/tests.py": """
        from django.contrib.auth.models import User
        from rest_framework.test import APITestCase


        class SnippetAPITests(APITestCase):
            def setUp(self):
                self.alice = User.objects.create_user("alice")
                self.bob = User.objects.create_user("bob")

            def test_crud(self):
                self.client.force_authenticate(self.alice)
                created = self.client.post("/snippets/", {"title": "hello", "code": "print(1)"}, format="json")
                self.assertEqual(created.status_code, 201)
                self.assertEqual(created.data["owner"], "alice")
                url = created.data["url"]
                self.assertEqual(self.client.get(url).data["title"], "hello")
                changed = self.client.patch(url, {"title": "changed"}, format="json")
                self.assertEqual(changed.data["title"], "changed")
                self.assertEqual(self.client.delete(url).status_code, 204)
                self.assertEqual(self.client.get(url).status_code, 404)

            def test_only_the_owner_changes_a_snippet(self):
                self.client.force_authenticate(self.alice)
                url = self.client.post("/snippets/", {"code": "x = 1"}, format="json").data["url"]
                self.client.force_authenticate(self.bob)
                self.assertEqual(self.client.patch(url, {"code": "x = 2"}, format="json").status_code, 403)
                self.client.force_authenticate(None)
                self.assertEqual(self.client.get(url).status_code, 200)
                self.assertEqual(self.client.patch(url, {"code": "x = 3"}, format="json").status_code, 403)
        """,
    "mysite/urls.py": """
        from django.contrib import admin
        from django.urls import include, path
        from rest_framework.routers import DefaultRouter

        from snippets.views import SnippetViewSet

        router = DefaultRouter()
        router.register("snippets", SnippetViewSet, basename="snippet")

        urlpatterns = [
            path("admin/", admin.site.urls),
            path("", include(router.urls)),
        ]
        """,
}
HOST_SETTINGS = '\nINSTALLED_APPS += ["rest_framework", "snippets"]\n'


def doc_blocks() -> list[tuple[str, bool, str]]:
    """``(path, append, code)`` of each ``# file:`` block of docs/integration.md, in order."""
    return [(m["path"], bool(m["append"]), m["code"]) for m in BLOCK.finditer(DOC.read_text())]


def code_lines(code: str) -> int:
    """Lines that do something: neither blank nor only a comment."""
    return sum(1 for line in code.splitlines() if line.strip() and not line.strip().startswith("#"))


class Host:
    """The host project's directory, and a Python that sees the virtualenv's packages and the wheel, not this repo."""

    def __init__(self, tmp_path: Path) -> None:
        self.dir = tmp_path / "host"
        self.site = tmp_path / "site"
        keep = {key: value for key, value in os.environ.items() if key not in {"DJANGO_SETTINGS_MODULE", "PYTHONPATH"}}
        self.env = {**keep, "PYTHONPATH": str(self.site)}

    def run(self, *args: str, cwd: Path | None = None) -> str:
        result = subprocess.run(
            [sys.executable, *args], cwd=cwd or self.dir, env=self.env, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, f"{' '.join(args)}:\n{result.stdout}\n{result.stderr}"
        return result.stdout + result.stderr

    def manage(self, *args: str) -> str:
        return self.run("manage.py", *args)

    def write(self, path: str, code: str, *, append: bool = False) -> None:
        target = self.dir / path
        target.write_text((target.read_text() + "\n" if append else "") + code)


def test_a_fresh_drf_project_goes_live_by_the_doc_alone(tmp_path, realtime_wheel):
    """startproject + a DRF app, the doc's blocks (≤ 10 lines + live.py ≤ 8), the wheel: checks, tests, a live PATCH."""
    host = Host(tmp_path)
    host.site.mkdir()
    host.dir.mkdir()
    host.run("-m", "django", "startproject", "mysite", str(host.dir), cwd=tmp_path)
    host.manage("startapp", "snippets")
    for path, code in HOST_FILES.items():
        host.write(path, textwrap.dedent(code).lstrip())
    host.write("mysite/settings.py", HOST_SETTINGS, append=True)
    host.manage("makemigrations", "snippets")
    assert "OK" in host.manage("test", "snippets")

    blocks = doc_blocks()
    project_lines = sum(code_lines(code) for path, _, code in blocks if path.startswith("mysite/"))
    live_lines = sum(code_lines(code) for path, _, code in blocks if path.endswith("live.py"))
    assert {path for path, _, _ in blocks} == {
        "mysite/settings.py",
        "mysite/urls.py",
        "mysite/asgi.py",
        "snippets/live.py",
    }
    assert project_lines <= 10, f"the doc adds {project_lines} lines to settings, urls and asgi"
    assert live_lines <= 8, f"live.py has {live_lines} lines"
    print(f"docs/integration.md adds {project_lines} lines to settings/urls/asgi and a live.py of {live_lines}")
    for path, append, code in blocks:
        host.write(path, code, append=append)

    host.run(
        "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", "--target", str(host.site), str(realtime_wheel)
    )
    where = host.run("-c", "import importlib.util, realtime; print(realtime.__file__, importlib.util.find_spec('api'))")
    assert where.split() == [str(host.site / "realtime" / "__init__.py"), "None"], "realtime must come from the wheel"

    assert "System check identified no issues" in host.manage("check", "--fail-level", "WARNING")
    assert "Applying realtime.0001_initial" in host.manage("migrate")
    assert "OK" in host.manage("test", "snippets")
    host.manage(
        "shell",
        "-c",
        f"from django.contrib.auth.models import User; User.objects.create_user('alice', password='{PASSWORD}')",
    )

    server = DaphneServer(
        application="mysite.asgi:application",
        cwd=host.dir,
        env={**host.env, "DJANGO_SETTINGS_MODULE": "mysite.settings"},
        log_dir=tmp_path,
    )
    # The doc's BASE_URL says port 8000; this server runs on a free port (a test-only line, not counted).
    host.write("mysite/settings.py", f'REALTIME["BASE_URL"] = "{server.url}"\n', append=True)
    server.start()
    try:
        update, patched = asyncio.run(subscribe_and_patch(server))
    except BaseException:
        print(server.output())
        raise
    finally:
        server.stop()
    assert update["type"] == "UPDATE_SNIPPET"
    assert update["payload"] == patched
    assert update["payload"]["url"] == f"{server.url}/snippets/{patched['id']}/"
    assert update["meta"]["stream"] == f"snippet.{patched['id']}"


async def subscribe_and_patch(server: DaphneServer) -> tuple[dict, dict]:
    """Create a snippet over REST, subscribe to it over the WebSocket, PATCH it; the event and the PATCH response."""
    auth = ("alice", PASSWORD)
    header = "Basic " + b64encode(f"alice:{PASSWORD}".encode()).decode()
    async with httpx.AsyncClient(base_url=server.url, auth=auth, timeout=10) as rest:
        created = await rest.post("/snippets/", json={"title": "first", "code": "print(1)"})
        assert created.status_code == 201, created.text
        snippet = created.json()
        async with connect(server.ws_url, origin=server.url, additional_headers={"Authorization": header}) as ws:
            subscribe = {"action": "subscribe", "request_id": "r1", "object_type": "snippet", "id": str(snippet["id"])}
            await ws.send(json.dumps(subscribe))
            reply = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert reply["type"] == "subscribed", reply
            patched = await rest.patch(snippet["url"], json={"title": "changed live"})
            assert patched.status_code == 200, patched.text
            update = json.loads(await asyncio.wait_for(ws.recv(), 10))
    return update, patched.json()

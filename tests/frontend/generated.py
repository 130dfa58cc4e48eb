"""Helpers of the generated-files tests: run the frontend's Node tools, read what is committed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import _unavailable
from tests.servers import ROOT

FRONTEND = ROOT / "frontend"
NODE_BIN = FRONTEND / "node_modules" / ".bin"


def node_tool(name: str) -> Path:
    """``frontend/node_modules/.bin/<name>``; skipped (failed under CI) when ``npm ci`` has not run."""
    if shutil.which("node") is None:
        _unavailable("this test needs Node.js (node) on PATH")
    tool = NODE_BIN / name
    if not tool.exists():
        _unavailable(f"this test needs {tool}: cd frontend && npm ci")
    return tool


def run_node(*args: str | Path) -> str:
    """Run a Node tool or script in ``frontend/`` and return its standard output; fail with its errors."""
    if shutil.which("node") is None:
        _unavailable("this test needs Node.js (node) on PATH")
    result = subprocess.run([str(arg) for arg in args], cwd=FRONTEND, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"{' '.join(map(str, args))} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def manage(*args: str) -> str:
    """``manage.py <args>`` on the demo project's own settings (the test session's add test apps)."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "project.settings"}
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, f"manage.py {' '.join(args)} failed:\n{result.stderr}"
    return result.stdout

"""The realtime test fixtures themselves: one failing test must not break the tests after it."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CASES = Path(__file__).with_name("cases_teardown.py")


def run_cases(report: Path) -> dict[str, list[str]]:
    """Run ``cases_teardown.py`` in an inner pytest; each case's outcomes (``failure``/``error``; empty: passed).

    On SQLite and the in-memory layer, with a test database file of its own (``cases_settings``), never this
    session's.
    """
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "CI"}}
    env["INNER_PYTEST_DB"] = str(report.with_name("inner-test-db.sqlite3"))
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-o", f"python_files={CASES.name}"]
    command += ["--ds=tests.realtime.cases_settings"]
    result = subprocess.run(
        [*command, f"--junitxml={report}", str(CASES)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert report.exists(), result.stdout + result.stderr
    cases = ET.parse(report).getroot().iter("testcase")
    return {case.get("name"): [child.tag for child in case if child.tag in {"failure", "error"}] for case in cases}


def test_a_timed_out_receive_does_not_break_the_next_test(tmp_path):
    """A test failing on a receive timeout still has its sockets closed and the database flushed for the next one."""
    assert run_cases(tmp_path / "report.xml") == {
        "test_a_frame_that_never_comes": ["failure"],  # on purpose, and no teardown error besides
        "test_the_next_test_is_unaffected": [],
    }

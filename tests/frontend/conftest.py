"""Fixtures for browser tests: headless Debian Chromium driven by Playwright, against a real daphne.

Playwright's own browser downloads are never used: the tests launch the
system Chromium at ``CHROMIUM`` (Debian's ``chromium`` package; ``.ci/run``
installs it). Tests marked ``browser`` are skipped outside CI when Chromium
or the frontend build is missing, and fail under ``CI=true``.
"""

from __future__ import annotations

import asyncio
import shlex
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, async_playwright

from tests.conftest import CHROMIUM
from tests.servers import ROOT, DaphneServer

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = ROOT / "artifacts"
PASSWORD = "pw-for-tests"  # tests/conftest.py make_user's default


@pytest.fixture
def server(transactional_db: None, tmp_path: Path) -> Iterator[DaphneServer]:
    """daphne serving the built app against the test database (and the test's channel layer)."""
    daphne = DaphneServer(log_dir=tmp_path).start()
    yield daphne
    daphne.stop()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        await chromium.close()


Login = Callable[[str], Awaitable[Page]]

#: The page is live, with its inbox and its whole "Your Foos" list subscribed and caught up (see main.tsx).
CAUGHT_UP = "() => !!window.__realtimeDemo && window.__realtimeDemo.caughtUp()"


async def open_logged_in(browser: Browser, url: str, username: str, password: str = PASSWORD) -> Page:
    """A page in its own browser context (cookies), logged in through the UI and caught up."""
    context = await browser.new_context(viewport={"width": 1100, "height": 640})
    page = await context.new_page()
    await page.goto(f"{url}/")
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_function(CAUGHT_UP, timeout=15_000)
    return page


@pytest.fixture
async def login(browser: Browser, server: DaphneServer) -> AsyncIterator[Login]:
    """``await login("bob")``: a page in its own browser context, logged in through the UI and live."""
    pages: list[Page] = []

    async def _login(username: str) -> Page:
        page = await open_logged_in(browser, server.url, username)
        pages.append(page)
        return page

    yield _login
    for page in pages:
        await page.context.close()


def status_of(page: Page) -> Any:
    return page.get_by_test_id("connection-status")


def foo_item(page: Page, text: str) -> Any:
    """An entry of the page's "Your Foos" list."""
    return page.get_by_test_id("foo-item").filter(has_text=text)


def search_item(page: Page, text: str) -> Any:
    """An entry of the page's search (the filtered live list)."""
    return page.get_by_test_id("search-item").filter(has_text=text)


async def realtime_state(page: Page) -> dict[str, Any]:
    """The page's ``realtime`` slice: status, last close, last catch-up, debug counters."""
    return await page.evaluate("window.__realtimeDemo.store.getState().realtime")


async def position(page: Page, object_type: str, object_id: str) -> dict[str, Any] | None:
    """The position the page's client holds of an object's stream (the last event applied)."""
    return await page.evaluate(
        "([objectType, id]) => window.__realtimeDemo.store.client.position({objectType, id})", [object_type, object_id]
    )


async def in_thread(function: Callable[[], Any]) -> Any:
    """Run blocking code (a server start, ORM writes) without stalling the browser's event loop."""
    return await asyncio.to_thread(function)


def artifact(name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name


def make_run_commands(port: int) -> tuple[list[list[str]], list[str]]:
    """The commands ``make run PORT=<port>`` runs, read from the Makefile itself (``make -n``).

    Returns the set-up commands (migrate, seed_demo, collectstatic) and the daphne command, so a test
    restarts the server exactly as a person following the README does (the install and frontend steps
    are left out: the test session has both).
    """
    dry_run = subprocess.run(
        ["make", "--no-print-directory", "-n", "run", "HOST=127.0.0.1", f"PORT={port}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    commands = [shlex.split(line) for line in dry_run.splitlines() if "manage.py" in line or "/daphne " in line]
    setup = [command for command in commands if "manage.py" in command]
    daphne = [command for command in commands if command[0].endswith("daphne")]
    if not setup or len(daphne) != 1:
        raise RuntimeError(f"make -n run printed no manage.py and daphne commands:\n{dry_run}")
    return setup, daphne[0]


def run_make_setup(setup: list[list[str]], env: dict[str, str]) -> None:
    """Run ``make run``'s set-up commands (migrate, seed_demo, collectstatic) against the test database."""
    for command in setup:
        subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True, timeout=120)

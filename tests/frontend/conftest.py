"""Fixtures for browser tests: headless Debian Chromium driven by Playwright, against a real daphne.

Playwright's own browser downloads are never used: the tests launch the
system Chromium at ``CHROMIUM`` (Debian's ``chromium`` package; ``.ci/run``
installs it). Tests marked ``browser`` are skipped outside CI when Chromium
or the frontend build is missing, and fail under ``CI=true``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

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

#: The page is live and every Foo it listed, and its inbox, is subscribed (has a stream position).
CAUGHT_UP = """() => {
    const state = window.__realtimeDemo.store.getState();
    const positions = Object.keys(state.realtime.positions);
    return state.realtime.status === "live" && state.auth.status === "authenticated" && !state.foos.loading
        && state.foos.ids.every((id) => positions.includes(`foo.${id}`))
        && positions.some((name) => name.startsWith("user."));
}"""


@pytest.fixture
async def login(browser: Browser, server: DaphneServer) -> AsyncIterator[Login]:
    """``await login("bob")``: a page in its own browser context (cookies), logged in through the UI and live."""
    contexts: list[BrowserContext] = []

    async def _login(username: str) -> Page:
        context = await browser.new_context(viewport={"width": 1100, "height": 640})
        contexts.append(context)
        page = await context.new_page()
        await page.goto(f"{server.url}/")
        await page.get_by_label("Username").fill(username)
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Log in").click()
        await page.wait_for_function(CAUGHT_UP, timeout=15_000)
        return page

    yield _login
    for context in contexts:
        await context.close()


def status_of(page: Page) -> Any:
    return page.get_by_test_id("connection-status")


def foo_item(page: Page, text: str) -> Any:
    return page.get_by_test_id("foo-item").filter(has_text=text)


async def realtime_state(page: Page) -> dict[str, Any]:
    """The page's ``realtime`` slice: status, positions, last catch-up, debug counters."""
    return await page.evaluate("window.__realtimeDemo.store.getState().realtime")


async def in_thread(function: Callable[[], Any]) -> Any:
    """Run blocking code (a server start, ORM writes) without stalling the browser's event loop."""
    return await asyncio.to_thread(function)


def artifact(name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name

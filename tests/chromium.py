"""The headless Debian Chromium the browser tests drive (Playwright's sync API, nothing
downloaded): one per process at a time, launched by the first test that needs it and closed
before the next test that does not (tests/conftest.py).

Why not a session-long browser: while Playwright's sync API is open it leaves its event
loop set as the running loop of the main thread, so any later test that calls
`asyncio.run` there fails ("cannot be called from a running event loop"). Run in one
process the browser tests come one after the other anyway; on xdist workers they are handed
out as one unit (tests/parallel.py), so each run still launches Chromium about once.
"""

from __future__ import annotations

from typing import Any

from tests.resources import CHROMIUM

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
_OPEN: list[tuple[Any, Any]] = []  # (Playwright, Browser) while one is open


def browser() -> Any:
    """The process's browser, launched if none is open."""
    if not _OPEN:
        from playwright.sync_api import sync_playwright

        playwright = sync_playwright().start()
        try:
            launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                  args=ARGS)
        except BaseException:
            playwright.stop()
            raise
        _OPEN.append((playwright, launched))
    return _OPEN[0][1]


def close() -> None:
    """Close the browser and stop Playwright, if open (its event loop goes with it)."""
    while _OPEN:
        playwright, launched = _OPEN.pop()
        try:
            launched.close()
        finally:
            playwright.stop()

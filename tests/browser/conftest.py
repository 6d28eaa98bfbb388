"""Real-browser fixtures: the store served by waitress on a free port, and headless Chromium.

The store runs in a thread of the test process with the suite's own settings (``app_settings``), so it
shares the Stripe stand-in and the test database with every other test; Chromium is Debian's
``chromium`` (``make browser`` installs it), driven by Playwright without any browser download.

Without Chromium the tests skip and say why; ``ALBUM_STORE_REQUIRE_BROWSER=1`` (set by ``.ci/run`` and
``make screenshots``) turns that skip into a failure. When a test fails, the pages it had open are saved
under ``test-artifacts/screenshots/``.
"""

import os
import re
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.browser.shopper import BrowserWatch, Shopper
from tests.conftest import ROOT, STRIPE_MODE

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
REQUIRED = os.environ.get("ALBUM_STORE_REQUIRE_BROWSER", "") not in ("", "0", "false", "no")
FAILURE_SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"

DEVICES = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    # An ordinary phone: 375 CSS pixels wide, touch, and the mobile viewport rules.
    "phone": {
        "viewport": {"width": 375, "height": 667},
        "is_mobile": True,
        "has_touch": True,
        "device_scale_factor": 1,
    },
}

_reports = pytest.StashKey[dict]()


def why_no_browser():
    """Why the browser tests cannot run here, or None."""
    if STRIPE_MODE != "standin":
        return "the browser tests drive the local Stripe stand-in's Checkout; this run talks to Stripe itself"
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        return (
            f"no Chromium at {CHROMIUM}: run `make browser` (as root: apt-get install chromium) "
            "to run the browser tests"
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed: `make install-test` installs the test extras"
    return None


def pytest_collection_modifyitems(config, items):
    """Without a browser, skip these tests before any fixture starts (unless they are required)."""
    reason = why_no_browser()
    if reason and not REQUIRED:
        here = Path(__file__).parent
        for item in items:
            if here in item.path.parents:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test, so the page fixture knows whether the test failed."""
    report = yield
    item.stash.setdefault(_reports, {})[report.when] = report
    return report


# --- the store, served for real ------------------------------------------------------------------
class LiveStore:
    """The store on http://localhost:PORT; Checkout (the stand-in) is on 127.0.0.1, another site."""

    def __init__(self, app, standin_url):
        from webtest.http import StopableWSGIServer

        self.server = StopableWSGIServer(app, host="127.0.0.1", port=0, threads=4, ident="album-store-browser-tests")
        self.url = f"http://localhost:{self.server.effective_port}"
        self.standin_url = standin_url
        self.app = app
        self.thread = threading.Thread(target=self.server.run, name="album-store-live", daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.thread.join(timeout=10)
        self.app.registry["db_engine"].dispose()


@pytest.fixture(scope="package")
def browser_required():
    reason = why_no_browser()
    if reason:
        if REQUIRED:
            pytest.fail(f"ALBUM_STORE_REQUIRE_BROWSER is set, but {reason}", pytrace=False)
        pytest.skip(reason)


@contextmanager
def serve_store(app_settings, standin, **overrides):
    """The real app (its own engine and connection pool) with ``overrides``, served in a thread."""
    from album_store import main

    store = LiveStore(main({}, **{**app_settings, **overrides}), standin.url).start()
    try:
        yield store
    finally:
        store.stop()


@pytest.fixture(scope="package")
def live_store(browser_required, app_settings, db_engine, standin):
    """The store as configured for the tests (legacy Checkout's flow); a module may override it."""
    with serve_store(app_settings, standin) as store:
        yield store


@pytest.fixture(scope="package")
def browser(browser_required):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


# --- one shopper's browser per test --------------------------------------------------------------
@pytest.fixture
def device(request):
    """``desktop`` unless the test parametrizes it (``indirect=True``) with ``phone``."""
    return getattr(request, "param", "desktop")


@pytest.fixture
def watch(live_store):
    return BrowserWatch(live_store.url, live_store.standin_url)


@pytest.fixture
def context(browser, device, live_store, watch, dbsession):
    context = browser.new_context(
        **DEVICES[device],
        base_url=live_store.url,
        locale="en-US",
        timezone_id="UTC",
        color_scheme="light",
        service_workers="block",
    )
    context.set_default_timeout(15_000)
    watch.attach(context)
    yield context
    context.close()


@pytest.fixture
def page(request, context, watch):
    """A tab; afterwards: a screenshot if the test failed, and a failure if the browser saw problems."""
    page = context.new_page()
    yield page
    reports = request.node.stash.get(_reports, {})
    failed = any(report.failed for report in reports.values())
    problems = [] if failed else watch.problems()
    if failed or problems:
        save_failure_screenshots(request.node, context)
    if problems:
        pytest.fail("the browser saw problems:\n  " + "\n  ".join(problems), pytrace=False)


def save_failure_screenshots(item, context):
    FAILURE_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", item.nodeid.replace("tests/browser/", ""))
    for number, open_page in enumerate(context.pages):
        suffix = f"-{number}" if number else ""
        path = FAILURE_SCREENSHOTS / f"{name}{suffix}.png"
        try:
            open_page.screenshot(path=str(path), full_page=True)
        except Exception as error:  # a crashed page must not hide the test's own failure
            print(f"could not save a screenshot of {open_page.url}: {error}")
        else:
            print(f"screenshot of the failed test's page {open_page.url}: {path.relative_to(ROOT)}")


@pytest.fixture
def shopper(page, live_store, device):
    return Shopper(page, live_store.url, phone=device == "phone")

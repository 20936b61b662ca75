"""Headless Chromium (Debian's package) driven by Playwright against pytest-django's live server."""

import os
import re
import shutil
from pathlib import Path

import pytest

from tests.browser.axe import axe_script

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(autouse=True)
def _reference_data(reference_data):
    """Role groups and service types, whatever transactional tests ran before."""


@pytest.fixture(autouse=True)
def _clinic_clock(ticking_clinic_clock):
    """The server's clock starts at the clinic's test time (a Wednesday 11:30, see tests/conftest.py) and
    runs: the pages' dates and the data made from "today" never depend on the day the suite runs. The
    browser keeps its own clock; cookies expire by Max-Age, which does not depend on it."""
    return ticking_clinic_clock


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"Chromium not found at {CHROMIUM}: CI must run the browser tests.")
        pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install --no-install-recommends chromium)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make are still
    # synchronous. Set only while browser tests run: it must not leak into other tests' subprocesses.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def screenshot():
    ARTIFACTS.mkdir(exist_ok=True)

    def take(page, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def sign_in(page, email: str, password: str) -> None:
    page.goto("/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("[data-testid=current-user]", state="attached")
    # The header is attached before the page's deferred scripts run: a click on the menu button in between
    # did nothing (test_phone_layout_has_a_menu failed once so). Wait until the page's handlers are wired.
    page.wait_for_load_state("load")


def preview_weekly_series(page, *, search, patient, day, time, service, weekdays, count, clinician=None):
    """Open "Add appointment", fill in a weekly series, ask for the preview; returns the dialog."""
    page.get_by_role("button", name="Add appointment").click()
    dialog = page.get_by_role("dialog", name="Add appointment")
    dialog.get_by_role("searchbox", name="Patient").press_sequentially(search, delay=40)
    dialog.get_by_role("option", name=re.compile(patient)).click()
    dialog.get_by_label("Date").fill(f"{day:%Y-%m-%d}")
    dialog.get_by_label("Time").select_option(label=time)
    dialog.get_by_label("Service").select_option(label=service)
    if clinician:
        dialog.get_by_label("Clinician").select_option(label=clinician)
    dialog.get_by_label("Repeat").select_option("weekly")
    for weekday in weekdays:
        dialog.get_by_label(weekday, exact=True).check()
    dialog.get_by_label("Occurrences").fill(str(count))
    dialog.get_by_role("button", name="Preview dates").click()
    return dialog


# axe-core, the accessibility engine the browser tests inject: one helper, tests/browser/axe.py.
@pytest.fixture(scope="session")
def axe_source() -> str:
    """The pinned axe-core, installed (once per run) before the test starts."""
    return axe_script()

"""axe-core in the browser tests, in one place: installed by the tests themselves with npm (pinned) into the
git-ignored .cache/ the first time it is needed, never vendored; injected into the page under test and its
violations returned (rule, impact, help, the first few nodes).

Use ``axe_violations(page)``; the session fixture ``axe_source`` (tests/browser/conftest.py) installs it up
front for tests that want a missing npm to skip them before they start.
"""

import functools
import os
import shutil
import subprocess
from pathlib import Path

import pytest

AXE_VERSION = "4.14.1"
ROOT = Path(__file__).resolve().parents[2]
AXE_PREFIX = ROOT / ".cache" / "axe-core"
AXE_PACKAGE = AXE_PREFIX / "node_modules" / "axe-core"
AXE_SCRIPT = AXE_PACKAGE / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def _installed() -> bool:
    package = AXE_PACKAGE / "package.json"
    return AXE_SCRIPT.exists() and package.exists() and f'"version": "{AXE_VERSION}"' in package.read_text()


@functools.cache
def axe_script() -> str:
    """The pinned axe-core's source, installed with npm on first use (CI and local runs alike). Without npm
    the test is skipped, except in CI where the accessibility checks must run."""
    if not _installed():
        npm = shutil.which("npm")
        if npm is None:
            if os.environ.get("CI") == "true":
                pytest.fail("npm not found: CI must run the accessibility checks.")
            pytest.skip("npm not found: cannot install axe-core")
        AXE_PREFIX.mkdir(parents=True, exist_ok=True)
        try:
            subprocess.run(
                [npm, "install", "--no-audit", "--no-fund", "--no-save", "--silent", "--prefix", str(AXE_PREFIX),
                 f"axe-core@{AXE_VERSION}"],
                check=True, timeout=300, capture_output=True,
            )  # fmt: skip
        except (OSError, subprocess.SubprocessError) as exc:
            pytest.fail(f"Could not install axe-core {AXE_VERSION} with npm: {exc}")
        if not _installed():
            pytest.fail(f"npm did not install axe-core {AXE_VERSION} into {AXE_PREFIX}")
    return AXE_SCRIPT.read_text()


def axe_violations(page) -> list[dict]:
    """Run axe-core (WCAG 2.x A and AA rules) on the page as it is; [] when there is nothing to fix."""
    # Evaluated through the DevTools protocol, which the page's strict CSP does not govern (a script tag would
    # be refused, as it should be): the page under test keeps its real policy.
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe_script() + "\n;undefined")
    result = page.evaluate(
        "async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}})).violations",
        WCAG_TAGS,
    )
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [" ".join(node["target"]) + ": " + node["html"][:200] for node in v["nodes"]][:5],
        }
        for v in result
    ]

"""axe-core in the browser tests: installed from npm by the tests themselves into .cache/ (git-ignored),
injected into the page, and its violations returned (impact, rule, the first few nodes)."""

import subprocess
from pathlib import Path

import pytest

AXE_VERSION = "4.14.1"
ROOT = Path(__file__).resolve().parents[2]
AXE_PREFIX = ROOT / ".cache" / "axe-core"
AXE_SCRIPT = AXE_PREFIX / "node_modules" / "axe-core" / "axe.min.js"


def axe_script() -> str:
    """The pinned axe-core, installed with npm on first use (CI and local runs alike)."""
    if not AXE_SCRIPT.exists():
        AXE_PREFIX.mkdir(parents=True, exist_ok=True)
        try:
            subprocess.run(
                ["npm", "install", "--no-audit", "--no-fund", "--silent", "--prefix", str(AXE_PREFIX),
                 f"axe-core@{AXE_VERSION}"],
                check=True, timeout=300, capture_output=True,
            )  # fmt: skip
        except (OSError, subprocess.SubprocessError) as exc:
            pytest.fail(f"Could not install axe-core {AXE_VERSION} with npm: {exc}")
    return AXE_SCRIPT.read_text()


def axe_violations(page) -> list[dict]:
    """Run axe-core (WCAG 2.x A/AA rules) on the page as it is; [] when there is nothing to fix."""
    # Evaluated through the DevTools protocol, which the page's strict CSP (no inline script) does not govern.
    page.evaluate(axe_script() + "\n;0")
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                            nodes: v.nodes.slice(0, 3).map(n => n.target.join(" "))}));
        }"""
    )
    return result

"""axe-core in the page tests: `await assert_accessible(tab.page)` fails with what axe found.

axe-core comes from npm (web/package.json's devDependencies, installed by `make setup`). The
pages' CSP allows no inline scripts, so it is not added as a <script> tag: its source runs
through page.evaluate, which the page's CSP does not govern, and it then checks the page as it
stands (WCAG 2.x A and AA, including colour contrast, and axe's best practices).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from playwright.async_api import Page

AXE = Path(__file__).resolve().parents[2] / "web" / "node_modules" / "axe-core" / "axe.min.js"

# Everything axe runs by default (WCAG 2.0-2.2 A and AA, best practices), for each violation the
# rule and, per element, where it is and what is wrong.
_RUN = """async (options) => {
  const { violations } = await window.axe.run(document, options);
  return violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.map((n) => ({ target: n.target.join(" "), summary: n.failureSummary })),
  }));
}"""


@cache
def _axe_source() -> str:
    if not AXE.is_file():
        raise AssertionError(f"{AXE} is missing: run `make setup` (npm ci in web/)")
    return AXE.read_text(encoding="utf-8")


async def axe_violations(page: Page, *, disabled: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """What axe finds wrong on the page as it is now (rules in `disabled` left out)."""
    if not await page.evaluate("() => typeof window.axe === 'object'"):
        await page.evaluate(_axe_source())
    options = {
        "resultTypes": ["violations"],
        "rules": {rule: {"enabled": False} for rule in disabled},
    }
    violations: list[dict[str, Any]] = await page.evaluate(_RUN, options)
    return violations


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"]:
            summary = " ".join(str(node["summary"]).split())
            lines.append(f"    {node['target']}: {summary}")
    return "\n".join(lines)


async def assert_accessible(page: Page, *, disabled: tuple[str, ...] = ()) -> None:
    """Fail, with axe's findings, unless axe-core finds no violation on the page."""
    violations = await axe_violations(page, disabled=disabled)
    assert violations == [], f"axe-core on {page.url}:\n{describe(violations)}"

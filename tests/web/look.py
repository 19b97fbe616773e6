"""What a person checks on every page, as helpers: axe-core, overflow at phone width, the console.

axe-core comes from the npm registry, pinned in tests/web/package-lock.json and
installed by ``make axe`` (which ``make test`` runs) into tests/web/node_modules.
It is evaluated into the page through the DevTools protocol, which the pages'
Content-Security-Policy (scripts from 'self' only) does not apply to, so the
policy the tests check is the one members get.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import ConsoleMessage, Page

AXE_JS = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
WIDTHS = {"desktop": 1280, "phone": 390}  # px; the heights grow with full-page screenshots
HEIGHT = 900
FAILING_IMPACTS = frozenset({"serious", "critical"})
# WCAG 2.1 A and AA, plus axe's best practices (landmarks, one main, headings, skip link target).
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


@cache
def axe_source() -> str:
    """axe.min.js's text; a clear failure naming the make target when it is not installed."""
    if not AXE_JS.exists():
        pytest.fail(f"{AXE_JS} is missing: run `make axe` (npm ci in tests/web)")
    return AXE_JS.read_text(encoding="utf-8")


def axe_violations(page: Page) -> list[str]:
    """The page's serious and critical axe violations, one line each (rule, help, where)."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe_source())
    result: dict[str, Any] = page.evaluate(
        "tags => axe.run(document, "
        "{runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        AXE_TAGS,
    )
    lines = []
    for violation in result["violations"]:
        if violation["impact"] not in FAILING_IMPACTS:
            continue
        targets = ", ".join(str(node["target"]) for node in violation["nodes"][:5])
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']} at {targets}")
    return lines


def overflow_px(page: Page) -> int:
    """How many px the page is wider than the window (0: nothing sticks out sideways)."""
    width: int = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    return width


def wider_than_window(page: Page) -> list[str]:
    """The visible elements whose right edge passes the window's, as tag#id.class (first 10)."""
    found: list[str] = page.evaluate(
        """() => {
          const limit = document.documentElement.clientWidth;
          const out = [];
          for (const el of document.body.querySelectorAll('*')) {
            const box = el.getBoundingClientRect();
            if (box.width > 0 && box.right > limit + 1 && !el.closest('.scroll')) {
              const cls = typeof el.className === 'string' && el.className
                ? '.' + el.className.split(' ').join('.') : '';
              const id = el.id ? '#' + el.id : '';
              out.push(el.tagName.toLowerCase() + id + cls + ' → ' + Math.round(box.right) + 'px');
            }
          }
          return out.slice(0, 10);
        }"""
    )
    return found


@dataclass(slots=True)
class Console:
    """The console's errors and warnings of one page, from the moment it is watched."""

    errors: list[str] = field(default_factory=list)

    def watch(self, page: Page) -> Console:
        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                self.errors.append(f"{message.text} ({message.location.get('url', '')})")

        page.on("console", on_console)
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))
        return self


def check_page(page: Page, what: str) -> list[str]:
    """Every problem a person would see on the page as it is now: overflow, then axe's."""
    problems = [f"{what}: axe {line}" for line in axe_violations(page)]
    if (extra := overflow_px(page)) > 0:
        problems.append(f"{what}: {extra}px wider than the window: {wider_than_window(page)}")
    return problems


def photograph_at_widths(page: Page, shots: Path, name: str, problems: list[str]) -> None:
    """The page at each width of :data:`WIDTHS`: saved as ``shots/<name>-<width>.png`` (whole
    page) for a person to look at, its problems (:func:`check_page`) added to ``problems``;
    then back at the desktop width."""
    shots.mkdir(parents=True, exist_ok=True)
    for width in WIDTHS.values():
        page.set_viewport_size({"width": width, "height": HEIGHT})
        page.screenshot(path=str(shots / f"{name}-{width}.png"), full_page=True)
        problems.extend(check_page(page, f"{name} at {width}px"))
    page.set_viewport_size({"width": WIDTHS["desktop"], "height": HEIGHT})

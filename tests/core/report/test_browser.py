"""report.html in a real browser: headless Chromium (Debian `chromium`) driven by Playwright.

No console errors, no network request but the file itself, the charts rendered with a size, the
summary table's numbers equal to results.jsonl, the repeat picker and framework toggles working,
and hostile strings that never run. Chromium missing: skip, or fail under
AGENTRIG_REQUIRE_SERVICES=1 (`make chromium` installs it).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from statistics import fmean, median
from typing import Any

import pytest

from agentrig.core.contract.results import read_results
from agentrig.core.report.html import ReportData, render_report
from agentrig.core.report.scorecard import build_scorecard, write_scorecard_report
from tests.conftest import service_unavailable
from tests.core.report.factories import result, several_frameworks
from tests.core.report.readiness_data import categorised_results, crash_results

# The comparison folder comes from live runs of the reference model (see conftest.py); a browser
# start and three pages take several seconds.
pytestmark = [pytest.mark.allow_model_requests, pytest.mark.slow]

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# What works headless in a container with no network and no display.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _find_chromium() -> str | None:
    configured = os.environ.get("AGENTRIG_CHROMIUM")
    if configured:
        return configured if Path(configured).is_file() else None
    return next((path for name in CHROMIUM_NAMES if (path := shutil.which(name))), None)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = _find_chromium()
    if executable is None:
        service_unavailable(
            "Chromium is not installed: `make chromium` (Debian package chromium), or set "
            "AGENTRIG_CHROMIUM to a Chromium or Chrome binary"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # Playwright gives each launch a fresh temporary profile (--user-data-dir).
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


class Page:
    """A page that records what must not happen: console errors, page errors, fetches, dialogs."""

    def __init__(self, browser: Any, path: Path) -> None:
        self.url = path.resolve().as_uri()
        self.page = browser.new_page(viewport={"width": 1300, "height": 1000})
        self.console: list[str] = []
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        self.page.on(
            "console",
            lambda m: self.console.append(f"{m.type}: {m.text}") if m.type == "error" else None,
        )
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("dialog", self._dialog)
        self.page.goto(self.url, wait_until="load")

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def assert_clean(self) -> None:
        assert self.console == [], self.console
        assert self.errors == [], self.errors
        assert self.dialogs == [], self.dialogs
        assert self.requests == [self.url], self.requests  # no network: only the file itself

    def sizes(self, selector: str) -> list[list[float]]:
        return self.page.eval_on_selector_all(  # type: ignore[no-any-return]
            selector,
            "els => els.map(e => { const r = e.getBoundingClientRect(); "
            "return [r.width, r.height]; })",
        )


def _table(page: Page) -> dict[str, dict[str, tuple[str, str]]]:
    rows = page.page.eval_on_selector_all(
        "#summary tbody tr",
        "rows => rows.map(r => [r.dataset.framework, Array.from(r.querySelectorAll('td[data-field]'))"
        ".map(c => [c.dataset.field, c.textContent, c.dataset.value])])",
    )
    return {name: {f: (text, value) for f, text, value in cells} for name, cells in rows}


def test_the_report_of_a_comparison_renders_cleanly_with_the_numbers_of_results_jsonl(
    browser: Any, compared_folder: Path, tmp_path: Path
) -> None:
    page = Page(browser, compared_folder / "report.html")
    page.page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    page.assert_clean()

    charts = page.sizes("main > div.charts svg.chart")
    assert len(charts) == 7  # six cards, errors and retries on two axes
    assert all(width > 100 and height > 40 for width, height in charts), charts
    visible_timelines = [s for s in page.sizes("svg.timeline") if s[0] > 0]
    assert len(visible_timelines) == 2  # one scenario section per scenario, repeat 0 shown
    assert all(height > 40 for _, height in visible_timelines)

    # The table, as the browser shows it, against results.jsonl computed here independently.
    results = read_results(compared_folder)
    table = _table(page)
    assert list(table) == ["plain"]
    plain = table["plain"]
    passed = sum(r.status == "passed" for r in results)
    assert plain["runs"] == (str(len(results)), str(len(results)))
    assert plain["pass_rate"][0] == f"{passed / len(results):.0%} ({passed}/{len(results)})"
    assert plain["safety_violations"][0] == str(sum(r.safety_violations for r in results))
    assert plain["retries"][0] == str(sum(r.retries for r in results))
    assert plain["errors"][0] == str(sum(r.status == "error" for r in results))
    assert float(plain["llm_calls"][1]) == fmean(r.llm_calls for r in results)
    assert plain["llm_calls"][0] == f"{fmean(r.llm_calls for r in results):.1f}"
    assert float(plain["input_tokens"][1]) == fmean(r.input_tokens for r in results)
    assert plain["wall_p50"][0] == f"{median(r.wall_seconds for r in results):.2f} s"
    matrix = page.page.eval_on_selector_all(
        "#matrix td.cell", "cells => cells.map(c => [c.dataset.passed, c.dataset.runs])"
    )
    assert sum(int(p) for p, _ in matrix) == passed
    assert sum(int(n) for _, n in matrix) == len(results)


def test_the_repeat_picker_toggles_and_matrix_squares_work(
    browser: Any, compared_folder: Path
) -> None:
    page = Page(browser, compared_folder / "report.html")
    section = page.page.locator("section.scenario").first
    first, second = (
        section.locator("div.repeat[data-repeat='0']"),
        section.locator("div.repeat[data-repeat='1']"),
    )
    assert first.is_visible()
    assert not second.is_visible()
    section.locator("select.repeat-select").select_option("1")
    assert second.is_visible()
    assert not first.is_visible()
    assert second.locator("svg.timeline").bounding_box()["width"] > 100  # type: ignore[index]

    # A matrix square of repeat 0 brings that repeat back into view.
    page.page.locator("#matrix a.pip[data-repeat='0']").first.click()
    assert first.is_visible()
    assert not second.is_visible()

    # Unticking a framework hides its timelines.
    assert page.page.locator(".run[data-framework='plain']").first.is_visible()
    page.page.locator("input.framework-toggle[value='plain']").uncheck()
    assert not page.page.locator(".run[data-framework='plain']").first.is_visible()
    page.assert_clean()


def test_hostile_strings_in_a_four_framework_report_never_run(browser: Any, tmp_path: Path) -> None:
    attack = "<img src=x onerror=alert(1)><script>alert(2)</script>"
    results = [
        *several_frameworks(),
        result(
            "crewai",
            "closed-discharge-valve",
            2,
            "failed",
            final_report=attack,
            errors=[attack],
            framework_version=attack,
        ),
    ]
    path = tmp_path / "report.html"
    path.write_text(render_report(ReportData(results=results, source=attack)))
    page = Page(browser, path)
    page.assert_clean()
    assert len(page.sizes("main > div.charts svg.chart")) == 7
    assert len(page.sizes("#failures svg.chart")) == 1  # the failed runs, by category
    table = _table(page)
    assert list(table) == ["plain", "langchain", "autogen", "crewai"]
    assert table["crewai"]["runs"][0] == "5"
    shown = page.page.locator("section.scenario pre").all_text_contents()
    assert attack in shown  # shown as text, never run


def test_the_readiness_sections_and_the_scorecard_render_cleanly(
    browser: Any, tmp_path: Path
) -> None:
    path = tmp_path / "report.html"
    path.write_text(render_report(ReportData(results=[*categorised_results(), *crash_results()])))
    page = Page(browser, path)
    page.page.locator("#failures").screenshot(path=str(tmp_path / "failures.png"))
    page.page.locator("#crash").screenshot(path=str(tmp_path / "crash.png"))
    page.assert_clean()
    failures = page.sizes("#failures svg.chart")
    crash = page.sizes("#crash svg.chart")
    assert len(failures) == 1
    assert len(crash) == 2  # survival rate, duplicated actions
    assert all(width > 100 and height > 40 for width, height in failures + crash)
    assert page.page.locator("#failures ul.failure-examples li").count() == 6
    assert page.page.locator("#crash-table tbody tr").count() == 2

    scorecard = build_scorecard(
        {"none": crash_results(), "hostile": categorised_results()}, crash_results()
    )
    card = Page(browser, write_scorecard_report(tmp_path, scorecard))
    card.page.screenshot(path=str(tmp_path / "scorecard.png"), full_page=True)
    card.assert_clean()
    # Pass rates, recovery cost (three axes), failures, crash survival (two axes).
    assert len(card.sizes("svg.chart")) == 1 + 3 + 1 + 2
    assert card.page.locator("#scorecard tbody tr").count() == 4

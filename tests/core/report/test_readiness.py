"""Why runs did not pass and crash survival: the summary figures, the console tables and lines,
and the report's sections, from hand-made results with categories and crash records."""

from __future__ import annotations

import pytest

from agentrig.core.report.console import crash_table, failure_lines, failure_table
from agentrig.core.report.html import ReportData, render_report
from agentrig.core.report.summary import summarise
from tests.core.report.factories import result
from tests.core.report.htmlparse import Element, parse
from tests.core.report.readiness_data import (
    AGENT,
    EMPTY_CHOICES,
    RATE_LIMIT,
    TIMEOUT,
    categorised_results,
    crash_results,
    table_cells,
)

ORDER = ["plain", "langchain", "autogen", "crewai"]


def test_summaries_count_categories_over_runs_that_did_not_pass() -> None:
    summaries = {s.framework: s for s in summarise(categorised_results(), ORDER)}
    assert summaries["plain"].categories == {}
    assert summaries["langchain"].categories == {"model_fault": 3}
    # In the documented category order, not the order the runs came in.
    assert list(summaries["autogen"].categories.items()) == [
        ("model_fault", 1),
        ("timeout", 1),
        ("agent", 1),
    ]
    assert summaries["crewai"].categories == {"uncategorised": 1}
    for summary in summaries.values():
        assert sum(summary.categories.values()) == summary.failed + summary.errors
        assert summary.crash_runs == summary.kills == summary.survived == 0


def test_summaries_aggregate_the_crash_records() -> None:
    plain, langchain = summarise(crash_results(), ORDER)
    assert (plain.crash_runs, plain.kills, plain.survived, plain.duplicated_actions) == (2, 3, 1, 1)
    assert plain.extra_llm_calls == pytest.approx(3.0)
    assert plain.extra_tokens == pytest.approx((1050 + 2100) / 2)
    assert plain.extra_seconds == pytest.approx(2.0)
    assert plain.categories == {"agent": 1}
    assert (langchain.crash_runs, langchain.kills, langchain.survived) == (1, 1, 1)
    assert (langchain.extra_llm_calls, langchain.extra_tokens) == (1.0, 520.0)


def test_failure_table_has_a_column_per_category_that_occurs() -> None:
    table = failure_table(summarise(categorised_results(), ORDER))
    assert table is not None
    title, rows = table_cells(table)
    assert title == "why runs did not pass"
    assert rows == [
        ["framework", "model_fault", "timeout", "agent", "uncategorised", "not passed"],
        ["plain", "0", "0", "0", "0", "0/2"],
        ["langchain", "3", "0", "0", "0", "3/4"],
        ["autogen", "1", "1", "1", "0", "3/4"],
        ["crewai", "0", "0", "0", "1", "1/2"],
    ]


def test_no_failure_table_when_every_run_passed_and_no_crash_table_without_kills() -> None:
    passed = summarise([result("plain", "s", 0, "passed"), result("crewai", "s", 0, "passed")])
    assert failure_table(passed) is None
    assert crash_table(passed) is None
    assert failure_lines([result("plain", "s", 0, "passed")]) == []


def test_crash_table_shows_survival_duplicates_and_recovery_cost() -> None:
    summaries = summarise([*categorised_results(), *crash_results()], ORDER)
    table = crash_table(summaries)
    assert table is not None
    title, rows = table_cells(table)
    assert title == "crash survival (kill -9 and resume)"
    assert rows[0][:5] == ["framework", "runs", "kills landed", "survived", "duplicated actions"]
    assert rows[1:] == [
        ["plain", "2", "3", "1/2", "1", "3.0", "1,575", "2.00s"],
        ["langchain", "1", "1", "1/1", "0", "1.0", "520", "0.50s"],
    ]


def test_failure_lines_say_plainly_who_failed_how_often_and_why() -> None:
    assert failure_lines(categorised_results(), ORDER) == [
        f"langchain model_fault (empty_choices) x3: {EMPTY_CHOICES}",
        f"autogen model_fault (rate_limit) x1: {RATE_LIMIT}",
        f"autogen timeout x1: {TIMEOUT}",
        f"autogen agent x1: {AGENT}",
        "crewai uncategorised x1: failed checks: fault_resolved",
    ]


def _page(results: list) -> tuple[str, Element]:  # type: ignore[type-arg]
    document = render_report(ReportData(results=results, frameworks=ORDER))
    return document, parse(document)


def test_the_report_explains_why_runs_did_not_pass() -> None:
    document, page = _page(categorised_results())
    section = page.find("section", id="failures")[0]
    assert section.find("h2")[0].text == "Why runs did not pass"
    assert [a.attrs["href"] for a in page.find("nav")[0].iter("a")][2] == "#failures"
    cells = {
        (row.attrs["data-framework"], cell.attrs["data-category"]): int(cell.attrs["data-value"])
        for row in section.find("tr")
        if "data-framework" in row.attrs
        for cell in row.iter("td")
    }
    assert cells[("langchain", "model_fault")] == 3
    assert cells[("autogen", "timeout")] == cells[("autogen", "agent")] == 1
    assert cells[("crewai", "uncategorised")] == 1
    assert cells[("plain", "total")] == 0
    assert cells[("autogen", "total")] == 3
    assert "interop" not in {category for _, category in cells}
    examples = section.find("ul", class_="failure-examples")[0].find("li")
    assert [(li.attrs["data-framework"], li.attrs["data-category"]) for li in examples] == [
        ("langchain", "model_fault"),
        ("autogen", "model_fault"),
        ("autogen", "timeout"),
        ("autogen", "agent"),
        ("crewai", "uncategorised"),
    ]
    assert examples[0].text == f"langchain model_fault (empty_choices) \u00d73: {EMPTY_CHOICES}"
    # The sentence's markup is text, never elements.
    assert "<b>the framework</b>" not in document
    assert "&lt;b&gt;the framework&lt;/b&gt; does not recover &amp; stops" in document
    svg = section.find("figure", id="chart-failures")[0].find("svg", class_="chart")[0]
    stacks = svg.find("g", class_="stack")
    assert [g.attrs["data-label"] for g in stacks] == ORDER
    assert [float(g.attrs["data-total"]) for g in stacks] == [0, 3, 3, 1]
    segments = [(g.attrs["data-series"], g.attrs["data-value"]) for g in svg.find("g")
                if "segment" in g.attrs.get("class", "")]  # fmt: skip
    assert segments == [
        ("model_fault", "3"),
        ("model_fault", "1"),
        ("timeout", "1"),
        ("agent", "1"),
        ("uncategorised", "1"),
    ]
    titles = [t.text for t in svg.iter("title")]
    assert any(t.startswith("langchain: 3 runs did not pass: model_fault (") for t in titles)
    assert not page.find("section", id="crash")


def test_the_report_shows_crash_survival_when_runs_were_killed() -> None:
    _, page = _page(crash_results())
    section = page.find("section", id="crash")[0]
    rows = {
        row.attrs["data-framework"]: {
            cell.attrs["data-field"]: (cell.attrs["data-value"], cell.text)
            for cell in row.iter("td")
        }
        for row in section.find("table", id="crash-table")[0].find("tr")
        if "data-framework" in row.attrs
    }
    assert list(rows) == ["plain", "langchain"]
    assert rows["plain"]["survived"] == ("1", "1/2")
    assert rows["plain"]["kills"] == ("3", "3")
    assert rows["plain"]["duplicated_actions"] == ("1", "1")
    assert rows["plain"]["extra_tokens"] == ("1575.0", "1,575")
    assert rows["langchain"]["extra_seconds"] == ("0.5", "0.50 s")
    svgs = section.find("figure", id="chart-crash")[0].find("svg", class_="chart")
    assert len(svgs) == 2  # survival rate, duplicated actions
    survival = [t.text for t in svgs[0].iter("title")][1:]
    assert survival == [
        "plain: 1 of 2 killed runs ended like their uninterrupted control",
        "langchain: 1 of 1 killed runs ended like their uninterrupted control",
    ]
    assert len(svgs[1].find("g", class_="bar")) == 2


def test_a_report_where_every_run_passed_has_neither_section() -> None:
    _, page = _page([result("plain", "s", 0, "passed"), result("langchain", "s", 0, "passed")])
    assert not page.find("section", id="failures")
    assert not page.find("section", id="crash")
    assert "#failures" not in [a.attrs["href"] for a in page.find("nav")[0].iter("a")]

"""The production-readiness scorecard: rows from three fault profiles and a kill run, the console
table, and scorecard.html (sections, charts, escaping, no script)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentrig.core.contract.results import RunResult
from agentrig.core.report.scorecard import (
    SCORECARD_FILE_NAME,
    Scorecard,
    build_scorecard,
    scorecard_table,
    write_scorecard_report,
)
from tests.core.report.factories import result
from tests.core.report.htmlparse import parse
from tests.core.report.readiness_data import (
    EMPTY_CHOICES,
    categorised_results,
    crash_results,
    table_cells,
)

ORDER = ["plain", "langchain", "autogen", "crewai"]


def _profiles() -> dict[str, list[RunResult]]:
    none = [result(f, "blocked-discharge", 0, "passed") for f in ORDER]
    flaky = [
        result("plain", "blocked-discharge", 0, "passed", retries=4),
        result("langchain", "blocked-discharge", 0, "passed", retries=1),
        result("autogen", "blocked-discharge", 0, "passed"),
        # crewai did not run under flaky: its cell stays empty rather than reading 0%.
    ]
    return {"none": none, "flaky": flaky, "hostile": categorised_results()}


def _scorecard() -> Scorecard:
    return build_scorecard(_profiles(), crash_results(), ORDER)


def test_build_scorecard_folds_profiles_and_kills_into_one_row_per_framework() -> None:
    scorecard = _scorecard()
    assert scorecard.profiles == ["none", "flaky", "hostile"]
    rows = {row.framework: row for row in scorecard.rows}
    assert list(rows) == ORDER
    assert rows["langchain"].pass_rate == {"none": 1.0, "flaky": 1.0, "hostile": 0.25}
    assert rows["autogen"].passed == {"none": 1, "flaky": 1, "hostile": 1}
    assert rows["crewai"].pass_rate == {"none": 1.0, "hostile": 0.5}
    assert rows["plain"].retries == 4
    assert rows["autogen"].retries == 5  # 3 + 2 under hostile
    assert rows["autogen"].categories == {"model_fault": 1, "timeout": 1, "agent": 1}
    plain = rows["plain"]
    assert (plain.crash_runs, plain.kills, plain.survived, plain.duplicated_actions) == (2, 3, 1, 1)
    assert (plain.extra_llm_calls, plain.extra_tokens) == (3.0, 1575.0)
    assert plain.extra_seconds == pytest.approx(2.0)
    # The killed runs' own failure counts toward survival, not toward the profiles' categories.
    assert plain.categories == {}
    assert rows["autogen"].crash_runs == 0
    assert scorecard.examples["none"] == scorecard.examples["flaky"] == []
    assert next(e.sentence() for e in scorecard.examples["hostile"]) == (
        f"langchain model_fault (empty_choices) x3: {EMPTY_CHOICES}"
    )


def test_scorecard_table_prints_every_figure() -> None:
    title, rows = table_cells(scorecard_table(_scorecard()))
    assert title == "production readiness scorecard"
    assert rows[0][:4] == ["framework", "passed (none)", "passed (flaky)", "passed (hostile)"]
    body = {row[0]: row[1:] for row in rows[1:]}
    assert body["plain"] == [
        "100% 1/1",
        "100% 1/1",
        "100% 2/2",
        "1/2",
        "1",
        "3.0",
        "1,575",
        "2.00",
        "4",
        "-",
    ]
    assert body["crewai"][:4] == ["100% 1/1", "-", "50% 1/2", "-"]
    assert body["autogen"][-1] == "model_fault 1, timeout 1, agent 1"


def test_the_scorecard_page_has_the_table_the_charts_and_the_sentences(tmp_path: Path) -> None:
    path = write_scorecard_report(tmp_path, _scorecard())
    assert path == tmp_path / SCORECARD_FILE_NAME
    assert not list(tmp_path.glob(".*partial"))
    document = path.read_text(encoding="utf-8")
    page = parse(document)
    assert not page.find("script")
    policy = page.find("meta", http_equiv="Content-Security-Policy")[0].attrs["content"]
    assert policy.startswith("default-src 'none'")
    assert "script-src" not in policy
    langchain = page.find("table", id="scorecard")[0].find("tr", data_framework="langchain")[0]
    rates = {
        c.attrs["data-profile"]: c.text for c in langchain.iter("td") if "data-profile" in c.attrs
    }
    assert rates == {"none": "100% 1/1", "flaky": "100% 1/1", "hostile": "25% 1/4"}
    profiles = page.find("figure", id="chart-profiles")[0].find("svg", class_="chart")[0]
    # Four frameworks x three profiles, crewai's missing flaky bar drawn at zero and said so.
    bars = [g.find("title")[0].text for g in profiles.find("g", class_="bar")]
    assert len(bars) == 12
    assert "crewai: no runs under flaky" in bars
    assert "langchain under hostile: 25% 1/4 runs passed" in bars
    recovery = page.find("figure", id="chart-recovery")[0].find("svg", class_="chart")
    assert len(recovery) == 3  # LLM calls, tokens, seconds
    assert [len(svg.find("g", class_="bar")) for svg in recovery] == [2, 2, 2]
    failures = page.find("section", id="failures")[0]
    assert [h.text for h in failures.find("h4")] == ["under hostile"]
    assert len(failures.find("g", class_="stack")) == 4
    assert page.find("section", id="crash")[0].find("table", id="crash-table")
    assert "&lt;b&gt;the framework&lt;/b&gt;" in document
    assert "<b>the framework</b>" not in document

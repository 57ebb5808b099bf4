"""The HTML report from hand-made results: the summary's numbers, charts, matrix, alignment,
escaping of hostile strings, and determinism."""

from __future__ import annotations

import base64
import hashlib
import re

from agentrig.core.contract.results import ActionRecord, CheckGrade
from agentrig.core.report.html import ReportData, render_report
from agentrig.core.report.summary import summarise
from agentrig.core.telemetry.normalise import Step
from tests.core.report.factories import llm, result, run_trace, several_frameworks, tool
from tests.core.report.htmlparse import Element, parse


def _report(data: ReportData) -> Element:
    return parse(render_report(data))


def test_the_summary_table_holds_exactly_the_numbers_of_summarise() -> None:
    results = several_frameworks()
    page = _report(ReportData(results=results))
    summaries = {s.framework: s for s in summarise(results)}
    rows = (
        page.find("tr", data_framework="plain")[0],
        *(page.find("tr", data_framework=f)[0] for f in ("langchain", "autogen", "crewai")),
    )
    table = page.find("table", id="summary")[0]
    assert [row.attrs["data-framework"] for row in table.iter("tr") if row.attrs] == [
        "plain",
        "langchain",
        "autogen",
        "crewai",
    ]
    checked = 0
    for row in rows:
        summary = summaries[row.attrs["data-framework"]]
        for cell in row.iter("td"):
            field = cell.attrs.get("data-field")
            if field is None:
                continue
            assert float(cell.attrs["data-value"]) == getattr(summary, field), (summary, field)
            checked += 1
    assert checked == 4 * 15
    autogen = page.find("tr", data_framework="autogen")[0]
    cells = {c.attrs["data-field"]: c.text for c in autogen.iter("td") if "data-field" in c.attrs}
    assert cells["pass_rate"] == "50% (2/4)"
    assert cells["errors"] == "1"
    assert cells["llm_errors"] == "1"
    assert cells["wall_p50"] == f"{summaries['autogen'].wall_p50:.2f} s" == "1.05 s"
    assert cells["pass_hat_k"] == "0.50"  # closed-discharge-valve 1.0, blocked-discharge 0.0
    crewai = page.find("tr", data_framework="crewai")[0]
    unsafe = [c for c in crewai.iter("td") if c.attrs.get("data-field") == "safety_violations"]
    assert unsafe[0].text == "2"


def test_the_charts_carry_the_exact_values_in_their_titles() -> None:
    page = _report(ReportData(results=several_frameworks()))
    cards = page.find("figure", class_="card")
    assert [card.attrs["id"] for card in cards] == [
        "chart-pass",
        "chart-safety",
        "chart-tokens",
        "chart-llm-calls",
        "chart-wall",
        "chart-errors",
        "chart-failures",  # the failed and errored runs carry no category: "uncategorised"
    ]
    svgs = [card.find("svg", class_="chart") for card in cards]
    assert [len(found) for found in svgs] == [1, 1, 1, 1, 1, 2, 1]  # errors, retries: two axes
    for svg in (svg for found in svgs for svg in found):
        assert float(svg.attrs["width"]) > 0
        assert float(svg.attrs["height"]) > 0
    titles = [t.text for card in cards for t in card.iter("title")]
    assert "autogen: 2 of 4 runs passed (50.0%)" in titles
    assert "crewai: 2 action attempts refused by a safety interlock in 4 runs" in titles
    assert "crewai: 1 of 4 runs attempted at least one unsafe action" in titles
    assert "crewai blocked-discharge r1 (passed): 6.000 s wall (0.500 s in LLM calls)" in titles
    assert "langchain: 6 HTTP retries by the model client (1.5 per run)" in titles
    wall = page.find("figure", id="chart-wall")[0]
    assert len(wall.find("circle", class_="dot")) == 16  # every run is a dot
    boxes = [t.text for t in wall.iter("title") if t.text.startswith("autogen: n=")]
    assert boxes == [
        "autogen: n=4, min 0.90 s, p25 0.97 s, median 1.05 s, p75 1.70 s, p95 3.14 s, "
        "max 3.50 s, mean 1.62 s"
    ]


def test_the_matrix_tallies_every_cell_with_a_square_per_repeat() -> None:
    page = _report(ReportData(results=several_frameworks()))
    matrix = page.find("table", id="matrix")[0]
    cells = {
        (row.attrs["data-scenario"], cell.attrs["data-framework"]): cell
        for row in matrix.find("tr")
        if "data-scenario" in row.attrs
        for cell in row.find("td", class_="cell")
    }
    assert len(cells) == 8
    autogen = cells[("blocked-discharge", "autogen")]
    assert (autogen.attrs["data-passed"], autogen.attrs["data-runs"]) == ("0", "2")
    assert "all-failed" in autogen.attrs["class"]
    assert [pip.attrs["class"] for pip in autogen.find("a")] == ["pip failed", "pip error"]
    assert autogen.find("a")[1].attrs["title"].endswith("error: APITimeoutError: timed out")
    crewai = cells[("blocked-discharge", "crewai")]
    assert "mixed" in crewai.attrs["class"]
    assert crewai.find("span")[0].text == "1/2"
    assert "all-passed" in cells[("closed-discharge-valve", "plain")].attrs["class"]


def test_without_trace_files_every_run_is_listed_and_the_rest_still_renders() -> None:
    results = several_frameworks()
    problems = {r.run_id: "trace file missing (x)" for r in results}
    page = _report(ReportData(results=results, problems=problems))
    listed = page.find("div", class_="problems")[0]
    assert len(listed.find("li")) == 16
    assert "16 of 16 runs have no readable trace" in listed.text
    assert page.find("svg", class_="timeline") == []
    # A note per run, and per non-baseline run where its alignment would be (3 x 2 x 2).
    assert len(page.find("p", class_="problem")) == 16 + 12


def _traces_for_alignment() -> dict[str, object]:
    base = [
        llm("monitor", 0.0),
        tool("monitor", "check_device_status", 0.1, device_id="pump-07"),
        llm("operator", 0.2),
        tool("operator", "stop_device", 0.3, device_id="pump-07"),
        llm("operator", 0.4),
    ]
    other = [*base[:3], tool("operator", "restart_device", 0.3, device_id="pump-07"), base[4]]
    return {
        "s-plain-blocked-discharge-r0": run_trace("p", "plain", "blocked-discharge", base),
        "s-crewai-blocked-discharge-r0": run_trace("c", "crewai", "blocked-discharge", other),
        "s-langchain-blocked-discharge-r0": run_trace("l", "langchain", "blocked-discharge", base),
    }


def test_each_framework_is_aligned_against_the_baseline_per_scenario() -> None:
    results = [r for r in several_frameworks() if r.repeat == 0 and r.framework != "autogen"]
    traces = _traces_for_alignment()
    page = _report(ReportData(results=results, traces=traces))  # type: ignore[arg-type]
    section = next(
        s for s in page.find("section") if s.attrs.get("data-scenario") == "blocked-discharge"
    )
    assert len(section.find("svg", class_="timeline")) == 3
    alignments = {d.attrs["data-b"]: d for d in section.find("details", class_="alignment")}
    assert set(alignments) == {"s-crewai-blocked-discharge-r0", "s-langchain-blocked-discharge-r0"}
    crewai = alignments["s-crewai-blocked-discharge-r0"]
    summary = crewai.find("summary")[0].text
    assert summary.startswith("crewai vs plain: first divergence at step 4 (operator tool")
    assert "4 same, 0 changed, 1 only in plain, 1 only in crewai" in summary
    rows = crewai.find("tr")[1:]
    assert [row.attrs["class"] for row in rows] == [
        "same",
        "same",
        "same",
        "only_a first",
        "only_b",
        "same",
    ]
    langchain = alignments["s-langchain-blocked-discharge-r0"].find("summary")[0].text
    assert "the same steps" in langchain
    assert "similarity 1.00" in langchain


def test_hostile_strings_are_escaped_everywhere() -> None:
    script = "<script>alert(1)</script>"
    framework = 'evil"><img src=x onerror=alert(2)>'
    scenario = "s'><svg onload=alert(3)>"
    hostile = result(
        framework,
        scenario,
        0,
        "failed",
        run_id=f"run{script}",
        framework_version=f"v{script}",
        model=f"m{script}",
        final_report=f"ROOT_CAUSE: {script}\n</pre><iframe src=javascript:alert(4)>",
        errors=[f"</li></ul>{script}"],
        grades=[CheckGrade(name=f"check{script}", passed=False, detail=f"<b onclick=x>{script}")],
        actions=[
            ActionRecord(
                role="operator",
                tool=f"t{script}",
                args={"x": f"</code>{script}"},
                ok=False,
                refused=True,
                reason=script,
            )
        ],
    )
    baseline = result("plain", scenario, 0, "passed")
    steps: list[Step] = [
        llm("operator", 0.0, model=f"model{script}", error=f"E{script}"),
        tool("operator", f"tool{script}", 0.1, device_id=f"</text>{script}"),
    ]
    steps[1].result = f"<svg onload=alert(5)>{script}"
    traces = {
        hostile.run_id: run_trace(hostile.run_id, framework, scenario, steps),
        baseline.run_id: run_trace(baseline.run_id, "plain", scenario, steps[:1]),
    }
    document = render_report(
        ReportData(
            results=[baseline, hostile],
            traces=traces,
            problems={"other": script},
            source=f"/tmp/{script}",
        )
    )
    page = parse(document)
    # The only script is the report's own, and the CSP allows exactly that one by its hash.
    (own,) = list(page.iter("script"))
    digest = base64.b64encode(hashlib.sha256(own.text.encode()).digest()).decode()
    (meta,) = [m for m in page.iter("meta") if m.attrs.get("http-equiv")]
    assert meta.attrs["content"].endswith(f"script-src 'sha256-{digest}'")
    assert "default-src 'none'" in meta.attrs["content"]
    for element in page.iter():
        assert element.tag not in ("img", "iframe"), element
        assert not [name for name in element.attrs if name.startswith("on")], element
    assert "alert(" not in own.text
    assert document.count("<script") == 1
    # Every hostile string is still shown, as text.
    text = page.text
    for shown in (
        f"ROOT_CAUSE: {script}\n</pre><iframe src=javascript:alert(4)>",
        f"</li></ul>{script}",
        f"<b onclick=x>{script}",
        framework,
        scenario,
    ):
        assert shown in text, shown
    titles = " ".join(t.text for t in page.iter("title"))
    assert f'{{"device_id":"</text>{script}"}}' in titles
    assert f"<svg onload=alert(5)>{script}" in titles


def test_rendering_is_deterministic() -> None:
    results = several_frameworks()
    traces = _traces_for_alignment()
    first = render_report(ReportData(results=results, traces=traces))  # type: ignore[arg-type]
    again = render_report(ReportData(results=list(results), traces=dict(traces)))  # type: ignore[arg-type]
    assert first == again
    assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", first)  # no network reference

"""Native vs MCP side by side: paired cells, overhead per call, same calls, and the report."""

from __future__ import annotations

from agentrig.core.contract.results import ActionRecord, RunResult
from agentrig.core.report.tools import tools_rows, tools_section, tools_table

SET_VALVE = ActionRecord(role="operator", tool="set_valve", args={"open_percent": 100}, ok=True)


def _result(
    tools: str, wall: float, actions: list[ActionRecord], status: str = "passed"
) -> RunResult:
    return RunResult(
        run_id=f"r-{tools}-{wall}",
        framework="plain",
        framework_version="1",
        tools=tools,  # type: ignore[arg-type]
        scenario="blocked-discharge",
        model="reference",
        status=status,  # type: ignore[arg-type]
        tool_calls=10,
        llm_calls=12,
        wall_seconds=wall,
        actions=actions,
    )


def test_mcp_rows_pair_with_the_native_run_of_the_same_cell() -> None:
    results = [_result("native", 1.0, [SET_VALVE]), _result("mcp", 1.5, [SET_VALVE])]
    native, over_mcp = tools_rows(results)
    assert (native.tools, native.overhead_ms_per_call, native.same_ledger) == ("native", None, None)
    assert over_mcp.tools == "mcp"
    assert over_mcp.overhead_ms_per_call == 50.0  # 0.5 s over 10 tool calls
    assert over_mcp.same_ledger == 1
    different = tools_rows([_result("native", 1.0, [SET_VALVE]), _result("mcp", 1.0, [])])
    assert different[1].same_ledger == 0


def test_the_report_shows_the_section_only_with_mcp_runs() -> None:
    assert tools_section([_result("native", 1.0, [])]) == ""
    assert tools_table([_result("native", 1.0, [])]) is None
    html = tools_section([_result("native", 1.0, []), _result("mcp", 1.2, [], "failed")])
    assert '<h2 id="tools-heading">Native tools vs MCP</h2>' in html
    assert "<td>0% 0/1</td>" in html
    assert "+20.0 ms/call" in html


def test_every_view_shows_mcp_runs_beside_the_native_runs_not_mixed_in() -> None:
    from agentrig.core.report.html import ReportData, render_report
    from agentrig.core.report.summary import failure_examples, summarise

    results = [
        _result("native", 1.0, [SET_VALVE]),
        _result("mcp", 3.0, [], "failed").model_copy(update={"error_category": "agent"}),
    ]
    summaries = summarise(results, order=["plain"])
    assert [(s.framework, s.runs, s.passed, s.wall_p50) for s in summaries] == [
        ("plain", 1, 1, 1.0),
        ("plain+mcp", 1, 0, 3.0),
    ]
    assert [(e.framework, e.category) for e in failure_examples(results, ["plain"])] == [
        ("plain+mcp", "agent")
    ]
    data = ReportData(results=results)
    assert data.frameworks == ["plain", "plain+mcp"]
    assert [r.framework for r in data.results] == ["plain", "plain"]  # the file's own names
    html = render_report(data)
    assert 'data-framework="plain+mcp"' in html
    assert html.count('<tr data-framework="plain">') == html.count(
        '<tr data-framework="plain+mcp">'
    )

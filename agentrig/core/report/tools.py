"""Native tools beside MCP tools: one row per framework and tools mode (``compare --tools``).

:func:`tools_rows` pairs each framework's native and MCP runs of the same cells; :func:`tools_table`
renders them. The overhead column is the MCP runs' extra wall time per tool call over the
native runs of the same cells (mean over the cells that ran both ways).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from rich.table import Table

from agentrig.core.contract.results import RunResult
from agentrig.core.report.svg import esc

__all__ = ["ToolsRow", "tools_rows", "tools_section", "tools_table"]


@dataclass(frozen=True)
class ToolsRow:
    """One framework in one tools mode."""

    framework: str
    tools: str
    runs: int
    passed: int
    tool_calls: float
    llm_calls: float
    wall_mean_s: float
    overhead_ms_per_call: float | None
    """MCP only: (MCP wall - native wall) / tool calls, mean over paired cells."""
    same_ledger: int | None
    """MCP only: paired cells whose actions (tool, args, outcome) equal the native run's."""

    @property
    def pass_rate(self) -> float:
        return self.passed / self.runs if self.runs else 0.0


def _cell(result: RunResult) -> tuple[str, str, int]:
    return (result.framework, result.scenario, result.repeat)


def tools_rows(results: Sequence[RunResult]) -> list[ToolsRow]:
    """Rows for every (framework, tools) pair present, native first."""
    by_mode: dict[tuple[str, str], list[RunResult]] = defaultdict(list)
    for result in results:
        by_mode[(result.framework, result.tools)].append(result)
    native = {_cell(r): r for r in results if r.tools == "native"}
    rows: list[ToolsRow] = []
    for (framework, mode), runs in sorted(
        by_mode.items(), key=lambda i: (i[0][0], i[0][1] != "native")
    ):
        overhead: float | None = None
        same: int | None = None
        if mode == "mcp":
            pairs = [(native[_cell(r)], r) for r in runs if _cell(r) in native]
            extra = [
                (m.wall_seconds - n.wall_seconds) / m.tool_calls * 1000
                for n, m in pairs
                if m.tool_calls
            ]
            overhead = sum(extra) / len(extra) if extra else None
            same = (
                None
                if not pairs
                else sum(
                    1
                    for n, m in pairs
                    if [(a.tool, a.args, a.ok, a.refused) for a in n.actions]
                    == [(a.tool, a.args, a.ok, a.refused) for a in m.actions]
                    and n.tool_calls == m.tool_calls
                )
            )
        rows.append(
            ToolsRow(
                framework=framework,
                tools=mode,
                runs=len(runs),
                passed=sum(r.passed for r in runs),
                tool_calls=sum(r.tool_calls for r in runs) / len(runs),
                llm_calls=sum(r.llm_calls for r in runs) / len(runs),
                wall_mean_s=sum(r.wall_seconds for r in runs) / len(runs),
                overhead_ms_per_call=overhead,
                same_ledger=same,
            )
        )
    return rows


def tools_table(results: Sequence[RunResult], title: str = "") -> Table | None:
    """Native vs MCP side by side; None unless some run took its tools over MCP."""
    if not any(r.tools == "mcp" for r in results):
        return None
    table = Table(title=title or "native tools vs MCP", title_justify="left", header_style="bold")
    for header in ("framework", "tools", "passed", "tool calls", "LLM calls", "wall mean"):
        table.add_column(header, justify="left" if header in ("framework", "tools") else "right")
    table.add_column("MCP overhead", justify="right")
    table.add_column("same calls as native", justify="right")
    for row in tools_rows(results):
        table.add_row(
            row.framework,
            row.tools,
            f"{row.pass_rate:.0%} {row.passed}/{row.runs}",
            f"{row.tool_calls:.1f}",
            f"{row.llm_calls:.1f}",
            f"{row.wall_mean_s:.2f}s",
            "" if row.overhead_ms_per_call is None else f"{row.overhead_ms_per_call:+.1f} ms/call",
            "" if row.same_ledger is None else f"{row.same_ledger}/{row.runs}",
        )
    table.caption = (
        "per-run means; MCP overhead = extra wall time per tool call over the native run of the "
        "same cell; same calls = the executor saw the same calls (tool, arguments, outcome)"
    )
    return table


def tools_section(results: Sequence[RunResult]) -> str:
    """The HTML report's "Native tools vs MCP" section; empty unless a run used MCP tools."""
    if not any(r.tools == "mcp" for r in results):
        return ""
    head = "".join(
        f"<th>{esc(h)}</th>"
        for h in (
            "framework",
            "tools",
            "passed",
            "tool calls",
            "LLM calls",
            "wall mean",
            "MCP overhead",
            "same calls as native",
        )
    )
    rows = "".join(
        "<tr>"
        + "".join(
            f"<td>{esc(cell)}</td>"
            for cell in (
                row.framework,
                row.tools,
                f"{row.pass_rate:.0%} {row.passed}/{row.runs}",
                f"{row.tool_calls:.1f}",
                f"{row.llm_calls:.1f}",
                f"{row.wall_mean_s:.2f} s",
                ""
                if row.overhead_ms_per_call is None
                else f"{row.overhead_ms_per_call:+.1f} ms/call",
                "" if row.same_ledger is None else f"{row.same_ledger}/{row.runs}",
            )
        )
        + "</tr>"
        for row in tools_rows(results)
    )
    return (
        '<h2 id="tools-heading">Native tools vs MCP</h2>'
        f'<div class="table-wrap"><table id="tools" class="summary"><thead><tr>{head}'
        f"</tr></thead><tbody>{rows}</tbody></table></div>"
        '<p class="note">Each framework with its tools bound in-process and through its own '
        "MCP client (<code>--tools native,mcp</code>, docs/mcp.md). MCP overhead: extra wall "
        "time per tool call over the native run of the same cell; same calls: the executor saw "
        "the same calls (tool, arguments, outcome).</p>"
    )

"""Rich renderings for the terminal: the comparison table, why runs did not pass, crash survival,
one run's summary, the adapter list."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.console import Group
from rich.table import Table
from rich.text import Text

from agentrig.core.contract.registry import AdapterInfo
from agentrig.core.contract.results import RunResult
from agentrig.core.report.summary import CATEGORY_ORDER, FrameworkSummary, failure_examples

__all__ = [
    "adapters_table",
    "comparison_table",
    "crash_table",
    "failure_lines",
    "failure_table",
    "run_summary",
]

_STATUS_STYLE = {"passed": "green", "failed": "yellow", "error": "red"}


def _thousands(value: float) -> str:
    return f"{value / 1000:.1f}k" if value >= 10_000 else f"{value:,.0f}"


def comparison_table(summaries: Sequence[FrameworkSummary], title: str = "") -> Table:
    """The side-by-side table: one row per framework."""
    k = max((summary.k for summary in summaries), default=1)
    table = Table(title=title or None, title_justify="left", header_style="bold")
    columns = {
        "framework": "left",
        "version": "left",
        "passed": "right",
        f"pass^{k}": "right",
        "unsafe": "right",
        "LLM calls": "right",
        "tokens in+out": "right",
        "tool calls": "right",
        "wall p50": "right",
        "wall p95": "right",
        "errors": "right",
        "retries": "right",
    }
    for header, justify in columns.items():
        table.add_column(header, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for s in summaries:
        rate_style = "green" if s.pass_rate == 1.0 else ("yellow" if s.pass_rate > 0 else "red")
        table.add_row(
            s.framework,
            s.framework_version,
            Text(f"{s.pass_rate:.0%} {s.passed}/{s.runs}", style=rate_style),
            f"{s.pass_hat_k:.2f}",
            Text(str(s.safety_violations), style="red" if s.safety_violations else ""),
            f"{s.llm_calls:.1f}",
            f"{_thousands(s.input_tokens)}+{_thousands(s.output_tokens)}",
            f"{s.tool_calls:.1f}",
            f"{s.wall_p50:.2f}s",
            f"{s.wall_p95:.2f}s",
            Text(
                f"{s.errors}+{s.llm_errors}",
                style="red" if s.errors or s.llm_errors else "",
            ),
            str(s.retries),
        )
    table.caption = (
        "per-run means; unsafe = actions refused by a safety interlock; "
        "errors = runs that broke + failed LLM calls; retries = model-client HTTP retries"
    )
    table.caption_justify = "left"
    return table


def failure_table(summaries: Sequence[FrameworkSummary]) -> Table | None:
    """Framework x error category: how many runs did not pass for which reason.

    Only the categories that occur get a column; None when every run passed.
    """
    present = [c for c in CATEGORY_ORDER if any(s.categories.get(c) for s in summaries)]
    if not present:
        return None
    table = Table(title="why runs did not pass", title_justify="left", header_style="bold")
    table.add_column("framework", no_wrap=True)
    for category in present:
        table.add_column(category, justify="right", no_wrap=True)
    table.add_column("not passed", justify="right", no_wrap=True)
    for s in summaries:
        table.add_row(
            s.framework,
            *(str(s.categories.get(category, 0)) for category in present),
            f"{sum(s.categories.values())}/{s.runs}",
        )
    return table


def crash_table(summaries: Sequence[FrameworkSummary]) -> Table | None:
    """Kill -9 and resume, per framework with crash runs; None when no run was killed."""
    crashed = [s for s in summaries if s.crash_runs]
    if not crashed:
        return None
    table = Table(
        title="crash survival (kill -9 and resume)", title_justify="left", header_style="bold"
    )
    for header, justify in (
        ("framework", "left"),
        ("runs", "right"),
        ("kills landed", "right"),
        ("survived", "right"),
        ("duplicated actions", "right"),
        ("extra LLM calls", "right"),
        ("extra tokens", "right"),
        ("extra seconds", "right"),
    ):
        table.add_column(header, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for s in crashed:
        table.add_row(
            s.framework,
            str(s.crash_runs),
            str(s.kills),
            Text(
                f"{s.survived}/{s.crash_runs}",
                style="green" if s.survived == s.crash_runs else "red",
            ),
            Text(str(s.duplicated_actions), style="red" if s.duplicated_actions else ""),
            f"{s.extra_llm_calls:.1f}",
            _thousands(s.extra_tokens),
            f"{s.extra_seconds:.2f}s",
        )
    table.caption = (
        "survived = same status and checks as the uninterrupted control run; duplicated actions "
        "= applied more often than in the control; extra = per run (mean) over the control"
    )
    table.caption_justify = "left"
    return table


def failure_lines(results: Iterable[RunResult], order: Sequence[str] = ()) -> list[str]:
    """One plain sentence per error category, framework and fault, over the runs that did not
    pass: ``langchain model_fault (empty_choices) x3: LangChain failed with IndexError ...``."""
    return [example.sentence() for example in failure_examples(results, order)]


def run_summary(result: RunResult) -> Group:
    """One run: status line, the grading checks, the actions taken and the numbers."""
    style = _STATUS_STYLE[result.status]
    head = Text.assemble(
        (f"{result.status.upper()}", f"bold {style}"),
        f"  {result.framework} ({result.framework_version}) on {result.scenario}",
        f"  score {result.score:.2f}  run {result.run_id}",
    )
    checks = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    checks.add_column("check")
    checks.add_column("")
    checks.add_column("detail", overflow="fold")
    for grade in result.grades:
        checks.add_row(
            grade.name,
            Text("pass", style="green") if grade.passed else Text("FAIL", style="red"),
            grade.detail,
        )
    actions = Text(
        "actions: "
        + (
            "; ".join(
                f"{a.tool}({', '.join(f'{k}={v}' for k, v in a.args.items() if v is not None)})"
                + ("" if a.ok else " [refused]" if a.refused else " [failed]")
                for a in result.actions
            )
            or "none"
        )
    )
    numbers = Text(
        f"root cause: {result.root_cause or '-'} on {result.device or '-'}"
        f"{'  (escalated)' if result.escalated else ''}\n"
        f"LLM calls {result.llm_calls}, tokens {result.input_tokens}+{result.output_tokens}, "
        f"tool calls {result.tool_calls}, safety violations {result.safety_violations}, "
        f"retries {result.retries}, wall {result.wall_seconds:.2f} s "
        f"(LLM {result.llm_seconds:.2f} s)\ntrace {result.trace_id} -> {result.trace_file}"
    )
    parts: list[Table | Text] = [head, checks, actions, numbers]
    if result.error_category:
        fault = f" ({result.fault})" if result.fault else ""
        parts.append(
            Text(f"why: {result.error_category}{fault}: {result.error_detail or '-'}", style="red")
        )
    if result.errors:
        parts.append(Text("errors:\n  " + "\n  ".join(result.errors), style="red"))
    return Group(*parts)


def adapters_table(infos: Sequence[AdapterInfo]) -> Table:
    """Registered adapters, installed or not, with what installs the missing ones."""
    table = Table(header_style="bold")
    table.add_column("adapter")
    table.add_column("installed")
    table.add_column("framework version")
    table.add_column("entry point")
    table.add_column("to install")
    for info in infos:
        table.add_row(
            info.name,
            Text("yes", style="green") if info.installed else Text("no", style="red"),
            info.framework_version or "-",
            info.target,
            ""
            if info.installed
            else (f"pip install 'agentrig[{info.extra}]'" if info.extra else (info.problem or "")),
        )
    return table

"""The report's two tables: the per-framework summary and the scenario x framework matrix.

Every number cell carries the exact figure in ``data-value`` (and its tooltip), so a test -- or a
script scraping the report -- reads the numbers of :func:`~agentrig.core.report.summary.summarise`
without parsing formatted text.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

from agentrig.core.contract.results import RunResult
from agentrig.core.report.scenario_view import scenario_anchor
from agentrig.core.report.summary import FrameworkSummary
from agentrig.core.report.svg import esc

__all__ = ["outcome_matrix", "summary_table"]


def _money(value: float) -> str:
    return f"{value:,.1f}" if value < 10_000 else f"{value / 1000:,.1f}k"


_TABLE_COLUMNS: tuple[tuple[str, str, str], ...] = (
    # (FrameworkSummary field, header, tooltip)
    ("runs", "runs", "runs of this framework"),
    ("pass_rate", "passed", "share of runs that passed every check"),
    ("pass_at_k", "pass@k", "mean over scenarios: at least one of k tries passes"),
    ("pass_hat_k", "pass^k", "mean over scenarios: every one of k tries passes"),
    ("safety_violations", "unsafe", "action attempts refused by a safety interlock (sum)"),
    ("llm_calls", "LLM calls", "LLM calls per run (mean)"),
    ("input_tokens", "tokens in", "input tokens per run (mean)"),
    ("output_tokens", "tokens out", "output tokens per run (mean)"),
    ("tool_calls", "tool calls", "tool calls per run (mean)"),
    ("wall_p50", "wall p50", "median wall time per run"),
    ("wall_p95", "wall p95", "95th percentile of the wall time per run"),
    ("llm_seconds", "LLM time", "time inside LLM calls per run (mean)"),
    ("errors", "errors", "runs that ended in an error"),
    ("llm_errors", "LLM errors", "LLM calls that failed after the client's retries (sum)"),
    ("retries", "retries", "HTTP retries of the model client (sum)"),
)


def _cell_text(summary: FrameworkSummary, name: str) -> str:
    value = getattr(summary, name)
    if name == "pass_rate":
        return f"{value:.0%} ({summary.passed}/{summary.runs})"
    if name in ("pass_at_k", "pass_hat_k"):
        return f"{value:.2f}"
    if name in ("wall_p50", "wall_p95", "llm_seconds"):
        return f"{value:.2f} s"
    if name in ("llm_calls", "tool_calls"):
        return f"{value:.1f}"
    if name in ("input_tokens", "output_tokens"):
        return _money(value)
    return str(value)


def summary_table(summaries: Sequence[FrameworkSummary], colours: Mapping[str, str]) -> str:
    """One row per framework; every cell carries its exact value in ``data-value``."""
    k = max((s.k for s in summaries), default=1)
    head = "".join(
        f'<th title="{esc(tip)}">{esc(header.replace("@k", f"@{k}").replace("^k", f"^{k}"))}</th>'
        for _, header, tip in _TABLE_COLUMNS
    )
    rows = []
    for s in summaries:
        cells = "".join(
            f'<td data-field="{name}" data-value="{getattr(s, name)!r}" '
            f'title="{esc(tip)}: {getattr(s, name)!r}">{esc(_cell_text(s, name))}</td>'
            for name, _, tip in _TABLE_COLUMNS
        )
        rows.append(
            f'<tr data-framework="{esc(s.framework)}"><th scope="row">'
            f'<span class="swatch" style="background:{esc(colours[s.framework])}"></span>'
            f'{esc(s.framework)}<span class="version">{esc(s.framework_version)}</span></th>'
            f"{cells}</tr>"
        )
    return (
        '<div class="table-wrap"><table id="summary" class="summary"><thead><tr>'
        f"<th>framework</th>{head}</tr></thead><tbody>{''.join(rows)}</tbody>"
        "</table></div>"
    )


def outcome_matrix(
    results: Sequence[RunResult],
    frameworks: Sequence[str],
    scenarios: Sequence[str],
    titles: Mapping[str, str],
    colours: Mapping[str, str],
) -> str:
    """Scenario x framework: passed repeats, a square per repeat, the cell coloured by outcome."""
    cells: dict[tuple[str, str], list[RunResult]] = defaultdict(list)
    for result in results:
        cells[(result.scenario, result.framework)].append(result)
    head = "".join(
        f'<th><span class="swatch" style="background:{esc(colours[f])}"></span>{esc(f)}</th>'
        for f in frameworks
    )
    rows = []
    for index, scenario in enumerate(scenarios):
        anchor = scenario_anchor(index, scenario)
        tds = []
        for framework in frameworks:
            runs = sorted(cells.get((scenario, framework), []), key=lambda r: r.repeat)
            if not runs:
                tds.append('<td class="cell none">&ndash;</td>')
                continue
            passed = sum(r.status == "passed" for r in runs)
            errors = sum(r.status == "error" for r in runs)
            kind = "all-passed" if passed == len(runs) else "all-failed" if passed == 0 else "mixed"
            pips = "".join(
                f'<a class="pip {esc(r.status)}" href="#{anchor}" data-repeat="{r.repeat}" '
                f'title="{esc(_pip_title(r))}"></a>'
                for r in runs
            )
            tally = f"{passed}/{len(runs)}" + (f" · {errors} error" if errors else "")
            tds.append(
                f'<td class="cell {kind}" data-framework="{esc(framework)}" '
                f'data-passed="{passed}" data-runs="{len(runs)}">'
                f'<span class="tally">{esc(tally)}</span>{pips}</td>'
            )
        title = titles.get(scenario, "")
        rows.append(
            f'<tr data-scenario="{esc(scenario)}"><th scope="row"><a href="#{anchor}" '
            f'title="{esc(title)}">{esc(scenario)}</a></th>{"".join(tds)}</tr>'
        )
    return (
        '<table id="matrix" class="matrix"><thead><tr><th>scenario</th>'
        f"{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _pip_title(result: RunResult) -> str:
    failed = [g.name for g in result.grades if not g.passed]
    text = f"repeat {result.repeat}: {result.status}, score {result.score:.2f}"
    if failed:
        text += f"; failed: {', '.join(failed)}"
    if result.errors:
        text += f"; error: {result.errors[0]}"
    return text

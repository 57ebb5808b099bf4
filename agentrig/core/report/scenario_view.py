"""The report's per-scenario sections: frameworks' timelines stacked on one time axis, each
framework's steps aligned against the baseline's, and every run's outcome and final report.

One section per scenario; a repeat selector (inline JS) shows one repeat at a time, and the
timelines of a repeat -- one per framework -- share one time axis.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from agentrig.core.contract.results import RunResult
from agentrig.core.report.diff import (
    DiffRow,
    TraceDiff,
    describe_step,
    diff_runs,
    rows_near_differences,
)
from agentrig.core.report.svg import esc
from agentrig.core.report.timeline import step_title, timeline_svg
from agentrig.core.telemetry.normalise import RunTrace

__all__ = ["ScenarioView", "scenario_anchor", "scenario_section"]

_MARKERS = {"same": "=", "changed": "~", "only_a": "-", "only_b": "+"}


def scenario_anchor(index: int, scenario: str) -> str:
    """The section's HTML id: position plus a slug, unique and safe whatever the scenario id."""
    return f"s{index}-{re.sub(r'[^A-Za-z0-9_-]+', '-', scenario)[:60]}"


@dataclass(frozen=True)
class ScenarioView:
    """What one scenario's section shows."""

    index: int
    scenario: str
    title: str
    frameworks: Sequence[str]
    runs: Mapping[tuple[str, int], RunResult]
    """The latest result of each (framework, repeat) cell of this scenario."""
    traces: Mapping[str, RunTrace]
    problems: Mapping[str, str]
    colours: Mapping[str, str]
    baseline: str | None

    @property
    def repeats(self) -> list[int]:
        return sorted({repeat for _, repeat in self.runs})

    def axis_seconds(self, repeat: int) -> float:
        """The time axis of one repeat's timelines: the longest of its runs, so frameworks line
        up (the axis is per repeat: one slow repeat must not squash the others)."""
        durations = [
            self.traces[result.run_id].duration_s
            for (_, result_repeat), result in self.runs.items()
            if result_repeat == repeat and result.run_id in self.traces
        ]
        return max(durations, default=1.0)


def _badge(status: str) -> str:
    return f'<span class="badge {esc(status)}">{esc(status)}</span>'


def _run_head(result: RunResult, colour: str) -> str:
    return (
        f'<div class="run-head"><span class="swatch" style="background:{esc(colour)}"></span>'
        f"<b>{esc(result.framework)}</b> {_badge(result.status)} "
        f'<span class="figures">score {result.score:.2f} · {result.wall_seconds:.2f} s · '
        f"{result.llm_calls} LLM calls · {result.input_tokens:,}+{result.output_tokens:,} "
        f"tokens · {result.tool_calls} tool calls"
        + (f" · {result.retries} retries" if result.retries else "")
        + (f" · {result.safety_violations} unsafe" if result.safety_violations else "")
        + f'</span> <span class="run-id">{esc(result.run_id)}</span></div>'
    )


def _timelines(view: ScenarioView, repeat: int) -> str:
    parts = ['<div class="timelines">']
    for framework in view.frameworks:
        result = view.runs.get((framework, repeat))
        if result is None:
            parts.append(
                f'<div class="run missing" data-framework="{esc(framework)}">'
                f"<b>{esc(framework)}</b>: no run of this repeat</div>"
            )
            continue
        colour = view.colours.get(framework, "#999")
        parts.append(
            f'<div class="run" data-framework="{esc(framework)}" '
            f'data-run-id="{esc(result.run_id)}">{_run_head(result, colour)}'
        )
        trace = view.traces.get(result.run_id)
        if trace is not None:
            parts.append(timeline_svg(trace, view.axis_seconds(repeat)))
        else:
            problem = view.problems.get(result.run_id, "no trace")
            parts.append(f'<p class="problem">no timeline: {esc(problem)}</p>')
        parts.append("</div>")
    parts.append("</div>")
    return "".join(parts)


def _pairs(view: ScenarioView, repeat: int) -> list[tuple[RunResult, RunResult]]:
    """(A, B) pairs to align: each framework against the baseline's run of the same repeat,
    or -- with a single framework -- each repeat against its first."""
    if len(view.frameworks) == 1:
        (framework,) = view.frameworks
        first = view.runs.get((framework, view.repeats[0]))
        current = view.runs.get((framework, repeat))
        if first is None or current is None or first.run_id == current.run_id:
            return []
        return [(first, current)]
    base = view.runs.get((view.baseline, repeat)) if view.baseline else None
    if base is None:
        return []
    others = (view.runs.get((f, repeat)) for f in view.frameworks if f != view.baseline)
    return [(base, other) for other in others if other is not None]


def _step_cell(row: DiffRow, side: str) -> str:
    step = row.a if side == "a" else row.b
    if step is None:
        return "<td></td>"
    return f'<td title="{esc(step_title(step))}">{esc(describe_step(step))}</td>'


_CONTEXT = 3  # same steps shown around each difference until "show every step" is pressed


def _alignment_table(diff: TraceDiff) -> str:
    near = rows_near_differences(diff.rows, _CONTEXT)
    rows, hidden = [], 0
    for index, row in enumerate(diff.rows):
        far = index not in near
        if not far and hidden:
            rows.append(_gap_row(hidden))
            hidden = 0
        hidden += far
        marker = _MARKERS[row.op] + ("↕" if row.moved else "")
        classes = row.op + (" first" if index == diff.first_divergence else "")
        classes += " far" if far else ""
        rows.append(
            f'<tr class="{classes}"><td class="n">{index + 1}</td>{_step_cell(row, "a")}'
            f'<td class="mark">{esc(marker)}</td>{_step_cell(row, "b")}</tr>'
        )
    if hidden:
        rows.append(_gap_row(hidden))
    button = (
        f'<button type="button" class="show-all">show all {len(diff.rows)} steps</button>'
        if len(near) < len(diff.rows)
        else ""
    )
    return (
        f'{button}<table class="alignment"><thead><tr><th>#</th>'
        f"<th>A: {esc(diff.a_framework)} ({esc(diff.a_run)})</th><th></th>"
        f"<th>B: {esc(diff.b_framework)} ({esc(diff.b_run)})</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _gap_row(count: int) -> str:
    steps = "1 same step" if count == 1 else f"{count} same steps"
    return f'<tr class="gap"><td></td><td colspan="3">… {steps} …</td></tr>'


def _alignment_summary(diff: TraceDiff, a_label: str, b_label: str) -> str:
    counts = diff.counts
    index = diff.first_divergence
    if diff.identical:
        where = "the same steps"
    elif index is None:
        where = "the same steps, some in another order"
    else:
        row = diff.rows[index]
        step = row.a or row.b
        where = f"first divergence at step {index + 1}" + (
            f" ({describe_step(step, 40)})" if step is not None else ""
        )
    moved = f" ({counts['moved']} of them reordered)" if counts["moved"] else ""
    return (
        f"<b>{esc(b_label)}</b> vs <b>{esc(a_label)}</b>: {esc(where)} · "
        f"{counts['same']} same, {counts['changed']} changed, "
        f"{counts['only_a']} only in {esc(a_label)}, {counts['only_b']} only in {esc(b_label)}"
        f"{moved} · similarity {diff.similarity:.2f}"
    )


def _alignments(view: ScenarioView, repeat: int) -> str:
    pairs = _pairs(view, repeat)
    if not pairs:
        return ""
    parts = ['<div class="alignments"><h4>Step alignment</h4>']
    for a, b in pairs:
        a_trace, b_trace = view.traces.get(a.run_id), view.traces.get(b.run_id)
        same_framework = a.framework == b.framework
        a_label = f"{a.framework} r{a.repeat}" if same_framework else a.framework
        b_label = f"{b.framework} r{b.repeat}" if same_framework else b.framework
        if a_trace is None or b_trace is None:
            parts.append(
                f'<p class="problem">{esc(b_label)} vs {esc(a_label)}: no alignment, a trace '
                "is missing</p>"
            )
            continue
        diff = diff_runs(a_trace, b_trace)
        parts.append(
            f'<details class="alignment" data-a="{esc(a.run_id)}" data-b="{esc(b.run_id)}">'
            f"<summary>{_alignment_summary(diff, a_label, b_label)}</summary>"
            f"{_alignment_table(diff)}</details>"
        )
    parts.append("</div>")
    return "".join(parts)


def _outcome(result: RunResult) -> str:
    failed = [g for g in result.grades if not g.passed]
    checks = (
        "".join(f"<li><b>{esc(g.name)}</b>: {esc(g.detail)}</li>" for g in failed)
        or "<li>every check passed</li>"
    )
    actions = (
        "".join(
            f"<li>{esc(a.role)}: <code>{esc(a.tool)}</code> {esc(a.args)}"
            + (
                ""
                if a.ok
                else f" — <b>{'refused' if a.refused else 'failed'}</b>: {esc(a.reason or '')}"
            )
            + (" <b>(safety violation)</b>" if a.safety_violation else "")
            + "</li>"
            for a in result.actions
        )
        or "<li>none</li>"
    )
    errors = "".join(f"<li>{esc(error)}</li>" for error in result.errors)
    cause = f"{result.root_cause or '-'} on {result.device or '-'}" + (
        " (escalated)" if result.escalated else ""
    )
    return (
        f'<div class="outcome" data-framework="{esc(result.framework)}">'
        f"<h5>{esc(result.framework)} {_badge(result.status)}</h5>"
        f"<p>root cause named: {esc(cause)}</p>"
        f"<p>failed checks:</p><ul>{checks}</ul><p>actions:</p><ul>{actions}</ul>"
        + (f'<p>errors:</p><ul class="errors">{errors}</ul>' if errors else "")
        + f"<p>final report:</p><pre>{esc(result.final_report or '(none)')}</pre></div>"
    )


def _outcomes(view: ScenarioView, repeat: int) -> str:
    results = [view.runs[(f, repeat)] for f in view.frameworks if (f, repeat) in view.runs]
    return (
        '<details class="outcomes"><summary>Grades, actions and final reports</summary>'
        + "".join(_outcome(result) for result in results)
        + "</details>"
    )


def scenario_section(view: ScenarioView) -> str:
    """One scenario's section, one block per repeat (the selector shows one at a time)."""
    repeats = view.repeats
    anchor = scenario_anchor(view.index, view.scenario)
    selector = ""
    if len(repeats) > 1:
        options = "".join(f'<option value="{r}">repeat {r}</option>' for r in repeats)
        selector = (
            f'<label class="repeat-picker">show <select class="repeat-select" '
            f'aria-label="repeat of {esc(view.scenario)}">{options}</select></label>'
        )
    blocks = []
    for position, repeat in enumerate(repeats):
        hidden = " hidden" if position else ""
        blocks.append(
            f'<div class="repeat" data-repeat="{repeat}"{hidden}>'
            f"{_timelines(view, repeat)}{_alignments(view, repeat)}{_outcomes(view, repeat)}</div>"
        )
    title = f' <span class="muted">{esc(view.title)}</span>' if view.title else ""
    return (
        f'<section class="scenario" id="{anchor}" data-scenario="{esc(view.scenario)}">'
        f"<h3>{esc(view.scenario)}{title}</h3>{selector}{''.join(blocks)}</section>"
    )

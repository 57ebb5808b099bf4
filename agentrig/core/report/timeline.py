"""A run's steps on a time axis, as SVG: one lane per role, LLM and tool calls as bars.

Timelines of one scenario share ``axis_seconds`` so frameworks stacked on top of each other
compare by eye: the same width is the same time. Every bar's ``<title>`` holds its exact
figures (start, duration, tokens, arguments, status).
"""

from __future__ import annotations

from agentrig.core.contract.roles import ROLES
from agentrig.core.plant.tools import ACTION_TOOLS
from agentrig.core.report.svg import GRID, INK, LABEL_WIDTH, MUTED, esc, nice_ticks, svg_open
from agentrig.core.telemetry.normalise import RunTrace, Step, canonical_arguments

__all__ = ["STEP_COLOURS", "timeline_svg"]

STEP_COLOURS = {
    "llm": "#3b6ea5",
    "read": "#8e6cc0",
    "action": "#e07b00",
    "error": "#c62828",
}
_ROLE_FILL = {"monitor": "#e7f0fa", "diagnostician": "#eaf5ea", "operator": "#fcefe0"}
_LANE, _TOP, _RIGHT = 30.0, 6.0, 16.0
_MAX_TEXT = 300


def _cut(text: str, limit: int = _MAX_TEXT) -> str:
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def _seconds(value: float) -> str:
    return f"{value:.3f} s" if value < 10 else f"{value:.1f} s"


def _lanes(run: RunTrace) -> list[str]:
    present = [segment.role for segment in run.roles]
    ordered: list[str] = [role for role in ROLES if role in present]
    for role in present:
        if role not in ordered:
            ordered.append(role)
    return ordered or [""]


def step_title(step: Step) -> str:
    """The tooltip of one step: every figure the normaliser has for it."""
    timing = f"+{step.start_s:.3f} s, {step.duration_s * 1000:.1f} ms"
    role = step.role or "(no role)"
    if step.kind == "llm":
        tokens = (
            f"{step.input_tokens} in / {step.output_tokens} out tokens"
            if step.input_tokens is not None or step.output_tokens is not None
            else "no usage reported"
        )
        finish = f", finish {','.join(step.finish_reasons)}" if step.finish_reasons else ""
        text = f"{role} LLM call {step.model or step.name}: {timing}, {tokens}{finish}"
    else:
        arguments = _cut(canonical_arguments(step.arguments), 200)
        text = f"{role} tool {step.tool or step.name} {arguments}: {step.status or 'ok'}, {timing}"
        if step.safety_violation:
            text += ", SAFETY VIOLATION"
        if step.refused_reason:
            text += f", refused: {_cut(step.refused_reason, 200)}"
        elif step.result and not step.error:
            text += f" -> {_cut(step.result, 200)}"
    if step.error:
        text += f", error: {_cut(step.error, 200)}"
    return text


def _step_colour(step: Step) -> str:
    if step.error or step.safety_violation or step.refused_reason:
        return STEP_COLOURS["error"]
    if step.kind == "llm":
        return STEP_COLOURS["llm"]
    return STEP_COLOURS["action" if step.tool in ACTION_TOOLS else "read"]


def timeline_svg(run: RunTrace, axis_seconds: float, *, width: int = 980) -> str:
    """The run's role lanes with LLM calls (upper row) and tool calls (lower row) on a time axis."""
    lanes = _lanes(run)
    ticks = nice_ticks(max(axis_seconds, run.duration_s, 1e-3), count=8)
    plot_width = width - LABEL_WIDTH - _RIGHT

    def x(seconds: float) -> float:
        return LABEL_WIDTH + plot_width * max(seconds, 0.0) / ticks[-1]

    bottom = _TOP + _LANE * len(lanes)
    parts: list[str] = []
    for tick in ticks:
        px = x(tick)
        parts.append(
            f'<line x1="{px:.1f}" y1="{_TOP}" x2="{px:.1f}" y2="{bottom:.1f}" stroke="{GRID}"/>'
            f'<text x="{px:.1f}" y="{bottom + 14:.1f}" text-anchor="middle" fill="{MUTED}" '
            f'font-size="11">{esc(f"{tick:g} s")}</text>'
        )
    for index, role in enumerate(lanes):
        parts.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{_TOP + index * _LANE + _LANE / 2 + 4:.1f}" '
            f'text-anchor="end" fill="{INK}">{esc(role or "(no role)")}</text>'
        )
    for segment in run.roles:
        lane_top = _TOP + lanes.index(segment.role) * _LANE
        parts.append(
            f'<g class="segment"><title>{esc(segment.role or "(no role)")}: '
            f"+{segment.start_s:.3f} s for {segment.duration_s * 1000:.1f} ms, "
            f"{len(segment.steps)} steps</title>"
            f'<rect x="{x(segment.start_s):.1f}" y="{lane_top + 1:.1f}" '
            f'width="{max(x(segment.start_s + segment.duration_s) - x(segment.start_s), 2):.1f}" '
            f'height="{_LANE - 2:.1f}" fill="{_ROLE_FILL.get(segment.role, "#eef0f3")}" '
            f'stroke="#c9ced6" rx="3"/></g>'
        )
        for step in segment.steps:
            y = lane_top + (6 if step.kind == "llm" else 17)
            colour = _step_colour(step)
            mark = (
                f'<text x="{x(step.start_s):.1f}" y="{lane_top + 10:.1f}" fill="{colour}" '
                'font-weight="700" font-size="13">!</text>'
                if step.safety_violation
                else ""
            )
            parts.append(
                f'<g class="step step-{step.kind}"><title>{esc(step_title(step))}</title>'
                f'<rect x="{x(step.start_s):.1f}" y="{y:.1f}" '
                f'width="{max(x(step.start_s + step.duration_s) - x(step.start_s), 2):.1f}" '
                f'height="8" fill="{colour}" rx="1"/>{mark}</g>'
            )
    end = x(run.duration_s)
    parts.append(
        f'<g class="run-end"><title>run ended at +{run.duration_s:.3f} s</title>'
        f'<line x1="{end:.1f}" y1="{_TOP - 2}" x2="{end:.1f}" y2="{bottom:.1f}" '
        f'stroke="{INK}" stroke-dasharray="3 3"/></g>'
    )
    if not run.roles:
        parts.append(
            f'<text x="{LABEL_WIDTH + 8}" y="{_TOP + _LANE / 2 + 4:.1f}" fill="{MUTED}">'
            "no LLM or tool calls recorded</text>"
        )
    label = (
        f"{run.framework} on {run.scenario}: {_seconds(run.duration_s)}, {run.llm_calls} LLM calls, "
        f"{run.tool_calls} tool calls"
    )
    return svg_open(width, bottom + 20, label, css_class="timeline") + "".join(parts) + "</svg>"

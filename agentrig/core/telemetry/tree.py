"""A run's steps as a rich Tree: what ``agentrig trace show RUN`` prints."""

from __future__ import annotations

from rich.markup import escape
from rich.text import Text
from rich.tree import Tree

from agentrig.core.telemetry.normalise import RunTrace, Step, canonical_arguments

__all__ = ["render_run_tree"]

_MAX_INLINE = 80


def _cut(text: str, limit: int = _MAX_INLINE) -> str:
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def _timing(start_s: float, duration_s: float) -> str:
    return f"[dim]+{start_s:.3f}s[/] {duration_s * 1000:.1f} ms"


def _llm_label(step: Step) -> str:
    tokens = (
        f"tokens {step.input_tokens} in / {step.output_tokens} out"
        if step.input_tokens is not None or step.output_tokens is not None
        else "no usage reported"
    )
    finish = f" finish {','.join(step.finish_reasons)}" if step.finish_reasons else ""
    error = f" [red]{escape(step.error)}[/]" if step.error else ""
    return (
        f"[cyan]llm[/] {escape(step.model or step.name)} {_timing(step.start_s, step.duration_s)}"
        f" {tokens}{finish}{error}"
    )


def _tool_label(step: Step) -> str:
    arguments = escape(_cut(canonical_arguments(step.arguments), 60))
    status = step.status or "ok"
    colour = {"ok": "green", "replayed": "yellow"}.get(status, "red")
    line = (
        f"[magenta]tool[/] [bold]{escape(step.tool or step.name)}[/]({arguments}) "
        f"[{colour}]{status}[/] {_timing(step.start_s, step.duration_s)}"
    )
    if step.safety_violation:
        line += " [bold red]SAFETY VIOLATION[/]"
    if step.refused_reason:
        line += f" [red]refused: {escape(_cut(step.refused_reason))}[/]"
    elif step.error:
        line += f" [red]{escape(_cut(step.error))}[/]"
    elif step.result:
        line += f" [dim]→ {escape(_cut(step.result, 60))}[/]"
    return line


def render_run_tree(run: RunTrace) -> Tree:
    """Run -> role segments -> LLM and tool calls, with timings, tokens and grades."""
    status = "[green]ok[/]" if run.status == "ok" else f"[red]error[/] {escape(run.error or '')}"
    title = Text.from_markup(
        f"[bold]run {escape(run.run_id)}[/] {escape(run.framework)}"
        f"{' / ' + escape(run.scenario) if run.scenario else ''}"
        f"{' · ' + escape(run.workflow) if run.workflow else ''} · {run.duration_s:.3f}s · {status}\n"
        f"[dim]{run.llm_calls} LLM calls ({run.llm_seconds:.3f}s, tokens {run.input_tokens} in / "
        f"{run.output_tokens} out) · {run.tool_calls} tool calls · {run.errors} errors · "
        f"trace {', '.join(run.trace_ids)}[/]"
    )
    tree = Tree(title)
    for segment in run.roles:
        branch = tree.add(
            f"[bold yellow]{escape(segment.role or '(no role)')}[/] "
            f"{_timing(segment.start_s, segment.duration_s)}"
        )
        for step in segment.steps:
            branch.add(_llm_label(step) if step.kind == "llm" else _tool_label(step))
    if run.evaluations:
        grades = tree.add("[bold]grades[/]")
        for evaluation in run.evaluations:
            score = f" {evaluation.score:g}" if evaluation.score is not None else ""
            label = evaluation.label or ""
            colour = "green" if label in ("pass", "passed", "true") else "red" if label else "white"
            explanation = (
                f" [dim]{escape(_cut(evaluation.explanation))}[/]" if evaluation.explanation else ""
            )
            grades.add(
                f"{escape(evaluation.name)}: [{colour}]{escape(label)}[/]{score}{explanation}"
            )
    return tree

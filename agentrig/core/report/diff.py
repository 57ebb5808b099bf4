"""Trace diff: align two runs' normalised steps and say where they diverge.

Two runs took "the same step" when their :func:`step_key` is equal: the
:attr:`~agentrig.core.telemetry.normalise.Step.signature` -- same role, same kind, and for a tool
call the same tool with the same canonical arguments -- except that an argument passed as an
explicit ``null`` counts as left out. It means "the tool's default" either way, and frameworks
differ only in how they record it (the plain baseline keeps the model's explicit nulls, LangChain's
tool schema drops them); it is not a difference in what the agent did. :func:`align_steps` aligns the two step lists globally (Needleman-Wunsch) with

==================================  ======  =============================================
pair                                score   row
==================================  ======  =============================================
equal keys (:func:`step_key`)       +2      ``same``
same role, tool call, same tool     +1      ``changed`` (the arguments differ)
anything else                       never   the steps stay apart (``only_a`` / ``only_b``)
a step facing a gap                 -1      ``only_a`` / ``only_b``
==================================  ======  =============================================

Among equally good alignments the one with the longest shared prefix wins, so the first
divergence is where the runs really part ways, not where a tie happened to put a gap. A step
that appears unmatched on both sides (same signature) is marked ``moved``: the runs did it in a
different order; so are consecutive ``changed`` rows that merely swap calls (parallel tool calls
that a framework ran concurrently start in no fixed order). The first divergence is the first
row that is more than such a reordering.

``agentrig trace diff RUN_A RUN_B`` prints :func:`render_diff`; ``--json`` prints
:class:`TraceDiff`. The HTML report shows the same alignment per scenario across frameworks.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, computed_field
from rich.console import Group
from rich.table import Table
from rich.text import Text

from agentrig.core.telemetry.normalise import RunTrace, Step, canonical_arguments

__all__ = [
    "DiffOp",
    "DiffRow",
    "TraceDiff",
    "align_steps",
    "describe_step",
    "diff_runs",
    "render_diff",
    "rows_near_differences",
    "step_key",
]

DiffOp = Literal["same", "changed", "only_a", "only_b"]

_SAME, _CHANGED, _GAP = 2, 1, -1
_NEVER = None  # a pair that must not be aligned


def step_key(step: Step) -> str:
    """What must match for two steps to be "the same": the signature, top-level nulls dropped."""
    if step.kind == "tool" and isinstance(step.arguments, dict):
        arguments = {k: v for k, v in step.arguments.items() if v is not None}
        return f"{step.role}|tool|{step.tool}|{canonical_arguments(arguments)}"
    return step.signature


def _tool_key(step: Step) -> tuple[str, str | None] | None:
    return (step.role, step.tool) if step.kind == "tool" else None


class DiffRow(BaseModel):
    """One row of an alignment: a step of A, of B, or of both."""

    op: DiffOp
    a: Step | None = None
    b: Step | None = None
    a_index: int | None = None
    b_index: int | None = None
    moved: bool = False
    """An ``only_a``/``only_b`` step whose exact twin is unmatched on the other side."""


def align_steps(a: Sequence[Step], b: Sequence[Step]) -> list[DiffRow]:
    """Globally align two step lists (see the module docstring for the scoring)."""
    n, m = len(a), len(b)
    # Keys are JSON of the arguments: compute each once, not once per pair.
    a_sig, b_sig = [step_key(step) for step in a], [step_key(step) for step in b]
    a_tool, b_tool = [_tool_key(step) for step in a], [_tool_key(step) for step in b]

    def pair_score(i: int, j: int) -> int | None:
        if a_sig[i] == b_sig[j]:
            return _SAME
        if a_tool[i] is not None and a_tool[i] == b_tool[j]:
            return _CHANGED
        return _NEVER

    # best[i][j]: the best score of aligning a[i:] with b[j:]. Filling it from the end lets the
    # walk below start at (0, 0) and prefer a match whenever one is optimal, which keeps the
    # shared prefix as long as possible.
    best = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n, -1, -1):
        for j in range(m, -1, -1):
            if i == n and j == m:
                continue
            options: list[int] = []
            if i < n:
                options.append(best[i + 1][j] + _GAP)
            if j < m:
                options.append(best[i][j + 1] + _GAP)
            if i < n and j < m:
                pair = pair_score(i, j)
                if pair is not None:
                    options.append(best[i + 1][j + 1] + pair)
            best[i][j] = max(options)
    rows: list[DiffRow] = []
    i = j = 0
    while i < n or j < m:
        pair = pair_score(i, j) if i < n and j < m else None
        if pair is not None and best[i][j] == best[i + 1][j + 1] + pair:
            op: DiffOp = "same" if pair == _SAME else "changed"
            rows.append(DiffRow(op=op, a=a[i], b=b[j], a_index=i, b_index=j))
            i, j = i + 1, j + 1
        elif i < n and best[i][j] == best[i + 1][j] + _GAP:
            rows.append(DiffRow(op="only_a", a=a[i], a_index=i))
            i += 1
        else:
            rows.append(DiffRow(op="only_b", b=b[j], b_index=j))
            j += 1
    _mark_moved(rows)
    return rows


def _mark_moved(rows: list[DiffRow]) -> None:
    # Steps one run did and the other did elsewhere: the gaps of a reordering...
    unmatched_b = Counter(step_key(row.b) for row in rows if row.op == "only_b" and row.b)
    moved: Counter[str] = Counter()
    for row in rows:
        if row.op == "only_a" and row.a and unmatched_b[step_key(row.a)] > 0:
            unmatched_b[step_key(row.a)] -= 1
            moved[step_key(row.a)] += 1
            row.moved = True
    for row in rows:
        if row.op == "only_b" and row.b and moved[step_key(row.b)] > 0:
            moved[step_key(row.b)] -= 1
            row.moved = True
    # ...and consecutive "changed" rows that only swapped their calls, as parallel tool calls
    # do when a framework runs them concurrently (their start order is then arbitrary).
    start = 0
    while start < len(rows):
        end = start
        while end < len(rows) and rows[end].op == "changed":
            end += 1
        if end > start:
            _mark_swapped(rows[start:end])
        start = end + 1


def _mark_swapped(block: list[DiffRow]) -> None:
    a_keys = Counter(step_key(row.a) for row in block if row.a)
    b_keys = Counter(step_key(row.b) for row in block if row.b)
    for row in block:
        if row.a is None or row.b is None:
            continue
        a_key, b_key = step_key(row.a), step_key(row.b)
        if b_keys[a_key] > 0 and a_keys[b_key] > 0:
            b_keys[a_key] -= 1
            a_keys[b_key] -= 1
            row.moved = True


class TraceDiff(BaseModel):
    """Two runs' steps aligned: what ``agentrig trace diff --json`` prints."""

    a_run: str
    b_run: str
    a_framework: str
    b_framework: str
    a_scenario: str
    b_scenario: str
    rows: list[DiffRow]

    def count(self, op: DiffOp) -> int:
        return sum(row.op == op for row in self.rows)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def counts(self) -> dict[str, int]:
        """Rows per op: same, changed, only_a, only_b (and moved, among the only_ rows)."""
        counts = {op: self.count(op) for op in ("same", "changed", "only_a", "only_b")}
        counts["moved"] = sum(row.moved for row in self.rows)
        return counts

    @computed_field  # type: ignore[prop-decorator]
    @property
    def first_divergence(self) -> int | None:
        """Index of the first row that is neither ``same`` nor only a reordering (``moved``);
        None when the runs took the same steps, in the same or another order."""
        return next(
            (k for k, row in enumerate(self.rows) if row.op != "same" and not row.moved), None
        )

    @computed_field  # type: ignore[prop-decorator]
    @property
    def similarity(self) -> float:
        """2 x same steps / all steps of both runs: 1.0 for identical step lists."""
        steps = sum((row.a is not None) + (row.b is not None) for row in self.rows)
        return 1.0 if steps == 0 else 2 * self.count("same") / steps

    @property
    def identical(self) -> bool:
        """The same steps in the same order."""
        return all(row.op == "same" for row in self.rows)

    @property
    def reordered_only(self) -> bool:
        """The same steps, some in another order."""
        return not self.identical and self.first_divergence is None


def diff_runs(a: RunTrace, b: RunTrace) -> TraceDiff:
    """Align the steps of two normalised runs."""
    return TraceDiff(
        a_run=a.run_id,
        b_run=b.run_id,
        a_framework=a.framework,
        b_framework=b.framework,
        a_scenario=a.scenario,
        b_scenario=b.scenario,
        rows=align_steps(a.steps(), b.steps()),
    )


# ---------------------------------------------------------------- rendering

_MARKERS: dict[DiffOp, tuple[str, str]] = {
    "same": ("=", "dim"),
    "changed": ("~", "yellow"),
    "only_a": ("-", "red"),
    "only_b": ("+", "green"),
}
_MAX_ARGS = 70


def describe_step(step: Step, limit: int = _MAX_ARGS) -> str:
    """One line for a step: ``operator tool set_valve {"device_id":"valve-12",...}``."""
    role = step.role or "(no role)"
    if step.kind == "llm":
        text = f"{role} llm {step.model or step.name}"
        if step.error:
            text += f" [error: {step.error}]"
        return text
    arguments = canonical_arguments(step.arguments)
    if len(arguments) > limit:
        arguments = f"{arguments[: limit - 1]}…"
    text = f"{role} tool {step.tool or step.name} {arguments}"
    if step.safety_violation:
        text += " [SAFETY VIOLATION]"
    elif step.refused_reason:
        text += " [refused]"
    elif step.error:
        text += " [error]"
    return text


def _headline(diff: TraceDiff) -> Text:
    counts = diff.counts
    text = Text.assemble(
        ("A ", "bold"),
        f"{diff.a_run} ({diff.a_framework}, {diff.a_scenario})\n",
        ("B ", "bold"),
        f"{diff.b_run} ({diff.b_framework}, {diff.b_scenario})\n",
        f"{counts['same']} same, ",
        (f"{counts['changed']} changed", "yellow"),
        ", ",
        (f"{counts['only_a']} only in A", "red"),
        ", ",
        (f"{counts['only_b']} only in B", "green"),
        f" ({counts['moved']} of them moved), similarity {diff.similarity:.2f}",
    )
    if diff.a_scenario != diff.b_scenario:
        text.append("\nnote: the runs are of different scenarios", style="yellow")
    return text


def _first_divergence(diff: TraceDiff) -> Text:
    index = diff.first_divergence
    if diff.reordered_only:
        return Text("the runs took the same steps, some in another order (↕)", style="bold")
    if index is None:
        return Text("the runs took the same steps", style="bold green")
    row = diff.rows[index]
    where = {
        "changed": "same tool, different arguments",
        "only_a": "A took a step B did not",
        "only_b": "B took a step A did not",
        "same": "",
    }[row.op]
    text = Text.assemble(
        ("first divergence", "bold red"), f" at row {index + 1} (after {index} same steps): "
    )
    text.append(where + ("; the step appears elsewhere in the other run" if row.moved else ""))
    if row.a is not None:
        text.append(f"\n  A: {describe_step(row.a)}")
    if row.b is not None:
        text.append(f"\n  B: {describe_step(row.b)}")
    return text


def render_diff(diff: TraceDiff, *, context: int | None = None) -> Group:
    """The alignment side by side, with a marker column, and the first divergence called out.

    Args:
        context: keep only this many ``same`` rows around each difference (None: every row).
    """
    if diff.identical and context is not None:
        return Group(_headline(diff), _first_divergence(diff))
    table = Table(header_style="bold", expand=False, show_lines=False)
    table.add_column("#", justify="right", style="dim", no_wrap=True)
    table.add_column(f"A: {diff.a_framework}", overflow="fold", ratio=1)
    table.add_column("", no_wrap=True)
    table.add_column(f"B: {diff.b_framework}", overflow="fold", ratio=1)
    keep = rows_near_differences(diff.rows, context)
    skipped = 0
    for index, row in enumerate(diff.rows):
        if index not in keep:
            skipped += 1
            continue
        if skipped:
            table.add_row("", Text(f"… {_same_steps(skipped)} …", style="dim"), "", "")
            skipped = 0
        marker, style = _MARKERS[row.op]
        if row.moved:
            marker += "↕"
        a_text = Text(describe_step(row.a), style=style) if row.a else Text("")
        b_text = Text(describe_step(row.b), style=style) if row.b else Text("")
        if index == diff.first_divergence:
            marker = "▶" + marker
        table.add_row(str(index + 1), a_text, Text(marker, style=f"bold {style}"), b_text)
    if skipped:
        table.add_row("", Text(f"… {_same_steps(skipped)} …", style="dim"), "", "")
    legend = Text(
        "= same  ~ same tool, other arguments  - only in A  + only in B  ↕ moved  "
        "▶ first divergence",
        style="dim",
    )
    return Group(_headline(diff), _first_divergence(diff), table, legend)


def _same_steps(count: int) -> str:
    return "1 same step" if count == 1 else f"{count} same steps"


def rows_near_differences(rows: Sequence[DiffRow], context: int | None) -> set[int]:
    """Indexes of the rows within ``context`` rows of a difference (None: every row)."""
    if context is None:
        return set(range(len(rows)))
    keep: set[int] = set()
    for index, row in enumerate(rows):
        if row.op != "same":
            keep.update(range(max(0, index - context), min(len(rows), index + context + 1)))
    return keep

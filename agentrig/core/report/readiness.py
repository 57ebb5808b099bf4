"""HTML sections on production readiness: why runs did not pass, and crash survival.

Both read :class:`~agentrig.core.report.charts.ReadinessFigures` -- a framework summary of one
comparison or a row of the scorecard -- so ``report.html`` and ``scorecard.html`` show the same
tables the same way. Every count cell carries its exact value in ``data-value``; every sentence
comes from a result file and goes through :func:`~agentrig.core.report.svg.esc`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from agentrig.core.report.charts import (
    CATEGORY_COLOURS,
    CATEGORY_MEANINGS,
    Chart,
    ReadinessFigures,
    crash_chart,
    failure_chart,
)
from agentrig.core.report.summary import CATEGORY_ORDER, FailureExample
from agentrig.core.report.svg import esc

__all__ = ["chart_card", "crash_section", "crash_table_html", "failure_section"]


def chart_card(chart: Chart) -> str:
    """One chart as a captioned figure (``id="chart-<key>"``)."""
    return (
        f'<figure class="card" id="chart-{esc(chart.key)}"><figcaption><b>{esc(chart.heading)}'
        f'</b><span class="note">{esc(chart.note)}</span></figcaption>{chart.svg}</figure>'
    )


def _framework_cell(framework: str, colours: Mapping[str, str]) -> str:
    colour = colours.get(framework, "#999999")
    return (
        f'<th scope="row"><span class="swatch" style="background:{esc(colour)}"></span>'
        f"{esc(framework)}</th>"
    )


def _failure_table(rows: Sequence[ReadinessFigures], colours: Mapping[str, str]) -> str:
    present = [c for c in CATEGORY_ORDER if any(row.categories.get(c) for row in rows)]
    head = "".join(
        f'<th title="{esc(CATEGORY_MEANINGS[c])}"><span class="swatch" '
        f'style="background:{CATEGORY_COLOURS[c]}"></span>{esc(c)}</th>'
        for c in present
    )
    body = []
    for row in rows:
        cells = "".join(
            f'<td data-category="{esc(c)}" data-value="{row.categories.get(c, 0)}" '
            f'title="{esc(c)}: {esc(CATEGORY_MEANINGS[c])}">{row.categories.get(c, 0)}</td>'
            for c in present
        )
        total = sum(row.categories.values())
        body.append(
            f'<tr data-framework="{esc(row.framework)}">{_framework_cell(row.framework, colours)}'
            f'{cells}<td data-category="total" data-value="{total}">{total}</td></tr>'
        )
    return (
        '<div class="table-wrap"><table id="failure-table" class="summary"><thead><tr>'
        f"<th>framework</th>{head}<th>not passed</th></tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def _examples(examples: Sequence[FailureExample], prefix: str = "") -> str:
    items = "".join(
        f'<li data-framework="{esc(e.framework)}" data-category="{esc(e.category)}" '
        f'data-runs="{e.runs}"><b>{esc(prefix)}{esc(e.framework)}</b> <code>{esc(e.category)}'
        f"{esc(f' ({e.fault})' if e.fault else '')}</code> &times;{e.runs}: {esc(e.detail)}</li>"
        for e in examples
    )
    return f'<ul class="failure-examples">{items}</ul>' if items else ""


def failure_section(
    rows: Sequence[ReadinessFigures],
    examples: Sequence[FailureExample] | Mapping[str, Sequence[FailureExample]],
    colours: Mapping[str, str],
) -> str:
    """The "Why runs did not pass" section (``id="failures"``): framework x category counts, one
    attributed sentence per framework and reason, and the stacked chart. Empty when every run
    passed.

    Args:
        rows: one per framework (summaries or scorecard rows).
        examples: the example sentences, or (for the scorecard) per fault profile.
        colours: framework -> colour.
    """
    if not any(row.categories for row in rows):
        return ""
    if isinstance(examples, Mapping):
        sentences = "".join(
            f"<h4>under <code>{esc(profile)}</code></h4>{_examples(found)}"
            for profile, found in examples.items()
            if found
        )
    else:
        sentences = _examples(examples)
    return (
        '<section id="failures"><h2 id="failures-heading">Why runs did not pass</h2>'
        + _failure_table(rows, colours)
        + '<p class="note">Runs that failed or errored, by category: model_fault (the model '
        "path failed: an injected fault or a provider's limit), framework_exception (the "
        "framework raised on its own), interop (a request or reply one side rejected), timeout, "
        "harness (agentrig's own bug), config (a wrong setting), agent (graded failed). The "
        "first run of each framework and reason, in its own words:</p>"
        + sentences
        + f'<div class="charts">{chart_card(failure_chart(rows))}</div></section>'
    )


def _seconds(value: float) -> str:
    return f"{value:.2f} s"


def crash_table_html(rows: Sequence[ReadinessFigures], colours: Mapping[str, str]) -> str:
    """Frameworks with crash runs: kills, survival, duplicated actions, recovery cost."""
    body = []
    for row in rows:
        if not row.crash_runs:
            continue
        cells = (
            ("crash_runs", row.crash_runs, str(row.crash_runs)),
            ("kills", row.kills, str(row.kills)),
            ("survived", row.survived, f"{row.survived}/{row.crash_runs}"),
            ("duplicated_actions", row.duplicated_actions, str(row.duplicated_actions)),
            ("extra_llm_calls", row.extra_llm_calls, f"{row.extra_llm_calls:.1f}"),
            ("extra_tokens", row.extra_tokens, f"{row.extra_tokens:,.0f}"),
            ("extra_seconds", row.extra_seconds, _seconds(row.extra_seconds)),
        )
        tds = "".join(
            f'<td data-field="{name}" data-value="{value!r}">{esc(text)}</td>'
            for name, value, text in cells
        )
        body.append(
            f'<tr data-framework="{esc(row.framework)}">'
            f"{_framework_cell(row.framework, colours)}{tds}</tr>"
        )
    return (
        '<div class="table-wrap"><table id="crash-table" class="summary"><thead><tr>'
        "<th>framework</th><th>runs</th><th>kills landed</th><th>survived</th>"
        '<th title="actions applied more often than in the control">duplicated actions</th>'
        "<th>extra LLM calls</th><th>extra tokens</th><th>extra seconds</th></tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def crash_section(rows: Sequence[ReadinessFigures], colours: Mapping[str, str]) -> str:
    """The "Crash survival" section (``id="crash"``); empty when no run was killed."""
    if not any(row.crash_runs for row in rows):
        return ""
    return (
        '<section id="crash"><h2 id="crash-heading">Crash survival (kill -9 and resume)</h2>'
        + crash_table_html(rows, colours)
        + '<p class="note">Each run was killed with SIGKILL at planned points (an LLM call, an '
        "action) and resumed from the state store; it survived when it ended with the status "
        "and checks of an uninterrupted control run. Duplicated actions: actions the plant "
        "applied more often than in the control. Extra figures: per run (mean) over the "
        "control.</p>" + f'<div class="charts">{chart_card(crash_chart(rows))}</div></section>'
    )

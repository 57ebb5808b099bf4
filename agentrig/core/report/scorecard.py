"""The production-readiness scorecard: the frameworks under each fault profile and killed mid-run.

``agentrig compare --scorecard`` runs the same comparison under several fault profiles (``none``,
``flaky``, ``hostile``), each into its own folder, and once more with ``--kill`` (SIGKILL and
resume). :func:`build_scorecard` folds those results into one row per framework:

==================  ==========================================================================
field               meaning
==================  ==========================================================================
pass_rate           fault profile -> share of the framework's runs that passed under it
runs / passed       fault profile -> runs, and runs that passed, under it
crash_runs          killed runs; ``kills`` the SIGKILLs that landed in them
survived            killed runs that ended with the status and checks of their control run
duplicated_actions  actions the plant applied more often than in the control (summed)
extra_*             recovery cost per killed run (mean) over its control: LLM calls, tokens
                    in + out, seconds
retries             HTTP retries of the model client, over every profile's runs
categories          why runs did not pass, over every profile's runs (error category -> runs)
==================  ==========================================================================

:func:`scorecard_table` prints it; :func:`write_scorecard_report` writes ``scorecard.html``, a
self-contained page like ``report.html`` (no script, no network) with the table and its charts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from importlib.resources import files
from pathlib import Path
from statistics import fmean
from typing import Final

from pydantic import BaseModel, ConfigDict, Field
from rich.table import Table
from rich.text import Text

from agentrig._version import __version__
from agentrig.core.contract.results import RunResult
from agentrig.core.report.charts import (
    BUILTIN_FRAMEWORKS,
    Chart,
    framework_colours,
    recovery_chart,
)
from agentrig.core.report.readiness import chart_card, crash_section, failure_section
from agentrig.core.report.summary import (
    CrashFigures,
    FailureExample,
    category_counts,
    crash_figures,
    failure_examples,
)
from agentrig.core.report.svg import Bar, BarRow, Series, bar_chart, esc

__all__ = [
    "SCORECARD_FILE_NAME",
    "Scorecard",
    "ScorecardRow",
    "build_scorecard",
    "render_scorecard",
    "scorecard_table",
    "write_scorecard_report",
]

SCORECARD_FILE_NAME: Final = "scorecard.html"
_PROFILE_COLOURS: Final = {"none": "#2e7d32", "flaky": "#f9a825", "hostile": "#c62828"}
_SPARE_COLOURS: Final = ("#0072B2", "#CC79A7", "#56B4E9", "#999999")


class ScorecardRow(CrashFigures):
    """One framework's line of the scorecard (see the module docstring for each field)."""

    model_config = ConfigDict(frozen=True)

    framework: str
    pass_rate: dict[str, float]
    runs: dict[str, int] = Field(default_factory=dict)
    passed: dict[str, int] = Field(default_factory=dict)
    retries: int = 0
    categories: dict[str, int] = Field(default_factory=dict)


class Scorecard(BaseModel):
    """The scorecard: the profiles in column order, one row per framework, and per profile one
    attributed sentence per framework and reason a run did not pass."""

    model_config = ConfigDict(frozen=True)

    profiles: list[str]
    rows: list[ScorecardRow]
    examples: dict[str, list[FailureExample]] = Field(default_factory=dict)


def _framework_order(names: set[str], order: Sequence[str]) -> list[str]:
    ranked = [name for name in order if name in names]
    if not ranked:
        ranked = [name for name in BUILTIN_FRAMEWORKS if name in names]
    return ranked + sorted(names - set(ranked))


def build_scorecard(
    results_by_profile: Mapping[str, Sequence[RunResult]],
    crash_results: Sequence[RunResult],
    order: Sequence[str] = (),
) -> Scorecard:
    """Fold each profile's results and the killed runs into one row per framework.

    Args:
        results_by_profile: fault profile name -> that comparison's results, in column order.
        crash_results: the results of the ``--kill`` comparison (runs without a ``crash``
            record are ignored for the crash figures).
        order: framework order; by default plain, langchain, autogen, crewai, then by name.
    """
    names = {r.framework for results in results_by_profile.values() for r in results}
    names |= {r.framework for r in crash_results if r.crash is not None}
    rows = []
    for framework in _framework_order(names, order):
        mine = {
            profile: [r for r in results if r.framework == framework]
            for profile, results in results_by_profile.items()
        }
        every = [r for results in mine.values() for r in results]
        crash = crash_figures(r for r in crash_results if r.framework == framework)
        rows.append(
            ScorecardRow(
                framework=framework,
                pass_rate={p: fmean(r.passed for r in rs) for p, rs in mine.items() if rs},
                runs={p: len(rs) for p, rs in mine.items() if rs},
                passed={p: sum(r.passed for r in rs) for p, rs in mine.items() if rs},
                retries=sum(r.retries for r in every),
                categories=category_counts(every),
                **crash.model_dump(),
            )
        )
    ranked = [row.framework for row in rows]
    return Scorecard(
        profiles=list(results_by_profile),
        rows=rows,
        examples={
            profile: failure_examples(results, ranked)
            for profile, results in results_by_profile.items()
        },
    )


def _rate(row: ScorecardRow, profile: str) -> str:
    if profile not in row.pass_rate:
        return "-"
    return f"{row.pass_rate[profile]:.0%} {row.passed[profile]}/{row.runs[profile]}"


def _categories(row: ScorecardRow) -> str:
    return ", ".join(f"{category} {count}" for category, count in row.categories.items()) or "-"


def scorecard_table(scorecard: Scorecard) -> Table:
    """The scorecard for the terminal: one row per framework."""
    table = Table(title="production readiness scorecard", title_justify="left", header_style="bold")
    table.add_column("framework", no_wrap=True)
    for profile in scorecard.profiles:
        table.add_column(f"passed ({profile})", justify="right", no_wrap=True)
    for header in ("survived kill", "dup. actions", "extra LLM", "extra tokens", "extra s"):
        table.add_column(header, justify="right", no_wrap=True)
    table.add_column("retries", justify="right", no_wrap=True)
    table.add_column("why runs did not pass")
    for row in scorecard.rows:
        crashed = row.crash_runs > 0
        table.add_row(
            row.framework,
            *(_rate(row, profile) for profile in scorecard.profiles),
            Text(
                f"{row.survived}/{row.crash_runs}" if crashed else "-",
                style=("green" if row.survived == row.crash_runs else "red") if crashed else "",
            ),
            Text(
                str(row.duplicated_actions) if crashed else "-",
                style="red" if row.duplicated_actions else "",
            ),
            f"{row.extra_llm_calls:.1f}" if crashed else "-",
            f"{row.extra_tokens:,.0f}" if crashed else "-",
            f"{row.extra_seconds:.2f}" if crashed else "-",
            str(row.retries),
            _categories(row),
        )
    table.caption = (
        "passed = share of runs under each fault profile; survived kill = killed runs (SIGKILL "
        "and resume) that ended like their control; extra = per killed run over the control"
    )
    table.caption_justify = "left"
    return table


# ---------------------------------------------------------------- HTML


def _profile_colours(profiles: Sequence[str]) -> dict[str, str]:
    spare = iter(_SPARE_COLOURS * (len(profiles) // len(_SPARE_COLOURS) + 1))
    return {p: _PROFILE_COLOURS.get(p) or next(spare) for p in profiles}


def _pass_chart(scorecard: Scorecard) -> Chart:
    colours = _profile_colours(scorecard.profiles)
    rows = [
        BarRow(
            row.framework,
            [
                Bar(
                    row.pass_rate[profile],
                    f"{row.framework} under {profile}: {_rate(row, profile)} runs passed",
                )
                if profile in row.pass_rate
                # Not run under this profile: no bar, said so -- never a 0% it did not score.
                else Bar(0.0, f"{row.framework}: no runs under {profile}", "no runs")
                for profile in scorecard.profiles
            ],
        )
        for row in scorecard.rows
    ]
    return Chart(
        "profiles",
        "Pass rate under each fault profile",
        "The same scenarios and repeats under each fault profile the reference model injects: "
        + ", ".join(scorecard.profiles)
        + ".",
        bar_chart(
            rows,
            [Series(profile, colours[profile]) for profile in scorecard.profiles],
            title="Pass rate under each fault profile",
            maximum=1.0,
            fmt=lambda value: f"{value:.0%}",
        ),
    )


def _table_html(scorecard: Scorecard, colours: Mapping[str, str]) -> str:
    head = "".join(f"<th>passed ({esc(p)})</th>" for p in scorecard.profiles)
    body = []
    for row in scorecard.rows:
        rates = "".join(
            f'<td data-profile="{esc(p)}" data-value="{row.pass_rate.get(p, "")!r}">'
            f"{esc(_rate(row, p))}</td>"
            for p in scorecard.profiles
        )
        crashed = row.crash_runs > 0
        figures = "".join(
            f'<td data-field="{name}" data-value="{value!r}">{esc(text if crashed else "-")}</td>'
            for name, value, text in (
                ("survived", row.survived, f"{row.survived}/{row.crash_runs}"),
                ("duplicated_actions", row.duplicated_actions, str(row.duplicated_actions)),
                ("extra_llm_calls", row.extra_llm_calls, f"{row.extra_llm_calls:.1f}"),
                ("extra_tokens", row.extra_tokens, f"{row.extra_tokens:,.0f}"),
                ("extra_seconds", row.extra_seconds, f"{row.extra_seconds:.2f} s"),
            )
        )
        body.append(
            f'<tr data-framework="{esc(row.framework)}"><th scope="row"><span class="swatch" '
            f'style="background:{esc(colours[row.framework])}"></span>{esc(row.framework)}</th>'
            f'{rates}{figures}<td data-field="retries" data-value="{row.retries}">'
            f'{row.retries}</td><td data-field="categories">{esc(_categories(row))}</td></tr>'
        )
    return (
        '<div class="table-wrap"><table id="scorecard" class="summary"><thead><tr>'
        f"<th>framework</th>{head}<th>survived kill</th><th>duplicated actions</th>"
        "<th>extra LLM calls</th><th>extra tokens</th><th>extra seconds</th><th>retries</th>"
        f"<th>why runs did not pass</th></tr></thead><tbody>{''.join(body)}</tbody></table></div>"
    )


def render_scorecard(scorecard: Scorecard, source: str = "") -> str:
    """The scorecard page as one HTML document (deterministic for the same scorecard)."""
    frameworks = [row.framework for row in scorecard.rows]
    colours = framework_colours(frameworks)
    charts = [_pass_chart(scorecard)]
    if any(row.crash_runs for row in scorecard.rows):
        # Survival and duplicated actions are charted in the crash section below.
        charts.append(recovery_chart(scorecard.rows))
    css = (files("agentrig.core.report") / "assets" / "report.css").read_text(encoding="utf-8")
    policy = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    body = (
        '<header><h1>Production readiness scorecard</h1><p class="lede">'
        f"{len(frameworks)} frameworks ({esc(', '.join(frameworks))}) under fault profiles "
        f"{esc(', '.join(scorecard.profiles))}, and killed mid-run (SIGKILL and resume).</p>"
        + (f'<p class="source">from <code>{esc(source)}</code></p>' if source else "")
        + '</header><h2 id="scorecard-heading">Scorecard</h2>'
        + _table_html(scorecard, colours)
        + '<h2 id="charts">Charts</h2><div class="charts">'
        + "".join(chart_card(chart) for chart in charts)
        + "</div>"
        + failure_section(scorecard.rows, scorecard.examples, colours)
        + crash_section(scorecard.rows, colours)
        + f"<footer>agentrig {esc(__version__)}</footer>"
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{esc(policy)}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>agentrig scorecard: {esc(', '.join(frameworks))}</title>"
        f"<style>{css}</style></head><body><main>{body}</main></body></html>\n"
    )


def write_scorecard_report(
    out_dir: Path | str, scorecard: Scorecard, *, path: Path | str | None = None
) -> Path:
    """Write :func:`render_scorecard` to ``path`` (default ``<out_dir>/scorecard.html``), through
    a temporary file and a rename so a reader never sees half a page. Returns the path."""
    out_dir = Path(out_dir)
    target = Path(path) if path is not None else out_dir / SCORECARD_FILE_NAME
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    partial.write_text(render_scorecard(scorecard, source=str(out_dir)), encoding="utf-8")
    partial.replace(target)
    return target

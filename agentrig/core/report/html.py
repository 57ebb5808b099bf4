"""The HTML report: one self-contained ``report.html`` beside ``results.jsonl``.

:func:`write_report` reads a comparison folder (or takes the results in hand), normalises each
run's trace file and writes one HTML file with everything inline -- CSS, a few lines of JS, SVG
charts -- so it opens from disk or an e-mail attachment with no network. A Content-Security-Policy
forbids every fetch and every script but its own (by hash): a string that slipped past escaping
could still not run.

Sections: the per-framework summary table (the numbers of
:func:`~agentrig.core.report.summary.summarise`; :mod:`.tables`), the charts (:mod:`.charts`),
why runs did not pass and crash survival when the results hold them (:mod:`.readiness`),
the scenario x framework outcome matrix (:mod:`.tables`), and per scenario the frameworks' step timelines on one time axis with
their step alignment against the baseline (:mod:`.scenario_view`). A trace file that is missing
or unreadable costs its run's timeline only; the report lists it at the top.
"""

from __future__ import annotations

import base64
import hashlib
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

import structlog

from agentrig._version import __version__
from agentrig.core.contract.results import RESULTS_FILE_NAME, RunResult, read_results
from agentrig.core.report.charts import BUILTIN_FRAMEWORKS, build_charts, framework_colours
from agentrig.core.report.readiness import chart_card, crash_section, failure_section
from agentrig.core.report.scenario_view import ScenarioView, scenario_section
from agentrig.core.report.summary import (
    FrameworkSummary,
    failure_examples,
    labelled,
    summarise,
    with_mcp_names,
)
from agentrig.core.report.svg import esc
from agentrig.core.report.tables import outcome_matrix, summary_table
from agentrig.core.report.timeline import STEP_COLOURS
from agentrig.core.report.tools import tools_section
from agentrig.core.telemetry.jsonl import TRACE_FILE_NAME, read_trace_file
from agentrig.core.telemetry.normalise import RunTrace, normalise
from agentrig.exceptions import ScenarioError, TraceFileError

__all__ = [
    "BASELINE_FRAMEWORK",
    "REPORT_FILE_NAME",
    "ReportData",
    "load_report_data",
    "render_report",
    "write_report",
]

logger = structlog.get_logger(__name__)

REPORT_FILE_NAME = "report.html"
BASELINE_FRAMEWORK = "plain"


def _asset(name: str) -> str:
    return (files("agentrig.core.report") / "assets" / name).read_text(encoding="utf-8")


@dataclass
class ReportData:
    """Everything the report shows: the results, their normalised traces, and what is missing.

    Attributes:
        results: every run result, in file order.
        traces: normalised steps by run id.
        problems: why a run has no steps, by run id (missing or unreadable trace file).
        frameworks: framework order; left empty (or partial), it is completed with the
            built-in adapters in their usual order (plain first), then the others by name.
        baseline: the framework the others are aligned against: by default ``plain`` when
            present, else the first framework.
        source: the folder the results came from, as shown in the report.
    """

    results: list[RunResult]
    traces: dict[str, RunTrace] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)
    frameworks: list[str] = field(default_factory=list)
    baseline: str | None = None
    source: str = ""
    scenario_titles: dict[str, str] = field(default_factory=dict)
    compared: list[RunResult] = field(init=False, default_factory=list)
    """The results as the per-framework views show them (MCP runs as ``<framework>+mcp``)."""

    def __post_init__(self) -> None:
        self.compared = labelled(self.results)
        self.frameworks = _framework_order(self.compared, self.frameworks)
        if self.baseline not in self.frameworks:
            self.baseline = (
                BASELINE_FRAMEWORK
                if BASELINE_FRAMEWORK in self.frameworks
                else (self.frameworks[0] if self.frameworks else None)
            )

    def summaries(self) -> list[FrameworkSummary]:
        return summarise(self.results, order=self.frameworks)


def _trace_candidates(result: RunResult, out_dir: Path) -> list[Path]:
    # The folder's own copy first: a folder that was moved or copied keeps working even though
    # the recorded trace_file points at where it was written.
    candidates = [out_dir / result.run_id / TRACE_FILE_NAME]
    if result.trace_file:
        candidates.append(Path(result.trace_file))
    return candidates


def load_traces(
    results: Sequence[RunResult], out_dir: Path
) -> tuple[dict[str, RunTrace], dict[str, str]]:
    """Normalise every run's trace file; what cannot be read becomes a problem, not an error."""
    traces: dict[str, RunTrace] = {}
    problems: dict[str, str] = {}
    for result in results:
        candidates = _trace_candidates(result, out_dir)
        path = next((c for c in candidates if c.is_file()), None)
        if path is None:
            problems[result.run_id] = f"trace file missing ({candidates[0]})"
            continue
        try:
            traces[result.run_id] = normalise(read_trace_file(path))
        except TraceFileError as error:
            problems[result.run_id] = f"trace file unreadable: {error}"
        except ValueError as error:  # normalise: a file with no spans
            problems[result.run_id] = f"trace file {path} has no spans ({error})"
    if problems:
        logger.warning(
            "report: some runs have no readable trace", runs=len(problems), folder=str(out_dir)
        )
    return traces, problems


def _framework_order(results: Sequence[RunResult], order: Sequence[str]) -> list[str]:
    present = {result.framework for result in results}
    ranked = with_mcp_names(order, present)
    if not ranked:
        # No order given (a re-render): the built-in adapters in their usual order, the
        # baseline first, then plugins by name -- never results.jsonl's completion order.
        ranked = with_mcp_names(BUILTIN_FRAMEWORKS, present)
    return ranked + sorted(present - set(ranked))


def _scenario_titles(sources: dict[str, str | None]) -> dict[str, str]:
    """Each scenario's title, and where it came from unless that is the built-in catalogue."""
    from agentrig.core.plant.scenarios import CATALOGUE, load_scenario

    titles = {}
    for scenario, source in sorted(sources.items()):
        origin = f" (from {source})" if source and source != CATALOGUE else ""
        try:
            titles[scenario] = load_scenario(scenario, source).title + origin
        except ScenarioError:
            titles[scenario] = origin.strip()  # gone or moved since: its id says enough
    return titles


def load_report_data(
    out_dir: Path | str,
    results: Sequence[RunResult] | None = None,
    *,
    order: Sequence[str] = (),
    baseline: str | None = None,
) -> ReportData:
    """Gather a report's inputs from a comparison folder.

    Args:
        out_dir: the folder with ``results.jsonl`` and ``<run_id>/trace.jsonl``.
        results: the results in hand (e.g. what finished before Ctrl-C); read from
            ``results.jsonl`` when None.
        order: framework order; by default plain, langchain, autogen, crewai, then the
            others by name.
        baseline: the framework others are aligned against (default: ``plain`` if present,
            else the first framework).

    Raises:
        ConfigurationError: no results file, or a line of it is not a RunResult.
    """
    out_dir = Path(out_dir)
    results = list(results) if results is not None else read_results(out_dir / RESULTS_FILE_NAME)
    traces, problems = load_traces(results, out_dir)
    return ReportData(
        results=results,
        traces=traces,
        problems=problems,
        frameworks=list(order),
        baseline=baseline,
        source=str(out_dir),
        scenario_titles=_scenario_titles({r.scenario: r.scenario_source for r in results}),
    )


# ---------------------------------------------------------------- sections


def _problems(data: ReportData) -> str:
    if not data.problems:
        return ""
    items = "".join(
        f"<li><code>{esc(run_id)}</code>: {esc(reason)}</li>"
        for run_id, reason in sorted(data.problems.items())
    )
    return (
        '<div class="problems" id="problems"><b>'
        f"{len(data.problems)} of {len(data.results)} runs have no readable trace</b> "
        "(their timelines and alignments are left out; every number above comes from "
        f"results.jsonl and is complete):<ul>{items}</ul></div>"
    )


def _header(data: ReportData, scenarios: Sequence[str], extra_links: str = "") -> str:
    models = sorted({r.model for r in data.results})
    repeats = max((r.repeat for r in data.results), default=0) + 1
    started = sorted(r.started_at for r in data.results if r.started_at is not None)
    when = f" · {started[0]:%Y-%m-%d %H:%M} UTC" if started else ""
    return (
        "<header><h1>agentrig report</h1>"
        f'<p class="lede">{len(data.results)} runs: {len(data.frameworks)} frameworks '
        f"({esc(', '.join(data.frameworks))}) &times; {len(scenarios)} scenarios &times; up to "
        f"{repeats} repeats · model {esc(', '.join(models))}{esc(when)}</p>"
        f'<p class="source">from <code>{esc(data.source)}</code></p>'
        '<nav><a href="#summary">summary</a> <a href="#charts">charts</a> '
        f'{extra_links}<a href="#matrix">matrix</a> <a href="#scenarios">scenarios</a></nav>'
        "</header>"
    )


def _timeline_legend(data: ReportData, colours: Mapping[str, str]) -> str:
    items = [
        ("LLM call", STEP_COLOURS["llm"]),
        ("read tool", STEP_COLOURS["read"]),
        ("action tool", STEP_COLOURS["action"]),
        ("error / refused / unsafe", STEP_COLOURS["error"]),
    ]
    swatches = "".join(
        f'<span class="key"><span class="swatch" style="background:{c}"></span>{esc(n)}</span>'
        for n, c in items
    )
    toggles = "".join(
        f'<label class="key"><input type="checkbox" class="framework-toggle" checked '
        f'value="{esc(f)}"><span class="swatch" style="background:{esc(colours[f])}"></span>'
        f"{esc(f)}</label>"
        for f in data.frameworks
    )
    baseline = (
        f"Each framework's steps are aligned against <b>{esc(data.baseline)}</b>'s run of the "
        "same repeat (= same step, ~ same tool with other arguments, - only in the baseline, "
        "+ only in the framework, ↕ done in another order)."
        if len(data.frameworks) > 1
        else "With one framework, each repeat's steps are aligned against the first repeat's."
    )
    return (
        f'<div class="legend">{swatches}<span class="sep"></span>show: {toggles}</div>'
        f'<p class="note">Timelines of a scenario share one time axis: lanes are roles, the '
        f"upper row LLM calls, the lower row tool calls; the dashed line is the run's end. "
        f"Hover for exact figures. {baseline}</p>"
    )


def render_report(data: ReportData) -> str:
    """The whole report as one HTML document (deterministic for the same inputs)."""
    colours = framework_colours(data.frameworks)
    summaries = data.summaries()
    scenarios = sorted({r.scenario for r in data.results})
    by_framework: dict[str, list[RunResult]] = {f: [] for f in data.frameworks}
    latest: dict[str, dict[tuple[str, int], RunResult]] = defaultdict(dict)
    for result in data.compared:
        by_framework[result.framework].append(result)
        latest[result.scenario][(result.framework, result.repeat)] = result
    charts = "".join(chart_card(c) for c in build_charts(summaries, by_framework, colours))
    failures = failure_section(summaries, failure_examples(data.compared, data.frameworks), colours)
    crashes = crash_section(summaries, colours)
    links = ('<a href="#failures">why not passed</a> ' if failures else "") + (
        '<a href="#crash">crash survival</a> ' if crashes else ""
    )
    sections = "".join(
        scenario_section(
            ScenarioView(
                index=index,
                scenario=scenario,
                title=data.scenario_titles.get(scenario, ""),
                frameworks=[f for f in data.frameworks if any(k[0] == f for k in latest[scenario])],
                runs=latest[scenario],
                traces=data.traces,
                problems=data.problems,
                colours=colours,
                baseline=data.baseline,
            )
        )
        for index, scenario in enumerate(scenarios)
    )
    script = _asset("report.js")
    script_hash = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    policy = (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        f"script-src 'sha256-{script_hash}'"
    )
    body = (
        _header(data, scenarios, links)
        + _problems(data)
        + '<h2 id="summary-heading">Summary</h2>'
        + summary_table(summaries, colours)
        + '<p class="note">Per-run means unless marked; the same figures as the table '
        "<code>agentrig compare</code> prints.</p>"
        + tools_section(data.results)
        + f'<h2 id="charts">Charts</h2><div class="charts">{charts}</div>'
        + failures
        + crashes
        + '<h2 id="matrix-heading">Scenario &times; framework</h2>'
        + '<p class="note">Passed runs of all repeats; one square per repeat '
        '(<span class="pip passed"></span> passed <span class="pip failed"></span> failed '
        '<span class="pip error"></span> error). Click a scenario for its timelines.</p>'
        + outcome_matrix(data.compared, data.frameworks, scenarios, data.scenario_titles, colours)
        + '<h2 id="scenarios">Scenarios: step timelines and alignment</h2>'
        + _timeline_legend(data, colours)
        + sections
        + f"<footer>agentrig {esc(__version__)} · re-render with <code>agentrig report "
        f"{esc(data.source)}</code></footer>"
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{esc(policy)}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>agentrig report: {esc(', '.join(data.frameworks))}</title>"
        f"<style>{_asset('report.css')}</style></head>"
        f"<body><main>{body}</main><script>{script}</script></body></html>\n"
    )


def write_report(
    out_dir: Path | str,
    results: Sequence[RunResult] | None = None,
    *,
    order: Sequence[str] = (),
    baseline: str | None = None,
    path: Path | str | None = None,
) -> tuple[Path, ReportData]:
    """Render the report of a comparison folder to ``path`` (default ``<out_dir>/report.html``).

    Written to a temporary file and renamed, so a reader never sees half a report.

    Raises:
        ConfigurationError: no results to read (see :func:`load_report_data`).
    """
    out_dir = Path(out_dir)
    data = load_report_data(out_dir, results, order=order, baseline=baseline)
    target = Path(path) if path is not None else out_dir / REPORT_FILE_NAME
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    partial.write_text(render_report(data), encoding="utf-8")
    partial.replace(target)
    return target, data

"""The comparison: the run matrix with a progress bar, written to a folder as it goes.

``agentrig compare`` is a thin shell over :func:`compare`. Each finished run is appended to
``<out>/results.jsonl`` at once, so an interrupted comparison keeps every run that finished; each
run's trace is ``<out>/<run_id>/trace.jsonl``; the metrics end in ``<out>/metrics.prom`` and the
HTML report in ``<out>/report.html`` -- also after Ctrl-C, with the runs that finished.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import structlog
from pydantic import BaseModel
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from agentrig.core.backends import redact_url
from agentrig.core.contract.mcp import ToolsMode
from agentrig.core.contract.registry import available_adapters, load_adapter
from agentrig.core.contract.results import (
    RESULTS_FILE_NAME,
    RunResult,
    append_result,
    read_results,
)
from agentrig.core.plant.sources import ScenarioRef, select_scenarios
from agentrig.core.report.html import REPORT_FILE_NAME, write_report
from agentrig.core.report.summary import FrameworkSummary, summarise
from agentrig.core.runner import (
    DEFAULT_RUN_TIMEOUT_S,
    ERROR_FILE_NAME,
    RunServices,
    RunSettings,
    RunSpec,
    build_matrix,
    new_session_id,
    run_matrix,
)
from agentrig.core.runner.crash_test import (
    check_crash_test_settings,
    crash_test_failed,
    crash_test_run,
)
from agentrig.core.telemetry.metrics import (
    AgentrigMetrics,
    MetricsServer,
    serve_metrics,
    write_textfile,
)
from agentrig.exceptions import (
    AdapterError,
    AdapterNotFoundError,
    AgentrigError,
    ConfigurationError,
    MissingExtraError,
    ScenarioError,
)

__all__ = [
    "MATRIX_FILE_NAME",
    "METRICS_FILE_NAME",
    "Comparison",
    "MatrixFile",
    "compare",
    "error_line",
    "finished_results",
    "resolve_frameworks",
    "resolve_scenarios",
]

METRICS_FILE_NAME = "metrics.prom"

logger = structlog.get_logger(__name__)


def resolve_frameworks(requested: str | None) -> list[str]:
    """The adapters to compare: every installed one, or the comma-separated names given.

    Named adapters are loaded one by one, so naming ``plain`` (or a typo) imports no other
    framework -- importing CrewAI alone writes under HOME and takes seconds.

    Raises:
        ConfigurationError: a name is unknown or its framework is not installed (with the extra).
    """
    if not requested:
        names = [info.name for info in available_adapters() if info.installed]
        if not names:
            raise ConfigurationError("no adapter is installed; pip install 'agentrig[all]'")
        return names
    names = [name.strip() for name in requested.split(",") if name.strip()]
    for name in names:
        try:
            load_adapter(name)
        except AdapterNotFoundError as unknown:
            raise ConfigurationError(
                f"unknown framework {name!r}; registered adapters: {', '.join(unknown.available)}"
            ) from None
        except MissingExtraError as missing:
            install = f"pip install 'agentrig[{missing.extra}]'" if missing.extra else missing
            raise ConfigurationError(f"the {name} adapter is not installed: {install}") from None
        except (ImportError, AdapterError) as error:
            raise ConfigurationError(f"the {name} adapter does not load: {error}") from None
    return names


def resolve_scenarios(requested: str) -> list[ScenarioRef]:
    """The scenarios a ``-s`` value names: ``all``, ids, files, folders and globs, mixed.

    Each comes with its origin (catalogue, pack or file: :mod:`agentrig.core.plant.sources`).

    Raises:
        ConfigurationError: an item names no scenario (the known ids are listed), a file does
            not validate, or two scenarios share an id.
    """
    try:
        return select_scenarios(requested)
    except ScenarioError as error:
        raise ConfigurationError(str(error)) from None


def error_line(result: RunResult, out_dir: Path, *, width: int = 500) -> str:
    """One line for an errored run: framework x scenario, what happened, where the traceback is.

    The full traceback stays in the run's folder (``<out>/<run_id>/error.txt``); a console line
    per errored cell is what a person watching a comparison can read.
    """
    cell = f"{result.framework} x {result.scenario}"
    if result.repeat:
        cell += f" (repeat {result.repeat})"
    # The attributed sentence when there is one; else the run's own error, which comes last,
    # after the failed LLM calls read from its trace.
    if result.error_detail:
        cause = f"[{result.error_category}] {result.error_detail}"
    else:
        cause = result.errors[-1] if result.errors else f"status {result.status}"
    happened = " ".join(cause.split())  # a multi-line message becomes one line
    if len(happened) > width:
        happened = happened[: width - 3] + "..."
    traceback_file = out_dir / result.run_id / ERROR_FILE_NAME
    where = f" (traceback: {traceback_file})" if traceback_file.is_file() else ""
    return f"{cell}: {happened}{where}"


MATRIX_FILE_NAME = "matrix.json"


class MatrixFile(BaseModel):
    """``<out>/matrix.json``: what a comparison was asked to run, so ``--resume DIR`` can go on.

    The state URL is kept with its password redacted: a resume of a store with a password
    needs ``--state`` again.
    """

    session: str
    frameworks: list[str]
    scenarios: list[str]
    scenario_sources: dict[str, str] = {}
    """Where each scenario came from (id -> catalogue, pack:<distribution> or a file path)."""
    repeats: int
    model: str
    timeout_s: float
    kills: int = 0
    kill_seed: int = 0
    tools: list[ToolsMode] = ["native"]
    """The tools modes each cell runs in (``--tools``)."""
    settings: RunSettings

    def scenario_refs(self) -> list[str | ScenarioRef]:
        """The scenarios with their origins, as :func:`compare` takes them."""
        return [
            ScenarioRef(id=s, source=self.scenario_sources[s]) if s in self.scenario_sources else s
            for s in self.scenarios
        ]

    def write(self, out_dir: Path) -> None:
        safe = self.settings.model_copy(update={"state_url": redact_url(self.settings.state_url)})
        document = self.model_copy(update={"settings": safe}).model_dump_json(indent=2)
        (out_dir / MATRIX_FILE_NAME).write_text(document, encoding="utf-8")

    @classmethod
    def read(cls, out_dir: Path) -> MatrixFile:
        """The matrix of the comparison in ``out_dir``.

        Raises:
            ConfigurationError: ``out_dir`` holds no readable ``matrix.json``.
        """
        path = out_dir / MATRIX_FILE_NAME
        try:
            return cls.model_validate_json(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigurationError(
                f"--resume {out_dir}: no {MATRIX_FILE_NAME} there; give the folder a comparison "
                "wrote (runs/<session>), from this version of agentrig"
            ) from None
        except ValueError as error:
            raise ConfigurationError(f"--resume {out_dir}: {path} is unreadable: {error}") from None


def finished_results(out_dir: Path) -> list[RunResult]:
    """The results an interrupted comparison in ``out_dir`` kept (the latest per run id)."""
    path = out_dir / RESULTS_FILE_NAME
    if not path.is_file():
        return []
    latest = {result.run_id: result for result in read_results(path)}
    return list(latest.values())


@dataclass
class Comparison:
    """What a comparison produced (also on disk under ``out_dir``)."""

    out_dir: Path
    specs: list[RunSpec]
    results: list[RunResult] = field(default_factory=list)
    wall_seconds: float = 0.0
    metrics_url: str | None = None

    @property
    def results_file(self) -> Path:
        return self.out_dir / RESULTS_FILE_NAME

    @property
    def metrics_file(self) -> Path:
        return self.out_dir / METRICS_FILE_NAME

    @property
    def report_file(self) -> Path:
        return self.out_dir / REPORT_FILE_NAME

    def summaries(self, order: Sequence[str] = ()) -> list[FrameworkSummary]:
        return summarise(self.results, order=order)


def _progress(console: Console) -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[tally]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )


async def compare(
    frameworks: Sequence[str],
    scenarios: Sequence[str | ScenarioRef],
    *,
    repeats: int = 1,
    model: str = "reference",
    settings: RunSettings | None = None,
    concurrency: int = 4,
    timeout_s: float = DEFAULT_RUN_TIMEOUT_S,
    metrics_port: int | None = None,
    console: Console | None = None,
    comparison: Comparison | None = None,
    session: str | None = None,
    kills: int = 0,
    kill_seed: int = 0,
    previous: Sequence[RunResult] = (),
    tools: Sequence[ToolsMode] = ("native",),
) -> Comparison:
    """Run frameworks x scenarios x repeats, at most ``concurrency`` at a time.

    Pass a :class:`Comparison` to have it filled as runs finish: after Ctrl-C it holds what
    finished (and so does ``results.jsonl``). ``kills``: crash-test every cell (the control,
    then that many SIGKILLs, each resumed in a fresh process; :mod:`agentrig.core.runner.crash_test`).
    ``previous``: results of an interrupted comparison of the same matrix (``--resume``): those
    cells are kept, the others run -- resuming what the store holds for their run ids.
    ``tools``: ``native``, ``mcp`` or both, each cell run once per mode (docs/mcp.md).
    """
    console = console or Console(stderr=True)
    session = session or new_session_id()
    settings = settings or RunSettings(out_dir=Path("runs") / session)
    if kills:
        check_crash_test_settings(settings)
    specs = build_matrix(
        frameworks,
        scenarios,
        repeats=repeats,
        model=model,
        session=session,
        timeout_s=timeout_s,
        tools=tools,
    )
    if comparison is None:
        comparison = Comparison(out_dir=settings.out_dir, specs=specs)
    else:
        comparison.out_dir, comparison.specs = settings.out_dir, specs
    done = {result.run_id for result in previous}
    comparison.results.extend(previous)
    pending = [spec for spec in specs if spec.run_id not in done]
    metrics = AgentrigMetrics()
    server = _serve_metrics(metrics, metrics_port) if metrics_port is not None else None
    comparison.out_dir.mkdir(parents=True, exist_ok=True)
    MatrixFile(
        session=session,
        frameworks=list(frameworks),
        scenarios=[s.id if isinstance(s, ScenarioRef) else s for s in scenarios],
        scenario_sources={s.id: s.source for s in scenarios if isinstance(s, ScenarioRef)},
        repeats=repeats,
        model=model,
        timeout_s=timeout_s,
        kills=kills,
        kill_seed=kill_seed,
        tools=list(tools),
        settings=settings,
    ).write(comparison.out_dir)
    if server is not None:
        comparison.metrics_url = server.url
        console.print(f"metrics for Prometheus at {server.url}")
    tally: Counter[str] = Counter()
    started = time.perf_counter()
    try:
        async with RunServices(settings, metrics=metrics, frameworks=frameworks) as services:
            with _progress(console) as progress:
                task = progress.add_task("compare", total=len(specs), tally="")
                progress.update(task, advance=len(specs) - len(pending))

                def on_result(result: RunResult) -> None:
                    append_result(comparison.results_file, result)
                    comparison.results.append(result)
                    tally[result.status] += 1
                    if result.status == "error":
                        progress.console.print(
                            f"[red]error:[/red] {escape(error_line(result, comparison.out_dir))}",
                            markup=True,
                            highlight=False,
                            soft_wrap=True,
                        )
                    progress.update(
                        task,
                        advance=1,
                        tally=", ".join(f"{n} {status}" for status, n in sorted(tally.items())),
                    )

                execute = None
                if kills:

                    async def execute(spec: RunSpec) -> RunResult:
                        try:
                            return await crash_test_run(spec, settings, kills, seed=kill_seed)
                        except RuntimeError as error:  # an attempt's process broke: one cell
                            return crash_test_failed(spec, error)

                await run_matrix(
                    pending,
                    services,
                    concurrency=concurrency,
                    on_result=on_result,
                    execute=execute,
                )
    finally:
        comparison.wall_seconds = time.perf_counter() - started
        write_textfile(metrics.registry, comparison.metrics_file)
        if server is not None:
            server.stop()
        _write_report(comparison, frameworks)
    return comparison


def _serve_metrics(metrics: AgentrigMetrics, port: int) -> MetricsServer:
    """Start the Prometheus endpoint before any run, or say which port to pick instead."""
    try:
        return serve_metrics(metrics.registry, port)
    except OSError as error:
        raise ConfigurationError(
            f"--metrics-port {port}: cannot listen on 127.0.0.1:{port} ({error.strerror}); "
            "pick a free port, or 0 for any free one"
        ) from error


def _write_report(comparison: Comparison, frameworks: Sequence[str]) -> None:
    """The HTML report of what finished; a failure here costs the report, never the results."""
    if not comparison.results:
        return
    try:
        write_report(comparison.out_dir, comparison.results, order=frameworks)
    except (AgentrigError, OSError) as error:
        # results.jsonl is already complete; `agentrig report DIR` can retry the rendering.
        logger.error(
            "compare: could not write the HTML report",
            error=str(error),
            retry=f"agentrig report {comparison.out_dir}",
        )

"""The ``agentrig`` command: run, compare and inspect agent frameworks on the simulated plant.

Each command is thin: it parses options, calls the library and renders the result with rich.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from agentrig._version import __version__
from agentrig.core.contract.optouts import disable_phone_home

if TYPE_CHECKING:
    from agentrig.core.runner import RunSettings

app = typer.Typer(
    name="agentrig",
    help="A test rig for production AI agents: one maintenance workflow, four frameworks.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"agentrig {__version__}")
        raise typer.Exit


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print the version and exit.",
        ),
    ] = False,
) -> None:
    """agentrig: run the same agent task across frameworks and compare them side by side."""
    disable_phone_home()


trace_app = typer.Typer(
    help="Inspect runs' traces: one run's steps as a tree (show), two runs aligned (diff).",
    no_args_is_help=True,
)
app.add_typer(trace_app, name="trace")


@trace_app.command("show")
def _trace_show(
    run: Annotated[
        str,
        typer.Argument(help="A run id (looked up under --out), a run directory or a trace.jsonl."),
    ],
    out: Annotated[
        str, typer.Option("--out", help="The runs directory: <out>/<run_id>/trace.jsonl.")
    ] = "runs",
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the normalised steps as JSON instead.")
    ] = False,
) -> None:
    """Print a run's normalised steps (run -> role -> LLM and tool calls) from its trace file."""
    from rich.console import Console

    from agentrig.core.telemetry.jsonl import read_trace_file, resolve_trace_file
    from agentrig.core.telemetry.normalise import normalise
    from agentrig.core.telemetry.tree import render_run_tree
    from agentrig.exceptions import TraceFileError

    try:
        path = resolve_trace_file(run, out)
        records = read_trace_file(path)
        steps = normalise(records)
    except (TraceFileError, ValueError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error
    if as_json:
        typer.echo(steps.model_dump_json(indent=2))
        return
    Console().print(render_run_tree(steps))


@trace_app.command("diff")
def _trace_diff(
    run_a: Annotated[str, typer.Argument(help="Run A (the reference): run id, directory or file.")],
    run_b: Annotated[str, typer.Argument(help="Run B: run id, run directory or trace.jsonl.")],
    out: Annotated[
        str, typer.Option("--out", help="The runs directory: <out>/<run_id>/trace.jsonl.")
    ] = "runs",
    context: Annotated[
        int | None,
        typer.Option(
            "--context", min=0, help="Show only N identical steps around each difference."
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the alignment as JSON instead.")
    ] = False,
) -> None:
    """Align two runs' steps (role, tool, arguments) and show where they diverge.

    Exit status: 0 when the runs took the same steps, 1 when they diverge, 2 on bad input.
    """
    from rich.console import Console

    from agentrig.core.report.diff import diff_runs, render_diff
    from agentrig.core.telemetry.jsonl import read_trace_file, resolve_trace_file
    from agentrig.core.telemetry.normalise import normalise
    from agentrig.exceptions import TraceFileError

    traces = []
    for run in (run_a, run_b):
        try:
            traces.append(normalise(read_trace_file(resolve_trace_file(run, out))))
        except (TraceFileError, ValueError) as error:
            raise _fail(error) from error
    diff = diff_runs(*traces)
    if as_json:
        typer.echo(diff.model_dump_json(indent=2))
    else:
        console = Console() if sys.stdout.isatty() else Console(width=160)
        console.print(render_diff(diff, context=context))
    if not diff.identical:
        raise typer.Exit(1)


@app.command("report")
def _report(
    folder: Annotated[
        Path, typer.Argument(help="A comparison folder: results.jsonl and <run_id>/trace.jsonl.")
    ],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Where to write (default: FOLDER/report.html)."),
    ] = None,
    baseline: Annotated[
        str | None,
        typer.Option("--baseline", help="Align every framework against this one (default: plain)."),
    ] = None,
) -> None:
    """Re-render the HTML report of a comparison folder from its results and trace files."""
    from agentrig.core.report.html import write_report
    from agentrig.exceptions import AgentrigError

    try:
        path, data = write_report(folder, baseline=baseline, path=output)
    except AgentrigError as error:
        raise _fail(error) from error
    for run_id, problem in sorted(data.problems.items()):
        typer.echo(f"warning: {run_id}: {problem}", err=True)
    typer.echo(
        f"report: {path} ({len(data.results)} runs, {len(data.traces)} traces"
        + (f", {len(data.problems)} missing or unreadable" if data.problems else "")
        + ")"
    )


model_app = typer.Typer(
    help="The reference model: an OpenAI-compatible server that plays the maintenance roles.",
    no_args_is_help=True,
)
app.add_typer(model_app, name="model")


@model_app.command("serve")
def _model_serve(
    host: Annotated[str, typer.Option("--host", help="The interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="The port (0: any free port).")] = 8765,
    faults: Annotated[
        str,
        typer.Option("--faults", help="Fault profile: none, flaky, hostile, or a YAML/JSON file."),
    ] = "none",
    latency: Annotated[
        str,
        typer.Option(
            "--latency", help="off, fast, realistic, slow, or e.g. '400ms+15ms/token~30%'."
        ),
    ] = "off",
    seed: Annotated[int, typer.Option("--seed", help="Seed of personas, faults, latency.")] = 0,
    api_key_required: Annotated[
        bool,
        typer.Option(
            "--api-key-required",
            help="Require the key in AGENTRIG_REFERENCE_API_KEY as a bearer token (else 401).",
        ),
    ] = False,
) -> None:
    """Serve the reference model at http://HOST:PORT/v1 until Ctrl-C."""
    import os

    from agentrig.core.llm.faults import FaultProfile
    from agentrig.core.llm.latency import LatencyModel
    from agentrig.core.llm.serving import serve_forever
    from agentrig.exceptions import ConfigurationError, ModelError

    api_key = os.environ.get("AGENTRIG_REFERENCE_API_KEY") if api_key_required else None
    try:
        if api_key_required and not api_key:
            raise ConfigurationError(
                "--api-key-required needs the key in AGENTRIG_REFERENCE_API_KEY"
            )
        profile = FaultProfile.resolve(faults)
        latency_model = LatencyModel.parse(latency)
    except ConfigurationError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error

    def announce(base_url: str) -> None:
        typer.echo(f"reference model on {base_url} (faults: {profile.name}, latency: {latency})")

    try:
        serve_forever(
            host=host,
            port=port,
            faults=profile,
            latency=latency_model,
            seed=seed,
            api_key=api_key,
            on_listening=announce,
        )
    except ModelError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from error
    except KeyboardInterrupt:
        # uvicorn shut down gracefully on Ctrl-C, then re-raised it: that is a normal stop.
        return


scenarios_app = typer.Typer(
    help="The scenario catalogue: the incidents every framework is tested on.",
    invoke_without_command=True,
)
app.add_typer(scenarios_app, name="scenarios")


def _scenario_summary(scenario: Any) -> dict[str, Any]:
    return {
        "id": scenario.id,
        "title": scenario.title,
        "device": scenario.alarm.device,
        "tests": list(scenario.tests),
        "expected_root_causes": [
            {"label": cause.label, "device": cause.device}
            for cause in scenario.expected_root_causes
        ],
        "must_escalate": scenario.must_escalate,
        "step_budget": scenario.step_budget,
        "description": scenario.description,
    }


def _list_scenarios(as_json: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    from agentrig.core.plant.scenarios import list_scenarios
    from agentrig.exceptions import ScenarioError

    try:
        scenarios = list_scenarios()
    except ScenarioError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error
    if as_json:
        typer.echo(json.dumps([_scenario_summary(s) for s in scenarios], indent=2))
        return
    table = Table(title=f"{len(scenarios)} scenarios (agentrig scenarios show ID for one)")
    table.add_column("id", no_wrap=True)
    table.add_column("alarm on", no_wrap=True)
    table.add_column("tests")
    table.add_column("expected root cause")
    for scenario in scenarios:
        causes = ", ".join(f"{c.label} @ {c.device}" for c in scenario.expected_root_causes)
        table.add_row(
            scenario.id,
            scenario.alarm.device,
            ", ".join(scenario.tests),
            causes + (" + escalate" if scenario.must_escalate else ""),
        )
    Console().print(table)


@scenarios_app.callback()
def _scenarios(
    ctx: typer.Context,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print a JSON list (id, title, device, ...).")
    ] = False,
) -> None:
    """List the scenario catalogue (the default), or show one scenario."""
    if ctx.invoked_subcommand is None:
        _list_scenarios(as_json)


@scenarios_app.command("list")
def _scenarios_list(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print a JSON list (id, title, device, ...).")
    ] = False,
) -> None:
    """List the scenario catalogue."""
    _list_scenarios(as_json)


@scenarios_app.command("show")
def _scenarios_show(
    scenario_id: Annotated[str, typer.Argument(help="A scenario id, or a scenario YAML file.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the whole validated scenario as JSON.")
    ] = False,
) -> None:
    """Show one scenario: what it tests, the alarm as agents receive it, and how it is graded."""
    from rich.console import Console

    from agentrig.core.plant.scenarios import load_scenario
    from agentrig.core.plant.simulator import PlantSimulator
    from agentrig.exceptions import ScenarioError

    try:
        scenario = load_scenario(scenario_id)
    except ScenarioError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error
    plant = PlantSimulator.from_scenario(scenario, run_id="show")
    if as_json:
        document = {**scenario.model_dump(mode="json"), "alarm_text": plant.state.alarm.message}
        typer.echo(json.dumps(document, indent=2))
        return
    console = Console()
    console.print(f"[bold]{scenario.id}[/bold]: {scenario.title}")
    console.print(f"tests: {', '.join(scenario.tests) or '-'}")
    console.print(scenario.description)
    console.print(f"\n[bold]alarm[/bold] ({scenario.alarm.device}): {plant.state.alarm.message}")
    console.print("\n[bold]graded on[/bold]")
    for cause in scenario.expected_root_causes:
        console.print(f"  root cause: {cause.label} on {cause.device}")
    for predicate in scenario.required_end_state:
        console.print(f"  end state: {predicate.describe()}")
    for forbidden in scenario.forbidden_actions:
        why = f" ({forbidden.why})" if forbidden.why else ""
        console.print(f"  forbidden: {forbidden.describe()}{why}")
    escalation = "required" if scenario.must_escalate else "not needed"
    console.print(f"  escalation: {escalation}; step budget: {scenario.step_budget} tool calls")
    console.print("  always: faults resolved or contained, no safety violation")


# ---------------------------------------------------------------- running and comparing


def _fail(error: Exception, code: int = 2) -> typer.Exit:
    typer.echo(f"error: {error}", err=True)
    return typer.Exit(code)


ModelOption = Annotated[
    str,
    typer.Option(
        "--model",
        "-m",
        help="reference, reference:hasty, reference:sloppy, openai:gpt-4o-mini, ollama:llama3.1, "
        "or http://host:port/v1#model.",
    ),
]
StateOption = Annotated[
    str,
    typer.Option(
        "--state",
        help="State store URL: sqlite:///file.db, memory://, file:///dir, redis://, postgresql://.",
    ),
]
BusOption = Annotated[
    str, typer.Option("--bus", help="Message bus URL: memory://, redis://, redis+pubsub://.")
]
OutOption = Annotated[
    Path | None,
    typer.Option("--out", help="Output folder (default: runs/<session id>)."),
]
FaultsOption = Annotated[
    str | None,
    typer.Option(
        "--faults", help="Reference-model fault profile: none, flaky, hostile, or a file."
    ),
]
TimeoutOption = Annotated[
    float, typer.Option("--timeout", help="Seconds before a run is cut off as an error.")
]
OtlpOption = Annotated[
    str | None,
    typer.Option(
        "--otlp-endpoint",
        help="Also export traces over OTLP (e.g. http://127.0.0.1:4318); "
        "OTEL_EXPORTER_OTLP_ENDPOINT works too.",
    ),
]
ReplayOption = Annotated[
    bool,
    typer.Option(
        "--replay",
        help="Answer every LLM call from the recorded cassettes: no model server, no network.",
    ),
]
CassettesOption = Annotated[
    Path | None,
    typer.Option(
        "--cassettes",
        help="The cassette folder (default: cassettes); implies --replay.",
    ),
]


def _run_settings(
    state: str,
    bus: str,
    out_dir: Path,
    faults: str | None,
    otlp_endpoint: str | None,
    replay: bool,
    cassettes: Path | None,
) -> RunSettings:
    """The settings `run` and `compare` share, from their options."""
    from agentrig.core.runner import RunSettings

    return RunSettings(
        state_url=state,
        bus_url=bus,
        out_dir=out_dir,
        faults=faults,
        otlp_endpoint=otlp_endpoint,
        cassettes=_cassette_settings(replay, cassettes, faults),
    )


def _cassette_settings(
    replay: bool, cassettes: Path | None, faults: str | None
) -> Any:  # CassetteSettings | None, imported lazily
    """The replay settings of `run` / `compare`, or None to talk to the model live."""
    from agentrig.core.llm.cassettes import DEFAULT_CASSETTE_DIR, CassetteSettings
    from agentrig.exceptions import ConfigurationError

    if not replay and cassettes is None:
        return None
    if faults:
        raise ConfigurationError(
            "--faults has no effect with --replay: a replay serves the recorded traffic; "
            "drop --faults"
        )
    return CassetteSettings(directory=cassettes or DEFAULT_CASSETTE_DIR, mode="none")


@app.command("adapters")
def _adapters(
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """List the registered framework adapters, their versions, and how to install missing ones."""
    import dataclasses
    import json

    from rich.console import Console

    from agentrig.core.contract.registry import available_adapters
    from agentrig.core.report.console import adapters_table

    infos = available_adapters()
    if as_json:
        typer.echo(json.dumps([dataclasses.asdict(info) for info in infos], indent=2))
        return
    Console().print(adapters_table(infos))


@app.command("run")
def _run(
    framework: Annotated[str, typer.Option("--framework", "-f", help="The adapter to run.")],
    scenario: Annotated[str, typer.Option("--scenario", "-s", help="The scenario id.")],
    model: ModelOption = "reference",
    state: StateOption = "sqlite:///agentrig-state.db",
    bus: BusOption = "memory://",
    repeat: Annotated[int, typer.Option("--repeat", min=1, help="How many times to run it.")] = 1,
    out: OutOption = None,
    faults: FaultsOption = None,
    timeout: TimeoutOption = 300.0,
    otlp_endpoint: OtlpOption = None,
    replay: ReplayOption = False,
    cassettes: CassettesOption = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print each RunResult as a JSON line.")
    ] = False,
) -> None:
    """Run one framework on one scenario: set up the plant, run, grade, write result and trace."""
    import asyncio

    from rich.console import Console

    from agentrig.core.compare import resolve_frameworks, resolve_scenarios
    from agentrig.core.contract.results import RESULTS_FILE_NAME, RunResult, append_result
    from agentrig.core.report.console import run_summary
    from agentrig.core.runner import (
        RunServices,
        build_matrix,
        execute_run,
        new_session_id,
    )
    from agentrig.exceptions import AgentrigError

    session = new_session_id()
    try:
        resolve_frameworks(framework)
        resolve_scenarios(scenario)
        settings = _run_settings(
            state, bus, out or Path("runs") / session, faults, otlp_endpoint, replay, cassettes
        )
    except (AgentrigError, ValueError) as error:
        raise _fail(error) from error
    specs = build_matrix(
        [framework], [scenario], repeats=repeat, model=model, session=session, timeout_s=timeout
    )
    console = Console() if sys.stdout.isatty() else Console(width=120)

    async def go() -> list[RunResult]:
        results = []
        async with RunServices(settings, frameworks=[framework]) as services:
            for spec in specs:
                result = await execute_run(spec, services)
                append_result(settings.out_dir / RESULTS_FILE_NAME, result)
                results.append(result)
                if as_json:
                    typer.echo(result.model_dump_json())
                else:
                    console.print(run_summary(result))
        return results

    try:
        results = asyncio.run(go())
    except AgentrigError as error:
        raise _fail(error, 1) from error
    if not as_json:
        console.print(f"results: {settings.out_dir / RESULTS_FILE_NAME}")
    if any(result.status == "error" for result in results):
        raise typer.Exit(1)


@app.command("compare")
def _compare(
    frameworks: Annotated[
        str | None,
        typer.Option(
            "--frameworks",
            "-f",
            help="Comma-separated adapters (default: every installed one).",
        ),
    ] = None,
    scenarios: Annotated[
        str, typer.Option("--scenarios", "-s", help="Comma-separated scenario ids, or all.")
    ] = "all",
    repeats: Annotated[int, typer.Option("--repeats", min=1, help="Runs per cell (pass^k).")] = 1,
    model: ModelOption = "reference",
    faults: FaultsOption = None,
    concurrency: Annotated[
        int, typer.Option("--concurrency", min=1, help="Runs at the same time.")
    ] = 4,
    state: StateOption = "sqlite:///agentrig-state.db",
    bus: BusOption = "memory://",
    out: OutOption = None,
    timeout: TimeoutOption = 300.0,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            "--metrics-port", help="Serve Prometheus metrics on 127.0.0.1:PORT meanwhile."
        ),
    ] = None,
    otlp_endpoint: OtlpOption = None,
    replay: ReplayOption = False,
    cassettes: CassettesOption = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the per-framework summary as JSON.")
    ] = False,
) -> None:
    """Run every framework on every scenario side by side: the main job of agentrig."""
    import asyncio
    import json

    from rich.console import Console

    from agentrig.core.compare import (
        Comparison,
        compare,
        resolve_frameworks,
        resolve_scenarios,
    )
    from agentrig.core.report.console import comparison_table
    from agentrig.core.runner import new_session_id
    from agentrig.exceptions import AgentrigError

    session = new_session_id()
    try:
        names = resolve_frameworks(frameworks)
        scenario_ids = resolve_scenarios(scenarios)
        settings = _run_settings(
            state, bus, out or Path("runs") / session, faults, otlp_endpoint, replay, cassettes
        )
    except (AgentrigError, ValueError) as error:
        raise _fail(error) from error
    # A table wider than 80 columns stays whole when piped (rich would squeeze it to 80).
    console = Console() if sys.stdout.isatty() else Console(width=160)
    err_console = Console(stderr=True)
    err_console.print(
        f"comparing {', '.join(names)} on {len(scenario_ids)} scenario(s) x {repeats} "
        f"with model {model!r}, state {state}, bus {bus} -> {settings.out_dir}"
    )
    if settings.cassettes is not None:
        err_console.print(f"replaying every LLM call from {settings.cassettes.directory}/")
    comparison = Comparison(out_dir=settings.out_dir, specs=[])
    interrupted = False
    try:
        asyncio.run(
            compare(
                names,
                scenario_ids,
                repeats=repeats,
                model=model,
                settings=settings,
                concurrency=concurrency,
                timeout_s=timeout,
                metrics_port=metrics_port,
                console=err_console,
                comparison=comparison,
                session=session,
            )
        )
    except KeyboardInterrupt:
        interrupted = True
        err_console.print(
            f"interrupted: kept the {len(comparison.results)} finished run(s) of "
            f"{len(comparison.specs)} in {comparison.results_file}"
        )
    except AgentrigError as error:
        raise _fail(error, 1) from error
    summaries = comparison.summaries(order=names)
    if as_json:
        typer.echo(json.dumps([summary.model_dump() for summary in summaries], indent=2))
    else:
        console.print(
            comparison_table(
                summaries,
                title=f"agentrig compare: {len(comparison.results)} runs in "
                f"{comparison.wall_seconds:.1f} s (model {model})",
            )
        )
        console.print(f"results: {comparison.results_file}")
        console.print(f"metrics: {comparison.metrics_file}")
        if comparison.report_file.is_file():
            console.print(f"report:  {comparison.report_file}")
    if interrupted:
        raise typer.Exit(130)


@app.command("record")
def _record(
    frameworks: Annotated[
        str | None,
        typer.Option(
            "--frameworks",
            "-f",
            help="Comma-separated adapters (default: every installed one).",
        ),
    ] = None,
    scenarios: Annotated[
        str, typer.Option("--scenarios", "-s", help="Comma-separated scenario ids, or all.")
    ] = "all",
    model: ModelOption = "reference",
    cassettes: Annotated[Path, typer.Option("--cassettes", help="The cassette folder.")] = Path(
        "cassettes"
    ),
    mode: Annotated[
        str,
        typer.Option(
            "--mode",
            help="all: record afresh (replace); once: only missing cassettes; new_episodes: "
            "keep what still matches, add the rest.",
        ),
    ] = "all",
    repeats: Annotated[
        int, typer.Option("--repeats", min=1, help="Repeats per cell (repeat k > 0: .r<k>.yaml).")
    ] = 1,
    concurrency: Annotated[
        int, typer.Option("--concurrency", min=1, help="Runs at the same time.")
    ] = 4,
    out: OutOption = None,
    timeout: TimeoutOption = 300.0,
) -> None:
    """Record each run's LLM traffic into cassettes/<model>/<framework>/<scenario>.yaml."""
    import asyncio

    from rich.console import Console
    from rich.table import Table

    from agentrig.core.compare import Comparison, compare, resolve_frameworks, resolve_scenarios
    from agentrig.core.llm.cassettes import CassetteSettings
    from agentrig.core.runner import RunSettings, new_session_id
    from agentrig.exceptions import AgentrigError, ConfigurationError

    session = new_session_id()
    try:
        if mode not in ("once", "new_episodes", "all"):
            raise ConfigurationError(
                f"--mode {mode!r}: record with all, once or new_episodes "
                "(replay is `agentrig run/compare --replay`)"
            )
        names = resolve_frameworks(frameworks)
        scenario_ids = resolve_scenarios(scenarios)
        recording = CassetteSettings(directory=cassettes, mode=mode)
        settings = RunSettings(
            state_url="memory://",
            bus_url="memory://",
            out_dir=out or Path("runs") / session,
            cassettes=recording,
        )
    except (AgentrigError, ValueError) as error:
        raise _fail(error) from error
    err_console = Console(stderr=True)
    err_console.print(
        f"recording {', '.join(names)} on {len(scenario_ids)} scenario(s) x {repeats} with "
        f"model {model!r} into {cassettes}/ (mode {mode})"
    )
    comparison = Comparison(out_dir=settings.out_dir, specs=[])
    try:
        asyncio.run(
            compare(
                names,
                scenario_ids,
                repeats=repeats,
                model=model,
                settings=settings,
                concurrency=concurrency,
                timeout_s=timeout,
                console=err_console,
                comparison=comparison,
                session=session,
            )
        )
    except KeyboardInterrupt:
        err_console.print("interrupted: the cassettes of finished runs are written")
        raise typer.Exit(130) from None
    except AgentrigError as error:
        raise _fail(error, 1) from error
    table = Table(
        title=f"{len(comparison.results)} cassettes in {cassettes}/ "
        f"({comparison.wall_seconds:.1f} s)"
    )
    for column in ("cassette", "status", "llm calls", "size"):
        table.add_column(column, justify="right" if column in ("llm calls", "size") else "left")
    results = sorted(comparison.results, key=lambda r: (r.framework, r.scenario, r.repeat))
    for result in results:
        path = recording.path_for(result.model, result.framework, result.scenario, result.repeat)
        size = f"{path.stat().st_size / 1024:.1f} KiB" if path.is_file() else "missing"
        status = result.status if result.status == "passed" else f"[red]{result.status}[/red]"
        table.add_row(str(path.relative_to(cassettes)), status, str(result.llm_calls), size)
    (Console() if sys.stdout.isatty() else Console(width=160)).print(table)
    failed = [r for r in results if r.status != "passed"]
    for result in failed:
        err_console.print(
            f"[red]{result.framework} x {result.scenario}: {result.status}[/red] "
            + "; ".join(result.errors)[:400]
        )
    if failed:
        err_console.print(
            "some runs did not pass: their cassettes record that; check before committing"
        )
        raise typer.Exit(1)


def main() -> None:
    """Entry point of the console script."""
    disable_phone_home()
    app()

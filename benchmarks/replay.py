"""Replay versus live: the full run matrix from cassettes against the same matrix on the model.

    .venv/bin/python benchmarks/replay.py [-f plain,autogen] [--concurrency 4] [--rounds 2]
                                          [--latency fast]

Every side runs every adapter that has committed cassettes x every scenario, in this process,
through ``run_matrix`` as ``agentrig compare`` does (memory state and bus, the same concurrency):

* live: against the in-process reference model with latency off -- its fastest, an instant
  server in the same process, so the comparison least flattering to replay;
* live with latency: the same model answering with a latency preset (``fast``: 50 ms + 1 ms per
  token; ``--latency none`` skips this side), closer to a model across a network;
* replay: every model call answered from ``cassettes/`` (record mode ``none``): no server, no
  socket.

One warm-up run per framework and side is not timed (imports, clients, first requests). The
sides alternate in rounds and each side's best round counts (the machine is shared). Each replayed
result must equal its live twin (``RunResult.comparable()``): a replay that drifted would be
timing something else. Last, the cassettes' size on disk.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from agentrig.core.contract.optouts import disable_phone_home
from agentrig.core.contract.results import RunResult
from agentrig.core.llm.cassettes import CassetteSettings
from agentrig.core.plant.scenarios import list_scenarios
from agentrig.core.runner import RunServices, RunSettings, build_matrix, run_matrix
from agentrig.core.telemetry.facade import setup_telemetry

REPO = Path(__file__).resolve().parent.parent
CASSETTES = REPO / "cassettes"


def _frameworks_with_cassettes(model: str) -> list[str]:
    folder = CASSETTES / model
    return (
        sorted(path.name for path in folder.iterdir() if path.is_dir()) if folder.is_dir() else []
    )


async def _matrix(
    frameworks: list[str],
    scenarios: list[str],
    cassettes: CassetteSettings | None,
    latency: str | None,
    concurrency: int,
) -> tuple[float, list[RunResult]]:
    with tempfile.TemporaryDirectory(prefix="agentrig-bench-replay-") as out:
        settings = RunSettings(
            state_url="memory://",
            bus_url="memory://",
            out_dir=Path(out),
            cassettes=cassettes,
            latency=latency,
        )
        async with RunServices(settings, frameworks=frameworks) as services:
            # Warm-up: one untimed run per framework (imports, model clients, first requests).
            warm = build_matrix(frameworks, scenarios[:1], session="warm")
            await run_matrix(warm, services, concurrency=concurrency)
            specs = build_matrix(frameworks, scenarios, session="bench")
            started = time.perf_counter()
            results = await run_matrix(specs, services, concurrency=concurrency)
            return time.perf_counter() - started, results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-f", "--frameworks", help="comma-separated (default: all with cassettes)")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--latency", default="fast", help="the latency side's preset, or none")
    args = parser.parse_args()
    disable_phone_home()
    console = Console(width=140)
    frameworks = (
        args.frameworks.split(",") if args.frameworks else _frameworks_with_cassettes("reference")
    )
    scenarios = [scenario.id for scenario in list_scenarios()]
    setup_telemetry(frameworks=frameworks)
    replay = CassetteSettings(directory=CASSETTES, mode="none")

    sides: list[tuple[str, CassetteSettings | None, str | None]] = [("live", None, None)]
    if args.latency != "none":
        sides.append((f"live, latency {args.latency}", None, args.latency))
    sides.append(("replay", replay, None))
    best: dict[str, float] = {}
    results: dict[str, list[RunResult]] = {}
    per_framework: dict[str, dict[str, float]] = {side: {} for side, _, _ in sides}
    for _ in range(args.rounds):
        for side, cassettes, latency in sides:
            wall, side_results = asyncio.run(
                _matrix(frameworks, scenarios, cassettes, latency, args.concurrency)
            )
            if wall < best.get(side, float("inf")):
                best[side], results[side] = wall, side_results
                per_framework[side] = {
                    framework: sum(r.wall_seconds for r in side_results if r.framework == framework)
                    for framework in frameworks
                }

    live = {(r.framework, r.scenario): r for r in results["live"]}
    replayed = {(r.framework, r.scenario): r for r in results["replay"]}
    differ = [key for key in live if live[key].comparable() != replayed[key].comparable()]
    runs = len(live)

    table = Table(
        title=f"full matrix: {len(frameworks)} adapters x {len(scenarios)} scenarios = {runs} "
        f"runs, concurrency {args.concurrency}, best of {args.rounds} rounds; seconds "
        "(per framework: the sum of its runs' wall times)"
    )
    table.add_column("framework")
    for side, _, _ in sides:
        table.add_column(side, justify="right")
    for side, _, _ in sides[:-1]:
        table.add_column(f"{side} / replay", justify="right")
    for framework in frameworks:
        times = [per_framework[side][framework] for side, _, _ in sides]
        table.add_row(
            framework,
            *(f"{value:.2f}" for value in times),
            *(f"{value / times[-1]:.2f}x" for value in times[:-1]),
        )
    walls = [best[side] for side, _, _ in sides]
    table.add_row(
        "[bold]matrix wall time[/bold]",
        *(f"[bold]{value:.2f}[/bold]" for value in walls),
        *(f"[bold]{value / walls[-1]:.2f}x[/bold]" for value in walls[:-1]),
    )
    console.print(table)

    files = sorted(CASSETTES.rglob("*.yaml"))
    sizes = Table(title="cassettes on disk")
    sizes.add_column("folder")
    sizes.add_column("files", justify="right")
    sizes.add_column("size", justify="right")
    sizes.add_column("LLM calls", justify="right")
    groups: dict[str, list[Path]] = {}
    for path in files:
        groups.setdefault(str(path.parent.relative_to(REPO)), []).append(path)
    for folder, paths in sorted(groups.items()):
        calls = sum(path.read_text(encoding="utf-8").count("\n- request:") for path in paths)
        size = sum(path.stat().st_size for path in paths)
        sizes.add_row(folder, str(len(paths)), f"{size / 1024 / 1024:.2f} MiB", str(calls))
    total = sum(path.stat().st_size for path in files)
    sizes.add_row(
        "[bold]total[/bold]", str(len(files)), f"[bold]{total / 1024 / 1024:.2f} MiB[/bold]", ""
    )
    console.print(sizes)
    status = "all" if not differ else f"{runs - len(differ)} of {runs}"
    console.print(f"replayed results equal to live (comparable()): {status}")
    for framework, scenario in differ:
        console.print(f"  [red]differs[/red]: {framework} x {scenario}")


if __name__ == "__main__":
    main()

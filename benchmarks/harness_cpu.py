"""The harness's own CPU per run, per LLM call and per tool call: plain, every scenario, in-process.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/harness_cpu.py [--rounds 5] [--against DIR]
        [--tool-calls 200]

Wall time on a shared machine measures the neighbours; CPU time does not. Two measurements, each
the best of ``--rounds`` (the least disturbed round):

* **runs**: the plain adapter on every catalogue scenario through ``execute_run`` (memory store
  and bus, full telemetry, the in-process reference model with latency off), this process's
  CPU time (every thread: the harness, the openai client and the model server) divided by the
  runs' LLM calls, and by their runs. Plain does almost nothing itself, so this is agentrig's
  cost around one LLM call (plus the openai client's and the reference model's).
* **tool calls**: ``--tool-calls`` read-only calls through the ``ToolExecutor`` on a memory store
  (no telemetry hook), CPU per call, over the whole run (its later calls included).

``--against DIR`` measures another checkout (e.g. /work/main) the same way, in a child process,
alternating with this one round by round, and prints both side by side with their ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

MIX: list[tuple[str, str, dict[str, Any]]] = [
    ("monitor", "list_devices", {}),
    ("monitor", "check_device_status", {"device_id": "pump-07"}),
    ("monitor", "read_telemetry", {"device_id": "pump-07"}),
    ("diagnostician", "get_alarm_history", {}),
    ("diagnostician", "get_maintenance_log", {"device_id": "valve-12"}),
]


async def run_round(services: Any, scenarios: list[str]) -> dict[str, float]:
    from agentrig.core.runner import RunSpec, execute_run

    llm_calls = tool_calls = 0
    started = time.process_time()
    for scenario in scenarios:
        result = await execute_run(RunSpec(framework="plain", scenario=scenario), services)
        if result.status != "passed":
            raise SystemExit(f"plain on {scenario}: {result.status} {result.errors}")
        llm_calls += result.llm_calls
        tool_calls += result.tool_calls
    cpu = time.process_time() - started
    return {
        "cpu_per_llm_call_ms": cpu / llm_calls * 1000,
        "cpu_per_run_ms": cpu / len(scenarios) * 1000,
        "llm_calls": llm_calls,
        "tool_calls": tool_calls,
    }


async def tool_round(calls: int, index: int) -> float:
    from agentrig.core.plant.plant import Plant
    from agentrig.core.state.memory import MemoryStateStore

    store = MemoryStateStore()
    plant = await Plant.create(store, f"cpu-{index}", "closed-discharge-valve")
    executor = plant.executor()
    started = time.process_time()
    for number in range(calls):
        role, tool, arguments = MIX[number % len(MIX)]
        await executor.call(tool, arguments, role=role)
    return (time.process_time() - started) / calls * 1000


async def measure_one_round(index: int, tool_calls: int) -> dict[str, float]:
    from agentrig.core.plant import list_scenarios
    from agentrig.core.runner import RunServices, RunSettings, RunSpec, execute_run
    from agentrig.core.state import MemoryStateStore

    scenarios = [scenario.id for scenario in list_scenarios()]
    with tempfile.TemporaryDirectory(prefix="agentrig-cpu-") as out_dir:
        settings = RunSettings(state_url="memory://", out_dir=Path(out_dir))
        async with RunServices(settings, store=MemoryStateStore()) as services:
            await execute_run(RunSpec(framework="plain", scenario=scenarios[0]), services)  # warm
            row = await run_round(services, scenarios)
    await tool_round(20, -1)  # warm
    row["cpu_per_tool_call_ms"] = await tool_round(tool_calls, index)
    return row


def child_main(rounds: int, tool_calls: int) -> None:
    """One round per line on stdin's request: keeps imports warm between rounds."""
    from agentrig.core.telemetry import setup_telemetry

    setup_telemetry(log_json=True, log_level="WARNING")
    for index in range(rounds):
        sys.stdin.readline()
        row = asyncio.run(measure_one_round(index, tool_calls))
        print(json.dumps(row), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tool-calls", type=int, default=200)
    parser.add_argument("--against", help="another checkout to measure too (e.g. /work/main)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(args.rounds, args.tool_calls)
        return

    from rich.console import Console
    from rich.table import Table

    trees = {"this checkout": Path(__file__).resolve().parent.parent}
    if args.against:
        trees[args.against] = Path(args.against).resolve()
    children = {}
    for name, tree in trees.items():
        env = {**os.environ, "PYTHONPATH": str(tree)}
        command = [sys.executable, __file__, "--child", "--rounds", str(args.rounds)]
        command += ["--tool-calls", str(args.tool_calls)]
        children[name] = subprocess.Popen(
            command, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
    rows: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
    for _ in range(args.rounds):  # alternate: one round of each checkout at a time
        for name, child in children.items():
            assert child.stdin is not None
            assert child.stdout is not None
            child.stdin.write("go\n")
            child.stdin.flush()
            line = child.stdout.readline()
            if not line:
                raise SystemExit(f"the {name} child failed (see its stderr above)")
            rows[name].append(json.loads(line))
    for child in children.values():
        child.wait()

    fields = [
        ("cpu_per_llm_call_ms", "CPU ms / LLM call"),
        ("cpu_per_run_ms", "CPU ms / run"),
        ("cpu_per_tool_call_ms", f"CPU ms / tool call (run of {args.tool_calls})"),
    ]
    best = {
        name: {key: min(r[key] for r in found) for key, _ in fields} for name, found in rows.items()
    }
    table = Table(
        title=f"plain, {len(rows)} checkout(s), every scenario, best of {args.rounds} rounds "
        "(process CPU time, memory store and bus, reference model in-process, latency off)"
    )
    table.add_column("measure")
    for name in trees:
        table.add_column(name, justify="right")
    if args.against:
        table.add_column(f"ratio this / {args.against}", justify="right")
    for key, label in fields:
        values = [best[name][key] for name in trees]
        cells = [f"{value:.2f}" for value in values]
        if args.against:
            cells.append(f"{values[0] / values[1]:.2f}x")
        table.add_row(label, *cells)
    first = rows["this checkout"][0]
    Console(width=160).print(table)
    print(
        f"per round: {int(first['llm_calls'])} LLM calls and {int(first['tool_calls'])} tool calls"
    )


if __name__ == "__main__":
    main()

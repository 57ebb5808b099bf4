"""Does a tool call cost more the later it comes in a run? Tool call #1 against #200, per store.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/tool_call_growth.py [--calls 200] [--rounds 5]
        [--stores memory,sqlite] [--against /path/to/another/checkout]

One run is a fresh plant and ``--calls`` tool calls through the real ``ToolExecutor``, cycling a
fixed mix of the five read-only tools (what a long monitoring run does), each call timed on its
own, in wall time and in this thread's CPU time (the machine is shared: a wall-time sample can
be a preemption, CPU time is not). A call's cost is the median over ``--rounds`` runs of the
calls in a window of twenty (calls 1-20 and 181-200 for 200 calls), so both windows hold the
same tools. The ratio of the last window to the first is the growth; the goal is at most 1.2x.

``--against DIR`` also runs the same measurement with the code of another checkout (e.g. main,
before the ledger left the plant document) in a child process, and prints both side by side.
Stores: ``memory``, ``sqlite`` (a file in a temp folder), ``file``, ``redis`` (127.0.0.1:6379
db 15, its own key prefix, keys deleted) and ``postgres`` (127.0.0.1:5432 db test, its own
schema, dropped).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

GOAL_RATIO = 1.2
POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
WINDOW = 20
MIX: list[tuple[str, str, dict[str, Any]]] = [
    ("monitor", "list_devices", {}),
    ("monitor", "check_device_status", {"device_id": "pump-07"}),
    ("monitor", "read_telemetry", {"device_id": "pump-07"}),
    ("diagnostician", "get_alarm_history", {}),
    ("diagnostician", "get_maintenance_log", {"device_id": "valve-12"}),
]


def store_url(kind: str, folder: str) -> str:
    tag = uuid.uuid4().hex[:8]
    if kind == "memory":
        return "memory://"
    if kind == "sqlite":
        return f"sqlite:///{folder}/growth-{tag}.db"
    if kind == "file":
        return f"file://{folder}/growth-{tag}"
    if kind == "redis":
        return f"redis://127.0.0.1:6379/15?prefix=growth-{tag}:"
    if kind == "postgres":
        return f"{POSTGRES}?schema=growth_{tag}"
    raise SystemExit(f"unknown store {kind!r}: use memory, sqlite, file, redis or postgres")


async def one_run(url: str, calls: int, run_id: str) -> tuple[list[float], list[float], int]:
    """Per-call wall and CPU seconds of one run, and the plant document's bytes at its end."""
    from agentrig.core.plant.plant import Plant
    from agentrig.core.state import open_state_store

    async with open_state_store(url) as store:
        plant = await Plant.create(store, run_id, "closed-discharge-valve")
        executor = plant.executor()
        wall, cpu = [], []
        for index in range(calls):
            role, tool, arguments = MIX[index % len(MIX)]
            started, started_cpu = time.perf_counter(), time.thread_time()
            await executor.call(tool, arguments, role=role)
            wall.append(time.perf_counter() - started)
            cpu.append(time.thread_time() - started_cpu)
        loaded = await store.load(plant.key)
        size = len(json.dumps(loaded.state)) if loaded else 0
        for key in await store.keys(f"runs/{run_id}/"):
            await store.delete(key)
    if url.startswith(POSTGRES):
        await drop_schema(url.rsplit("schema=", 1)[1])
    return wall, cpu, size


async def drop_schema(schema: str) -> None:
    import psycopg

    async with await psycopg.AsyncConnection.connect(POSTGRES, autocommit=True) as connection:
        await connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def measure(stores: list[str], calls: int, rounds: int) -> dict[str, dict[str, float]]:
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="agentrig-growth-") as folder:
        for kind in stores:
            walls, cpus, sizes = [], [], []
            for index in range(rounds + 1):  # the first run warms imports and caches
                url = store_url(kind, folder)
                wall, cpu, size = asyncio.run(one_run(url, calls, f"g-{index}"))
                if index:
                    walls.append(wall)
                    cpus.append(cpu)
                    sizes.append(size)
            row: dict[str, float] = {"plant_kb": statistics.median(sizes) / 1000}
            for name, runs in (("wall", walls), ("cpu", cpus)):
                first = statistics.median(t for run in runs for t in run[:WINDOW]) * 1000
                last = statistics.median(t for run in runs for t in run[-WINDOW:]) * 1000
                row |= {f"{name}_first": first, f"{name}_last": last, f"{name}_ratio": last / first}
            results[kind] = row
    return results


def measure_in(checkout: str, args: argparse.Namespace) -> dict[str, dict[str, float]]:
    """The same measurement with ``checkout``'s code, in a child process."""
    env = {**os.environ, "PYTHONPATH": str(Path(checkout).resolve())}
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--calls",
        str(args.calls),
        "--rounds",
        str(args.rounds),
        "--stores",
        args.stores,
        "--json",
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the run with {checkout} failed:\n{done.stderr}")
    results: dict[str, dict[str, float]] = json.loads(done.stdout)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--stores", default="memory,sqlite")
    parser.add_argument("--against", help="another checkout to measure too (e.g. /work/main)")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.calls < 2 * WINDOW:
        raise SystemExit(f"--calls must be at least {2 * WINDOW}")
    stores = args.stores.split(",")
    if args.json:
        print(json.dumps(measure(stores, args.calls, args.rounds)))
        return

    from rich.console import Console
    from rich.table import Table

    sides = {"this checkout": measure(stores, args.calls, args.rounds)}
    if args.against:
        sides[args.against] = measure_in(args.against, args)
    table = Table(
        title=f"tool call cost by position in a run of {args.calls} calls "
        f"(median of {args.rounds} runs, windows of {WINDOW} calls)"
    )
    late = f"#{args.calls - WINDOW + 1}-{args.calls}"
    columns = ["code", "store", f"wall #1-{WINDOW} ms", f"wall {late} ms", "wall ratio"]
    columns += [f"CPU #1-{WINDOW} ms", f"CPU {late} ms", "CPU ratio", "plant doc KB at end"]
    for column in [*columns, f"goal <= {GOAL_RATIO}x"]:
        table.add_column(column, justify="left" if column in ("code", "store") else "right")
    for side, results in sides.items():
        for kind, row in results.items():
            met = max(row["wall_ratio"], row["cpu_ratio"]) <= GOAL_RATIO
            table.add_row(
                side,
                kind,
                *(
                    f"{row[f'{name}_{part}']:.3f}"
                    for name in ("wall",)
                    for part in ("first", "last")
                ),
                f"{row['wall_ratio']:.2f}x",
                *(f"{row[f'cpu_{part}']:.3f}" for part in ("first", "last")),
                f"{row['cpu_ratio']:.2f}x",
                f"{row['plant_kb']:.1f}",
                "met" if met else "missed",
            )
    Console(width=180).print(table)


if __name__ == "__main__":
    main()

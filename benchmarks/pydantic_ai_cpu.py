"""Where the Pydantic AI adapter's CPU time goes: plain vs Pydantic AI, with parts switched off.

Wall-clock gaps (``framework_overhead.py``) on a shared machine include time spent waiting for a
core; process CPU time per LLM call does not. Every variant runs the same scenarios in
interleaved rounds in one process (reference model with latency off, in-process; memory store
and bus; full telemetry), and the table gives the median CPU milliseconds per LLM call (the
reference server's share included, the same for all):

- ``plain``: the baseline;
- ``pydantic-ai``: the adapter as it runs;
- ``pydantic-ai, no spans``: Pydantic AI's own instrumentation off (``agent.instrument = False``);
- ``pydantic-ai, no history``: the message-history saves to the store skipped.

Run: ``python benchmarks/pydantic_ai_cpu.py [--rounds 3]``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

import agentrig.adapters.pydantic_ai.adapter as pydantic_ai_adapter
from agentrig.adapters.pydantic_ai.history import RoleHistory
from agentrig.core.runner import RunServices, RunSettings, RunSpec, execute_run
from agentrig.core.state import MemoryStateStore

SCENARIOS = ("blocked-discharge", "motor-overheating", "pump-bearing-wear", "stuck-level-sensor")


@contextmanager
def no_spans() -> Iterator[None]:
    original = pydantic_ai_adapter._instrumentation
    pydantic_ai_adapter._instrumentation = lambda: False
    try:
        yield
    finally:
        pydantic_ai_adapter._instrumentation = original


@contextmanager
def no_history() -> Iterator[None]:
    original = RoleHistory.save

    async def skip(self: RoleHistory, messages: Any, answer: str | None = None) -> int:
        return self.version

    RoleHistory.save = skip  # type: ignore[method-assign]
    try:
        yield
    finally:
        RoleHistory.save = original  # type: ignore[method-assign]


@contextmanager
def as_it_runs() -> Iterator[None]:
    yield


VARIANTS: dict[str, tuple[str, Callable[[], Any]]] = {
    "plain": ("plain", as_it_runs),
    "pydantic-ai": ("pydantic-ai", as_it_runs),
    "pydantic-ai, no spans": ("pydantic-ai", no_spans),
    "pydantic-ai, no history": ("pydantic-ai", no_history),
}


async def measure(rounds: int) -> dict[str, list[float]]:
    cpu_ms_per_call: dict[str, list[float]] = {name: [] for name in VARIANTS}
    settings = RunSettings(state_url="memory://", out_dir=Path(tempfile.mkdtemp()))
    async with RunServices(settings, store=MemoryStateStore()) as services:
        for framework in ("plain", "pydantic-ai"):  # warm-up: imports, clients
            await execute_run(RunSpec(framework=framework, scenario=SCENARIOS[0]), services)
        for _ in range(rounds):
            for scenario in SCENARIOS:
                for name, (framework, variant) in VARIANTS.items():
                    with variant():
                        started = time.process_time()
                        result = await execute_run(
                            RunSpec(framework=framework, scenario=scenario), services
                        )
                        spent_ms = (time.process_time() - started) * 1e3
                    if result.status != "passed" or not result.llm_calls:
                        raise SystemExit(f"{name} {scenario}: {result.status} {result.errors}")
                    cpu_ms_per_call[name].append(spent_ms / result.llm_calls)
    return cpu_ms_per_call


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    results = asyncio.run(measure(args.rounds))
    base = statistics.median(results["plain"])
    table = Table(
        title=f"CPU ms per LLM call, median of {args.rounds} x {len(SCENARIOS)} runs",
        title_justify="left",
    )
    for header in ("variant", "runs", "CPU ms / LLM call", "+ vs plain", "ratio"):
        table.add_column(header, justify="left" if header == "variant" else "right")
    for name, values in results.items():
        median = statistics.median(values)
        table.add_row(
            name,
            str(len(values)),
            f"{median:.2f}",
            f"{median - base:+.2f}",
            f"{median / base:.2f}x",
        )
    Console(width=120).print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())

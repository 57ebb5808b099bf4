"""Native tools vs the same tools over MCP, per framework, each through its own MCP client.

Three measurements in one run (the reference model with latency off, memory store and bus):

1. **Runs.** Every framework runs the scenarios with native tools and with MCP tools (one
   after the other, ``--concurrency 1``, after a warm-up round that is not counted): pass rate, tool calls, wall time, and the run-level
   overhead per tool call, ``(wall MCP - wall native) / tool calls``, which includes the hop's
   fixed costs (the run's MCP server, one client session per role).
2. **Per call.** ``--calls`` reads (``check_device_status``) through the framework's MCP client
   on one open session, against the same reads through the native ``BoundTool``: ms per call
   and the difference, the hop's own cost.
3. **Behaviour.** ``agentrig.testing.mcp_probe``: a tool error, an invalid argument, a server
   restart and a slow tool past the client's timeout (``ok``/``surfaced``/``raised``/``lost``).

Run: ``python benchmarks/mcp_tools.py [--frameworks plain,langchain,...,smolagents]
[--scenarios blocked-discharge,stuck-pressure-sensor] [--calls 30]``. The default frameworks are
those installed that can take their tools over MCP in this environment: Agent Framework only in
its own (``make test-af-mcp`` builds ``.af-venv``; ``.af-venv/bin/python
benchmarks/mcp_tools.py`` measures plain and agent-framework on mcp 2.x), Google ADK in
``.adk-venv`` (``make test-adk``; ``.adk-venv/bin/python benchmarks/mcp_tools.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table

from agentrig.core.contract.agent import bind_tools
from agentrig.core.contract.registry import installed_adapter_names
from agentrig.core.contract.results import RunResult
from agentrig.core.mcp.http import PlantMcpHttpServer
from agentrig.core.mcp.server import PlantToolService
from agentrig.core.plant.plant import Plant
from agentrig.core.runner import RunSettings
from agentrig.core.runner.compare import compare
from agentrig.core.state import open_state_store
from agentrig.exceptions import ConfigurationError
from agentrig.testing.mcp_probe import CASES, FRAMEWORKS, open_client, probe

SCENARIOS = ("blocked-discharge", "stuck-pressure-sensor")


def default_frameworks() -> list[str]:
    """The installed frameworks that take their tools over MCP here (Agent Framework: mcp>=2.2)."""
    installed = set(installed_adapter_names())
    chosen = [name for name in FRAMEWORKS if name in installed]
    if "agent-framework" in chosen:
        from agentrig.adapters.agent_framework.mcp import mcp_client_available

        if not mcp_client_available():
            chosen.remove("agent-framework")  # refused with mcp<2.2: measure it in .af-venv
    return chosen


READ = ("check_device_status", {"device_id": "pump-07"})


async def run_matrix(frameworks: Sequence[str], scenarios: Sequence[str]) -> list[RunResult]:
    out = Path(tempfile.mkdtemp(prefix="agentrig-mcp-bench-"))
    settings = RunSettings(state_url="memory://", bus_url="memory://", out_dir=out)
    comparison = await compare(
        frameworks,
        scenarios,
        settings=settings,
        concurrency=1,  # runs one at a time: timings apart, and see docs/mcp.md (concurrency)
        tools=("native", "mcp"),
        console=Console(stderr=True, quiet=True),
    )
    return comparison.results


async def per_call_ms(framework: str, calls: int) -> tuple[float, float, str]:
    """(native ms per read, MCP ms per read, note) on one plant."""
    store = open_state_store("memory://")
    plant = await Plant.create(store, f"bench-{framework}", "blocked-discharge")
    executor = plant.executor()
    tool = next(t for t in bind_tools(executor)["operator"] if t.name == READ[0])
    started = time.perf_counter()
    for _ in range(calls):
        await tool.acall(READ[1])
    native = (time.perf_counter() - started) / calls * 1000
    note = ""
    async with PlantMcpHttpServer(PlantToolService(executor)) as server:
        endpoint = server.endpoints()["operator"]
        try:
            async with open_client(framework, endpoint) as call:
                failures = 0
                try:
                    await call(*READ)  # warm: the session is open, the tools listed
                except Exception:  # noqa: BLE001 -- the timed calls below count it
                    note = "raises"
                started = time.perf_counter()
                for _ in range(calls):
                    try:
                        await call(*READ)
                    except Exception as error:  # noqa: BLE001 -- counted and shown
                        failures += 1
                        note = f"{failures}/{calls} raised {type(error).__name__}"
                over_mcp = (time.perf_counter() - started) / calls * 1000
        except ConfigurationError:  # the client refuses to start (agent-framework, mcp<2)
            over_mcp, note = math.nan, "refused (config)"
    executor.close()
    await store.close()
    return native, over_mcp, note


def _mean(values: Sequence[float]) -> float:
    return statistics.fmean(values) if values else 0.0


async def main(frameworks: Sequence[str], scenarios: Sequence[str], calls: int) -> None:
    console = Console(width=230)
    # A first run of each framework pays its imports and first-use costs: not part of either mode.
    await run_matrix(frameworks, scenarios[:1])
    results = await run_matrix(frameworks, scenarios)
    behaviours = {fw: [await probe(fw, case) for case in CASES] for fw in frameworks}
    table = Table(
        title=f"native vs MCP tools: {len(scenarios)} scenario(s), reference model, "
        f"{calls} reads per call timing",
        header_style="bold",
    )
    for header in (
        "framework",
        "pass native",
        "pass MCP",
        "tool calls n/m",
        "wall native",
        "wall MCP",
        "run overhead",
        "ms/call native",
        "ms/call MCP",
        "hop ms/call",
        "across a broken hop (tool_error, invalid_arg, restart, slow)",
    ):
        table.add_column(header, justify="left" if header == "framework" else "right")
    for framework in frameworks:
        native = [r for r in results if r.framework == framework and r.tools == "native"]
        over_mcp = [r for r in results if r.framework == framework and r.tools == "mcp"]
        pairs = [
            (n, m)
            for n in native
            for m in over_mcp
            if (n.scenario, n.repeat) == (m.scenario, m.repeat) and m.tool_calls
        ]
        overhead = _mean(
            [(m.wall_seconds - n.wall_seconds) / m.tool_calls * 1000 for n, m in pairs]
        )
        native_ms, mcp_ms, note = await per_call_ms(framework, calls)
        cases = {o.case: o for o in behaviours[framework]}
        summary = ", ".join(
            o.behaviour + (f" ({o.category})" if o.category else "")
            for case in ("tool_error", "invalid_argument", "server_restart", "slow_tool")
            for o in [cases[case]]
        )
        if cases["ok"].behaviour != "ok":
            summary = f"a plain call: {cases['ok'].behaviour}; " + summary
        table.add_row(
            framework,
            f"{sum(r.passed for r in native)}/{len(native)}",
            f"{sum(r.passed for r in over_mcp)}/{len(over_mcp)}",
            f"{_mean([r.tool_calls for r in native]):.1f}/{_mean([r.tool_calls for r in over_mcp]):.1f}",
            f"{_mean([r.wall_seconds for r in native]):.2f}s",
            f"{_mean([r.wall_seconds for r in over_mcp]):.2f}s",
            f"{overhead:+.1f} ms/call" if pairs else "n/a",
            f"{native_ms:.2f}",
            f"{mcp_ms:.2f}" + (f" ({note})" if note else ""),
            f"{mcp_ms - native_ms:+.2f}",
            summary,
        )
    console.print(table)
    console.print(
        "run overhead = (MCP wall - native wall) / tool calls, paired by scenario; hop ms/call = "
        "a read through the framework's MCP client on an open session minus the native read"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frameworks", default=",".join(default_frameworks()))
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--calls", type=int, default=30)
    arguments = parser.parse_args()
    asyncio.run(
        main(
            arguments.frameworks.split(","),
            arguments.scenarios.split(","),
            arguments.calls,
        )
    )

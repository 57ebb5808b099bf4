"""Per-LLM-call and per-tool-call overhead of each framework against the plain baseline.

Every framework runs every scenario (interleaved, so machine noise falls on all alike) against
the reference model with latency off, on the in-memory store and bus, with the full telemetry
stack. Each run's own trace then says where its time went. Inside each ``invoke_agent`` span the
steps are walked in start order with a cursor (the agent's start, then the latest step end):

- the gap before a ``chat`` span is framework time spent on that LLM call (building the request,
  handling the previous result), and the gap after the role's last step is the final answer's;
- the gap before an ``execute_tool`` span is framework time spent dispatching that tool call
  (parsing the reply, the tool wrapper, threads);
- ``chat`` and ``execute_tool`` span durations are the same server and executor for everyone;
- what lies outside the agents' spans is the run's fixed cost (set-up, handoffs, grading).

Run: ``python benchmarks/framework_overhead.py [--repeats 2] [--frameworks plain,langchain,...]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

# CrewAI writes under HOME at import; keep the benchmark's runs out of the user's HOME.
os.environ.setdefault("AGENTRIG_BENCH_HOME", tempfile.mkdtemp(prefix="agentrig-bench-home-"))
os.environ["HOME"] = os.environ["AGENTRIG_BENCH_HOME"]

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from agentrig.core.contract.registry import installed_adapter_names
from agentrig.core.plant import list_scenarios
from agentrig.core.runner import RunServices, RunSettings, RunSpec, execute_run
from agentrig.core.state import MemoryStateStore
from agentrig.core.telemetry.jsonl import read_trace_file
from agentrig.core.telemetry.records import SpanRecord
from agentrig.core.telemetry.semconv import TRACER_NAME

OI_KIND = "openinference.span.kind"


@dataclass
class Tally:
    """What one framework's runs spent where, in milliseconds."""

    llm_gaps: list[float] = field(default_factory=list)
    tool_gaps: list[float] = field(default_factory=list)
    chat_spans: list[float] = field(default_factory=list)
    tool_spans: list[float] = field(default_factory=list)
    fixed: list[float] = field(default_factory=list)
    wall_per_llm_call: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def _is_step(span: SpanRecord) -> bool:
    """The plant's execute_tool span, or the client span of an LLM call.

    LLM calls are openai-v2's ``chat`` spans, or Google ADK's own ``generate_content`` spans
    (LiteLLM posts past the openai SDK's instrumented create()). A framework's own spans of the
    same names around them (Agent Framework's, marked by OpenInference; ADK's execute_tool) are
    not steps.
    """
    if span.name.startswith("execute_tool "):
        return span.scope_name == TRACER_NAME
    return span.name.startswith(("chat ", "generate_content ")) and OI_KIND not in span.attributes


def attribute(spans: Sequence[SpanRecord], tally: Tally) -> None:
    """Split one run's time into framework gaps, chat spans, tool spans and fixed cost."""
    # agentrig's own role spans only: AgentChat and OpenInference emit invoke_agent spans too.
    agents = [
        span
        for span in spans
        if span.name.startswith("invoke_agent ") and span.scope_name == TRACER_NAME
    ]
    for agent in agents:
        role = agent.name.split(" ", 1)[1]
        steps = sorted(
            (
                span
                for span in spans
                if span.attributes.get("agentrig.role") == role
                and _is_step(span)
                and agent.start_unix_nano <= span.start_unix_nano <= agent.end_unix_nano
            ),
            key=lambda span: span.start_unix_nano,
        )
        cursor = agent.start_unix_nano
        for step in steps:
            gap = max(0, step.start_unix_nano - cursor) / 1e6
            if not step.name.startswith("execute_tool "):
                tally.llm_gaps.append(gap)
                tally.chat_spans.append(step.duration_s * 1e3)
            else:
                tally.tool_gaps.append(gap)
                tally.tool_spans.append(step.duration_s * 1e3)
            cursor = max(cursor, step.end_unix_nano)
        if steps and tally.llm_gaps:
            tally.llm_gaps[-1] += max(0, agent.end_unix_nano - cursor) / 1e6
    workflow = next(span for span in spans if span.name.startswith("invoke_workflow"))
    tally.fixed.append((workflow.duration_s - sum(a.duration_s for a in agents)) * 1e3)


async def measure(frameworks: Sequence[str], repeats: int, console: Console) -> dict[str, Tally]:
    scenarios = [scenario.id for scenario in list_scenarios()]
    tallies = {framework: Tally() for framework in frameworks}
    settings = RunSettings(state_url="memory://", out_dir=Path(tempfile.mkdtemp()))
    async with RunServices(settings, store=MemoryStateStore()) as services:
        for framework in frameworks:  # warm-up: imports, clients, caches
            await execute_run(RunSpec(framework=framework, scenario=scenarios[0]), services)
        total = repeats * len(scenarios) * len(frameworks)
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("runs", total=total)
            for _ in range(repeats):
                for scenario in scenarios:
                    for framework in frameworks:
                        started = time.perf_counter()
                        result = await execute_run(
                            RunSpec(framework=framework, scenario=scenario), services
                        )
                        wall_ms = (time.perf_counter() - started) * 1e3
                        tally = tallies[framework]
                        if result.status != "passed" or not result.trace_file:
                            tally.failures.append(f"{scenario}: {result.status} {result.errors}")
                        else:
                            attribute(read_trace_file(result.trace_file), tally)
                            tally.wall_per_llm_call.append(wall_ms / result.llm_calls)
                        progress.advance(task)
    return tallies


def _ratio(value: float, base: float) -> str:
    return f"{value / base:.1f}x" if base > 0 else "-"


def render(tallies: dict[str, Tally], repeats: int) -> Table:
    mean = statistics.fmean
    base = tallies.get("plain")
    table = Table(
        title=f"framework overhead vs plain (reference model, latency off, {repeats} repeat(s) "
        "of every scenario, memory store and bus; ms)",
        title_justify="left",
        header_style="bold",
    )
    for header in (
        "framework",
        "LLM calls",
        "fw ms / LLM call",
        "+ vs plain",
        "ratio",
        "tool calls",
        "fw ms / tool call",
        "+ vs plain",
        "ratio",
        "chat span",
        "fixed / run",
        "wall / LLM call",
        "ratio",
    ):
        table.add_column(header, justify="left" if header == "framework" else "right")
    for name, t in tallies.items():
        if not t.llm_gaps:
            table.add_row(name, "0", *["-"] * 11)
            continue
        llm, tool = mean(t.llm_gaps), mean(t.tool_gaps) if t.tool_gaps else 0.0
        wall = mean(t.wall_per_llm_call)
        b_llm = mean(base.llm_gaps) if base and base.llm_gaps else 0.0
        b_tool = mean(base.tool_gaps) if base and base.tool_gaps else 0.0
        b_wall = mean(base.wall_per_llm_call) if base and base.wall_per_llm_call else 0.0
        table.add_row(
            name,
            str(len(t.llm_gaps)),
            f"{llm:.2f} (p50 {statistics.median(t.llm_gaps):.2f})",
            f"{llm - b_llm:+.2f}",
            _ratio(llm, b_llm),
            str(len(t.tool_gaps)),
            f"{tool:.2f} (p50 {statistics.median(t.tool_gaps) if t.tool_gaps else 0:.2f})",
            f"{tool - b_tool:+.2f}",
            _ratio(tool, b_tool),
            f"{mean(t.chat_spans):.2f}",
            f"{mean(t.fixed):.1f}",
            f"{wall:.2f}",
            _ratio(wall, b_wall),
        )
    return table


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--frameworks", default="", help="comma-separated (default: installed)")
    args = parser.parse_args(argv)
    frameworks = [f for f in args.frameworks.split(",") if f] or installed_adapter_names()
    if "plain" in frameworks:  # the baseline first
        frameworks = ["plain", *[f for f in frameworks if f != "plain"]]
    console = Console() if sys.stdout.isatty() else Console(width=200)
    tallies = asyncio.run(measure(frameworks, args.repeats, console))
    console.print(render(tallies, args.repeats))
    console.print(
        "fw ms = framework time: gaps inside each role's span not covered by its chat or "
        "execute_tool spans (see the module docstring); chat span = client-side LLM call time; "
        "fixed / run = time outside the role spans (plant set-up, alarm, handoffs, grading)."
    )
    failed = {name: t.failures for name, t in tallies.items() if t.failures}
    for name, failures in failed.items():
        console.print(f"[red]{name}: {len(failures)} run(s) did not pass[/red]: {failures[:3]}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

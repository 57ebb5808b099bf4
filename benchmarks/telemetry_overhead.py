"""The cost of the whole telemetry layer per LLM call and per tool call, against telemetry off.

    .venv/bin/python benchmarks/telemetry_overhead.py [--llm-calls 300] [--tool-calls 2000] [--rounds 5]

"On" is everything a run pays: the openai-v2 ``chat`` span, run stamping, the span router, the
run's JSONL trace file (written and flushed per span), Prometheus metrics from the finished span,
inside ``invoke_workflow`` / ``invoke_agent`` spans, with structlog configured. "Off" is the same
loop with the openai instrumentation removed and no hook. Both run in this process, alternating
in rounds (instrument / uninstrument), and each side's best round is compared (the machine is
shared; the best round is the least disturbed one).

* LLM calls: the ``openai`` client against an instant local endpoint (uvicorn, a canned
  completion with usage), so the endpoint's own time is as small as it gets and the overhead
  shows.
* Tool calls: the plant's ToolExecutor when it is importable (memory state store, a read-only
  tool), else a loop that builds the executor's record and calls the hook.

Goal: at most 0.3 ms per LLM call and 0.2 ms per tool call.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import openai
import uvicorn
from rich.console import Console
from rich.table import Table

from agentrig.core.telemetry import Telemetry, setup_telemetry
from agentrig.exceptions import PlantError

GOAL_MS = {"LLM call": 0.3, "tool call": 0.2}
HOOK_TIME_MS: list[float] = []  # the telemetry hook's own time per tool call, timed inside

_COMPLETION = json.dumps(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 0,
        "model": "bench",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": 2, "total_tokens": 14},
    }
).encode()


async def instant_endpoint(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A raw ASGI app: reads the request, answers a canned chat completion at once."""
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": _COMPLETION})


class EndpointThread:
    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        config = uvicorn.Config(
            instant_endpoint,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="off",
            access_log=False,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> EndpointThread:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@dataclass
class ToolRecord:
    """The plant executor's record, for the fallback loop."""

    tool: str
    arguments: dict[str, Any]
    role: str
    result: Any
    error: str | None
    refused_reason: str | None
    safety_violation: bool
    started_at_ns: int
    duration_s: float
    idempotency_key: str | None
    replayed: bool


def _per_call_ms(block: Callable[[], None], calls: int) -> float:
    started = time.perf_counter()
    block()
    return (time.perf_counter() - started) / calls * 1000


def llm_rounds(base_url: str, calls: int, rounds: int, out_dir: str) -> tuple[float, float]:
    from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

    from agentrig.core.telemetry.tracing import tracing_state

    client = openai.OpenAI(base_url=base_url, api_key="bench", max_retries=0)
    messages = [{"role": "user", "content": "status of pump P-101?"}]

    def loop() -> None:
        for _ in range(calls):
            client.chat.completions.create(model="bench", messages=messages)  # type: ignore[arg-type]

    loop()  # warm the connection pool and the server
    instrumentor = OpenAIInstrumentor()
    off, on = [], []
    for index in range(rounds):
        instrumentor.uninstrument()
        off.append(_per_call_ms(loop, calls))
        instrumentor.instrument(tracer_provider=tracing_state().provider)
        run = Telemetry.for_run(f"bench-llm-{index}", "plain", "bench", out_dir=out_dir)
        with run, run.workflow("bench"), run.agent("monitor"):
            on.append(_per_call_ms(loop, calls))
    client.close()
    return min(off), min(on)


def tool_rounds_with_hook(calls: int, rounds: int, out_dir: str) -> tuple[float, float, str]:
    def loop(hook: Callable[[ToolRecord], None] | None) -> None:
        for index in range(calls):
            started = time.time_ns()
            record = ToolRecord(
                "read_sensor",
                {"sensor_id": f"PT-{index % 7}"},
                "monitor",
                {"ok": True, "value": 7.5},
                None,
                None,
                False,
                started,
                1e-5,
                None,
                False,
            )
            if hook is not None:
                hook(record)

    off, on = [], []
    for index in range(rounds):
        off.append(_per_call_ms(lambda: loop(None), calls))
        run = Telemetry.for_run(f"bench-tool-{index}", "plain", "bench", out_dir=out_dir)
        with run, run.workflow("bench"), run.agent("monitor"):
            on.append(_per_call_ms(lambda run=run: loop(run.tool_hook), calls))
    return (
        min(off),
        min(on),
        "hook loop (plant executor not importable)",
    )


def tool_rounds_with_executor(
    calls: int, rounds: int, out_dir: str
) -> tuple[float, float, str] | None:
    """Paired runs through the real executor: each round one run off and one on, fresh plants.

    The plant document grows with its ledger, so a call costs more the later it comes; runs of
    ``calls`` calls from a fresh plant, alternated, keep off and on comparable.
    """
    try:
        from agentrig.core.plant.executor import ToolExecutor
        from agentrig.core.plant.plant import Plant
        from agentrig.core.plant.scenarios import list_scenarios
        from agentrig.core.state.memory import MemoryStateStore
    except ImportError:
        return None
    try:
        scenarios = list_scenarios()
    except PlantError as error:
        Console(stderr=True).print(
            f"[yellow]plant scenarios do not load ({error}); using the hook loop[/]"
        )
        return None
    if not scenarios:
        return None

    async def one_run(hooked: bool, run_id: str) -> float:
        store = MemoryStateStore()
        await Plant.create(store, run_id, scenarios[0])
        executor = ToolExecutor(store, run_id)
        await executor.call("list_devices", {}, role="monitor")  # warm the plant's code paths
        run = Telemetry.for_run(run_id, "plain", "bench", out_dir=out_dir)
        if hooked:

            def timed_hook(record: Any) -> None:
                started = time.perf_counter()
                run.tool_hook(record)
                inside_hook.append(time.perf_counter() - started)

            executor.add_hook(timed_hook)
        with run, run.workflow("bench"), run.agent("monitor"):
            started = time.perf_counter()
            for _ in range(calls):
                await executor.call("get_alarm_history", {}, role="monitor")
            return (time.perf_counter() - started) / calls * 1000

    inside_hook: list[float] = []
    off, on = [], []
    for index in range(rounds):
        order = (False, True) if index % 2 == 0 else (True, False)
        for hooked in order:
            per_call = asyncio.run(one_run(hooked, f"bench-plant-{index}-{int(hooked)}"))
            (on if hooked else off).append(per_call)
    HOOK_TIME_MS.append(statistics.median(inside_hook) * 1000)
    return min(off), min(on), "plant ToolExecutor, memory store"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--llm-calls", type=int, default=300)
    parser.add_argument("--tool-calls", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()

    console = Console(width=140)
    setup_telemetry(log_json=True, log_level="WARNING")
    with (
        tempfile.TemporaryDirectory(prefix="agentrig-bench-") as out_dir,
        EndpointThread() as endpoint,
    ):
        base_url = f"http://127.0.0.1:{endpoint.port}/v1"
        llm_off, llm_on = llm_rounds(base_url, args.llm_calls, args.rounds, out_dir)
        tools = tool_rounds_with_executor(args.tool_calls, args.rounds, out_dir)
        if tools is None:
            tools = tool_rounds_with_hook(args.tool_calls, args.rounds, out_dir)
    tool_off, tool_on, tool_path = tools

    table = Table(title="telemetry overhead per call (best round of each; lower is better)")
    for column in (
        "operation",
        "path",
        "off ms/call",
        "on ms/call",
        "overhead ms",
        "ratio on/off",
        "goal",
        "verdict",
    ):
        table.add_column(
            column, justify="right" if "ms" in column or column.startswith("ratio") else "left"
        )
    rows = [
        ("LLM call", "openai client -> instant local endpoint", llm_off, llm_on),
        ("tool call", tool_path, tool_off, tool_on),
    ]
    for operation, path, off, on in rows:
        overhead = on - off
        goal = GOAL_MS[operation]
        verdict = "[green]met[/]" if overhead <= goal else "[red]missed[/]"
        table.add_row(
            operation,
            path,
            f"{off:.3f}",
            f"{on:.3f}",
            f"{overhead:.3f}",
            f"{on / off:.2f}",
            f"<= {goal} ms",
            verdict,
        )
    console.print(table)
    if HOOK_TIME_MS:
        console.print(
            f"tool path, timed inside the executor's hook: {HOOK_TIME_MS[0]:.3f} ms per call "
            "(median) -- the whole telemetry work of a tool call: span, stamping, trace file, metrics"
        )
    console.print(
        f"{args.llm_calls} LLM calls and {args.tool_calls} tool calls per round, {args.rounds} rounds; "
        "'on' includes the run's JSONL trace file and Prometheus metrics."
    )


if __name__ == "__main__":
    main()

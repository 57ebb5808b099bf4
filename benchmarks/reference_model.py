"""How fast the reference model answers, against the floor of its own server stack.

Measured in one run, against one in-process server (uvicorn + Starlette, latency off, no faults),
with one keep-alive httpx client sending the same bytes each time:

- floor: ``POST /health`` with the realistic request's body (uvicorn reads it; the route ignores
  it and returns a small JSON): what any endpoint on this stack costs;
- reference model: ``POST /v1/chat/completions`` with a realistic tool-call request -- the
  operator mid-incident (system prompt, alarm and two handoffs, its earlier tool calls and
  results, eleven tools offered), recorded from a real run of the expert policy -- answered by
  parsing, reading the conversation, the policy and rendering;
- the same request through the ``openai`` client (for reference: the SDK's own overhead).

Rounds alternate between the kinds so drift hits them alike. Goal: the model within 2x of the
floor (ratio of p50 latency, and of requests/s). Run: ``.venv/bin/python benchmarks/reference_model.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import openai
from rich.console import Console
from rich.table import Table

from agentrig.core.contract.optouts import disable_phone_home
from agentrig.core.contract.roles import ROLES, build_task, system_prompt
from agentrig.core.llm.serving import ReferenceModelServer
from agentrig.core.plant import Plant, tools_for_role
from agentrig.core.state.memory import MemoryStateStore

MODEL = "agentrig-operator"


async def record_realistic_request(base_url: str, scenario_id: str) -> dict[str, Any]:
    """Run a scenario through the model; keep the operator's richest request that called tools."""
    plant = await Plant.create(MemoryStateStore(), f"bench-{uuid.uuid4().hex[:8]}", scenario_id)
    executor = plant.executor()
    alarm = await plant.alarm_text()
    handoffs: list[tuple[Any, str]] = []
    best: dict[str, Any] = {}
    async with openai.AsyncOpenAI(base_url=base_url, api_key="unused") as client:
        for role in ROLES:
            tools = [spec.openai_tool() for spec in tools_for_role(role)]
            messages: list[Any] = [
                {"role": "system", "content": system_prompt(role)},
                {"role": "user", "content": build_task(alarm, handoffs)},
            ]
            while True:
                body = {"model": MODEL, "messages": list(messages), "tools": tools}
                reply = await client.chat.completions.create(**body)
                message = reply.choices[0].message
                if not message.tool_calls:
                    break
                if role == "operator":
                    best = body
                messages.append(message.model_dump(exclude_none=True))
                for call in message.tool_calls:
                    name, arguments = call.function.name, call.function.arguments  # type: ignore[union-attr]
                    result = await executor.call(name, arguments, role=role)
                    messages.append(
                        {"role": "tool", "tool_call_id": call.id, "content": result.to_text()}
                    )
            handoffs.append((role, message.content or ""))
    return best


def measure(send: Callable[[], None], count: int) -> list[float]:
    latencies = []
    for _ in range(count):
        started = time.perf_counter()
        send()
        latencies.append(time.perf_counter() - started)
    return latencies


def summary(latencies: list[float]) -> tuple[float, float, float]:
    ordered = sorted(latencies)
    p50 = statistics.median(ordered)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return len(ordered) / sum(ordered), p50 * 1000, p99 * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000, help="per kind (default 3000)")
    parser.add_argument("--rounds", type=int, default=10, help="alternating rounds (default 10)")
    parser.add_argument("--scenario", default="closed-discharge-valve")
    options = parser.parse_args()
    disable_phone_home()
    console = Console(width=110)

    with ReferenceModelServer() as server:
        request = asyncio.run(record_realistic_request(server.base_url, options.scenario))
        body = json.dumps(request).encode()
        headers = {"content-type": "application/json"}
        with (
            httpx.Client(base_url=server.url, headers=headers) as http,
            openai.OpenAI(base_url=server.base_url, api_key="unused") as sdk,
        ):
            check = http.post("/v1/chat/completions", content=body).json()
            calls = [c["function"]["name"] for c in check["choices"][0]["message"]["tool_calls"]]

            def floor() -> None:
                http.post("/health", content=body).raise_for_status()

            def model() -> None:
                http.post("/v1/chat/completions", content=body).raise_for_status()

            def via_sdk() -> None:
                sdk.chat.completions.create(**request)

            kinds: dict[str, Callable[[], None]] = {
                "floor: POST /health (same body)": floor,
                "reference model (httpx)": model,
                "reference model (openai client)": via_sdk,
            }
            for send in kinds.values():  # warm up connections, caches and code paths
                measure(send, 200)
            results: dict[str, list[float]] = {name: [] for name in kinds}
            per_round = max(1, options.requests // options.rounds)
            for _ in range(options.rounds):
                for name, send in kinds.items():
                    results[name] += measure(send, per_round)

    console.print(
        f"request: {len(body)} bytes, {len(request['messages'])} messages, "
        f"{len(request['tools'])} tools; the model answers with {', '.join(calls)}"
    )
    table = Table(title="Reference model vs its server stack's floor (latency off, one client)")
    for column in ("endpoint", "requests/s", "p50 ms", "p99 ms", "p50 vs floor", "req/s vs floor"):
        table.add_column(column, justify="left" if column == "endpoint" else "right")
    floor_rps, floor_p50, _ = summary(results["floor: POST /health (same body)"])
    for name, latencies in results.items():
        rps, p50, p99 = summary(latencies)
        table.add_row(
            name,
            f"{rps:,.0f}",
            f"{p50:.3f}",
            f"{p99:.3f}",
            f"{p50 / floor_p50:.2f}x",
            f"{floor_rps / rps:.2f}x slower"
            if rps < floor_rps
            else f"{rps / floor_rps:.2f}x faster",
        )
    console.print(table)
    _, model_p50, _ = summary(results["reference model (httpx)"])
    verdict = "within" if model_p50 <= 2 * floor_p50 else "NOT within"
    console.print(
        f"goal: the model's p50 within 2x of the floor -- {verdict} ({model_p50 / floor_p50:.2f}x)"
    )


if __name__ == "__main__":
    main()

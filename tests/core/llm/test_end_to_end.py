"""The reference model with the real policy, in a minimal tool loop over the openai client.

Each role (monitor -> diagnostician -> operator) is one chat conversation: its system prompt and
task from agentrig.core.contract.roles, its tools from the plant's catalogue, every tool call through the
plant's ToolExecutor; the operator's answer is graded by the plant's grader.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import openai
import pytest

from agentrig.core.contract.roles import ROLES, build_task, system_prompt
from agentrig.core.llm.mistakes import MistakeKind
from agentrig.core.llm.serving import ReferenceModelServer, _bind
from agentrig.core.plant import (
    Grade,
    Plant,
    Scenario,
    ToolCallRecord,
    list_scenarios,
    tools_for_role,
)
from agentrig.core.state.memory import MemoryStateStore
from tests.sockets import accepted_nodelay

SCENARIOS = list_scenarios()
MAX_TURNS_PER_ROLE = 40


@dataclass
class Run:
    grade: Grade
    calls: list[ToolCallRecord] = field(default_factory=list)
    offered: dict[str, dict[str, Any]] = field(default_factory=dict)  # tool name -> parameters


async def tool_loop(client: openai.AsyncOpenAI, model: str, scenario: Scenario) -> Run:
    plant = await Plant.create(MemoryStateStore(), f"e2e-{uuid.uuid4().hex[:10]}", scenario)
    calls: list[ToolCallRecord] = []
    executor = plant.executor(hooks=[calls.append])
    alarm = await plant.alarm_text()
    handoffs: list[tuple[Any, str]] = []
    offered: dict[str, dict[str, Any]] = {}
    for role in ROLES:
        tools = [spec.openai_tool() for spec in tools_for_role(role)]
        offered.update({t["function"]["name"]: t["function"]["parameters"] for t in tools})
        messages: list[Any] = [
            {"role": "system", "content": system_prompt(role)},
            {"role": "user", "content": build_task(alarm, handoffs)},
        ]
        for _ in range(MAX_TURNS_PER_ROLE):
            reply = await client.chat.completions.create(
                model=model, messages=messages, tools=tools
            )
            message = reply.choices[0].message
            messages.append(message.model_dump(exclude_none=True))
            if not message.tool_calls:
                break
            for call in message.tool_calls:
                name, arguments = call.function.name, call.function.arguments  # type: ignore[union-attr]
                result = await executor.call(name, arguments, role=role)
                messages.append(
                    {"role": "tool", "tool_call_id": call.id, "content": result.to_text()}
                )
        else:
            raise AssertionError(
                f"{role} did not finish {scenario.id} in {MAX_TURNS_PER_ROLE} turns"
            )
        handoffs.append((role, message.content or ""))
    return Run(await plant.grade(handoffs[-1][1], scenario), calls, offered)


@pytest.fixture(scope="module")
def server() -> Iterator[ReferenceModelServer]:
    with ReferenceModelServer() as running:  # the default brain: agentrig.core.expert.policy
        yield running


@pytest.fixture
async def client(server: ReferenceModelServer) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(
        base_url=server.base_url, api_key="unused", max_retries=0
    ) as opened:
        yield opened


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.id for s in SCENARIOS])
async def test_full_skill_solves_every_scenario(
    client: openai.AsyncOpenAI, scenario: Scenario
) -> None:
    run = await tool_loop(client, "agentrig-operator", scenario)
    assert run.grade.passed, [(c.name, c.detail) for c in run.grade.failed()]
    assert run.grade.safety_violations == 0
    assert all(record.result.ok or record.refused_reason for record in run.calls)


async def test_hasty_fails_the_safety_traps(client: openai.AsyncOpenAI) -> None:
    runs = {s.id: await tool_loop(client, "agentrig-operator-hasty", s) for s in SCENARIOS}
    traps = [s.id for s in SCENARIOS if "safety_trap" in s.tests]
    violated = [scenario for scenario in traps if runs[scenario].grade.safety_violations > 0]
    assert violated, "the hasty persona walked into no safety trap"
    for scenario in violated:
        assert not runs[scenario].grade.passed
        assert not runs[scenario].grade.check("no_safety_violation").passed
    # it is sometimes lucky, but worse than the full-skill persona that solves them all
    assert 0 < sum(run.grade.passed for run in runs.values()) < len(SCENARIOS)


def _mistake(record: ToolCallRecord, offered: dict[str, dict[str, Any]]) -> MistakeKind | None:
    if record.tool not in offered:
        return MistakeKind.UNKNOWN_TOOL
    if "_raw" in record.arguments:
        return MistakeKind.MALFORMED_ARGUMENTS
    if any(name not in record.arguments for name in offered[record.tool].get("required", [])):
        return MistakeKind.MISSING_ARGUMENT
    if record.refused_reason == "unknown device":
        return MistakeKind.WRONG_DEVICE
    return None


async def test_sloppy_makes_each_mistake_and_recovers(client: openai.AsyncOpenAI) -> None:
    seen: dict[MistakeKind, int] = {}
    for scenario in SCENARIOS:
        run = await tool_loop(client, "agentrig-operator-sloppy", scenario)
        for record in run.calls:
            kind = _mistake(record, run.offered)
            if kind is not None:
                seen[kind] = seen.get(kind, 0) + 1
                # the executor reports every mistake back to the model as an error
                assert not record.result.ok
                assert json.loads(record.result.to_text())["error"]
        # after its slips it makes the calls properly and still solves the scenario
        assert run.grade.passed, (scenario.id, [(c.name, c.detail) for c in run.grade.failed()])
    assert set(seen) == set(MistakeKind), seen


async def test_the_reference_models_connections_send_without_nagles_delay() -> None:
    # A listening socket made with proto 0 left Nagle on for every connection: with httpx 0.29
    # (Google ADK's environment) each call waited ~40 ms for the client's delayed ACK, 44 ms p50
    # against 0.9 ms (benchmarks/reference_model.py), and every ADK measurement with it.
    assert await accepted_nodelay(_bind("127.0.0.1", 0)) == 1

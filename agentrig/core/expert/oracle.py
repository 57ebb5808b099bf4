"""Scripted runs without an LLM: the oracle (the expert policy) and the naive baseline.

:func:`run_scripted` drives any policy function through the three roles -- monitor, then
diagnostician, then operator -- over a :class:`ToolCaller` (the plant's ``ToolExecutor`` is one;
the expert never imports it, so it reasons only from what the tools return), handing each role's final answer to
the next inside its task (:func:`agentrig.core.contract.roles.build_task`). Driven by :func:`oracle_policy`
it solves every scenario using only what the tools report; driven by :func:`naive_policy` (restart
whatever alarms, then answer) it shows that the grader tells good behaviour from bad.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from agentrig.core.contract.roles import ROLES, Role, alarm_part, build_task, parse_final_answer
from agentrig.core.expert.policy import (
    FinalAnswer,
    Observation,
    PolicyInput,
    Skill,
    ToolRequest,
    decide,
)
from agentrig.core.plant.results import ToolResult, parse_result_text
from agentrig.core.plant.tools import ROLE_TOOLS

__all__ = [
    "PolicyFunction",
    "ScriptedOutcome",
    "ToolCaller",
    "naive_policy",
    "oracle_policy",
    "run_scripted",
]

PolicyFunction = Callable[[PolicyInput], "list[ToolRequest] | FinalAnswer"]

MAX_ROUNDS_PER_ROLE = 30


class ToolCaller(Protocol):
    """What a scripted run calls tools through: the plant's ``ToolExecutor`` satisfies it."""

    async def call(self, tool: str, arguments: Any, *, role: str) -> ToolResult:
        """Run one tool call and return what the model would see."""
        ...


@dataclass(frozen=True)
class ScriptedOutcome:
    """What a scripted run produced (the shape of an adapter's Outcome).

    Attributes:
        final_report: the operator's final answer.
        root_cause: the first root-cause label it names, or None.
        device: the device it names with it.
        escalated: what its ESCALATED line says.
        answers: every role's final answer.
        tool_calls: how many tool calls each role made.
        transcript: (role, tool, arguments, result text) of every call, in order.
    """

    final_report: str
    root_cause: str | None
    device: str | None
    escalated: bool | None
    answers: dict[str, str]
    tool_calls: dict[str, int]
    transcript: list[tuple[str, str, dict[str, object], str]] = field(default_factory=list)


def oracle_policy(skill: Skill = Skill()) -> PolicyFunction:  # noqa: B008 -- frozen default
    """The expert policy at ``skill`` as a policy function."""
    return functools.partial(decide, skill=skill)


async def run_scripted(
    policy: PolicyFunction, executor: ToolCaller, alarm_text: str
) -> ScriptedOutcome:
    """Run monitor -> diagnostician -> operator with ``policy`` deciding every step."""
    answers: dict[str, str] = {}
    handoffs: list[tuple[Role, str]] = []
    counts: dict[str, int] = {}
    transcript: list[tuple[str, str, dict[str, object], str]] = []
    for role in ROLES:
        task = build_task(alarm_text, handoffs)
        tools = list(ROLE_TOOLS[role])
        observations: list[Observation] = []
        answer = f"{role}: no answer within {MAX_ROUNDS_PER_ROLE} rounds"
        for _ in range(MAX_ROUNDS_PER_ROLE):
            decision = policy(PolicyInput(role, task, list(observations), tools))
            if isinstance(decision, FinalAnswer):
                answer = decision.text
                break
            if not decision:
                break
            for request in decision:
                result = await executor.call(request.tool, request.arguments, role=role)
                text = result.to_text()
                observations.append(
                    Observation(request.tool, dict(request.arguments), parse_result_text(text))
                )
                transcript.append((role, request.tool, dict(request.arguments), text))
        answers[role] = answer
        counts[role] = len(observations)
        handoffs.append((role, answer))
    final = answers["operator"]
    parsed = parse_final_answer(final)
    return ScriptedOutcome(
        final_report=final,
        root_cause=parsed.root_cause,
        device=parsed.device,
        escalated=parsed.escalated,
        answers=answers,
        tool_calls=counts,
        transcript=transcript,
    )


# ----------------------------------------------------------------------------- the naive baseline

_GUESSES = (
    (("trip", "stopped"), "tripped_breaker"),
    (("pressure",), "blocked_discharge"),
    (("vibration",), "bearing_wear"),
    (("temperature", "hot"), "motor_overheating"),
    (("level",), "supply_loss"),
)


def naive_policy(inp: PolicyInput) -> list[ToolRequest] | FinalAnswer:
    """Restart whatever alarms, then answer with a guess from the alarm's wording.

    No investigation and no verification: the monitor and diagnostician answer at once; the
    operator restarts the first device the alarm names and reports.
    """
    alarm = alarm_part(inp.task)
    device = next(iter(re.findall(r"\b([a-z]+-\d+)\b", alarm.lower())), "unknown")
    words = alarm.lower()
    label = next(
        (label for keys, label in _GUESSES if any(key in words for key in keys)), "tripped_breaker"
    )
    if inp.role != "operator":
        return FinalAnswer(f"ALARM_DEVICE: {device}\nROOT_CAUSE: {label}\nDEVICE: {device}")
    if not inp.observations and "restart_device" in inp.tools:
        return [ToolRequest("restart_device", {"device_id": device, "reason": None})]
    restarted = inp.observations[0].result if inp.observations else None
    ok = isinstance(restarted, dict) and restarted.get("ok")
    return FinalAnswer(
        f"Restarted {device}: {json.dumps(restarted) if not ok else 'ok'}\n"
        f"ROOT_CAUSE: {label}\nDEVICE: {device}\n"
        f"ACTIONS_TAKEN: {'restart_device ' + device if ok else 'none'}\nESCALATED: no"
    )

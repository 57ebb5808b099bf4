"""The scripted expert: reasons about the plant only through its tools, never from a scenario.

:func:`decide` reads what an agent has seen (the role's prompt and task, the tool results so far)
and picks the next tool calls or the final answer; it drives the reference model's brain
(``agentrig.core.llm.brain``) and the oracle (:func:`run_scripted` with :func:`oracle_policy`),
and :func:`naive_policy` is the restart-what-alarms baseline the grader must fail. The expert
imports the plant's tool catalogue and result format only (``plant.tools``, ``plant.results``);
the plant never imports the expert, and the expert never imports the model (import contracts in
``pyproject.toml``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentrig._lazy import lazy_exports

if TYPE_CHECKING:
    from agentrig.core.expert.oracle import (
        PolicyFunction,
        ScriptedOutcome,
        ToolCaller,
        naive_policy,
        oracle_policy,
        run_scripted,
    )
    from agentrig.core.expert.policy import (
        FinalAnswer,
        Observation,
        PolicyInput,
        Skill,
        ToolRequest,
        alarm_device_ids,
        decide,
        infer_role,
    )

_ORACLE = "agentrig.core.expert.oracle"
_POLICY = "agentrig.core.expert.policy"
_EXPORTS: dict[str, str] = {
    "PolicyFunction": _ORACLE,
    "ScriptedOutcome": _ORACLE,
    "ToolCaller": _ORACLE,
    "naive_policy": _ORACLE,
    "oracle_policy": _ORACLE,
    "run_scripted": _ORACLE,
    "FinalAnswer": _POLICY,
    "Observation": _POLICY,
    "PolicyInput": _POLICY,
    "Skill": _POLICY,
    "ToolRequest": _POLICY,
    "alarm_device_ids": _POLICY,
    "decide": _POLICY,
    "infer_role": _POLICY,
}

__all__ = [
    "FinalAnswer",
    "Observation",
    "PolicyFunction",
    "PolicyInput",
    "ScriptedOutcome",
    "Skill",
    "ToolCaller",
    "ToolRequest",
    "alarm_device_ids",
    "decide",
    "infer_role",
    "naive_policy",
    "oracle_policy",
    "run_scripted",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

"""The simulated plant: devices, faults, physics, tools, scenarios, the grader and scripted policies.

A run's plant lives in the StateStore (:class:`Plant`); every agent tool call goes through one
:class:`ToolExecutor`; the catalogue of incidents is :func:`list_scenarios`; :func:`grade_run`
judges the end state. :func:`decide` is the expert policy the oracle and the reference model use.
"""

from __future__ import annotations

from agentrig.core.plant.executor import (
    ToolCallHook,
    ToolCallRecord,
    ToolExecutor,
    derive_idempotency_key,
)
from agentrig.core.plant.faults import FAULT_TARGET_KINDS, Fault, FaultKind
from agentrig.core.plant.grader import (
    CheckResult,
    Grade,
    RepeatSummary,
    fault_status,
    grade_run,
    pass_at_k,
    pass_hat_k,
    summarise_repeats,
)
from agentrig.core.plant.layout import DeviceSpec, LayoutSpec, SensorSpec, load_layout
from agentrig.core.plant.oracle import (
    PolicyFunction,
    ScriptedOutcome,
    naive_policy,
    oracle_policy,
    run_scripted,
)
from agentrig.core.plant.plant import Plant
from agentrig.core.plant.policy import (
    FinalAnswer,
    Observation,
    PolicyInput,
    Skill,
    ToolRequest,
    alarm_device_ids,
    decide,
    infer_role,
)
from agentrig.core.plant.results import ToolResult, parse_result_text
from agentrig.core.plant.scenarios import (
    ExpectedRootCause,
    ForbiddenAction,
    Predicate,
    Scenario,
    list_scenarios,
    load_scenario,
)
from agentrig.core.plant.state import PlantState, plant_key
from agentrig.core.plant.tools import (
    ACTION_TOOLS,
    READ_TOOLS,
    ROLE_TOOLS,
    TOOLS,
    ToolSpec,
    tools_for_role,
)

__all__ = [
    "ACTION_TOOLS",
    "FAULT_TARGET_KINDS",
    "READ_TOOLS",
    "ROLE_TOOLS",
    "TOOLS",
    "CheckResult",
    "DeviceSpec",
    "ExpectedRootCause",
    "Fault",
    "FaultKind",
    "FinalAnswer",
    "ForbiddenAction",
    "Grade",
    "LayoutSpec",
    "Observation",
    "Plant",
    "PlantState",
    "PolicyFunction",
    "PolicyInput",
    "Predicate",
    "RepeatSummary",
    "Scenario",
    "ScriptedOutcome",
    "SensorSpec",
    "Skill",
    "ToolCallHook",
    "ToolCallRecord",
    "ToolExecutor",
    "ToolRequest",
    "ToolResult",
    "ToolSpec",
    "alarm_device_ids",
    "decide",
    "derive_idempotency_key",
    "fault_status",
    "grade_run",
    "infer_role",
    "list_scenarios",
    "load_layout",
    "load_scenario",
    "naive_policy",
    "oracle_policy",
    "parse_result_text",
    "pass_at_k",
    "pass_hat_k",
    "plant_key",
    "run_scripted",
    "summarise_repeats",
    "tools_for_role",
]

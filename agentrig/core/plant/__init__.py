"""The simulated plant: devices, faults, physics, tools, scenarios, the grader.

The expert that reasons about it lives in :mod:`agentrig.core.expert`; the plant never imports it.

A run's plant lives in the StateStore (:class:`Plant`); every agent tool call goes through one
:class:`ToolExecutor`; the catalogue of incidents is :func:`list_scenarios`; :func:`grade_run`
judges the end state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentrig._lazy import lazy_exports

if TYPE_CHECKING:
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
    from agentrig.core.plant.ledger import read_ledger
    from agentrig.core.plant.plant import Plant
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

_EXPORTS: dict[str, str] = {
    "ACTION_TOOLS": "agentrig.core.plant.tools",
    "FAULT_TARGET_KINDS": "agentrig.core.plant.faults",
    "READ_TOOLS": "agentrig.core.plant.tools",
    "ROLE_TOOLS": "agentrig.core.plant.tools",
    "TOOLS": "agentrig.core.plant.tools",
    "CheckResult": "agentrig.core.plant.grader",
    "DeviceSpec": "agentrig.core.plant.layout",
    "ExpectedRootCause": "agentrig.core.plant.scenarios",
    "Fault": "agentrig.core.plant.faults",
    "FaultKind": "agentrig.core.plant.faults",
    "ForbiddenAction": "agentrig.core.plant.scenarios",
    "Grade": "agentrig.core.plant.grader",
    "LayoutSpec": "agentrig.core.plant.layout",
    "Plant": "agentrig.core.plant.plant",
    "PlantState": "agentrig.core.plant.state",
    "Predicate": "agentrig.core.plant.scenarios",
    "RepeatSummary": "agentrig.core.plant.grader",
    "Scenario": "agentrig.core.plant.scenarios",
    "SensorSpec": "agentrig.core.plant.layout",
    "ToolCallHook": "agentrig.core.plant.executor",
    "ToolCallRecord": "agentrig.core.plant.executor",
    "ToolExecutor": "agentrig.core.plant.executor",
    "ToolResult": "agentrig.core.plant.results",
    "ToolSpec": "agentrig.core.plant.tools",
    "derive_idempotency_key": "agentrig.core.plant.executor",
    "fault_status": "agentrig.core.plant.grader",
    "grade_run": "agentrig.core.plant.grader",
    "list_scenarios": "agentrig.core.plant.scenarios",
    "load_layout": "agentrig.core.plant.layout",
    "load_scenario": "agentrig.core.plant.scenarios",
    "parse_result_text": "agentrig.core.plant.results",
    "pass_at_k": "agentrig.core.plant.grader",
    "pass_hat_k": "agentrig.core.plant.grader",
    "plant_key": "agentrig.core.plant.state",
    "read_ledger": "agentrig.core.plant.ledger",
    "summarise_repeats": "agentrig.core.plant.grader",
    "tools_for_role": "agentrig.core.plant.tools",
}

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
    "ForbiddenAction",
    "Grade",
    "LayoutSpec",
    "Plant",
    "PlantState",
    "Predicate",
    "RepeatSummary",
    "Scenario",
    "SensorSpec",
    "ToolCallHook",
    "ToolCallRecord",
    "ToolExecutor",
    "ToolResult",
    "ToolSpec",
    "derive_idempotency_key",
    "fault_status",
    "grade_run",
    "list_scenarios",
    "load_layout",
    "load_scenario",
    "parse_result_text",
    "pass_at_k",
    "pass_hat_k",
    "plant_key",
    "read_ledger",
    "summarise_repeats",
    "tools_for_role",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

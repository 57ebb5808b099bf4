"""agentrig: a test rig for production AI agents.

One industrial-maintenance workflow (monitor -> diagnostician -> operator) runs in LangChain,
AutoGen AgentChat, CrewAI and a plain ``openai`` baseline, on one state store, one message bus and
one telemetry layer, so that frameworks can be compared on the same task.

The public API is re-exported here; ``tests/test_exported_members.py`` pins it. The exceptions and
the version load with the package; everything else loads on first use (PEP 562), so ``import
agentrig`` stays cheap for a CLI and needs none of the extras.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentrig._lazy import lazy_exports
from agentrig._version import __version__
from agentrig.exceptions import (
    AdapterError,
    AdapterNotFoundError,
    AgentrigError,
    BackendUnavailableError,
    BusError,
    CassetteError,
    CassetteMismatchError,
    ConfigurationError,
    CorruptStateError,
    InvalidKeyError,
    InvalidMessageError,
    LiveModelRequestError,
    MessageTooLargeError,
    MissingCassetteError,
    MissingExtraError,
    ModelError,
    ModelRequestError,
    NotSerializableError,
    PlantError,
    ResumeMismatchError,
    RunExistsError,
    RunFinishedError,
    RunInUseError,
    RunNotFoundError,
    RunRecordError,
    ScenarioError,
    StateError,
    TelemetryError,
    TraceFileError,
    UnknownDeviceError,
    UnsupportedFrameworkVersionError,
    VersionConflict,
)

if TYPE_CHECKING:
    from agentrig.core.contract.agent import (
        AgentAdapter,
        BoundTool,
        Handoffs,
        Outcome,
        RunContext,
    )
    from agentrig.core.contract.registry import (
        available_adapters,
        load_adapter,
    )
    from agentrig.core.contract.results import (
        RunResult,
        read_results,
    )
    from agentrig.core.contract.roles import (
        ROLES,
        SYSTEM_PROMPTS,
        Role,
        parse_final_answer,
    )
    from agentrig.core.llm.cassettes import (
        CassetteSettings,
        RecordMode,
        use_cassette,
    )
    from agentrig.core.llm.endpoints import (
        ModelEndpoint,
        parse_model_spec,
    )
    from agentrig.core.llm.faults import (
        FaultProfile,
    )
    from agentrig.core.llm.serving import (
        ReferenceModelServer,
    )
    from agentrig.core.messaging import (
        DeadLetter,
        Delivery,
        Message,
        MessageBus,
        open_message_bus,
    )
    from agentrig.core.messaging.memory import (
        MemoryMessageBus,
    )
    from agentrig.core.plant import (
        Grade,
        Plant,
        Scenario,
        ToolCallRecord,
        ToolExecutor,
        ToolResult,
        grade_run,
        list_scenarios,
        load_scenario,
        pass_at_k,
        pass_hat_k,
        tools_for_role,
    )
    from agentrig.core.report.html import (
        write_report,
    )
    from agentrig.core.runner import (
        RunServices,
        RunSettings,
        RunSpec,
        execute_run,
        run_matrix,
    )
    from agentrig.core.runner.compare import (
        compare,
    )
    from agentrig.core.state import (
        MemoryStateStore,
        StateStore,
        Versioned,
        open_state_store,
    )
    from agentrig.core.telemetry import (
        AgentrigMetrics,
        CapturedTelemetry,
        RunTrace,
        Telemetry,
        capture_telemetry,
        normalise,
        setup_telemetry,
    )
    from agentrig.testing import (
        AgentrigReplay,
    )

# name -> the module that defines it, imported on first attribute access.
_LAZY: dict[str, str] = {
    "MemoryStateStore": "agentrig.core.state",
    "StateStore": "agentrig.core.state",
    "Versioned": "agentrig.core.state",
    "open_state_store": "agentrig.core.state",
    "DeadLetter": "agentrig.core.messaging",
    "Delivery": "agentrig.core.messaging",
    "Message": "agentrig.core.messaging",
    "MessageBus": "agentrig.core.messaging",
    "open_message_bus": "agentrig.core.messaging",
    "MemoryMessageBus": "agentrig.core.messaging.memory",
    "ROLES": "agentrig.core.contract.roles",
    "Role": "agentrig.core.contract.roles",
    "SYSTEM_PROMPTS": "agentrig.core.contract.roles",
    "parse_final_answer": "agentrig.core.contract.roles",
    "Grade": "agentrig.core.plant",
    "Plant": "agentrig.core.plant",
    "Scenario": "agentrig.core.plant",
    "ToolCallRecord": "agentrig.core.plant",
    "ToolExecutor": "agentrig.core.plant",
    "ToolResult": "agentrig.core.plant",
    "grade_run": "agentrig.core.plant",
    "list_scenarios": "agentrig.core.plant",
    "load_scenario": "agentrig.core.plant",
    "pass_at_k": "agentrig.core.plant",
    "pass_hat_k": "agentrig.core.plant",
    "tools_for_role": "agentrig.core.plant",
    "ModelEndpoint": "agentrig.core.llm.endpoints",
    "parse_model_spec": "agentrig.core.llm.endpoints",
    "ReferenceModelServer": "agentrig.core.llm.serving",
    "FaultProfile": "agentrig.core.llm.faults",
    "AgentrigMetrics": "agentrig.core.telemetry",
    "CapturedTelemetry": "agentrig.core.telemetry",
    "RunTrace": "agentrig.core.telemetry",
    "Telemetry": "agentrig.core.telemetry",
    "capture_telemetry": "agentrig.core.telemetry",
    "normalise": "agentrig.core.telemetry",
    "setup_telemetry": "agentrig.core.telemetry",
    "AgentAdapter": "agentrig.core.contract.agent",
    "BoundTool": "agentrig.core.contract.agent",
    "Handoffs": "agentrig.core.contract.agent",
    "Outcome": "agentrig.core.contract.agent",
    "RunContext": "agentrig.core.contract.agent",
    "available_adapters": "agentrig.core.contract.registry",
    "load_adapter": "agentrig.core.contract.registry",
    "RunServices": "agentrig.core.runner",
    "RunSettings": "agentrig.core.runner",
    "RunSpec": "agentrig.core.runner",
    "execute_run": "agentrig.core.runner",
    "run_matrix": "agentrig.core.runner",
    "RunResult": "agentrig.core.contract.results",
    "read_results": "agentrig.core.contract.results",
    "compare": "agentrig.core.runner.compare",
    "write_report": "agentrig.core.report.html",
    "CassetteSettings": "agentrig.core.llm.cassettes",
    "RecordMode": "agentrig.core.llm.cassettes",
    "use_cassette": "agentrig.core.llm.cassettes",
    "AgentrigReplay": "agentrig.testing",
}

__all__ = [
    "ROLES",
    "SYSTEM_PROMPTS",
    "AdapterError",
    "AdapterNotFoundError",
    "AgentAdapter",
    "AgentrigError",
    "AgentrigMetrics",
    "AgentrigReplay",
    "BackendUnavailableError",
    "BoundTool",
    "BusError",
    "CapturedTelemetry",
    "CassetteError",
    "CassetteMismatchError",
    "CassetteSettings",
    "ConfigurationError",
    "CorruptStateError",
    "DeadLetter",
    "Delivery",
    "FaultProfile",
    "Grade",
    "Handoffs",
    "InvalidKeyError",
    "InvalidMessageError",
    "LiveModelRequestError",
    "MemoryMessageBus",
    "MemoryStateStore",
    "Message",
    "MessageBus",
    "MessageTooLargeError",
    "MissingCassetteError",
    "MissingExtraError",
    "ModelEndpoint",
    "ModelError",
    "ModelRequestError",
    "NotSerializableError",
    "Outcome",
    "Plant",
    "PlantError",
    "RecordMode",
    "ReferenceModelServer",
    "ResumeMismatchError",
    "Role",
    "RunContext",
    "RunExistsError",
    "RunFinishedError",
    "RunInUseError",
    "RunNotFoundError",
    "RunRecordError",
    "RunResult",
    "RunServices",
    "RunSettings",
    "RunSpec",
    "RunTrace",
    "Scenario",
    "ScenarioError",
    "StateError",
    "StateStore",
    "Telemetry",
    "TelemetryError",
    "ToolCallRecord",
    "ToolExecutor",
    "ToolResult",
    "TraceFileError",
    "UnknownDeviceError",
    "UnsupportedFrameworkVersionError",
    "VersionConflict",
    "Versioned",
    "__version__",
    "available_adapters",
    "capture_telemetry",
    "compare",
    "execute_run",
    "grade_run",
    "list_scenarios",
    "load_adapter",
    "load_scenario",
    "normalise",
    "open_message_bus",
    "open_state_store",
    "parse_final_answer",
    "parse_model_spec",
    "pass_at_k",
    "pass_hat_k",
    "read_results",
    "run_matrix",
    "setup_telemetry",
    "tools_for_role",
    "use_cassette",
    "write_report",
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)

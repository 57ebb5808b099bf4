"""Pins the public API: a name added to or removed from ``agentrig.__all__`` is a decision."""

from __future__ import annotations

import agentrig

EXPECTED = {
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
    "ROLES",
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
    "SYSTEM_PROMPTS",
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
}


def test_all_is_pinned() -> None:
    assert set(agentrig.__all__) == EXPECTED


def test_every_exported_name_resolves() -> None:
    for name in agentrig.__all__:
        assert getattr(agentrig, name) is not None, name


def test_every_exception_derives_from_the_base() -> None:
    for name in agentrig.__all__:
        value = getattr(agentrig, name)
        if isinstance(value, type) and issubclass(value, BaseException):
            assert issubclass(value, agentrig.AgentrigError), name


def test_import_is_light_until_a_name_is_used() -> None:
    import subprocess
    import sys

    probe = (
        "import sys, agentrig; "
        "heavy = [m for m in ('agentrig.core.runner', 'uvicorn', 'openai') if m in sys.modules]; "
        "print(heavy); agentrig.RunSpec; print('agentrig.core.runner' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["[]", "True"]


def test_an_unknown_attribute_is_an_attribute_error() -> None:
    import pytest

    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        _ = agentrig.nothing_here

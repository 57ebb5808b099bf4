"""agentrig: a test rig for production AI agents.

One industrial-maintenance workflow (monitor -> diagnostician -> operator) runs in LangChain,
AutoGen AgentChat, CrewAI and a plain ``openai`` baseline, on one state store, one message bus and
one telemetry layer, so that frameworks can be compared on the same task.

The public API is re-exported here; ``tests/test_exported_members.py`` pins it.
"""

from __future__ import annotations

from agentrig._version import __version__
from agentrig.exceptions import (
    AdapterError,
    AdapterNotFoundError,
    AgentrigError,
    BusError,
    CassetteError,
    CassetteMismatchError,
    ConfigurationError,
    CorruptStateError,
    InvalidKeyError,
    InvalidMessageError,
    MessageTooLargeError,
    MissingExtraError,
    ModelError,
    NotSerializableError,
    PlantError,
    ScenarioError,
    StateError,
    UnknownDeviceError,
    VersionConflict,
)

__all__ = [
    "AdapterError",
    "AdapterNotFoundError",
    "AgentrigError",
    "BusError",
    "CassetteError",
    "CassetteMismatchError",
    "ConfigurationError",
    "CorruptStateError",
    "InvalidKeyError",
    "InvalidMessageError",
    "MessageTooLargeError",
    "MissingExtraError",
    "ModelError",
    "NotSerializableError",
    "PlantError",
    "ScenarioError",
    "StateError",
    "UnknownDeviceError",
    "VersionConflict",
    "__version__",
]

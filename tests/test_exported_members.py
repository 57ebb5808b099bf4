"""Pins the public API: a name added to or removed from ``agentrig.__all__`` is a decision."""

from __future__ import annotations

import agentrig

EXPECTED = {
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

"""Adapter discovery through the ``agentrig.adapters`` entry-point group.

agentrig's own adapters are registered in its ``pyproject.toml``; a third-party package adds one
the same way::

    [project.entry-points."agentrig.adapters"]
    pydantic-ai = "my_package.agentrig_adapter:PydanticAIAdapter"

The entry point names a class (or factory) called with no arguments that returns an
:class:`~agentrig.core.contract.agent.AgentAdapter`. An adapter whose framework is not installed fails to
import with :class:`~agentrig.exceptions.MissingExtraError`; it is listed as not installed, with
the extra that installs it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points

from agentrig.core.contract.agent import AgentAdapter
from agentrig.exceptions import AdapterError, AdapterNotFoundError, MissingExtraError

__all__ = [
    "ENTRY_POINT_GROUP",
    "AdapterInfo",
    "available_adapters",
    "installed_adapter_names",
    "load_adapter",
]

ENTRY_POINT_GROUP = "agentrig.adapters"

# The order adapters are listed and compared in: the baseline first, then by name.
_PREFERRED_ORDER = (
    "plain",
    "langchain",
    "autogen",
    "crewai",
    "langgraph",
    "openai-agents",
    "pydantic-ai",
    "agent-framework",
    "google-adk",
    "smolagents",
)

_instances: dict[str, AgentAdapter] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class AdapterInfo:
    """One registered adapter, as ``agentrig adapters`` lists it.

    Attributes:
        name: the registry name.
        target: the entry point's ``module:attribute``.
        installed: its framework imports.
        framework_version: the framework's version when installed.
        extra: the extra that installs it, when it is missing.
        problem: why it could not be loaded, when it could not.
    """

    name: str
    target: str
    installed: bool
    framework_version: str | None = None
    extra: str | None = None
    problem: str | None = None


def _entry_points() -> dict[str, EntryPoint]:
    found = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
    order = {name: index for index, name in enumerate(_PREFERRED_ORDER)}
    return dict(sorted(found.items(), key=lambda item: (order.get(item[0], len(order)), item[0])))


def load_adapter(name: str) -> AgentAdapter:
    """The adapter registered as ``name`` (one instance per process, so clients are reused).

    Raises:
        AdapterNotFoundError: no adapter has that name.
        MissingExtraError: its framework is not installed (the message names the extra).
        AdapterError: the entry point does not produce an adapter.
    """
    with _lock:
        if name in _instances:
            return _instances[name]
        points = _entry_points()
        if name not in points:
            raise AdapterNotFoundError(
                name,
                list(points),
                hint="Third-party adapters register under the 'agentrig.adapters' entry-point group.",
            )
        factory = points[name].load()
        adapter = factory()
        if not isinstance(adapter, AgentAdapter):
            raise AdapterError(
                f"entry point {name!r} ({points[name].value}) did not produce an AgentAdapter: "
                f"got {type(adapter).__name__}, which lacks name / framework_version / run"
            )
        _instances[name] = adapter
        return adapter


def available_adapters() -> list[AdapterInfo]:
    """Every registered adapter, installed or not, in comparison order."""
    infos: list[AdapterInfo] = []
    for name, point in _entry_points().items():
        try:
            adapter = load_adapter(name)
        except MissingExtraError as missing:
            infos.append(
                AdapterInfo(name, point.value, False, extra=missing.extra, problem=str(missing))
            )
        except (ImportError, AdapterError) as error:
            infos.append(AdapterInfo(name, point.value, False, problem=str(error)))
        else:
            infos.append(AdapterInfo(name, point.value, True, adapter.framework_version))
    return infos


def installed_adapter_names() -> list[str]:
    """Names of the adapters whose framework is installed, in comparison order."""
    return [info.name for info in available_adapters() if info.installed]

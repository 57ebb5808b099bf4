"""The adapter contract: everything an adapter implements and receives, in one place.

A third party writing an adapter reads this package only:

* :mod:`~agentrig.core.contract.agent` -- :class:`AgentAdapter` (what you implement),
  :class:`RunContext` (what you receive: bound tools, model endpoint, store, bus, telemetry),
  :class:`BoundTool`, :class:`Handoffs`, :class:`Outcome` (what you return), and
  :func:`run_roles_over_bus` for adapters whose framework does not route the roles itself;
* :mod:`~agentrig.core.contract.roles` -- the three roles, their system prompts, the task text
  and the final-answer format every framework is graded on;
* :mod:`~agentrig.core.contract.results` -- :class:`RunResult`, one line of ``results.jsonl``;
* :mod:`~agentrig.core.contract.registry` -- the ``agentrig.adapters`` entry-point group;
* :mod:`~agentrig.core.contract.optouts` -- :func:`disable_phone_home`, which an adapter module
  calls before importing its framework.

Names load on first use, so ``agentrig.core.contract.roles`` (imported by the plant and the model)
does not pull in the rest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentrig._lazy import lazy_exports

if TYPE_CHECKING:
    from agentrig.core.contract.agent import (
        AgentAdapter,
        BoundTool,
        Handoffs,
        Outcome,
        RunContext,
        bind_tools,
        no_final_answer,
        run_roles_over_bus,
    )
    from agentrig.core.contract.optouts import disable_phone_home
    from agentrig.core.contract.registry import (
        ENTRY_POINT_GROUP,
        AdapterInfo,
        available_adapters,
        load_adapter,
    )
    from agentrig.core.contract.results import RunResult, RunStatus
    from agentrig.core.contract.roles import (
        ROLES,
        SYSTEM_PROMPTS,
        Role,
        build_task,
        parse_final_answer,
    )

_AGENT = "agentrig.core.contract.agent"
_REGISTRY = "agentrig.core.contract.registry"
_RESULTS = "agentrig.core.contract.results"
_ROLES = "agentrig.core.contract.roles"
_EXPORTS: dict[str, str] = {
    "AgentAdapter": _AGENT,
    "BoundTool": _AGENT,
    "Handoffs": _AGENT,
    "Outcome": _AGENT,
    "RunContext": _AGENT,
    "bind_tools": _AGENT,
    "no_final_answer": _AGENT,
    "run_roles_over_bus": _AGENT,
    "disable_phone_home": "agentrig.core.contract.optouts",
    "ENTRY_POINT_GROUP": _REGISTRY,
    "AdapterInfo": _REGISTRY,
    "available_adapters": _REGISTRY,
    "load_adapter": _REGISTRY,
    "RunResult": _RESULTS,
    "RunStatus": _RESULTS,
    "ROLES": _ROLES,
    "SYSTEM_PROMPTS": _ROLES,
    "Role": _ROLES,
    "build_task": _ROLES,
    "parse_final_answer": _ROLES,
}

__all__ = [
    "ENTRY_POINT_GROUP",
    "ROLES",
    "SYSTEM_PROMPTS",
    "AdapterInfo",
    "AgentAdapter",
    "BoundTool",
    "Handoffs",
    "Outcome",
    "Role",
    "RunContext",
    "RunResult",
    "RunStatus",
    "available_adapters",
    "bind_tools",
    "build_task",
    "disable_phone_home",
    "load_adapter",
    "no_final_answer",
    "parse_final_answer",
    "run_roles_over_bus",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

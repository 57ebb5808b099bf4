"""The Pydantic AI adapter package: the adapter, its tools, its message histories, its patches.

- :mod:`.adapter`: :class:`PydanticAIAdapter`, one ``pydantic_ai.Agent`` per role on the bus.
- :mod:`.tools`: :class:`PlantToolset` (a role's plant tools) and :class:`ExecutorFallback`
  (calls Pydantic AI would answer itself go to the plant's executor).
- :mod:`.history`: :class:`RoleHistory`, each role's message history in the StateStore.
- :mod:`.patches`: the Pydantic AI internals the adapter relies on, and the versions it supports.

The ``agentrig.adapters`` entry point ``pydantic-ai`` names
``agentrig.adapters.pydantic_ai:PydanticAIAdapter``.
"""

from __future__ import annotations

from agentrig.adapters.pydantic_ai.adapter import PydanticAIAdapter
from agentrig.adapters.pydantic_ai.history import RoleHistory, history_key
from agentrig.adapters.pydantic_ai.tools import ExecutorFallback, PlantToolset

__all__ = ["ExecutorFallback", "PlantToolset", "PydanticAIAdapter", "RoleHistory", "history_key"]

"""The CrewAI adapter package: the adapter, what runs inside a crew, its saved outputs, its patches.

- :mod:`.adapter`: :class:`CrewAIAdapter`, a sequential crew of three agents.
- :mod:`.run`: the run state, tools, agents and hooks plugged into a running crew.
- :mod:`.outputs`: the task outputs in the StateStore, which a killed crew resumes from.
- :mod:`.patches`: the CrewAI internals the adapter changes, and the versions it supports.

The ``agentrig.adapters`` entry point ``crewai`` names ``agentrig.adapters.crewai:CrewAIAdapter``.
"""

from __future__ import annotations

from agentrig.adapters.crewai.adapter import CrewAIAdapter

__all__ = ["CrewAIAdapter"]

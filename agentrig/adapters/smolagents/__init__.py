"""The smolagents adapter package: the adapter, its agents and tools, its saved answers, its patches.

- :mod:`.adapter`: :class:`SmolagentsAdapter`, one ``ToolCallingAgent`` per role, over the bus.
- :mod:`.agent`: the plant tools and the role agent plugged into smolagents, and their prompts.
- :mod:`.answers`: the role answers in the StateStore, which a killed run resumes from.
- :mod:`.patches`: the smolagents internals the adapter relies on, and the versions it supports.

The ``agentrig.adapters`` entry point ``smolagents`` names
``agentrig.adapters.smolagents:SmolagentsAdapter``. Only the tool-calling agent is used:
smolagents' code-executing ``CodeAgent`` runs model-written Python, which is out of scope.
"""

from __future__ import annotations

from agentrig.adapters.smolagents.adapter import SmolagentsAdapter

__all__ = ["SmolagentsAdapter"]

"""The OpenAI Agents SDK adapter package: the adapter, its tools, its sessions and its patches.

- :mod:`.adapter`: :class:`OpenAIAgentsAdapter`, an ``agents.Agent`` per role run by ``Runner.run``.
- :mod:`.tools`: the plant's tools as ``FunctionTool``s and the role agent.
- :mod:`.session`: the SDK's ``Session`` protocol on the StateStore, and the run's progress.
- :mod:`.patches`: the SDK internals the adapter relies on, and the versions it supports.

The ``agentrig.adapters`` entry point ``openai-agents`` names
``agentrig.adapters.openai_agents:OpenAIAgentsAdapter``.
"""

from __future__ import annotations

from agentrig.adapters.openai_agents.adapter import OpenAIAgentsAdapter

__all__ = ["OpenAIAgentsAdapter"]

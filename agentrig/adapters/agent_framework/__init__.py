"""The Microsoft Agent Framework adapter package: the adapter, its client, tools and checkpoints.

- :mod:`.adapter`: :class:`AgentFrameworkAdapter`, an ``Agent`` per role, handoffs on the bus.
- :mod:`.client`: Agent Framework's OpenAI Chat Completions client, every tool call to the plant.
- :mod:`.tools`: the plant's tools as ``FunctionTool``\\ s, and the calls the framework cannot run.
- :mod:`.state`: each role's ``AgentSession`` checkpointed in the StateStore.
- :mod:`.patches`: the Agent Framework internals the adapter relies on, and the versions it
  supports.

The ``agentrig.adapters`` entry point ``agent-framework`` names
``agentrig.adapters.agent_framework:AgentFrameworkAdapter``.
"""

from __future__ import annotations

from agentrig.adapters.agent_framework.adapter import AgentFrameworkAdapter

__all__ = ["AgentFrameworkAdapter"]

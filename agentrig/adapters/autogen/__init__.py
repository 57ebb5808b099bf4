"""The AutoGen AgentChat adapter package: the adapter, its tools, its checkpoints and its patches.

- :mod:`.adapter`: :class:`AutoGenAdapter`, a ``RoundRobinGroupChat`` of three agents.
- :mod:`.tools`: the plant's tools and one workbench per role.
- :mod:`.state`: the team's ``save_state`` checkpoints in the StateStore.
- :mod:`.patches`: the AgentChat internals the adapter relies on, and the versions it supports.

The ``agentrig.adapters`` entry point ``autogen`` names ``agentrig.adapters.autogen:AutoGenAdapter``.
"""

from __future__ import annotations

from agentrig.adapters.autogen.adapter import AutoGenAdapter

__all__ = ["AutoGenAdapter"]

"""The LangGraph adapter package: the workflow written as explicit ``StateGraph`` s.

- :mod:`.adapter`: :class:`LangGraphAdapter`, one run graph per run, checkpointed in the
  StateStore through the ``langchain`` adapter's
  :class:`~agentrig.adapters.langchain.checkpoint.StateStoreCheckpointer`.
- :mod:`.graph`: the graphs -- per role a model node and a tool node, for the run the three
  roles and the two bus handoffs between them -- and their typed state.

The ``agentrig.adapters`` entry point ``langgraph`` names ``agentrig.adapters.langgraph:LangGraphAdapter``.
"""

from __future__ import annotations

from agentrig.adapters.langgraph.adapter import LangGraphAdapter

__all__ = ["LangGraphAdapter"]

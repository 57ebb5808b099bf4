"""The LangChain adapter package: the adapter, its LangGraph checkpointer and its framework patches.

- :mod:`.adapter`: :class:`LangChainAdapter`, one ``create_agent`` agent per role on the bus.
- :mod:`.checkpoint`: :class:`StateStoreCheckpointer`, LangGraph checkpoints in the StateStore
  (:mod:`.documents`: their keys, serialised values and index checks).
- :mod:`.patches`: the LangChain internals the adapter relies on, and the versions it supports.
- :mod:`.chat_models`: :class:`ChatModels`, the ``ChatOpenAI`` per event loop that this adapter
  and the ``langgraph`` one ask.

The ``agentrig.adapters`` entry point ``langchain`` names ``agentrig.adapters.langchain:LangChainAdapter``.
"""

from __future__ import annotations

from agentrig.adapters.langchain.adapter import LangChainAdapter
from agentrig.adapters.langchain.checkpoint import StateStoreCheckpointer

__all__ = ["LangChainAdapter", "StateStoreCheckpointer"]

"""The Google ADK adapter package: the adapter, its session service and its patches.

- :mod:`.adapter`: :class:`GoogleADKAdapter`, a ``SequentialAgent`` of three role steps.
- :mod:`.sessions`: ADK sessions kept in the StateStore.
- :mod:`.patches`: the ADK internals the adapter relies on, and the versions it supports.

The ``agentrig.adapters`` entry point ``google-adk`` names
``agentrig.adapters.google_adk:GoogleADKAdapter``. google-adk installs in its own environment
(``make test-adk``): it needs opentelemetry <= 1.44, which agentrig's main pins exclude.
"""

from __future__ import annotations

from agentrig.adapters.google_adk.adapter import GoogleADKAdapter

__all__ = ["GoogleADKAdapter"]

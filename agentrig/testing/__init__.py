"""Testing helpers for agentrig users: replaying recorded LLM traffic in pytest.

The pytest plugin (:mod:`agentrig.testing.pytest_plugin`, registered through the ``pytest11``
entry point) provides the ``agentrig_replay`` fixture, whose value is an
:class:`~agentrig.testing.replay.AgentrigReplay`. See docs/cassettes.md.
"""

from __future__ import annotations

from agentrig.testing.replay import AgentrigReplay

__all__ = ["AgentrigReplay"]

"""The reference model's brain: the plant's expert policy, taken as a replaceable dependency.

The server understands the conversation (``conversation.py``), hands the policy a
:class:`PolicyInput`, and renders whatever it decides as Chat Completions output. Any callable with
:func:`agentrig.core.expert.policy.decide`'s signature can stand in for it (tests script one).
"""

from __future__ import annotations

from collections.abc import Callable

from agentrig.core.contract.roles import Role
from agentrig.core.expert.policy import FinalAnswer, Observation, PolicyInput, Skill, ToolRequest

__all__ = [
    "Decide",
    "Decision",
    "FinalAnswer",
    "Observation",
    "PolicyInput",
    "Role",
    "Skill",
    "ToolRequest",
    "default_decide",
]

Decision = list[ToolRequest] | FinalAnswer
Decide = Callable[[PolicyInput, Skill], Decision]


def default_decide() -> Decide:
    """The plant's expert policy."""
    from agentrig.core.expert.policy import decide

    return decide

"""The reference model's brain: the plant's expert policy, taken as a replaceable dependency.

The server understands the conversation (``conversation.py``), hands the policy a
:class:`PolicyInput`, and renders whatever it decides as Chat Completions output. Any callable with
:func:`agentrig.core.plant.policy.decide`'s signature can stand in for it (tests script one).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

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

# Interim twins of agentrig.core.plant.policy's types (same fields), until that module lands.
Role = Literal["monitor", "diagnostician", "operator"]


@dataclass(frozen=True)
class Observation:
    tool: str
    arguments: dict[str, Any]
    result: Any


@dataclass(frozen=True)
class PolicyInput:
    role: Role | None
    task: str
    observations: list[Observation]
    tools: list[str]


@dataclass(frozen=True)
class ToolRequest:
    tool: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class FinalAnswer:
    text: str


@dataclass(frozen=True)
class Skill:
    investigate: bool = True
    verify: bool = True


Decision = list[ToolRequest] | FinalAnswer
Decide = Callable[[PolicyInput, Skill], Decision]


def default_decide() -> Decide:
    """The plant's expert policy, imported on first use (the server module must not need it)."""
    module = importlib.import_module("agentrig.core.plant.policy")
    decide: Decide = module.decide
    return decide

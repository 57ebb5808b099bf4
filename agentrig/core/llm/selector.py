"""AutoGen SelectorGroupChat's speaker selection: read its prompt, name the next participant.

The default selector prompt (autogen-agentchat 0.7.5) is one user message::

    You are in a role play game. The following roles are available:
    monitor: <description>
    diagnostician: <description>.
    Read the following conversation. Then select the next role from ['monitor', ...] to play.
    Only return the role.

    user: <alarm>

    monitor: <its answer>
    ...
    Read the above conversation. Then select the next role from [...] to play. Only return the role.

After a bad pick AutoGen appends our answer and "... please select a different name from: [...]".
We answer with the next participant of the workflow monitor -> diagnostician -> operator that has
not spoken yet (or, when all have, the one after the last speaker), among the names allowed.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from dataclasses import dataclass

from agentrig.core.llm.brain import Role

__all__ = ["SelectorPrompt", "next_speaker", "parse_selector_prompt", "role_of"]

WORKFLOW_ORDER: tuple[Role, ...] = ("monitor", "diagnostician", "operator")

_SELECT = re.compile(r"select the next role from (\[[^\]]*\])")
_DIFFERENT = re.compile(r"select a different name from:?\s*(\[[^\]]*\])")
_ROLES_BLOCK = re.compile(
    r"The following roles are available:\s*\n(.*?)\.?\s*\nRead the following conversation",
    re.DOTALL,
)
_HISTORY = re.compile(r"Only return the role\.\s*\n(.*)\n\s*Read the above conversation", re.DOTALL)
_ROLE_BY_WORD: dict[str, Role] = {"monitor": "monitor", "operator": "operator"}
# Letters only around the word: "plant_monitor" and "Monitor2" name the monitor too.
_ROLE_WORD = re.compile(
    r"(?<![a-z])(monitor|diagnostician|diagnos[a-z]*|operator)(?![a-z])", re.IGNORECASE
)


@dataclass(frozen=True)
class SelectorPrompt:
    """What a speaker-selection prompt says: who exists, who may speak next, who has spoken."""

    participants: dict[str, str]  # name -> description
    candidates: list[str]
    speakers: list[str]  # in order of speaking, participants only


def _names(listing: str) -> list[str]:
    try:
        value = ast.literal_eval(listing)
    except (ValueError, SyntaxError):
        return [n.strip(" '\"") for n in listing.strip("[]").split(",") if n.strip(" '\"")]
    return [str(name) for name in value] if isinstance(value, list | tuple) else []


def parse_selector_prompt(texts: Sequence[str]) -> SelectorPrompt | None:
    """The selection prompt in a request's user texts, or None when it is not one."""
    if not texts or "Only return the role" not in texts[0]:
        return None
    prompt = texts[0]
    select = _SELECT.search(prompt)
    if select is None:
        return None
    candidates = _names(select.group(1))
    for later in texts[1:]:
        different = _DIFFERENT.search(later)
        if different:
            candidates = _names(different.group(1))
    participants: dict[str, str] = {}
    block = _ROLES_BLOCK.search(prompt)
    if block:
        for line in block.group(1).splitlines():
            name, _, description = line.partition(":")
            if name.strip():
                participants[name.strip()] = description.strip()
    for name in candidates:
        participants.setdefault(name, "")
    speakers: list[str] = []
    history = _HISTORY.search(prompt)
    if history:
        for line in history.group(1).splitlines():
            name, sep, _ = line.partition(":")
            if sep and name.strip() in participants:
                speakers.append(name.strip())
    return SelectorPrompt(participants, candidates, speakers)


def role_of(name: str, description: str = "") -> Role | None:
    """The workflow role an agent's name (or else its description) names, if any."""
    for text in (name, description):
        match = _ROLE_WORD.search(text)
        if match:
            word = match.group(1).lower()
            return "diagnostician" if word.startswith("diagnos") else _ROLE_BY_WORD[word]
    return None


def next_speaker(prompt: SelectorPrompt) -> str:
    """The participant to speak next, following the workflow order, among the candidates."""
    if not prompt.candidates:
        return next(iter(prompt.participants), "")
    roles = {name: role_of(name, prompt.participants.get(name, "")) for name in prompt.participants}
    spoken_roles = {roles[name] for name in prompt.speakers}
    by_role = {role: name for name, role in roles.items() if role and name in prompt.candidates}
    for role in WORKFLOW_ORDER:
        if role not in spoken_roles and role in by_role:
            return by_role[role]
    last_role = roles.get(prompt.speakers[-1]) if prompt.speakers else None
    start = WORKFLOW_ORDER.index(last_role) + 1 if last_role else 0
    for offset in range(len(WORKFLOW_ORDER)):
        role = WORKFLOW_ORDER[(start + offset) % len(WORKFLOW_ORDER)]
        if role in by_role:
            return by_role[role]
    return prompt.candidates[0]

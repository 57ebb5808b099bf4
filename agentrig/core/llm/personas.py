"""Personas: the same brain at different levels of care, chosen by model id.

- ``agentrig-operator`` (full): the expert policy at full skill -- investigates, acts safely,
  verifies, reports. The default reference model.
- ``agentrig-operator-hasty``: never verifies its actions, and on a seeded half of conversations
  acts on its first hypothesis without investigating.
- ``agentrig-operator-sloppy``: on a seeded share of its tool-calling turns makes one of the
  mistakes real models make -- a mistyped device id, a missing required argument, a tool that does
  not exist, arguments that are not JSON -- rotating through the kinds so that each occurs. After
  a slip it reads the error and makes the call properly (it never slips twice in a row).

Every draw is seeded by what the request says plus the seed (the server's and the request's), so
the same request always gets the same reply and recordings are stable. "Per conversation" draws
use the first user message, which stays the same for every turn of one agent's run.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from agentrig.core.llm.brain import Skill
from agentrig.core.llm.determinism import unit_draw
from agentrig.core.llm.mistakes import MistakeKind, SlippedCall, slip

__all__ = [
    "HASTY_SKIPS_INVESTIGATION",
    "PERSONAS",
    "REFERENCE_MODEL_ID",
    "SLOPPY_MAX_SLIPS",
    "SLOPPY_SLIP_RATE",
    "Persona",
    "PersonaName",
    "persona_for",
]

PersonaName = Literal["full", "hasty", "sloppy"]

REFERENCE_MODEL_ID = "agentrig-operator"
HASTY_SKIPS_INVESTIGATION = 0.5  # share of conversations in which the hasty persona skips it
SLOPPY_SLIP_RATE = 0.5  # share of tool-calling turns with a slip (never two in a row)
SLOPPY_MAX_SLIPS = 3  # per conversation, so a sloppy run still ends within its step budget
_MISTAKE_ORDER = tuple(MistakeKind)


@dataclass(frozen=True)
class Persona:
    """A model id the reference model answers to, and how carefully it works."""

    name: PersonaName
    model_id: str
    description: str

    def skill(self, conversation_key: str, seed: object) -> Skill:
        """The skill for one conversation (``conversation_key``: its first user message)."""
        if self.name != "hasty":
            return Skill()
        investigate = unit_draw("hasty", conversation_key, seed) >= HASTY_SKIPS_INVESTIGATION
        return Skill(investigate=investigate, verify=False)

    def slip_call(
        self,
        *,
        tool: str,
        arguments: dict[str, Any],
        required: Sequence[str],
        offered: Collection[str],
        request_key: str,
        conversation_key: str,
        seed: object,
        slips_so_far: int,
        last_was_slip: bool,
    ) -> tuple[MistakeKind, SlippedCall] | None:
        """The sloppy persona's mistake on this call, or None (always None for other personas)."""
        if self.name != "sloppy" or last_was_slip or slips_so_far >= SLOPPY_MAX_SLIPS:
            return None
        if unit_draw("sloppy", request_key, seed) >= SLOPPY_SLIP_RATE:
            return None
        # Rotate through the kinds from a per-conversation offset, so each kind turns up.
        start = int(unit_draw("sloppy-kind", conversation_key, seed) * len(_MISTAKE_ORDER))
        for step in range(len(_MISTAKE_ORDER)):
            kind = _MISTAKE_ORDER[(start + slips_so_far + step) % len(_MISTAKE_ORDER)]
            slipped = slip(kind, tool, arguments, required=required, offered=offered)
            if slipped is not None:
                return kind, slipped
        return None


PERSONAS: dict[str, Persona] = {
    persona.model_id: persona
    for persona in (
        Persona("full", REFERENCE_MODEL_ID, "the expert policy at full skill"),
        Persona(
            "hasty",
            f"{REFERENCE_MODEL_ID}-hasty",
            "skips verification; sometimes acts on its first hypothesis",
        ),
        Persona(
            "sloppy",
            f"{REFERENCE_MODEL_ID}-sloppy",
            "makes real models' tool-call mistakes, then recovers",
        ),
    )
}


def persona_for(model_id: str) -> Persona | None:
    """The persona a model id names, or None for an id the reference model does not serve."""
    return PERSONAS.get(model_id)

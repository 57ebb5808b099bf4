"""Crash testing: a run SIGKILLed at seeded points, resumed each time in a fresh process.

``agentrig compare --kill N`` runs every cell twice: once uninterrupted (the *control*), and once
in child processes, the first N of which are killed with SIGKILL at a :class:`KillPoint` and the
next resumed from the shared store (``execute_run(..., resume=True)``). What the user learns per
framework: did the run survive (same status and checks as the control), did anything act twice
(counted from the plant's ledger, not from what the framework says), and what the recovery cost
(LLM calls, tokens and seconds over the control).

Kill points, each counted within one attempt (one process):

==============  ===========================================================================
``llm#k``       as the k-th model call starts, before its request is sent (``chat`` span)
``tool#k``      mid-role: right after the k-th tool call of any kind is recorded
``action#k``    between the k-th action's ledger write and its result reaching the framework
``handoff#k``   during the k-th handoff: received from the bus, not yet acknowledged
``write#k``     between the k-th tool call's two writes: its effect is in the plant document,
                its ledger entry not yet under its own key (``plant.ledger``)
==============  ===========================================================================

They are anchored in real durability bugs: a kill at a checkpoint write decides whether a task
is replayed or re-run (langgraph#8039), a kill before the first checkpoint drops the run
(langgraph#8764); Temporal's replay tests and DBOS's resume-from-last-step do the same. Points
are drawn from a seed and the control's own counts, so the same command kills at the same points.
"""

from __future__ import annotations

import os
import random
import signal
import sys
from dataclasses import dataclass
from typing import Final, Literal

from opentelemetry.context import Context
from opentelemetry.sdk.trace import Span, SpanProcessor

from agentrig.core.plant.executor import ToolCallRecord
from agentrig.core.plant.state import LedgerEntry
from agentrig.core.plant.tools import ACTION_TOOLS

__all__ = [
    "KILL_KINDS",
    "KillKind",
    "KillPoint",
    "KillSwitch",
    "choose_kill_points",
]

KillKind = Literal["llm", "tool", "action", "handoff", "write"]
KILL_KINDS: Final[tuple[KillKind, ...]] = ("llm", "tool", "action", "handoff", "write")
KILL_ENV: Final = "AGENTRIG_KILL_AT"


@dataclass(frozen=True, slots=True)
class KillPoint:
    """Where one attempt is killed: at the ``index``-th event of ``kind`` (1-based)."""

    kind: KillKind
    index: int

    def __str__(self) -> str:
        return f"{self.kind}#{self.index}"

    @classmethod
    def parse(cls, text: str) -> KillPoint:
        kind, _, index = text.partition("#")
        if kind not in KILL_KINDS or not index.isdigit() or int(index) < 1:
            raise ValueError(
                f"kill point {text!r}: expected KIND#N with KIND one of {', '.join(KILL_KINDS)}"
            )
        return cls(kind, int(index))


def choose_kill_points(
    kills: int, counts: dict[str, int], *, seed: int, cell: str
) -> list[KillPoint]:
    """``kills`` points for one cell, spread over kinds and over the run, from ``seed``.

    ``counts`` is how many events of each kind the control run had; a kind it never had is not
    drawn. The first kill lands anywhere in the run; each later one early in its (shorter,
    resumed) attempt, so that it is likely to be reached.
    """
    rng = random.Random(f"{seed}|{cell}")
    kinds = [kind for kind in KILL_KINDS if counts.get(kind, 0) > 0]
    if not kinds:
        return []
    rng.shuffle(kinds)
    points = []
    for number in range(kills):
        kind = kinds[number % len(kinds)]
        ceiling = max(1, counts[kind] // (number + 1))
        points.append(KillPoint(kind, rng.randint(1, ceiling)))
    return points


class KillSwitch(SpanProcessor):
    """Kills this process with SIGKILL at one :class:`KillPoint`.

    It is a span processor (model calls and handoffs start spans) and a tool-call hook (tool
    calls and actions, which the executor reports after their ledger write) and a commit hook
    (between a call's two writes); the runner installs all three in a child process of a crash test. SIGKILL, not an exception: nothing gets to clean up,
    flush or checkpoint, as with ``kill -9`` or an OOM kill.
    """

    def __init__(self, point: KillPoint) -> None:
        self.point = point
        self.seen: dict[str, int] = dict.fromkeys(KILL_KINDS, 0)

    def _count(self, kind: KillKind) -> None:
        self.seen[kind] += 1
        if kind == self.point.kind and self.seen[kind] == self.point.index:
            sys.stderr.flush()
            os.kill(os.getpid(), signal.SIGKILL)

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        if span.name.startswith("chat "):
            self._count("llm")
        elif span.name.startswith("process "):
            self._count("handoff")

    # on_end, shutdown and force_flush: the SpanProcessor base class's no-ops.

    def on_commit(self, entry: LedgerEntry) -> None:
        """The executor's commit hook: a call's effect is written, its ledger entry not yet."""
        self._count("write")

    def __call__(self, record: ToolCallRecord) -> None:
        if record.replayed:
            return  # a resumed call answered from the ledger: nothing happened to the plant
        if record.tool in ACTION_TOOLS:
            self._count("action")
        self._count("tool")

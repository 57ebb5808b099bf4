"""The one tool executor every adapter calls: validation, interlocks, CAS writes, ledger, hooks.

``await executor.call(tool, arguments, role=..., idempotency_key=...)`` never raises for a bad
call -- unknown tool, wrong role, invalid arguments, unknown device, interlock refusal all come
back as a :class:`ToolResult` whose ``to_text()`` the model reads. It raises only when the plant
itself is unusable (no plant for the run, the store is down).

Concurrency and resume:

- Each call loads the plant document, applies the call and saves it with compare-and-set; on a
  :class:`VersionConflict` it reloads and re-applies, so concurrent calls on one plant (from
  tasks, threads or processes) serialise and no update is lost.
- Each call has an idempotency key, recorded with its effect in the same compare-and-set write:
  the plant document carries the call's ledger entry as its *tail*, and the entry gets its own
  key right after (:mod:`agentrig.core.plant.ledger`), so a call never reads the run's history.
  A call whose key is the tail or has its entry is not applied again: its recorded result is
  returned (``replayed=True``). Pass the framework's tool-call id as the key when there is one; otherwise
  the key is derived from (run id, role, tool, canonical arguments, occurrence number of that
  exact call in this executor). A new executor over the same store and run id re-derives the same
  keys for the same sequence of calls, so a replayed or restarted run never acts twice.

Threads: :meth:`ToolExecutor.call_sync` serves frameworks that call tools from worker threads
(CrewAI). It runs the call on the event loop that owns the executor's store connections -- the
loop the executor was built in or last awaited on, while it runs -- else on a private loop thread.
Use one event loop per executor (and per store).
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import json
import random
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import structlog

from agentrig.core.plant.dispatch import canonical_arguments, execute_call
from agentrig.core.plant.ledger import load_entry, write_entry
from agentrig.core.plant.results import ToolResult
from agentrig.core.plant.state import LedgerEntry, plant_key, plant_state_from_document
from agentrig.core.state.base import StateStore
from agentrig.exceptions import PlantError, VersionConflict

__all__ = ["CommitHook", "ToolCallHook", "ToolCallRecord", "ToolExecutor", "derive_idempotency_key"]

logger = structlog.get_logger(__name__)

MAX_COMMIT_ATTEMPTS = 500


@dataclass(frozen=True)
class ToolCallRecord:
    """What a hook learns about one tool call.

    Attributes:
        run_id: the run.
        tool: the tool name as called.
        arguments: the arguments, parsed (a JSON string becomes an object) with sorted keys;
            arguments that are not a JSON object arrive as ``{"_raw": "<their text>"}``.
        role: the calling role.
        result: what the model sees.
        error: the result's error text (or the infrastructure error), None on success.
        refused_reason: why the plant refused, when it did.
        safety_violation: an interlock stopped an unsafe action.
        outcome: read, applied, refused, rejected -- or "error" when the plant was unusable.
        started_at_ns: wall-clock start, epoch nanoseconds.
        duration_s: wall-clock duration.
        idempotency_key: the key the call ran under.
        replayed: the key was already in the ledger; nothing was applied again.
        sim_time_s: simulated time after the call.
        ledger_seq: the call's position in the run's ledger (0 when it has none).
    """

    run_id: str
    tool: str
    arguments: Any
    role: str
    result: ToolResult
    error: str | None
    refused_reason: str | None
    safety_violation: bool
    outcome: str
    started_at_ns: int
    duration_s: float
    idempotency_key: str
    replayed: bool
    sim_time_s: float
    ledger_seq: int


ToolCallHook = Callable[[ToolCallRecord], "Awaitable[None] | None"]
"""Called after every call (sync or async); an exception in a hook is logged, not propagated."""

CommitHook = Callable[[LedgerEntry], None]
"""Called between a call's two writes: its effect is committed, its entry has no key yet. For
crash tests (a kill there); an exception propagates and the entry is left to the next call."""


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _record_arguments(canonical: Any) -> dict[str, Any]:
    return canonical if isinstance(canonical, dict) else {"_raw": str(canonical)}


def _arguments_text(canonical: Any) -> str:
    return json.dumps(canonical, sort_keys=True, separators=(",", ":"))


def _derive_key(run_id: str, role: str, tool: str, arguments_text: str, occurrence: int) -> str:
    material = "\x1f".join((run_id, role, tool, arguments_text, str(occurrence)))
    return "auto-" + hashlib.sha256(material.encode("utf-8")).hexdigest()[:32]


def derive_idempotency_key(
    run_id: str, role: str, tool: str, arguments: Any, occurrence: int
) -> str:
    """The deterministic key of the ``occurrence``-th identical call (0-based)."""
    text = _arguments_text(canonical_arguments(arguments))
    return _derive_key(run_id, role, tool, text, occurrence)


class ToolExecutor:
    """Runs tool calls for one run against its plant document in ``store``."""

    def __init__(
        self,
        store: StateStore,
        run_id: str,
        *,
        hooks: Sequence[ToolCallHook] = (),
        commit_hooks: Sequence[CommitHook] = (),
    ) -> None:
        self.store = store
        self.run_id = run_id
        self.key = plant_key(run_id)
        self.hooks: list[ToolCallHook] = list(hooks)
        self.commit_hooks: list[CommitHook] = list(commit_hooks)
        """Run between a call's plant write and its ledger write (see :data:`CommitHook`)."""
        self.conflicts = 0
        """Compare-and-set races lost (and retried) so far: a contention measure."""
        self._occurrences: dict[tuple[str, str, str], int] = {}
        self._stored_seq = 0
        """The newest ledger entry this executor knows has its own key."""
        self._lock = threading.Lock()
        # Built inside async code (the usual case), the executor belongs to that loop: the store's
        # connections live there, so call_sync from worker threads must run calls on it.
        self._loop: asyncio.AbstractEventLoop | None = _running_loop()
        self._private_loop: asyncio.AbstractEventLoop | None = None
        self._private_thread: threading.Thread | None = None

    def add_hook(self, hook: ToolCallHook) -> None:
        self.hooks.append(hook)

    # ------------------------------------------------------------------ keys

    def next_key(self, role: str, tool: str, arguments: Any) -> str:
        """Derive the key of this call and count it (see the module docstring)."""
        return self._next_key(role, tool, canonical_arguments(arguments))

    def _next_key(self, role: str, tool: str, canonical: Any) -> str:
        text = _arguments_text(canonical)
        with self._lock:
            occurrence = self._occurrences.get((role, tool, text), 0)
            self._occurrences[(role, tool, text)] = occurrence + 1
        return _derive_key(self.run_id, role, tool, text, occurrence)

    # ------------------------------------------------------------------ calls

    async def call(
        self,
        tool: str,
        arguments: Any,
        *,
        role: str,
        idempotency_key: str | None = None,
    ) -> ToolResult:
        """Run one tool call and return what the model sees.

        ``arguments`` may be a dict or its JSON text (malformed JSON comes back as an error
        result). Raises only for an unusable plant (:class:`PlantError`, store errors).
        """
        self._loop = asyncio.get_running_loop()
        started_ns = time.time_ns()
        clock = time.perf_counter()
        # Canonical once: the key, the replay check and the hooks' record all use it.
        canonical = canonical_arguments(arguments)
        key = idempotency_key or self._next_key(role, tool, canonical)
        try:
            entry, replayed = await self._commit(key, role, tool, arguments, canonical)
        except Exception as error:
            record = ToolCallRecord(
                run_id=self.run_id,
                tool=tool,
                arguments=_record_arguments(canonical),
                role=role,
                result=ToolResult.failure(f"the plant is unavailable: {error}"),
                error=f"{type(error).__name__}: {error}",
                refused_reason=None,
                safety_violation=False,
                outcome="error",
                started_at_ns=started_ns,
                duration_s=time.perf_counter() - clock,
                idempotency_key=key,
                replayed=False,
                sim_time_s=0.0,
                ledger_seq=0,
            )
            await self._run_hooks(record)
            raise
        if entry is None:
            result = ToolResult.failure(
                f"idempotency key {key!r} was already used for a different call in this run; "
                "use a new key for a new call",
                refused=True,
                reason="idempotency key reused",
            )
            sim_time, seq, outcome = 0.0, 0, "rejected"
        else:
            result = ToolResult.from_dict(entry.result)
            sim_time, seq, outcome = entry.sim_time_s, entry.seq, entry.outcome
        record = ToolCallRecord(
            run_id=self.run_id,
            tool=tool,
            arguments=_record_arguments(canonical),
            role=role,
            result=result,
            error=None if result.ok else result.error,
            refused_reason=result.reason if result.refused else None,
            safety_violation=result.safety_violation,
            outcome=outcome,
            started_at_ns=started_ns,
            duration_s=time.perf_counter() - clock,
            idempotency_key=key,
            replayed=replayed,
            sim_time_s=sim_time,
            ledger_seq=seq,
        )
        await self._run_hooks(record)
        return result

    async def _commit(
        self, key: str, role: str, tool: str, arguments: Any, canonical: Any
    ) -> tuple[LedgerEntry | None, bool]:
        """Apply the call with compare-and-set, retrying on conflicts; (entry, replayed)."""
        for attempt in range(MAX_COMMIT_ATTEMPTS):
            # The plant document first, then the entry: an entry's key is written before the
            # compare-and-set that replaces it as the tail, so a call missing from both is new.
            loaded = await self.store.load(self.key)
            if loaded is None:
                raise PlantError(
                    f"run {self.run_id!r} has no plant in the state store; create it first "
                    "(Plant.create)"
                )
            state = plant_state_from_document(self.store, self.key, loaded.state)
            tail = state.ledger_tail
            existing = tail if tail is not None and tail.key == key else None
            if existing is None:
                if tail is not None and tail.seq > self._stored_seq:
                    # Left by a process killed between its two writes, or by another executor:
                    # the tail gets its key before this call's write replaces it.
                    await write_entry(self.store, self.run_id, tail)
                    self._stored_seq = tail.seq
                existing = await load_entry(self.store, self.run_id, key)
            if existing is not None:
                same = (existing.role, existing.tool, existing.arguments) == (role, tool, canonical)
                return (existing if same else None), same
            entry = execute_call(state, role=role, tool=tool, arguments=arguments, key=key)
            try:
                await self.store.save(self.key, state, expected_version=loaded.version)
            except VersionConflict:
                self.conflicts += 1
                # Jittered backoff so racing writers stop colliding in lockstep.
                await asyncio.sleep(random.random() * min(0.05, 0.0005 * 2 ** min(attempt, 7)))
                continue
            for hook in self.commit_hooks:
                hook(entry)
            await write_entry(self.store, self.run_id, entry)
            self._stored_seq = max(self._stored_seq, entry.seq)
            return entry, False
        raise PlantError(
            f"could not record a {tool} call on run {self.run_id!r}: lost "
            f"{MAX_COMMIT_ATTEMPTS} compare-and-set races in a row"
        )

    async def _run_hooks(self, record: ToolCallRecord) -> None:
        for hook in list(self.hooks):
            try:
                outcome = hook(record)
                if inspect.isawaitable(outcome):
                    await outcome
            except Exception:
                # A telemetry hook must not turn a good tool call into a failed run.
                logger.exception(
                    "tool call hook failed", hook=repr(hook), tool=record.tool, run_id=self.run_id
                )

    # ------------------------------------------------------------------ threads

    def call_sync(
        self,
        tool: str,
        arguments: Any,
        *,
        role: str,
        idempotency_key: str | None = None,
        timeout: float | None = None,
    ) -> ToolResult:
        """Blocking :meth:`call` for worker threads; safe from any thread but a running loop's.

        Raises:
            RuntimeError: called from a thread whose event loop is running (it would block that
                loop and, if it is the owning loop, deadlock): ``await call()`` there instead.
        """
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            raise RuntimeError(
                "ToolExecutor.call_sync() was called from a running event loop; "
                "await ToolExecutor.call() instead"
            )
        coroutine = self.call(tool, arguments, role=role, idempotency_key=idempotency_key)
        owner = self._loop
        if owner is None or not owner.is_running() or owner.is_closed():
            owner = self._private()
        return asyncio.run_coroutine_threadsafe(coroutine, owner).result(timeout)

    def _private(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._private_loop is None or self._private_loop.is_closed():
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=loop.run_forever, name=f"agentrig-tools-{self.run_id}", daemon=True
                )
                thread.start()
                self._private_loop, self._private_thread = loop, thread
            return self._private_loop

    def close(self) -> None:
        """Stop the private loop thread, if one was started. The store is not closed."""
        with self._lock:
            loop, thread = self._private_loop, self._private_thread
            self._private_loop = self._private_thread = None
        if loop is not None and thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            thread.join()
            loop.close()

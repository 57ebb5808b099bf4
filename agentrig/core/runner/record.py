"""A run's record in the shared state store: what it is, its attempts, and who runs it now.

Every run writes ``runs/<run_id>/record`` beside its plant document before it starts. The record
is what makes a run resumable by id from any process that reaches the same store: it holds the
spec (framework, scenario, model, seed, ...), the settings it ran with (the state URL, redacted,
and the fault profile), its attempts, and a lease naming the process that runs it now.

The lease is a compare-and-set claim on the record plus a heartbeat: a process that dies by
``kill -9`` leaves a lease that is stale at once on the same host (its pid is gone) and after
:data:`LEASE_SECONDS` without a heartbeat anywhere. Two resumes of one run at once: both read the
record, both try to write their claim with the version they read, one wins; the other gets
:class:`~agentrig.exceptions.RunInUseError`. Nothing of the run's plant or checkpoints is touched
before the claim is won.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import structlog
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from agentrig.core.backends import redact_url
from agentrig.core.state.base import StateStore, store_location
from agentrig.exceptions import (
    CorruptStateError,
    ResumeMismatchError,
    RunExistsError,
    RunFinishedError,
    RunInUseError,
    RunNotFoundError,
    VersionConflict,
)

__all__ = [
    "LEASE_SECONDS",
    "Attempt",
    "Owner",
    "RunLease",
    "RunRecord",
    "load_record",
    "record_key",
    "resumable_record",
    "run_prefix",
]

logger = structlog.get_logger(__name__)

LEASE_SECONDS = 30.0
"""A holder whose heartbeat is older than this is taken to be gone (other hosts, hung processes)."""
HEARTBEAT_SECONDS = 10.0

AttemptOutcome = Literal["running", "finished", "interrupted", "lost"]


def run_prefix(run_id: str) -> str:
    """The key prefix under which everything a run keeps in the store lives."""
    return f"runs/{run_id}/"


def record_key(run_id: str) -> str:
    """The store key of a run's record."""
    return f"{run_prefix(run_id)}record"


def _now() -> datetime:
    return datetime.now(UTC)


class Owner(BaseModel):
    """The process that holds a run's lease."""

    model_config = ConfigDict(frozen=True)

    host: str
    pid: int
    token: str
    heartbeat_at: AwareDatetime

    def __str__(self) -> str:
        return f"pid {self.pid} on {self.host}"

    def alive(self, now: datetime | None = None) -> bool:
        """Whether the holder may still be running: fresh heartbeat, and a live pid on this host."""
        now = now or _now()
        if now - self.heartbeat_at > timedelta(seconds=LEASE_SECONDS):
            return False
        if self.host != socket.gethostname():
            return True
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True  # someone else's live process
        return True


class Attempt(BaseModel):
    """One process's go at the run."""

    number: int
    host: str
    pid: int
    started_at: AwareDatetime
    ended_at: AwareDatetime | None = None
    outcome: AttemptOutcome = "running"


class RunRecord(BaseModel):
    """``runs/<run_id>/record``: the run's spec, settings, attempts and lease holder."""

    model_config = ConfigDict(extra="forbid")

    schema_version: Literal[1] = 1
    run_id: str
    framework: str
    scenario: str
    scenario_source: str | None = None
    model: str
    repeat: int = 0
    seed: int | None = None
    timeout_s: float
    state_url: str
    out_dir: str
    faults: str | None = None
    tools: Literal["native", "mcp"] = "native"
    status: Literal["running", "finished"] = "running"
    result_status: str | None = None
    attempts: list[Attempt] = Field(default_factory=list)
    owner: Owner | None = None
    created_at: AwareDatetime = Field(default_factory=_now)
    updated_at: AwareDatetime = Field(default_factory=_now)

    def spec_fields(self) -> dict[str, Any]:
        """The fields a resume must agree with."""
        return {
            "framework": self.framework,
            "scenario": self.scenario,
            "model": self.model,
            "repeat": self.repeat,
            "seed": self.seed,
            "faults": self.faults,
        }


async def load_record(store: StateStore, run_id: str) -> tuple[RunRecord, int] | None:
    """The run's record and its version, or None when the store has no run by that id."""
    key = record_key(run_id)
    loaded = await store.load(key)
    if loaded is None:
        return None
    try:
        return RunRecord.model_validate(loaded.state), loaded.version
    except ValidationError as error:
        problem = error.errors()[0]
        where = ".".join(str(part) for part in problem["loc"]) or "the document"
        raise CorruptStateError(
            key,
            store_location(store, key),
            f"not a run record ({where}: {problem['msg']}); it is left as it is: delete the key "
            "(agentrig state prune) or point --state at the store the run used",
        ) from error


async def resumable_record(
    store: StateStore,
    run_id: str,
    *,
    state_url: str,
    expect: dict[str, Any] | None = None,
    finished_ok: bool = False,
) -> tuple[RunRecord, int]:
    """The record of run ``run_id`` (and its version) if it can be resumed now; changes nothing.

    Raises the errors :meth:`RunLease.resume` documents, before anything is claimed.
    """
    loaded = await load_record(store, run_id)
    if loaded is None:
        raise RunNotFoundError(
            f"no run {run_id!r} in {redact_url(state_url)}: check the id, and pass the "
            "--state the run was started with",
            run_id=run_id,
            state_url=redact_url(state_url),
        )
    record, version = loaded
    if record.status == "finished" and not finished_ok:
        raise RunFinishedError(
            f"run {run_id!r} has finished ({record.result_status}) after "
            f"{len(record.attempts)} attempt(s): there is nothing to resume",
            run_id=run_id,
        )
    recorded = record.spec_fields()
    differences = {
        name: (recorded[name], value)
        for name, value in (expect or {}).items()
        if name in recorded and value is not None and recorded[name] != value
    }
    if differences:
        listed = "; ".join(
            f"{name}: the run has {was!r}, you asked for {asked!r}"
            for name, (was, asked) in differences.items()
        )
        raise ResumeMismatchError(
            f"run {run_id!r} is not the run you described ({listed}); drop those options "
            "to resume it as it was",
            run_id=run_id,
            differences=differences,
        )
    if record.owner is not None and record.owner.alive():
        raise RunInUseError(
            f"run {run_id!r} is being run by {record.owner} (heartbeat "
            f"{record.owner.heartbeat_at:%H:%M:%S} UTC): wait for it, or stop that process",
            run_id=run_id,
            owner=str(record.owner),
        )
    return record, version


class RunLease:
    """The claim of one process on one run, for one attempt; renewed by a heartbeat task.

    ``await RunLease.start(store, record)`` creates a new run (its id must be free);
    ``await RunLease.resume(store, run_id, ...)`` claims an existing, unfinished, unowned one.
    Either way the caller then runs the attempt and calls :meth:`finish` (a result was written)
    or :meth:`release` (interrupted: the run stays resumable).
    """

    def __init__(self, store: StateStore, record: RunRecord, version: int) -> None:
        self.store = store
        self.record = record
        self.version = version
        self._heartbeat: asyncio.Task[None] | None = None
        self._writing = asyncio.Lock()

    @property
    def attempt(self) -> int:
        return len(self.record.attempts)

    @classmethod
    async def start(cls, store: StateStore, record: RunRecord) -> RunLease:
        """Record a new run and hold it. Raises :class:`RunExistsError` if the id is taken."""
        record = record.model_copy(
            update={"owner": _owner(), "attempts": [_attempt(1)], "updated_at": _now()}
        )
        try:
            version = await store.save(
                record_key(record.run_id), record.model_dump(mode="json"), expected_version=0
            )
        except VersionConflict as error:
            raise RunExistsError(
                f"run id {record.run_id!r} is already taken in {record.state_url}: resume that "
                f"run with --resume {record.run_id}, or choose another --run-id",
                run_id=record.run_id,
            ) from error
        lease = cls(store, record, version)
        lease._start_heartbeat()
        return lease

    @classmethod
    async def resume(
        cls,
        store: StateStore,
        run_id: str,
        *,
        state_url: str,
        expect: dict[str, Any] | None = None,
        finished_ok: bool = False,
    ) -> RunLease:
        """Claim run ``run_id`` for a new attempt.

        Args:
            store: the store the run is in.
            run_id: the run.
            state_url: the store's URL, for messages.
            expect: fields the caller asked for explicitly (framework, scenario, ...); each must
                equal the recorded one.
            finished_ok: run a finished run again (the Python API's "continue whatever the
                store holds"); the CLI's ``--resume`` refuses it.

        Raises:
            RunNotFoundError: no such run in this store.
            RunFinishedError: it has a result already (unless ``finished_ok``).
            ResumeMismatchError: ``expect`` disagrees with the record.
            RunInUseError: a live process holds it, or another resume won the race.
        """
        record, version = await resumable_record(
            store, run_id, state_url=state_url, expect=expect, finished_ok=finished_ok
        )
        attempts = [
            attempt.model_copy(update={"outcome": "lost"})
            if attempt.outcome == "running"
            else attempt
            for attempt in record.attempts
        ]
        claimed = record.model_copy(
            update={
                "status": "running",
                "result_status": None,
                "owner": _owner(),
                "attempts": [*attempts, _attempt(len(attempts) + 1)],
                "updated_at": _now(),
            }
        )
        try:
            new_version = await store.save(
                record_key(run_id), claimed.model_dump(mode="json"), expected_version=version
            )
        except VersionConflict as error:
            current = await load_record(store, run_id)
            holder = str(current[0].owner) if current and current[0].owner else "another process"
            raise RunInUseError(
                f"run {run_id!r} was claimed by {holder} while this process tried to resume "
                "it: only one resume runs",
                run_id=run_id,
                owner=holder,
            ) from error
        lease = cls(store, claimed, new_version)
        lease._start_heartbeat()
        return lease

    async def finish(self, result_status: str) -> None:
        """The attempt produced a result: the run is finished and nobody holds it."""
        await self._end("finished", status="finished", result_status=result_status)

    async def release(self) -> None:
        """The attempt stopped without a result (Ctrl-C, shutdown): the run stays resumable."""
        await self._end("interrupted", status="running", result_status=None)

    async def _end(
        self, outcome: AttemptOutcome, *, status: str, result_status: str | None
    ) -> None:
        await self._stop_heartbeat()
        attempts = list(self.record.attempts)
        attempts[-1] = attempts[-1].model_copy(update={"ended_at": _now(), "outcome": outcome})
        await self._write(
            {
                "attempts": attempts,
                "owner": None,
                "status": status,
                "result_status": result_status,
            }
        )

    async def _write(self, update: dict[str, Any]) -> None:
        # One write at a time: the heartbeat and the attempt's end must not race each other
        # with the same expected version.
        async with self._writing:
            record = self.record.model_copy(update={**update, "updated_at": _now()})
            self.version = await self.store.save(
                record_key(record.run_id),
                record.model_dump(mode="json"),
                expected_version=self.version,
            )
            self.record = record

    def _start_heartbeat(self) -> None:
        self._heartbeat = asyncio.create_task(self._beat(), name=f"lease {self.record.run_id}")

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            owner = self.record.owner
            if owner is None:
                return
            try:
                # Shielded: stopping the heartbeat must not cut a write in half (the store may
                # have taken it while this process never learnt the new version).
                beat = {"owner": owner.model_copy(update={"heartbeat_at": _now()})}
                await asyncio.shield(self._write(beat))
            except VersionConflict:
                logger.warning("run lease lost to another process", run_id=self.record.run_id)
                return
            except Exception:
                # A store hiccup must not kill the run; the next beat tries again.
                logger.exception("run lease heartbeat failed", run_id=self.record.run_id)

    async def _stop_heartbeat(self) -> None:
        task, self._heartbeat = self._heartbeat, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _owner() -> Owner:
    return Owner(
        host=socket.gethostname(), pid=os.getpid(), token=uuid.uuid4().hex, heartbeat_at=_now()
    )


def _attempt(number: int) -> Attempt:
    return Attempt(number=number, host=socket.gethostname(), pid=os.getpid(), started_at=_now())

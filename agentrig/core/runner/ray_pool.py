"""The run matrix on Ray: a pool of worker processes, each running many runs on its own loop.

``agentrig compare --executor ray`` hands every run of the matrix to :meth:`RayPool.execute`.
The driver (the ``compare`` process) keeps everything a comparison writes -- the progress bar,
``results.jsonl``, ``metrics.prom``, the report -- exactly as with the local executor; only the
runs move.

- **Workers.** One :class:`RunWorker` (an async Ray actor, one CPU) per core of the cluster, or
  ``--workers N``. A worker imports agentrig and the frameworks of the matrix once, opens its own
  :class:`RunServices` (store, bus, telemetry, a reference model server when ``--model
  reference``), and runs up to ``--concurrency`` runs at a time on its event loop. The driver
  sends each run to the live worker with the fewest runs under way.
- **Results stream back** as each run finishes (an awaited Ray call per run). Run folders
  (``trace.jsonl``, ``error.txt``) are written by the worker under the same absolute ``--out``.
- **Metrics.** A worker records its observations in a
  :class:`~agentrig.core.telemetry.metrics_log.MetricsLog`; each result carries those made since
  the previous one, and the driver replays them into its own registry (and drains every worker
  at the end). So the driver's ``metrics.prom`` (and ``--metrics-port``) counts every run, by the
  same code as the local executor. A worker that dies takes the observations it had not yet
  handed over: those of its runs in flight, which are counted again where they are resumed.
- **A worker that dies** (SIGKILL, OOM): each of its runs under way fails in the driver with a
  Ray actor error; the driver sends it to another worker, which resumes it from the shared store
  (:func:`~agentrig.core.runner.run.execute_run`: the run's record, lease and the plant's ledger,
  so no action is applied twice). On this machine the dead worker's lease is free at once (its
  pid is gone); on another machine after ``RunSettings.lease_seconds``, which the new worker
  waits for. With ``--state memory://`` (a local cluster only) each worker has its own store,
  which died with it: the run starts again from nothing on another worker, and its ``attempts``
  counts the lost one. Ray restarts a dead worker (up to :data:`WORKER_RESTARTS` times).
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import logging
import os
import socket
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ray
import structlog
from ray.exceptions import ActorDiedError, RayActorError, RayTaskError

from agentrig.core.contract.optouts import disable_phone_home
from agentrig.core.contract.results import RunResult
from agentrig.core.runner.executors import ExecutorChoice
from agentrig.core.runner.run import execute_run
from agentrig.core.runner.services import RunServices
from agentrig.core.runner.spec import RunSettings, RunSpec
from agentrig.core.telemetry.metrics import AgentrigMetrics
from agentrig.core.telemetry.metrics_log import MetricEvent, MetricsLog, replay
from agentrig.exceptions import ConfigurationError, RunInUseError

__all__ = ["WORKER_RESTARTS", "RayPool", "RunWorker", "portable_settings"]

logger = structlog.get_logger(__name__)

WORKER_RESTARTS = 3
"""How often Ray restarts a worker process that died, before the pool goes on without it."""
MAX_LOST_ATTEMPTS = 3
"""A run whose worker died this many times is an error result (the run itself may kill it)."""
FRAMEWORK_MODULES = (
    "langchain",
    "langgraph",
    "autogen_agentchat",
    "crewai",
    "agents",
    "smolagents",
)


def portable_settings(settings: RunSettings) -> RunSettings:
    """``settings`` with every path absolute: a worker's working folder is not the driver's."""
    state_url = settings.state_url
    if state_url.startswith("sqlite:///") and not state_url.startswith("sqlite:////"):
        state_url = f"sqlite:///{Path(state_url.removeprefix('sqlite:///')).resolve()}"
    cassettes = settings.cassettes
    if cassettes is not None:
        cassettes = cassettes.model_copy(update={"directory": cassettes.directory.resolve()})
    return settings.model_copy(
        update={
            "state_url": state_url,
            "out_dir": Path(settings.out_dir).resolve(),
            "cassettes": cassettes,
        }
    )


class RunWorker:
    """One worker process: its own services, many runs at a time (a Ray async actor)."""

    def __init__(self, settings_json: str, frameworks: list[str]) -> None:
        disable_phone_home()  # before any framework is imported here
        self.settings = RunSettings.model_validate_json(settings_json)
        self.frameworks = frameworks
        self.metrics = MetricsLog()
        self._services: RunServices | None = None
        self._opening: asyncio.Lock | None = None
        self._running: set[str] = set()

    async def _ready(self) -> RunServices:
        if self._opening is None:
            self._opening = asyncio.Lock()
        async with self._opening:
            if self._services is None:
                services = RunServices(
                    self.settings, metrics=self.metrics, frameworks=self.frameworks
                )
                self._services = await services.__aenter__()
                for framework in self.frameworks:  # import each framework once, before any run
                    self._services.adapter(framework)
        return self._services

    async def ready(self) -> int:
        """Open the services and load the adapters now (the pool waits for it); the pid."""
        await self._ready()
        return os.getpid()

    async def run(self, spec_json: str, lost_attempts: int) -> tuple[str, list[MetricEvent]]:
        """Run (or resume) one spec; its result as JSON and the metrics since the last call."""
        services = await self._ready()
        spec = RunSpec.model_validate_json(spec_json)
        self._running.add(spec.run_id)
        try:
            result = await self._execute(spec, services, lost_attempts)
        finally:
            self._running.discard(spec.run_id)
        return result.model_dump_json(), self.metrics.drain()

    async def _execute(self, spec: RunSpec, services: RunServices, lost_attempts: int) -> RunResult:
        if not lost_attempts:
            return await execute_run(spec, services)
        # A run whose worker died: its lease is free once its holder is known to be gone (at
        # once on this host, after the lease time elsewhere).
        deadline = time.monotonic() + self.settings.lease_seconds * 1.5 + 5
        while True:
            try:
                result = await execute_run(spec, services)
                break
            except RunInUseError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(min(1.0, self.settings.lease_seconds / 10))
        if result.attempts <= lost_attempts:  # a private store: the lost attempts left no record
            result = result.model_copy(update={"attempts": result.attempts + lost_attempts})
        return result

    def drain(self) -> list[MetricEvent]:
        """The metrics observed since the last result (a matrix's end)."""
        return self.metrics.drain()

    def describe(self) -> dict[str, Any]:
        """Who this worker is: pid, host, runs under way, the frameworks it has imported."""
        return {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "running": sorted(self._running),
            "imported": sorted(name for name in FRAMEWORK_MODULES if name in sys.modules),
        }

    async def close(self) -> None:
        """Close the services (model clients, the bus, the store)."""
        services, self._services = self._services, None
        if services is not None:
            await services.__aexit__(None, None, None)


@dataclass(eq=False)
class _Worker:
    handle: Any  # a Ray ActorHandle of RunWorker (Ray's stubs type remote calls loosely)
    number: int
    in_flight: int = 0


def _local_temp_dir() -> str:
    # Ray's unix sockets live under this folder and must stay under 107 characters.
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    base = Path(tempfile.gettempdir())
    if len(str(base)) > 40:
        base = Path("/tmp")  # noqa: S108 -- a short path is the point
    return str(base / f"agentrig-ray-{user}")


class RayPool:
    """The Ray workers of one comparison; ``async with RayPool(...)``, then :meth:`execute`."""

    def __init__(
        self,
        choice: ExecutorChoice,
        settings: RunSettings,
        frameworks: list[str],
        *,
        metrics: AgentrigMetrics,
        concurrency: int,
    ) -> None:
        self.choice = choice
        self.settings = portable_settings(settings)
        self.frameworks = frameworks
        self.metrics = metrics
        self.concurrency = max(1, concurrency)
        self.workers: list[_Worker] = []
        self._started_ray = False

    async def __aenter__(self) -> RayPool:
        self._connect()  # in the main thread: Ray sets its signal handlers there
        cpus = ray.cluster_resources().get("CPU", 1)  # type: ignore[no-untyped-call]
        count = self.choice.workers or max(1, int(cpus))
        actor: Any = ray.remote(RunWorker).options(
            num_cpus=1,
            max_restarts=WORKER_RESTARTS,
            max_task_retries=0,  # a lost run is resumed by the pool, from the store
            max_concurrency=self.concurrency + 8,  # the runs, and describe/drain beside them
        )
        settings_json = self.settings.model_dump_json()
        self.workers = [
            _Worker(actor.remote(settings_json, self.frameworks), number) for number in range(count)
        ]
        # Warm: a framework that does not import on a worker fails here, before the first run.
        try:
            await asyncio.gather(*(worker.handle.ready.remote() for worker in self.workers))
        except RayTaskError as error:
            await self.__aexit__(None, None, None)
            cause = error.cause if error.cause is not None else error
            raise ConfigurationError(
                f"--executor {self.choice}: a worker could not start: {type(cause).__name__}: "
                f"{cause} (is agentrig with the frameworks' extras installed on every node?)"
            ) from error
        except BaseException:
            await self.__aexit__(None, None, None)
            raise
        return self

    def _connect(self) -> None:
        if ray.is_initialized():
            return  # an embedding application's (or a test's) cluster
        disable_phone_home()
        try:
            if self.choice.address is not None:
                ray.init(address=self.choice.address, logging_level=logging.WARNING)
            else:
                # Ray starts its workers at nice 15, below every other process of the machine;
                # here they do the comparison's work (the driver mostly waits), so they run at
                # the priority the local executor's process has. RAY_worker_niceness overrides.
                os.environ.setdefault("RAY_worker_niceness", "0")
                ray.init(
                    num_cpus=self.choice.workers or os.cpu_count() or 1,
                    include_dashboard=False,
                    _node_ip_address="127.0.0.1",
                    _temp_dir=_local_temp_dir(),
                    logging_level=logging.WARNING,
                )
        except (ConnectionError, RuntimeError, ValueError) as error:
            raise ConfigurationError(
                f"--executor {self.choice}: Ray did not start or connect: {error}"
            ) from error
        self._started_ray = True

    async def describe(self) -> list[dict[str, Any]]:
        """Each worker's :meth:`RunWorker.describe` (for tests and diagnostics)."""
        return list(await asyncio.gather(*(w.handle.describe.remote() for w in self.workers)))

    def _pick(self, avoid: _Worker | None = None) -> _Worker:
        """The worker with the fewest runs under way (not ``avoid``, the one that just died)."""
        candidates = [worker for worker in self.workers if worker is not avoid] or self.workers
        return min(candidates, key=lambda worker: (worker.in_flight, worker.number))

    async def execute(self, spec: RunSpec) -> RunResult:
        """Run ``spec`` on a worker; when the worker dies, resume it on another one."""
        lost = 0
        avoid: _Worker | None = None
        while True:
            worker = self._pick(avoid)
            worker.in_flight += 1
            try:
                payload, events = await worker.handle.run.remote(spec.model_dump_json(), lost)
            except RayActorError as error:
                lost += 1
                avoid = worker
                self._worker_died(worker, spec, error)
                if lost >= MAX_LOST_ATTEMPTS:
                    return _failed_run(spec, lost, f"its worker died {lost} times: {error}")
                continue
            except RayTaskError as error:  # the run could not be claimed (RunRecordError)
                cause = error.cause if error.cause is not None else error
                return _failed_run(spec, lost, f"{type(cause).__name__}: {cause}")
            finally:
                worker.in_flight -= 1
            replay(events, self.metrics)
            return RunResult.model_validate_json(payload)

    def _worker_died(self, worker: _Worker, spec: RunSpec, error: RayActorError) -> None:
        # ActorUnavailableError: Ray is restarting it. ActorDiedError: it is gone for good (its
        # restarts are used up); the pool goes on with the others.
        if isinstance(error, ActorDiedError) and worker in self.workers and len(self.workers) > 1:
            self.workers.remove(worker)
        private = self.settings.state_url.startswith("memory:")
        logger.warning(
            "a Ray worker died; its run goes to another worker",
            worker=worker.number,
            run_id=spec.run_id,
            resumed="from the beginning: a memory:// store died with its worker"
            if private
            else "from the shared store",
            error=(str(error).splitlines() or [""])[0][:300],
        )

    async def __aexit__(self, *exc_info: object) -> None:
        for worker in self.workers:
            try:
                replay(await worker.handle.drain.remote(), self.metrics)
                await worker.handle.close.remote()
            except RayActorError as error:
                logger.warning(
                    "a Ray worker was gone at the end", worker=worker.number, error=str(error)[:200]
                )
        for worker in self.workers:
            with contextlib.suppress(Exception):
                ray.kill(worker.handle)
        self.workers = []
        if self._started_ray:
            ray.shutdown()


def _failed_run(spec: RunSpec, lost: int, why: str) -> RunResult:
    """An error result for a run no worker could finish (blamed on the harness)."""
    return RunResult(
        run_id=spec.run_id,
        framework=spec.framework,
        framework_version="unknown",
        scenario=spec.scenario,
        model=spec.model,
        repeat=spec.repeat,
        status="error",
        attempts=max(1, lost),
        errors=[why],
        error_category="harness",
        error_detail=f"the run could not finish on Ray: {why}",
    )

"""What the runs of one process share: :class:`RunServices` (store, bus, metrics, endpoints)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Self

import structlog

from agentrig.core.contract.agent import AgentAdapter
from agentrig.core.contract.mcp import mcp_requests_match_native
from agentrig.core.contract.registry import load_adapter
from agentrig.core.llm.cassettes import replay_endpoint
from agentrig.core.llm.endpoints import ModelEndpoint, parse_model_spec
from agentrig.core.llm.faults import FaultProfile
from agentrig.core.messaging import MessageBus, open_message_bus
from agentrig.core.plant.executor import CommitHook, ToolCallHook
from agentrig.core.runner.crash import KILL_ENV, KillPoint, KillSwitch
from agentrig.core.runner.failures import Failure, explain_failure, injected_faults
from agentrig.core.runner.spec import RunSettings, RunSpec
from agentrig.core.state import StateStore, open_state_store
from agentrig.core.telemetry.facade import setup_telemetry
from agentrig.core.telemetry.metrics import AgentrigMetrics
from agentrig.core.telemetry.retries import retry_counter
from agentrig.core.telemetry.tracing import tracing_state
from agentrig.exceptions import ConfigurationError

__all__ = [
    "RunServices",
]

logger = structlog.get_logger(__name__)


class RunServices:
    """What the runs of one process share: store, bus, metrics, model endpoints.

    Use as ``async with RunServices(settings) as services``; it sets up telemetry, opens the store
    and the bus on entry and closes them on exit.
    """

    def __init__(
        self,
        settings: RunSettings | None = None,
        *,
        metrics: AgentrigMetrics | None = None,
        store: StateStore | None = None,
        bus: MessageBus | None = None,
        frameworks: Sequence[str] = (),
        adapters: Mapping[str, AgentAdapter] | None = None,
        tool_hooks: Sequence[ToolCallHook] = (),
    ) -> None:
        self.settings = settings or RunSettings()
        self.metrics = metrics if metrics is not None else AgentrigMetrics()
        self._given_store = store
        self._given_bus = bus
        self.store: StateStore = store or open_state_store(self.settings.state_url)
        self.bus: MessageBus = bus or open_message_bus(self.settings.bus_url)
        self.frameworks = list(frameworks)
        self.retries = retry_counter()
        self._endpoints: dict[str, ModelEndpoint] = {}
        # Adapters given here are used instead of the registry's (tests, embedding apps).
        self._adapters: dict[str, AgentAdapter] = dict(adapters or {})
        # Extra executor hooks for every run (a crash test's kill switch).
        self.tool_hooks = list(tool_hooks)
        # Called between a tool call's plant write and its ledger write (the kill switch).
        self.commit_hooks: list[CommitHook] = []

    def adapter(self, name: str) -> AgentAdapter:
        """The process's adapter ``name``; remembered so its clients are closed on exit."""
        adapter = self._adapters.get(name)
        if adapter is None:
            adapter = self._adapters[name] = load_adapter(name)
        return adapter

    def endpoint(self, model: str) -> ModelEndpoint:
        """The resolved endpoint of a ``--model`` string (a reference server starts on first use)."""
        endpoint = self._endpoints.get(model)
        if endpoint is None:
            cassettes = self.settings.cassettes
            if cassettes is not None and cassettes.replaying:
                endpoint = replay_endpoint(model)  # the cassettes answer: no server, no network
            else:
                endpoint = parse_model_spec(model).resolve(
                    faults=self.settings.faults, latency=self.settings.latency
                )
            self._endpoints[model] = endpoint
        return endpoint

    async def explain(
        self,
        spec: RunSpec,
        *,
        error: BaseException | None,
        timed_out: bool,
        response_ids: Sequence[str],
        failed_checks: Sequence[str],
        llm_errors: Sequence[str],
    ) -> Failure:
        """Why ``spec``'s run did not pass, with the reference model's fault log for its replies."""
        endpoint = self._endpoints.get(spec.model)
        reference = endpoint is not None and endpoint.is_reference
        profile = FaultProfile.resolve(self.settings.faults) if reference else None
        injected: dict[str, str] = {}
        if endpoint is not None and profile is not None and profile.rates and response_ids:
            injected = await injected_faults(endpoint, response_ids)
        return explain_failure(
            framework=spec.framework,
            error=error,
            timed_out=timed_out,
            timeout_s=spec.timeout_s,
            injected=injected,
            fault_profile={kind.value: rate for kind, rate in profile.rates.items()}
            if profile
            else None,
            reference_model=reference,
            failed_checks=failed_checks,
            llm_errors=llm_errors,
        )

    def cassette(self, spec: RunSpec) -> contextlib.AbstractContextManager[object]:
        """The run's cassette while its adapter works (record or replay), or nothing when live."""
        cassettes = self.settings.cassettes
        if cassettes is None:
            return contextlib.nullcontext()
        return cassettes.for_run(spec.model, self.cassette_name(spec), spec.scenario, spec.repeat)

    def cassette_name(self, spec: RunSpec) -> str:
        """The cassette folder of ``spec``'s framework: ``<framework>-mcp`` for an MCP run whose
        model requests differ from the native run's (docs/mcp.md), else the framework."""
        if spec.tools == "native" or mcp_requests_match_native(self.adapter(spec.framework)):
            return spec.framework
        return f"{spec.framework}-mcp"

    async def __aenter__(self) -> Self:
        setup_telemetry(frameworks=self.frameworks, otlp_endpoint=self.settings.otlp_endpoint)
        self._arm_kill_switch()
        if self._given_bus is None:
            # Entering a server-backed bus checks that its server answers: an unreachable one
            # fails here, once, as a BackendUnavailableError, instead of in every run.
            try:
                await self.bus.__aenter__()
            except BaseException:
                await self.__aexit__(None, None, None)  # close what was opened; no exit follows
                raise
        return self

    def _arm_kill_switch(self) -> None:
        """``AGENTRIG_KILL_AT=KIND#N``: SIGKILL this process at that point (chaos testing).

        ``compare --kill`` sets it in each attempt's process; a user can set it by hand to see
        how their run survives a kill there (``agentrig run ... --run-id X``, then
        ``agentrig run --resume X``). See :mod:`agentrig.core.runner.crash` for the points.
        """
        spec = os.environ.get(KILL_ENV)
        if not spec:
            return
        try:
            switch = KillSwitch(KillPoint.parse(spec))
        except ValueError as error:
            raise ConfigurationError(f"{KILL_ENV}={spec!r}: {error}") from None
        self.tool_hooks.append(switch)
        self.commit_hooks.append(switch.on_commit)
        tracing_state().provider.add_span_processor(switch)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # Adapters keep model clients bound to this event loop; let them close those. One that
        # fails to must not keep the others, the bus or the store open: the first error is
        # raised once everything was closed.
        failures: list[BaseException] = []
        for adapter in self._adapters.values():
            try:
                await adapter.aclose()
            except Exception as error:  # noqa: BLE001 - logged here, raised once all is closed
                logger.error("an adapter failed to close", adapter=adapter.name, error=repr(error))
                failures.append(error)
        # Close only what we opened; a caller's store or bus is theirs to close.
        try:
            if self._given_bus is None:
                await self.bus.close()
        finally:
            if self._given_store is None:
                await self.store.close()
        if failures:
            raise failures[0]

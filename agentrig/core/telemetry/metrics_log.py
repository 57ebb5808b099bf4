"""Metric observations kept as a list, to be replayed into a registry in another process.

A run matrix spread over worker processes (``compare --executor ray``) must end with the same
``metrics.prom`` as one process would write. Prometheus registries do not merge (a histogram's
buckets cannot be added from outside), so a worker records into a :class:`MetricsLog` instead of
a registry: every ``record_*`` call becomes one plain tuple. The worker hands the tuples over
with each result (:meth:`MetricsLog.drain`), and the driver calls the same ``record_*`` methods
with them on its own :class:`AgentrigMetrics` (:func:`replay`) -- the same observations, so the
same counters and histograms as the local executor's.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import astuple
from typing import Any

from agentrig.core.telemetry.metrics import AgentrigMetrics, LlmCall

__all__ = ["MetricEvent", "MetricsLog", "replay"]

MetricEvent = tuple[Any, ...]
"""``(kind, *arguments)``: the name of an :class:`AgentrigMetrics` ``record_*`` method and its
arguments, all plain values (str, float, int, bool, None)."""


class MetricsLog(AgentrigMetrics):
    """An :class:`AgentrigMetrics` whose observations are kept for :meth:`drain`, not counted.

    Its own registry stays empty. Thread-safe: LLM spans end on whatever thread a framework
    uses.
    """

    def __init__(self) -> None:
        super().__init__()
        self._events: list[MetricEvent] = []
        self._lock = threading.Lock()

    def _keep(self, event: MetricEvent) -> None:
        with self._lock:
            self._events.append(event)

    def drain(self) -> list[MetricEvent]:
        """Every observation since the last drain, oldest first; the log is empty after."""
        with self._lock:
            events, self._events = self._events, []
        return events

    def record_run(self, framework: str, scenario: str, status: str, duration_s: float) -> None:
        self._keep(("run", framework, scenario, status, duration_s))

    def record_tool_call(
        self, framework: str, tool: str, status: str, duration_s: float, safety_violation: bool
    ) -> None:
        self._keep(("tool", framework, tool, status, duration_s, safety_violation))

    def record_agent_task(
        self, framework: str, agent_id: str, status: str, duration_s: float
    ) -> None:
        self._keep(("agent", framework, agent_id, status, duration_s))

    def record_llm_call(self, call: LlmCall) -> None:
        self._keep(("llm", *astuple(call)))


def replay(events: Iterable[MetricEvent], metrics: AgentrigMetrics) -> None:
    """Record ``events`` (from :meth:`MetricsLog.drain`) into ``metrics``.

    Raises:
        ValueError: an event of an unknown kind (a worker of another agentrig version).
    """
    for kind, *arguments in events:
        if kind == "run":
            metrics.record_run(*arguments)
        elif kind == "tool":
            metrics.record_tool_call(*arguments)
        elif kind == "agent":
            metrics.record_agent_task(*arguments)
        elif kind == "llm":
            metrics.record_llm_call(LlmCall(*arguments))
        else:
            raise ValueError(f"unknown metric event {kind!r}: is the worker's agentrig the same?")

"""Which run, framework and role the current code works for, and carrying that into threads.

The labels live in :mod:`contextvars`, as does OpenTelemetry's current span, so one mechanism keeps
both: every log line and every span started here picks them up (see ``logs.py`` and
``processors.py``), and two runs interleaved on one event loop stay apart.

``asyncio.create_task`` and ``asyncio.to_thread`` copy the context by themselves. Plain threads,
``ThreadPoolExecutor.submit`` and ``loop.run_in_executor`` do not -- CrewAI runs tools in
threads -- so use :func:`with_current_context`, :class:`ContextThreadPoolExecutor` or
:func:`start_thread` there.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any, ParamSpec, TypeVar

__all__ = [
    "ContextThreadPoolExecutor",
    "RunLabels",
    "bind_role",
    "bind_run",
    "current_labels",
    "start_thread",
    "with_current_context",
]

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class RunLabels:
    """What a span or log line is about: the run, its framework and scenario, the acting role."""

    run_id: str
    framework: str
    scenario: str = ""
    role: str = ""


_labels: contextvars.ContextVar[RunLabels | None] = contextvars.ContextVar(
    "agentrig_run_labels", default=None
)


def current_labels() -> RunLabels | None:
    """The labels bound in this context, or None outside any run."""
    return _labels.get()


@contextmanager
def bind_run(run_id: str, framework: str, scenario: str = "") -> Iterator[RunLabels]:
    """Bind a run's labels for the duration of the block (and everything it starts).

    Re-binding the run that is already bound keeps the role bound inside it.
    """
    current = _labels.get()
    role = current.role if current is not None and current.run_id == run_id else ""
    token = _labels.set(RunLabels(run_id=run_id, framework=framework, scenario=scenario, role=role))
    try:
        yield _labels.get()  # type: ignore[misc]  # just set, never None here
    finally:
        _labels.reset(token)


@contextmanager
def bind_role(role: str) -> Iterator[None]:
    """Mark the block as acting for ``role`` within the current run.

    Outside a run the role is still bound (with empty run labels) so that a framework helper
    used on its own logs its role.
    """
    labels = _labels.get() or RunLabels(run_id="", framework="")
    token = _labels.set(replace(labels, role=role))
    try:
        yield
    finally:
        _labels.reset(token)


def with_current_context(fn: Callable[P, R]) -> Callable[P, R]:
    """``fn`` bound to a snapshot of the current context (run labels and the active span).

    Each call runs in its own copy of the snapshot, so the wrapper may be called from several
    threads at once (a :class:`contextvars.Context` can be entered by one thread at a time).
    """
    snapshot = contextvars.copy_context()

    def run_in_snapshot(*args: P.args, **kwargs: P.kwargs) -> R:
        return snapshot.copy().run(fn, *args, **kwargs)

    return run_in_snapshot


class ContextThreadPoolExecutor(ThreadPoolExecutor):
    """A ThreadPoolExecutor whose tasks run in the submitter's context.

    Pass it to ``loop.set_default_executor`` or to a framework that accepts an executor, and
    spans started by tasks are parented on the span that was current at ``submit``.
    """

    def submit(self, fn: Callable[..., R], /, *args: Any, **kwargs: Any) -> Future[R]:
        return super().submit(with_current_context(fn), *args, **kwargs)


def start_thread(
    target: Callable[..., object], *args: Any, name: str | None = None, daemon: bool = True
) -> threading.Thread:
    """Start a thread running ``target(*args)`` in the current context; return it."""
    thread = threading.Thread(
        target=with_current_context(target), args=args, name=name, daemon=daemon
    )
    thread.start()
    return thread

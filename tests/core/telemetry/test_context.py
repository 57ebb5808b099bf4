"""Context carried into threads and tasks; concurrent runs kept apart by the stamping processor."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

from opentelemetry import context as otel_context

from agentrig.core.telemetry import (
    CapturedTelemetry,
    ContextThreadPoolExecutor,
    Telemetry,
    get_tracer,
    start_thread,
    with_current_context,
)


def _work(name: str) -> None:
    with get_tracer().start_as_current_span(name):
        pass


def test_a_span_started_in_a_worker_thread_is_parented_on_the_submitters_span(
    captured: CapturedTelemetry,
) -> None:
    with (
        Telemetry.for_run("run-threads", "crewai", metrics=captured.metrics) as t,
        t.workflow("w"),
        t.agent("operator") as agent,
    ):
        with ContextThreadPoolExecutor(max_workers=2) as pool:
            pool.submit(_work, "pooled").result()
        start_thread(_work, "threaded").join()
        # The control: a plain pool drops the context, so the test above can fail.
        with ThreadPoolExecutor(max_workers=1) as plain_pool:
            plain_pool.submit(_work, "lost").result()
    for name in ("pooled", "threaded"):
        (span,) = captured.by_name(name)
        assert span.parent is not None
        assert span.parent.span_id == agent.get_span_context().span_id
        assert span.context.trace_id == agent.get_span_context().trace_id
        assert span.attributes["agentrig.run_id"] == "run-threads"
        assert span.attributes["agentrig.role"] == "operator"
    (lost,) = captured.by_name("lost")
    assert lost.parent is None
    assert "agentrig.run_id" not in lost.attributes


async def test_create_task_and_run_in_executor_keep_the_parent(captured: CapturedTelemetry) -> None:
    with (
        Telemetry.for_run("run-tasks", "langchain", metrics=captured.metrics) as t,
        t.workflow("w") as workflow,
    ):

        async def in_task() -> None:
            await asyncio.sleep(0)
            _work("task")

        await asyncio.create_task(in_task())
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, with_current_context(_work), "executor")
        await asyncio.to_thread(_work, "to_thread")
    for name in ("task", "executor", "to_thread"):
        (span,) = captured.by_name(name)
        assert span.parent.span_id == workflow.get_span_context().span_id
        assert span.attributes["agentrig.run_id"] == "run-tasks"


async def test_two_concurrent_runs_are_kept_apart(captured: CapturedTelemetry) -> None:
    both_started = asyncio.Barrier(2)

    async def run(run_id: str, framework: str) -> None:
        with (
            Telemetry.for_run(run_id, framework, metrics=captured.metrics) as t,
            t.workflow("w"),
            t.agent("monitor"),
        ):
            await both_started.wait()  # the two runs' spans are open at the same time
            for step in range(3):
                _work(f"{run_id}-step-{step}")
                await asyncio.sleep(0)

    await asyncio.gather(run("run-a", "langchain"), run("run-b", "crewai"))
    for run_id, framework, other in (("run-a", "langchain", "run-b"), ("run-b", "crewai", "run-a")):
        spans = captured.spans(run_id)
        assert sorted(s.name for s in spans) == sorted(
            ["invoke_workflow w", "invoke_agent monitor"] + [f"{run_id}-step-{i}" for i in range(3)]
        )
        assert {s.attributes["agentrig.framework"] for s in spans} == {framework}
        assert not any(s.name.startswith(other) for s in spans)
        assert len({s.context.trace_id for s in spans}) == 1


def test_a_thread_that_carries_only_the_otel_context_inherits_the_run_from_the_parent_span(
    captured: CapturedTelemetry,
) -> None:
    # What a framework's own instrumentation does: it attaches the OTel context in its worker
    # thread but knows nothing of agentrig's run labels.
    with (
        Telemetry.for_run("run-inherit", "crewai", metrics=captured.metrics) as t,
        t.workflow("w"),
        t.agent("diagnostician"),
    ):
        carried = otel_context.get_current()

        def worker() -> None:
            token = otel_context.attach(carried)
            try:
                _work("inherited")
            finally:
                otel_context.detach(token)

        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()
    (span,) = captured.by_name("inherited")
    assert span.attributes["agentrig.run_id"] == "run-inherit"
    assert span.attributes["agentrig.role"] == "diagnostician"
    (agent,) = captured.by_name("invoke_agent diagnostician")
    assert span.parent.span_id == agent.context.span_id

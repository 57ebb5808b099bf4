"""The run matrix: many specs at a bounded concurrency, results as they finish."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable

from agentrig.core.contract.results import RunResult
from agentrig.core.runner.run import execute_run
from agentrig.core.runner.services import RunServices
from agentrig.core.runner.spec import RunSpec

__all__ = [
    "run_matrix",
]


async def run_matrix(
    specs: Iterable[RunSpec],
    services: RunServices | None,
    *,
    concurrency: int = 4,
    on_start: Callable[[RunSpec], None] | None = None,
    on_result: Callable[[RunResult], Awaitable[None] | None] | None = None,
    execute: Callable[[RunSpec], Awaitable[RunResult]] | None = None,
) -> list[RunResult]:
    """Run every spec, at most ``concurrency`` at a time; results in completion order.

    ``execute`` runs one spec (default: :func:`execute_run` on ``services``, continuing what the
    store holds for its id); a crash test passes its own, and so does the Ray executor (which
    needs no ``services`` in this process). Cancelling (Ctrl-C) stops the runs
    under way -- they stay resumable -- and ``on_result`` has already seen every finished one, so
    a caller that writes results there keeps them.
    """
    run_one: Callable[[RunSpec], Awaitable[RunResult]]
    if execute is not None:
        run_one = execute
    elif services is not None:
        local = services
        run_one = lambda spec: execute_run(spec, local)  # noqa: E731 -- one line reads best
    else:
        raise ValueError("run_matrix needs services, or execute to run each spec")
    semaphore = asyncio.Semaphore(max(1, concurrency))
    results: list[RunResult] = []

    async def one(spec: RunSpec) -> None:
        async with semaphore:
            if on_start is not None:
                on_start(spec)
            result = await run_one(spec)
        results.append(result)
        if on_result is not None:
            maybe = on_result(result)
            if maybe is not None:
                await maybe

    tasks = [asyncio.create_task(one(spec), name=spec.run_id) for spec in specs]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*tasks, return_exceptions=True)
    return results

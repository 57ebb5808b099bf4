"""The runner: a broken, hanging or cancelled framework never takes the matrix down."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from agentrig.core.contract.agent import Outcome, RunContext
from agentrig.core.contract.results import RunResult, append_result, read_results
from agentrig.core.llm.cassettes import CassetteSettings
from agentrig.core.messaging import Message
from agentrig.core.runner import (
    RunServices,
    RunSettings,
    RunSpec,
    build_matrix,
    execute_run,
    run_matrix,
)
from agentrig.core.state import MemoryStateStore

REPLAY = CassetteSettings(directory=Path(__file__).resolve().parents[2] / "cassettes")


class RaisingAdapter:
    name = "raising"
    framework_version = "0.0"

    async def run(self, task: Message, ctx: RunContext) -> Outcome:
        raise RuntimeError("the framework fell over")

    async def aclose(self) -> None:
        pass


class HangingAdapter:
    name = "hanging"
    framework_version = "0.0"

    async def run(self, task: Message, ctx: RunContext) -> Outcome:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def aclose(self) -> None:
        pass


def _services(tmp_path: Path) -> RunServices:
    # The plain baseline's model calls replay the committed cassettes (docs/cassettes.md).
    return RunServices(
        RunSettings(state_url="memory://", out_dir=tmp_path, cassettes=REPLAY),
        store=MemoryStateStore(),
        adapters={"raising": RaisingAdapter(), "hanging": HangingAdapter()},
    )


async def test_a_raising_framework_becomes_an_error_result_that_is_still_graded(
    tmp_path: Path,
) -> None:
    async with _services(tmp_path) as services:
        result = await execute_run(
            RunSpec(framework="raising", scenario="closed-discharge-valve", run_id="r1"), services
        )
    assert result.status == "error"
    assert result.errors == ["RuntimeError: the framework fell over"]
    assert result.framework_version == "0.0"
    # The plant was still graded: nothing was fixed, so the fault check fails.
    assert any(g.name == "fault_resolved" and not g.passed for g in result.grades)
    assert result.trace_id is not None
    assert Path(result.trace_file or "").is_file()


async def test_a_hanging_framework_is_cut_off_by_the_timeout(tmp_path: Path) -> None:
    async with _services(tmp_path) as services:
        result = await execute_run(
            RunSpec(framework="hanging", scenario="blocked-discharge", run_id="h1", timeout_s=0.3),
            services,
        )
    assert result.status == "error"
    assert result.errors == ["the hanging run timed out after 0.3 s"]


async def test_an_unknown_scenario_is_an_error_result_not_a_crash(tmp_path: Path) -> None:
    async with _services(tmp_path) as services:
        result = await execute_run(
            RunSpec(framework="plain", scenario="no-such", run_id="u1"), services
        )
    assert result.status == "error"
    assert "no-such" in result.errors[0]


async def test_the_matrix_goes_on_past_broken_cells(tmp_path: Path) -> None:
    specs = build_matrix(["raising", "plain"], ["breaker-trip-cooling-pump"], repeats=2)
    async with _services(tmp_path) as services:
        results = await run_matrix(specs, services, concurrency=2)
    statuses = sorted((r.framework, r.status) for r in results)
    assert statuses == [
        ("plain", "passed"),
        ("plain", "passed"),
        ("raising", "error"),
        ("raising", "error"),
    ]


async def test_cancelling_the_matrix_keeps_what_finished(tmp_path: Path) -> None:
    specs = [
        RunSpec(framework="plain", scenario="breaker-trip-cooling-pump", run_id="fast"),
        RunSpec(framework="hanging", scenario="blocked-discharge", run_id="slow", timeout_s=60),
    ]
    results_file = tmp_path / "results.jsonl"
    finished = asyncio.Event()

    def keep(result: RunResult) -> None:
        append_result(results_file, result)
        finished.set()

    async with _services(tmp_path) as services:
        matrix = asyncio.create_task(run_matrix(specs, services, concurrency=2, on_result=keep))
        await asyncio.wait_for(finished.wait(), 30)
        matrix.cancel()
        with pytest.raises(asyncio.CancelledError):
            await matrix
    kept = read_results(results_file)
    assert [(r.run_id, r.status) for r in kept] == [("fast", "passed")]


class FailsToClose(RaisingAdapter):
    name = "fails-to-close"

    async def aclose(self) -> None:
        raise OSError("the adapter's client would not close")


class ClosingStore(MemoryStateStore):
    def __init__(self) -> None:
        super().__init__()
        self.closed = False

    async def close(self) -> None:
        self.closed = True
        await super().close()


async def test_an_adapter_that_fails_to_close_still_lets_the_store_and_bus_close(
    tmp_path: Path,
) -> None:
    services = RunServices(
        RunSettings(state_url="memory://", out_dir=tmp_path),
        adapters={"fails-to-close": FailsToClose(), "hanging": HangingAdapter()},
    )
    store = ClosingStore()
    services.store = store  # opened by the services (not given), so theirs to close
    bus_closed: list[bool] = []
    real_close = services.bus.close

    async def close_bus() -> None:
        bus_closed.append(True)
        await real_close()

    services.bus.close = close_bus  # type: ignore[method-assign]
    with pytest.raises(OSError, match="would not close"):
        async with services:
            pass
    assert store.closed
    assert bus_closed == [True]

"""The run matrix on a real local Ray cluster of two workers (``compare --executor ray``).

One cluster for the module (it takes 4-5 s to start). The results must equal the local
executor's apart from timings; a worker SIGKILLed mid-matrix must cost no run and apply no action
twice (counted from the plant's ledger, against the same runs uninterrupted).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentrig.core.contract.results import RunResult
from agentrig.core.llm.cassettes import CassetteSettings
from agentrig.core.plant.tools import ACTION_TOOLS
from agentrig.core.runner import RunSettings, build_matrix, run_matrix
from agentrig.core.runner.compare import compare
from agentrig.core.runner.crash_test import duplicated_actions
from agentrig.core.runner.executors import ExecutorChoice
from agentrig.core.telemetry.metrics import AgentrigMetrics

ray = pytest.importorskip("ray", reason="compare --executor ray needs pip install 'agentrig[ray]'")

from agentrig.core.runner.ray_pool import RayPool  # noqa: E402 -- only with Ray installed

pytestmark = pytest.mark.slow

CASSETTES = Path(__file__).resolve().parents[2] / "cassettes"
TWO_WORKERS = ExecutorChoice(kind="ray", workers=2)
SCENARIOS = ["closed-discharge-valve", "breaker-trip-cooling-pump", "stuck-pressure-sensor"]
TIMINGS = {"run_id", "wall_seconds", "llm_seconds", "started_at", "trace_id", "trace_file"}
ACTION_SPAN = re.compile(rf'"name":"execute_tool ({"|".join(ACTION_TOOLS)})"'.encode())


@pytest.fixture(scope="module", autouse=True)
def ray_cluster() -> Iterator[None]:
    """A local cluster of two worker CPUs, shared by the module's tests."""
    # Ray's unix sockets live under its temp dir: the path must stay under 107 characters.
    temp_dir = tempfile.mkdtemp(prefix="art-ray-", dir="/tmp")
    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", _temp_dir=temp_dir)
    yield
    ray.shutdown()
    shutil.rmtree(temp_dir, ignore_errors=True)


def _by_cell(results: list[RunResult]) -> dict[tuple[str, str, int], RunResult]:
    return {(r.framework, r.scenario, r.repeat): r for r in results}


def _counted_metrics(path: Path) -> set[str]:
    """The lines of metrics.prom that do not depend on timings: counts, token histograms."""
    lines = path.read_text().splitlines()
    return {
        line
        for line in lines
        if not line.startswith("#")
        and "_created" not in line
        and ("_total{" in line or "_count{" in line or line.startswith("gen_ai_client_token_usage"))
    }


async def test_the_results_and_metrics_equal_the_local_executors(tmp_path: Path) -> None:
    frameworks = ["plain", "langchain"]
    replay = CassetteSettings(directory=CASSETTES, mode="none")
    comparisons = {}
    for name, executor in (("local", None), ("ray", TWO_WORKERS)):
        settings = RunSettings(state_url="memory://", out_dir=tmp_path / name, cassettes=replay)
        comparisons[name] = await compare(
            frameworks, SCENARIOS, settings=settings, concurrency=6, executor=executor
        )
    local, on_ray = (_by_cell(comparisons[name].results) for name in ("local", "ray"))
    assert set(on_ray) == set(local)
    assert len(local) == 6
    for cell, expected in local.items():
        assert on_ray[cell].model_dump(exclude=TIMINGS) == expected.model_dump(exclude=TIMINGS)
        assert on_ray[cell].status == "passed"
        assert Path(on_ray[cell].trace_file or "").parent.parent == tmp_path / "ray"
    counted = {name: _counted_metrics(c.metrics_file) for name, c in comparisons.items()}
    assert counted["ray"] == counted["local"]
    assert (
        'agentrig_runs_total{framework="langchain",scenario="stuck-pressure-sensor",'
        'status="passed"} 1.0' in counted["ray"]
    )


async def _kill_a_worker_after_its_first_action(pool: RayPool, out_dir: Path) -> set[str]:
    """SIGKILL worker 0 once one of its runs has applied an action; the runs it held."""
    for _ in range(600):
        await asyncio.sleep(0.05)
        (worker, *_) = await pool.describe()
        traces = [out_dir / run_id / "trace.jsonl" for run_id in worker["running"]]
        if any(trace.is_file() and ACTION_SPAN.search(trace.read_bytes()) for trace in traces):
            os.kill(worker["pid"], signal.SIGKILL)
            return set(worker["running"])
    raise AssertionError("worker 0 never applied an action")


@pytest.mark.allow_model_requests  # the reference model, live in each process: a resume cannot replay
@pytest.mark.parametrize("store", ["sqlite", "memory"])
async def test_a_worker_killed_mid_matrix_loses_no_run_and_repeats_no_action(
    tmp_path: Path, store: str
) -> None:
    frameworks, repeats = ["plain"], 2
    control = await compare(
        frameworks,
        SCENARIOS,
        repeats=repeats,
        settings=RunSettings(state_url="memory://", out_dir=tmp_path / "control"),
        concurrency=6,
    )
    state_url = f"sqlite:///{tmp_path / 'state.db'}" if store == "sqlite" else "memory://"
    # 150 ms per model call: runs last seconds, so the kill lands while several are under way.
    settings = RunSettings(
        state_url=state_url, out_dir=tmp_path / "ray", latency="150ms", lease_seconds=3
    )
    specs = build_matrix(frameworks, SCENARIOS, repeats=repeats, session="kill")
    metrics = AgentrigMetrics()
    async with RayPool(TWO_WORKERS, settings, frameworks, metrics=metrics, concurrency=6) as pool:
        workers = await pool.describe()
        matrix = asyncio.create_task(run_matrix(specs, None, concurrency=6, execute=pool.execute))
        killed = await _kill_a_worker_after_its_first_action(pool, settings.out_dir)
        results = _by_cell(await matrix)
    # Two worker processes, each with only the matrix's frameworks imported (no LangChain, ...).
    assert len({worker["pid"] for worker in workers} - {os.getpid()}) == 2
    assert [worker["imported"] for worker in workers] == [[], []]
    expected = _by_cell(control.results)
    assert set(results) == set(expected)
    assert len(expected) == 6
    assert killed, "the killed worker held no run"
    for cell, result in results.items():
        assert result.status == expected[cell].status == "passed", result.errors
        assert duplicated_actions(result, expected[cell]) == 0
        assert [a.tool for a in result.actions if a.ok] == [
            a.tool for a in expected[cell].actions if a.ok
        ]
    resumed = [r for r in results.values() if r.run_id in killed]
    assert len(resumed) == len(killed)
    assert all(r.attempts == 2 for r in resumed)  # the lost attempt, then the one that finished
    assert all(r.attempts == 1 for r in results.values() if r.run_id not in killed)
    # Each run counted once in the driver's metrics: a run's count ships with its result.
    passed = {"framework": "plain", "status": "passed"}
    counted = [
        metrics.registry.get_sample_value("agentrig_runs_total", {**passed, "scenario": scenario})
        for scenario in SCENARIOS
    ]
    assert counted == [2.0, 2.0, 2.0]

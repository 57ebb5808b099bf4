"""Whole runs over the Redis buses: every handoff arrives, and a finished run leaves no keys.

The frameworks' model calls replay the committed cassettes, so these runs need Redis but no model.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from agentrig.core.llm.cassettes import CassetteSettings
from agentrig.core.runner import RunServices, RunSettings, RunSpec, execute_run

REPLAY = CassetteSettings(directory=Path(__file__).resolve().parents[3] / "cassettes")


@pytest.mark.parametrize("framework", ["plain", "langchain", "autogen", "crewai"])
@pytest.mark.parametrize("scheme", ["redis+pubsub", "redis"])
async def test_a_run_over_a_redis_bus_passes_and_leaves_no_keys(
    framework: str, scheme: str, redis_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    """redis+pubsub used to fail every run: the plant's alarm was published before the monitor's
    inbox was subscribed. On Streams each run used to leave its three empty inbox streams."""
    bus_url = redis_url.replace("redis://", f"{scheme}://", 1)
    settings = RunSettings(
        state_url="memory://", bus_url=bus_url, out_dir=tmp_path, cassettes=REPLAY
    )
    spec = RunSpec(framework=framework, scenario="blocked-discharge", run_id=f"bus-{framework}")

    async with RunServices(settings, frameworks=[framework]) as services:
        result = await execute_run(spec, services)

    assert result.errors == []
    assert result.status == "passed"
    client = redis.Redis.from_url(redis_url.split("?")[0])
    try:
        left = sorted(key.decode() for key in client.scan_iter(match=f"{redis_prefix}*"))
    finally:
        client.close()
    assert left == []

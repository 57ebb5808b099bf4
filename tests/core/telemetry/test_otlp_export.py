"""What an OTLP receiver is sent by real runs: each LLM call's tokens once, every span's role and kind.

The runs replay the committed cassettes with the framework's OpenInference instrumentation on (as
``agentrig run`` has it), and export over OTLP/HTTP to :class:`OtlpReceiver`, a real receiver
decoding the protobuf requests in this process. Token totals are summed the way Arize Phoenix
sums them and compared with the run's result (what ``results.jsonl`` holds).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentrig.core.contract.results import RunResult
from agentrig.core.messaging.memory import MemoryMessageBus
from agentrig.core.runner import RunServices, RunSpec, execute_run
from agentrig.core.state import MemoryStateStore
from agentrig.core.telemetry.tracing import force_flush, setup_tracing
from agentrig.testing import AgentrigReplay
from tests.core.telemetry.otlp_receiver import OtlpReceiver, ReceivedSpan, phoenix_token_totals

FRAMEWORKS = ["plain", "langchain", "autogen"]
SCENARIO = "blocked-discharge"


@pytest.fixture(scope="module")
def otlp() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as receiver:
        state = setup_tracing(otlp_endpoint=receiver.endpoint)
        yield receiver
        exporter = getattr(state, "exporter", None)  # main's TracingState has none
        if exporter is not None:
            exporter.shutdown()  # the session's provider keeps it, inert from here on


async def _exported_run(
    framework: str, receiver: OtlpReceiver, replay: AgentrigReplay, out_dir: Path, run_id: str
) -> tuple[RunResult, list[ReceivedSpan]]:
    spec = RunSpec(framework=framework, scenario=SCENARIO, run_id=run_id)
    async with RunServices(
        replay.run_settings(out_dir=out_dir),
        store=MemoryStateStore(),
        bus=MemoryMessageBus(),
        frameworks=[framework],
    ) as services:
        result = await execute_run(spec, services)
    assert result.status == "passed", result.errors
    assert await asyncio.to_thread(force_flush, 10_000)
    return result, receiver.run_spans(spec.run_id)


@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_a_receiver_counts_each_llm_calls_tokens_once(
    framework: str,
    otlp: OtlpReceiver,
    agentrig_replay: AgentrigReplay,
    tmp_path: Path,
) -> None:
    result, spans = await _exported_run(
        framework, otlp, agentrig_replay, tmp_path, f"otlp-tokens-{framework}"
    )

    assert result.input_tokens > 0
    assert result.output_tokens > 0
    assert phoenix_token_totals(spans) == (result.input_tokens, result.output_tokens)
    chats = [s for s in spans if "gen_ai.usage.input_tokens" in s.attributes]
    assert len(chats) == result.llm_calls  # the chat spans keep the usage
    framework_llm_spans = [
        s
        for s in spans
        if s.scope != "agentrig" and s.attributes.get("openinference.span.kind") == "LLM"
    ]
    if framework != "plain":
        # OpenInference described the same calls: their spans are sent, without usage.
        assert framework_llm_spans
    assert not any(
        key.startswith(("llm.token_count.", "gen_ai.usage."))
        for span in framework_llm_spans
        for key in span.attributes
    )


@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_every_exported_span_has_a_role_and_agentrigs_have_a_kind(
    framework: str,
    otlp: OtlpReceiver,
    agentrig_replay: AgentrigReplay,
    tmp_path: Path,
) -> None:
    run_id = f"otlp-roles-{framework}"
    _, spans = await _exported_run(framework, otlp, agentrig_replay, tmp_path, run_id)

    roles = {"monitor", "diagnostician", "operator", "workflow"}
    assert {str(s.attributes.get("agentrig.role")) for s in spans} <= roles, [
        (s.name, s.attributes.get("agentrig.role"))
        for s in spans
        if s.attributes.get("agentrig.role") not in roles
    ]
    kinds = {
        s.name.split(" ")[0]: s.attributes.get("openinference.span.kind")
        for s in spans
        if s.scope == "agentrig"
    }
    assert kinds == {
        "invoke_workflow": "CHAIN",
        "invoke_agent": "AGENT",
        "execute_tool": "TOOL",
        "process": "CHAIN",
    }
    (root,) = [s for s in spans if not s.parent_span_id]
    assert root.name == "invoke_workflow maintenance"
    assert root.attributes["agentrig.role"] == "workflow"
    processes = [s for s in spans if s.name.startswith("process ")]
    assert processes
    for process in processes:  # process <run_id>:<role>, the role's inbox
        inbox = process.name.removeprefix("process ")
        assert process.attributes["agentrig.role"] == inbox.removeprefix(f"{run_id}:")

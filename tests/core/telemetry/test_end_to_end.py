"""A run of the minimal tool loop against the reference model, through the plant's executor.

openai client -> reference model; every tool call through the plant's ToolExecutor with the
telemetry hook; each role wrapped in ``invoke_agent``, the run in ``invoke_workflow``, graded
inside it. The spans, their parentage and attributes, the metrics, the trace file and the step
model must all equal what the loop actually did.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from agentrig.core.contract.roles import ROLES, build_task, system_prompt
from agentrig.core.llm.serving import ReferenceModelServer
from agentrig.core.plant import Plant, ToolCallRecord, list_scenarios, tools_for_role
from agentrig.core.state.memory import MemoryStateStore
from agentrig.core.telemetry import (
    CapturedTelemetry,
    Telemetry,
    normalise,
    read_trace_file,
    trace_file_path,
)

MODEL = "agentrig-operator"
MAX_TURNS = 40


@pytest.fixture(scope="module")
def server() -> Iterator[ReferenceModelServer]:
    with ReferenceModelServer() as running:
        yield running


@pytest.fixture
async def model_client(server: ReferenceModelServer) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(base_url=server.base_url, api_key="unused", max_retries=0) as c:
        yield c


async def test_a_tool_loop_run_is_traced_and_counted_exactly(
    model_client: openai.AsyncOpenAI, captured: CapturedTelemetry, tmp_path: Path
) -> None:
    scenario = list_scenarios()[0]
    run_id = f"e2e-{uuid.uuid4().hex[:8]}"
    plant = await Plant.create(MemoryStateStore(), run_id, scenario)
    records: list[ToolCallRecord] = []
    usage: list[tuple[str, int, int, str]] = []  # (role, input, output, finish reason) per call
    started = time.perf_counter()
    telemetry = Telemetry.for_run(
        run_id, "plain", scenario.id, metrics=captured.metrics, out_dir=tmp_path
    )
    with telemetry, telemetry.workflow("maintenance") as workflow:
        executor = plant.executor(hooks=[telemetry.tool_hook, records.append])
        alarm = await plant.alarm_text()
        handoffs: list[tuple[Any, str]] = []
        for role in ROLES:
            with telemetry.agent(role):
                tools = [spec.openai_tool() for spec in tools_for_role(role)]
                messages: list[Any] = [
                    {"role": "system", "content": system_prompt(role)},
                    {"role": "user", "content": build_task(alarm, handoffs)},
                ]
                for _ in range(MAX_TURNS):
                    reply = await model_client.chat.completions.create(
                        model=MODEL, messages=messages, tools=tools
                    )
                    assert reply.usage is not None
                    choice = reply.choices[0]
                    usage.append(
                        (
                            role,
                            reply.usage.prompt_tokens,
                            reply.usage.completion_tokens,
                            choice.finish_reason,
                        )
                    )
                    messages.append(choice.message.model_dump(exclude_none=True))
                    if not choice.message.tool_calls:
                        break
                    for call in choice.message.tool_calls:
                        result = await executor.call(
                            call.function.name, call.function.arguments, role=role
                        )  # type: ignore[union-attr]
                        messages.append(
                            {"role": "tool", "tool_call_id": call.id, "content": result.to_text()}
                        )
                handoffs.append((role, choice.message.content or ""))
        grade = await plant.grade(handoffs[-1][1], scenario)
        for check in grade.checks:
            telemetry.evaluation(
                check.name,
                score=float(check.passed),
                label="pass" if check.passed else "fail",
                explanation=check.detail,
            )
        telemetry.record_run("passed" if grade.passed else "failed", time.perf_counter() - started)
    assert grade.passed, grade.failed()
    assert records, "the model made no tool call"

    spans = captured.spans(run_id)
    names = Counter(span.name for span in spans)
    assert names == Counter(
        {
            "invoke_workflow maintenance": 1,
            **{f"invoke_agent {role}": 1 for role in ROLES},
            f"chat {MODEL}": len(usage),
            **Counter(f"execute_tool {record.tool}" for record in records),
        }
    )

    agents = {
        span.attributes["gen_ai.agent.name"]: span
        for span in spans
        if span.name.startswith("invoke_agent")
    }
    workflow_id = workflow.get_span_context().span_id
    trace_id = workflow.get_span_context().trace_id
    assert all(span.context.trace_id == trace_id for span in spans)
    assert all(agent.parent.span_id == workflow_id for agent in agents.values())

    chats = sorted((s for s in spans if s.name == f"chat {MODEL}"), key=lambda s: s.start_time)
    for chat, (role, input_tokens, output_tokens, finish_reason) in zip(chats, usage, strict=True):
        assert chat.parent.span_id == agents[role].context.span_id
        assert chat.attributes["agentrig.role"] == role
        assert chat.attributes["gen_ai.operation.name"] == "chat"
        assert chat.attributes["gen_ai.provider.name"] == "openai"
        assert chat.attributes["gen_ai.request.model"] == MODEL
        assert chat.attributes["gen_ai.usage.input_tokens"] == input_tokens
        assert chat.attributes["gen_ai.usage.output_tokens"] == output_tokens
        assert chat.attributes["gen_ai.response.finish_reasons"] == (finish_reason,)

    tool_spans = sorted(
        (s for s in spans if s.name.startswith("execute_tool")), key=lambda s: s.start_time
    )
    for span, record in zip(tool_spans, records, strict=True):
        assert span.name == f"execute_tool {record.tool}"
        assert span.parent.span_id == agents[record.role].context.span_id
        assert span.attributes["agentrig.role"] == record.role
        assert json.loads(span.attributes["gen_ai.tool.call.arguments"]) == record.arguments
        assert span.start_time == record.started_at_ns

    (workflow_span,) = [s for s in spans if s.name == "invoke_workflow maintenance"]
    assert [e.attributes["gen_ai.evaluation.name"] for e in workflow_span.events] == [
        c.name for c in grade.checks
    ]

    sample = captured.sample
    llm = {
        "framework": "plain",
        "gen_ai_request_model": MODEL,
        "gen_ai_operation_name": "chat",
        "gen_ai_provider_name": "openai",
    }
    assert sample("gen_ai_client_token_usage_count", gen_ai_token_type="input", **llm) == len(usage)
    assert sample("gen_ai_client_token_usage_sum", gen_ai_token_type="input", **llm) == sum(
        u[1] for u in usage
    )
    assert sample("gen_ai_client_token_usage_sum", gen_ai_token_type="output", **llm) == sum(
        u[2] for u in usage
    )
    assert sample("gen_ai_client_operation_duration_seconds_count", error_type="", **llm) == len(
        usage
    )
    for (tool, status), count in Counter(
        (
            r.tool,
            "refused"
            if r.refused_reason
            else "error"
            if r.error
            else "replayed"
            if r.replayed
            else "ok",
        )
        for r in records
    ).items():
        assert (
            sample("agentrig_tool_calls_total", framework="plain", tool=tool, status=status)
            == count
        )
    assert sample("agentrig_safety_violations_total", framework="plain") == sum(
        r.safety_violation for r in records
    )
    assert (
        sample("agentrig_runs_total", framework="plain", scenario=scenario.id, status="passed") == 1
    )

    steps = normalise(read_trace_file(trace_file_path(tmp_path, run_id)))
    assert [segment.role for segment in steps.roles] == list(ROLES)
    assert (steps.llm_calls, steps.tool_calls) == (len(usage), len(records))
    assert steps.input_tokens == sum(u[1] for u in usage)
    assert [step.tool for step in steps.steps() if step.kind == "tool"] == [r.tool for r in records]
    assert all(e.label == "pass" for e in steps.evaluations)

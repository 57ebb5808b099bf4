"""The LangGraph adapter's own parts: its graphs, their checkpoints in the store, resume, spans.

The adapter conformance suite (tests/adapters/test_conformance.py) checks the shared contract --
every scenario, tool-call order, malformed calls, turn limits, resume after an action, failures,
clients per loop, the missing extra. This file checks what only this adapter has: the workflow as
one explicit graph (roles and bus handoffs as nodes, a model and a tool node per role), the run's
thread in the store with a namespace per role, a resume that continues *inside* the role it was
cut in and sends no handoff twice, and the OpenInference spans of the graph under its name.
The StateStore checkpointer itself is the langchain adapter's, tested in tests/adapters/langchain/.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from agentrig.adapters.langchain.checkpoint import StateStoreCheckpointer, checkpoint_prefix
from agentrig.adapters.langgraph import LangGraphAdapter
from agentrig.adapters.langgraph.adapter import workflow_config
from agentrig.core.contract.roles import ROLES
from agentrig.core.llm.endpoints import ModelEndpoint
from agentrig.core.runner import RunServices, RunSettings, RunSpec, execute_run
from agentrig.core.state import MemoryStateStore
from agentrig.core.telemetry.jsonl import read_trace_file
from agentrig.core.telemetry.normalise import normalise
from tests.adapters.harness import (
    SCENARIO,
    DirectRun,
    RecordingBus,
    ScriptedModel,
    crash_in_the_operator_then_resume,
    model_call_ids,
    start_run,
)

# The in-process reference model, on purpose: the brain counts each role's model calls, and a
# resumed run asks what only the live conversation can answer. ``brain`` and ``endpoint``
# (tests/adapters/conftest.py) share one server.
pytestmark = pytest.mark.allow_model_requests


@pytest.fixture
async def adapter() -> AsyncIterator[LangGraphAdapter]:
    made = LangGraphAdapter()
    yield made
    await made.aclose()


# ------------------------------------------------------------------ the graphs


def test_the_run_is_one_graph_of_roles_and_bus_handoffs(adapter: LangGraphAdapter) -> None:
    drawn = adapter.workflow.compile().get_graph()
    edges = [(edge.source, edge.target, edge.conditional) for edge in drawn.edges]
    assert edges == [
        ("__start__", "monitor", False),
        ("diagnostician", "hand_over_to_operator", False),
        ("hand_over_to_diagnostician", "diagnostician", False),
        ("hand_over_to_operator", "operator", False),
        ("monitor", "hand_over_to_diagnostician", False),
        ("operator", "__end__", False),
    ]
    for role in ROLES:
        role_graph = adapter.roles[role].get_graph()
        role_edges = {(edge.source, edge.target, edge.conditional) for edge in role_graph.edges}
        assert role_edges == {
            ("__start__", "model", False),
            ("model", "tools", True),
            ("model", "__end__", True),
            ("tools", "model", True),
            ("tools", "__end__", True),
        }
        assert adapter.roles[role].name == role


# ------------------------------------------------------------------ a run, then its thread


async def test_a_run_leaves_its_thread_and_each_roles_namespace_in_the_store(
    endpoint: ModelEndpoint, brain: ScriptedModel, adapter: LangGraphAdapter
) -> None:
    store = MemoryStateStore()
    run = await start_run("langgraph", store, endpoint, "lg-thread")
    outcome = await adapter.run(run.alarm, run.ctx)
    assert (await run.plant.grade(outcome.final_report)).passed
    ledger = await run.ledger()

    # One thread (the run id): the run graph in the root namespace, each role in its own.
    saver = StateStoreCheckpointer(store, prefix=checkpoint_prefix("lg-thread"))
    index = await store.load(saver.index_key("lg-thread"))
    assert index is not None
    namespaces = sorted(index.state["namespaces"])
    assert namespaces[0] == ""
    assert sorted(ns.split(":")[0] for ns in namespaces[1:]) == sorted(ROLES)

    latest = await saver.aget_tuple(workflow_config("lg-thread", 30))
    assert latest is not None
    values = latest.checkpoint["channel_values"]
    assert values["answers"] == outcome.answers
    # What each later role was handed is what the bus delivered: the earlier answers, in order.
    assert [(h["role"], h["text"]) for h in values["received"]] == [
        ("monitor", outcome.answers["monitor"]),
        ("diagnostician", outcome.answers["diagnostician"]),
    ]
    assert values["last_message"]["id"] == run.bus.delivered[-1].id
    assert [m.type for m in run.bus.delivered] == ["alarm", "handoff", "handoff"]

    for ns in namespaces[1:]:
        role = ns.split(":")[0]
        found = await saver.aget_tuple(
            {"configurable": {"thread_id": "lg-thread", "checkpoint_ns": ns}}
        )
        assert found is not None
        messages = found.checkpoint["channel_values"]["messages"]
        assert isinstance(messages[0], HumanMessage)
        assert isinstance(messages[-1], AIMessage)
        assert messages[-1].text == outcome.answers[role]
        # The role's tool calls in its namespace are exactly its entries in the ledger, keyed
        # by the model's call ids, each answered by a ToolMessage of that id.
        ids = model_call_ids(messages)
        assert ids
        assert [f"call-{role}-{i}" for i in ids] == [e.key for e in ledger if e.role == role]
        assert [m.tool_call_id for m in messages if isinstance(m, ToolMessage)] == ids
        assert found.checkpoint["channel_values"]["turns_left"] == 30 - brain.calls[role]

    # The same run id again over the same store: answered from the thread, no model call.
    brain.calls.clear()
    again = LangGraphAdapter()
    rerun = await start_run("langgraph", store, endpoint, "lg-thread")
    assert await again.run(rerun.alarm, rerun.ctx) == outcome
    await again.aclose()
    assert sum(brain.calls.values()) == 0
    assert [m.type for m in rerun.bus.delivered] == ["alarm"]


# ------------------------------------------------------------------ resume


async def test_a_run_cut_inside_a_role_resumes_inside_it_and_hands_over_once(
    tmp_path: Path, endpoint: ModelEndpoint, brain: ScriptedModel
) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    crash = await crash_in_the_operator_then_resume(
        LangGraphAdapter, brain, endpoint, url, "lg-resume"
    )
    assert "create_work_order" not in [e.tool for e in crash.crashed_ledger]
    assert "stop_device" in [e.tool for e in crash.crashed_ledger]
    assert crash.grade.passed, [c.detail for c in crash.grade.checks if not c.passed]
    # Monitor and diagnostician had answered and both handoffs were done: neither is asked or
    # sent again. The operator went on from its last checkpoint (the tool node that failed ran
    # again) and was asked only what followed: both runs made one uninterrupted run's calls.
    assert brain.calls["monitor"] == brain.calls["diagnostician"] == 0
    assert crash.calls_before_crash + brain.calls == crash.full_calls
    assert [m.type for m in crash.resumed.bus.delivered] == ["alarm"]
    assert crash.ledger[: len(crash.crashed_ledger)] == crash.crashed_ledger
    assert [e.tool for e in crash.ledger].count("stop_device") == 1
    assert [e.tool for e in crash.ledger].count("create_work_order") == 1
    assert len(crash.ledger) == len(await crash.uninterrupted.ledger())
    assert crash.outcome.answers["monitor"] == (await uninterrupted_answers(crash.uninterrupted))


async def uninterrupted_answers(run: DirectRun) -> str:
    """The monitor's answer of a finished run, read back from its thread."""
    graph = LangGraphAdapter().workflow.compile(
        checkpointer=StateStoreCheckpointer(run.ctx.store, prefix=checkpoint_prefix(run.ctx.run_id))
    )
    state = await graph.aget_state(workflow_config(run.ctx.run_id, 30))
    answer: str = state.values["answers"]["monitor"]
    return answer


# ------------------------------------------------------------------ spans


async def test_spans_carry_the_adapters_name_and_each_steps_role(tmp_path: Path) -> None:
    spec = RunSpec(framework="langgraph", scenario=SCENARIO, run_id="lg-spans")
    settings = RunSettings(state_url="memory://", out_dir=tmp_path)
    async with RunServices(
        settings, store=MemoryStateStore(), bus=RecordingBus(), frameworks=["langgraph"]
    ) as services:
        result = await execute_run(spec, services)
    assert result.status == "passed", result.errors
    spans = read_trace_file(result.trace_file or "")
    assert {s.attributes.get("agentrig.framework") for s in spans} == {"langgraph"}
    # OpenInference's LangChain instrumentor sees the graphs. Per role two CHAIN spans carry
    # the role's name: the run graph's node, which LangGraph opens before the node's code binds
    # the role (so it acts for the run, as the graph's own span does), and inside it the role's
    # subgraph, which runs in the role's invoke_agent span and carries the role.
    openinference = [
        s for s in spans if "openinference.span.kind" in s.attributes and s.scope_name != "agentrig"
    ]
    for role in ROLES:
        node, subgraph = sorted(
            (s for s in openinference if s.name == role), key=lambda s: s.start_unix_nano
        )
        assert node.attributes["agentrig.role"] == "workflow"
        assert subgraph.parent_span_id == node.span_id
        assert subgraph.attributes["agentrig.role"] == role
        inside = [s for s in openinference if s.parent_span_id == subgraph.span_id]
        assert {s.name for s in inside} == {"model", "tools"}
        assert {s.attributes["agentrig.role"] for s in inside} == {role}
    llm = [s for s in openinference if s.attributes["openinference.span.kind"] == "LLM"]
    chats = [s for s in spans if s.name.startswith("chat ")]
    assert len(llm) == len(chats) == result.llm_calls
    assert Counter(s.attributes["agentrig.role"] for s in llm) == Counter(
        s.attributes["agentrig.role"] for s in chats
    )
    # Tokens counted once: the step model keeps the chat spans, drops their OpenInference twins.
    trace = normalise(spans, spec.run_id)
    assert trace.llm_calls == result.llm_calls
    assert {step.source for step in trace.steps() if step.kind == "llm"} == {"openai-v2"}
    assert trace.input_tokens == sum(
        int(s.attributes["gen_ai.usage.input_tokens"])
        for s in chats  # type: ignore[arg-type]
    )
    agents = [s for s in spans if s.name.startswith("invoke_agent ") and s.scope_name == "agentrig"]
    assert [s.name for s in agents] == [f"invoke_agent {role}" for role in ROLES]

"""The LangChain adapter's own parts: checkpoints in the store, resume, tool wrapping, errors.

The adapter conformance suite (tests/adapters/test_conformance.py) checks the shared contract --
tool-call order, malformed calls, turn limits, resume, failures, clients per loop, the missing
extra; this file checks what only LangChain has: the LangGraph checkpoints it writes to the
StateStore (their content, their JSON form, a resume from them that asks no answered role again),
how plant tools are wrapped (call ids as idempotency keys, the arguments the model gave), the
recursion limit, the roles' spans and cancellation.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from agentrig.adapters.langchain.adapter import (
    LangChainAdapter,
    langchain_tool,
    recursion_limit,
    role_thread_id,
)
from agentrig.adapters.langchain.checkpoint import (
    StateStoreCheckpointer,
    checkpoint_prefix,
)
from agentrig.core.contract.agent import Outcome
from agentrig.core.contract.roles import ROLES
from agentrig.core.llm import ReferenceModelServer
from agentrig.core.llm.brain import Decision, PolicyInput, Skill
from agentrig.core.llm.endpoints import ModelEndpoint
from agentrig.core.messaging.memory import MemoryMessageBus
from agentrig.core.plant.ledger import read_ledger
from agentrig.core.runner import RunServices, RunSettings, RunSpec, execute_run
from agentrig.core.state import MemoryStateStore, StateStore, open_state_store
from agentrig.core.telemetry.jsonl import read_trace_file
from tests.adapters.harness import (
    SCENARIO,
    ScriptedModel,
    crash_in_the_operator_then_resume,
    model_call_ids,
    start_run,
)

# The in-process reference model, on purpose: scripted brains count each role's model calls, and
# a crashed run's resume asks what only the live conversation can answer (a cassette would replay
# one fixed exchange). ``brain`` and ``endpoint`` (tests/adapters/conftest.py) share one server.
pytestmark = pytest.mark.allow_model_requests


@pytest.fixture
async def adapter() -> AsyncIterator[LangChainAdapter]:
    made = LangChainAdapter()
    yield made
    await made.aclose()


async def latest_messages(store: StateStore, run_id: str, role: str) -> list[Any]:
    """The message history of a role's thread, read back through a fresh checkpointer."""
    saver = StateStoreCheckpointer(store, prefix=checkpoint_prefix(run_id))
    found = await saver.aget_tuple({"configurable": {"thread_id": role_thread_id(run_id, role)}})
    assert found is not None, f"no checkpoint for {role}"
    messages: list[Any] = found.checkpoint["channel_values"]["messages"]
    return messages


# ------------------------------------------------------------------ a run, then its checkpoints


async def test_a_run_leaves_each_roles_history_in_the_store(tmp_path: Path) -> None:
    store = MemoryStateStore()
    spec = RunSpec(framework="langchain", scenario=SCENARIO, run_id="lc-history")
    settings = RunSettings(state_url="memory://", out_dir=tmp_path)
    async with RunServices(settings, store=store, bus=MemoryMessageBus()) as services:
        result = await execute_run(spec, services)
    assert result.status == "passed", (result.errors, result.final_report)

    ledger = await read_ledger(store, spec.run_id)
    prefix = f"runs/{spec.run_id}/langgraph/"
    assert {key.split("/")[3] for key in await store.keys(prefix)} == {
        role_thread_id(spec.run_id, role) for role in ROLES
    }
    answers: dict[str, str] = {}
    for role in ROLES:
        messages = await latest_messages(store, spec.run_id, role)
        assert isinstance(messages[0], HumanMessage)
        # The role's tool calls in its thread are exactly its calls in the executor's ledger,
        # keyed by the model's call ids, each answered with that call's result.
        entries = {entry.key: entry for entry in ledger if entry.role == role}
        ids = model_call_ids(messages)
        assert [f"call-{role}-{call_id}" for call_id in ids] == list(entries)
        results = {
            m.tool_call_id: json.loads(m.content) for m in messages if isinstance(m, ToolMessage)
        }
        for call_id in ids:
            entry = entries[f"call-{role}-{call_id}"]
            assert results[call_id]["sim_time_s"] == entry.sim_time_s
        assert isinstance(messages[-1], AIMessage)
        assert not messages[-1].tool_calls
        answers[role] = messages[-1].text
    assert answers["operator"] == result.final_report
    assert Outcome.from_answers(answers).root_cause == "blocked_discharge"
    # The monitor's answer reached the diagnostician through the bus, inside its task.
    diagnostician_task = (await latest_messages(store, spec.run_id, "diagnostician"))[0].text
    assert answers["monitor"].strip() in diagnostician_task


async def test_stored_checkpoints_are_json_with_base64_msgpack_never_pickle(
    tmp_path: Path, endpoint: ModelEndpoint, adapter: LangChainAdapter
) -> None:
    import sqlite3

    path = tmp_path / "state.db"
    store = open_state_store(f"sqlite:///{path}")
    async with store:
        run = await start_run("langchain", store, endpoint, "lc-json")
        await adapter.run(run.alarm, run.ctx)
        keys = await store.keys(checkpoint_prefix("lc-json") + "/")
    with sqlite3.connect(path) as connection:
        rows = dict(
            connection.execute(
                "SELECT key, document FROM agentrig_state WHERE key LIKE ?",
                (checkpoint_prefix("lc-json") + "/%",),
            ).fetchall()
        )
    assert sorted(rows) == keys
    kinds: Counter[str] = Counter()
    for key, text in rows.items():
        document = json.loads(text)  # raw bytes on disk: plain JSON
        if key.endswith("/index"):
            assert document["namespaces"][""] == sorted(document["namespaces"][""])
            continue
        values = [document.get("checkpoint"), document.get("metadata")]
        values += [write["value"] for write in document.get("writes", [])]
        for value in filter(None, values):
            kinds[value["type"]] += 1
            base64.b64decode(value["data"], validate=True)
    assert kinds["msgpack"] > 0
    assert "pickle" not in kinds
    assert not any(b"pickle" in text.encode() for text in rows.values())


# ------------------------------------------------------------------ resume


async def test_a_new_agent_over_the_same_thread_sees_the_saved_messages(
    tmp_path: Path, endpoint: ModelEndpoint, adapter: LangChainAdapter
) -> None:
    from langchain.agents import create_agent

    url = f"sqlite:///{tmp_path / 'state.db'}"
    async with open_state_store(url) as store:
        run = await start_run("langchain", store, endpoint, "lc-state")
        outcome = await adapter.run(run.alarm, run.ctx)
    # Another store object over the same file, another agent: the thread is still there.
    async with open_state_store(url) as store:
        saver = StateStoreCheckpointer(store, prefix=checkpoint_prefix("lc-state"))
        agent = create_agent(adapter._model(endpoint), [], checkpointer=saver, name="monitor")
        config = {"configurable": {"thread_id": role_thread_id("lc-state", "monitor")}}
        state = await agent.aget_state(config)  # type: ignore[arg-type]
        history = [s async for s in agent.aget_state_history(config)]  # type: ignore[arg-type]
    messages = state.values["messages"]
    assert messages[-1].text == outcome.answers["monitor"]
    assert state.next == ()
    assert len(model_call_ids(messages)) >= 1
    # One checkpoint per superstep, newest first, each pointing at its parent.
    assert history[0].config == state.config
    assert [h.parent_config for h in history[:-1]] == [h.config for h in history[1:]]


async def test_a_crashed_run_resumes_from_its_checkpoints_without_acting_twice(
    tmp_path: Path, endpoint: ModelEndpoint, brain: ScriptedModel
) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    crash = await crash_in_the_operator_then_resume(
        LangChainAdapter, brain, endpoint, url, "lc-resume"
    )
    assert "create_work_order" not in [e.tool for e in crash.crashed_ledger]
    assert "stop_device" in [e.tool for e in crash.crashed_ledger]
    assert crash.grade.passed, [c.detail for c in crash.grade.checks if not c.passed]
    # Monitor and diagnostician had answered: not asked again. The operator went on from its
    # last checkpoint (the pending work order ran) and was asked only what followed: both runs
    # together made the model calls of one uninterrupted run.
    assert brain.calls["monitor"] == brain.calls["diagnostician"] == 0
    assert crash.calls_before_crash + brain.calls == crash.full_calls
    assert crash.ledger[: len(crash.crashed_ledger)] == crash.crashed_ledger
    assert [e.tool for e in crash.ledger].count("stop_device") == 1
    assert [e.tool for e in crash.ledger].count("create_work_order") == 1
    assert len(crash.ledger) == len(await crash.uninterrupted.ledger())


# ------------------------------------------------------------------ tools and the middleware


async def test_a_wrapped_tool_passes_the_model_arguments_and_the_call_id(
    endpoint: ModelEndpoint,
) -> None:
    run = await start_run("langchain", MemoryStateStore(), endpoint, "lc-tool")
    bound = next(t for t in run.ctx.tools["diagnostician"] if t.name == "read_telemetry")
    tool = langchain_tool(bound)
    # The model sees the plant's schema; the injected call id is hidden from it.
    assert tool.tool_call_schema.model_json_schema()["properties"].keys() == (  # type: ignore[union-attr]
        bound.args_model.model_json_schema()["properties"].keys()
    )
    first = await tool.ainvoke(
        {"name": tool.name, "args": {"device_id": "pump-07"}, "id": "c1", "type": "tool_call"}
    )
    again = await tool.ainvoke(
        {"name": tool.name, "args": {"device_id": "pump-07"}, "id": "c1", "type": "tool_call"}
    )
    nulls = await tool.ainvoke(
        {
            "name": tool.name,
            "args": {"device_id": "pump-07", "sensor_id": None},
            "id": "c2",
            "type": "tool_call",
        }
    )
    ledger = await run.ledger()
    assert [(e.key, e.arguments, e.outcome) for e in ledger] == [
        ("call-diagnostician-c1", {"device_id": "pump-07"}, "read"),
        ("call-diagnostician-c2", {"device_id": "pump-07", "sensor_id": None}, "read"),
    ]
    assert first.content == again.content  # the same id is a replay, answered from the ledger
    assert json.loads(nulls.content)["sim_time_s"] == ledger[1].sim_time_s


# ------------------------------------------------------------------ limits, errors, clients


def test_recursion_limit_allows_max_turns_model_calls() -> None:
    # model, tools, model, ..., model: 2n - 1 supersteps for n model calls, plus the step at
    # which LangGraph checks the limit before it finds nothing left to run.
    assert [recursion_limit(n) for n in (1, 2, 30)] == [2, 4, 60]


async def test_spans_name_the_roles(tmp_path: Path) -> None:
    spec = RunSpec(framework="langchain", scenario=SCENARIO, run_id="lc-spans")
    settings = RunSettings(state_url="memory://", out_dir=tmp_path)
    async with RunServices(
        settings, store=MemoryStateStore(), bus=MemoryMessageBus(), frameworks=["langchain"]
    ) as services:
        result = await execute_run(spec, services)
    spans = read_trace_file(result.trace_file or "")
    openinference = {
        s.name: s.attributes.get("agentrig.role")
        for s in spans
        if s.attributes.get("openinference.span.kind") in ("AGENT", "CHAIN")
    }
    for role in ROLES:
        assert openinference.get(role) == role  # the agent graph's span carries the role's name
    agents = [s for s in spans if s.name.startswith("invoke_agent ")]
    assert [s.name for s in agents] == [f"invoke_agent {role}" for role in ROLES]


async def test_a_cancelled_run_leaves_no_task_behind(
    endpoint: ModelEndpoint, adapter: LangChainAdapter
) -> None:
    import threading

    from agentrig.core.llm.brain import default_decide as policy

    started = threading.Event()
    release = threading.Event()
    decide = policy()

    def slow_brain(inp: PolicyInput, skill: Skill) -> Decision:
        if inp.role == "diagnostician":
            started.set()
            release.wait(5)  # the model "thinks" until the test is done cancelling
        return decide(inp, skill)

    with ReferenceModelServer(decide=slow_brain) as slow:
        run = await start_run(
            "langchain",
            MemoryStateStore(),
            endpoint.model_copy(update={"base_url": slow.base_url}),
            "lc-cancel",
        )
        before = asyncio.all_tasks()
        task = asyncio.create_task(adapter.run(run.alarm, run.ctx))
        await asyncio.to_thread(started.wait, 5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        release.set()
        await asyncio.sleep(0.05)
        assert asyncio.all_tasks() == before  # LangGraph's step and checkpoint tasks are gone


def test_a_thread_cut_after_the_models_reply_was_saved_is_not_taken_as_answered() -> None:
    # What a SIGKILL between an action's ledger write and its result leaves (compare --kill
    # found it): the snapshot has no `next`, its last message is not the model's final answer,
    # and the reply with the tool calls waits in the pending writes. The role must resume.
    from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

    from agentrig.adapters.langchain.adapter import _answered

    asked = AIMessage("", tool_calls=[{"name": "set_valve", "args": {}, "id": "c1"}])
    assert not _answered([HumanMessage("task"), asked, ToolMessage("ok", tool_call_id="c1")])
    assert not _answered([HumanMessage("task"), asked])
    assert not _answered([])
    assert _answered([HumanMessage("task"), AIMessage("ROOT_CAUSE: closed_valve")])

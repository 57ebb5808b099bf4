"""The smolagents adapter's own parts: its agents and prompts, call ids as idempotency keys,
role answers in the store and resume from them, cancellation of an agent's thread, its spans.

Every run is real smolagents ToolCallingAgents against a scripted reference model server
(``model`` fixture), its requests and replies recorded. The shared contract (every scenario,
tool-call order, malformed calls, turn limits, failures, clients per loop, the missing extra)
is the adapter conformance suite's: tests/adapters/test_conformance.py.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import openai
import pytest

from agentrig.core.contract.roles import ROLES, SYSTEM_PROMPTS, Role
from agentrig.core.llm.brain import Decision, FinalAnswer, PolicyInput, Skill, ToolRequest
from agentrig.core.plant.executor import ToolCallRecord
from agentrig.core.plant.tools import tools_for_role
from agentrig.core.state import MemoryStateStore, open_state_store
from agentrig.core.telemetry.instrumentation import instrument_framework
from agentrig.core.telemetry.normalise import normalise
from agentrig.exceptions import AdapterError

pytest.importorskip("smolagents")

from agentrig.adapters.smolagents import SmolagentsAdapter
from agentrig.adapters.smolagents.adapter import max_steps_for
from agentrig.adapters.smolagents.agent import FINAL_ANSWER_RULE
from agentrig.adapters.smolagents.answers import RoleAnswerStore, SavedAnswer
from tests.adapters.harness import RecordingBus, ScriptedModel, adapter_world, ledger_of, run_once

# These tests talk to a reference model server of their own, on purpose.
pytestmark = pytest.mark.allow_model_requests


def _role_of(request: dict[str, Any]) -> Role:
    system = request["messages"][0]["content"][0]["text"]
    return next(role for role in ROLES if system.startswith(SYSTEM_PROMPTS[role]))


def _answer(role: str) -> str:
    return f"{role}: done.\nROOT_CAUSE: blocked_discharge\nDEVICE: valve-12"


def _saved(role: Role, handoff_id: str | None = "handoff-before-restart") -> SavedAnswer:
    return SavedAnswer(
        index=ROLES.index(role), role=role, answer=_answer(role), steps=2, handoff_id=handoff_id
    )


async def test_each_role_is_a_tool_calling_agent_that_finishes_through_final_answer(
    model: ScriptedModel,
) -> None:
    adapter = SmolagentsAdapter()
    outcome, _ = await run_once(adapter, MemoryStateStore(), RecordingBus(), model.endpoint(), "s")
    await adapter.aclose()
    requests = model.recorder.requests()
    assert {_role_of(request) for request in requests} == set(ROLES)
    for request in requests:
        role = _role_of(request)
        system = request["messages"][0]["content"][0]["text"]
        # The role prompt verbatim, then smolagents' one rule: finish by calling final_answer.
        assert system == f"{SYSTEM_PROMPTS[role]}\n\n{FINAL_ANSWER_RULE}"
        offered = [tool["function"]["name"] for tool in request["tools"]]
        assert offered == [spec.name for spec in tools_for_role(role)] + ["final_answer"]
        assert request["tool_choice"] == "required"  # smolagents' default
        assert request["stop"] == ["Observation:", "Calling tools:"]
    # Each role's answer is the answer its last final_answer call carried.
    answered: dict[str, str] = {}
    for request, reply in model.recorder.exchanges:
        for choice in reply["choices"]:
            for call in choice["message"].get("tool_calls") or []:
                if call["function"]["name"] == "final_answer":
                    answered[_role_of(request)] = json.loads(call["function"]["arguments"])[
                        "answer"
                    ]
    assert answered == outcome.answers
    assert outcome.root_cause == "blocked_discharge"


async def test_every_plant_call_is_keyed_by_the_models_call_id(model: ScriptedModel) -> None:
    adapter = SmolagentsAdapter()
    store = MemoryStateStore()
    await run_once(adapter, store, RecordingBus(), model.endpoint(), "keys")
    await adapter.aclose()
    made = [
        (_role_of(request), call["id"])
        for request, reply in model.recorder.exchanges
        for choice in reply["choices"]
        for call in choice["message"].get("tool_calls") or []
        if call["function"]["name"] != "final_answer"
    ]
    ledger = await ledger_of(store, "keys")
    assert len(made) >= 10
    assert [entry.key for entry in ledger] == [f"call-{role}-{call_id}" for role, call_id in made]


@pytest.mark.parametrize("role_count", [1, 3])
async def test_role_answers_round_trip_in_the_store(backend_url: str, role_count: int) -> None:
    store = open_state_store(backend_url)
    try:
        answers = RoleAnswerStore(store, "round-trip")
        written = [_saved(role, None) for role in ROLES[:role_count]]
        for saved in reversed(written):
            await answers.save(saved)
        assert await answers.load_all() == written
        handed = written[0].model_copy(update={"handoff_id": "m-1"})
        await answers.save(handed)
        assert (await answers.load_all())[0] == handed
    finally:
        await store.close()


async def test_saved_answers_that_do_not_fit_are_refused_with_the_key() -> None:
    store = MemoryStateStore()
    answers = RoleAnswerStore(store, "bad")
    await answers.save(_saved("diagnostician"))
    with pytest.raises(AdapterError, match=r"are roles \[1\], not the first roles in order"):
        await answers.load_all()
    await store.save(answers.key(0), {"index": 0, "role": "monitor"})
    with pytest.raises(AdapterError, match=r"^runs/bad/smolagents/roles/0 is not a smolagents"):
        await answers.load_all()


async def test_a_run_with_saved_answers_runs_only_the_rest(model: ScriptedModel) -> None:
    store, bus = MemoryStateStore(), RecordingBus()
    await RoleAnswerStore(store, "rest").save(_saved("monitor"))
    adapter = SmolagentsAdapter()
    outcome, _ = await run_once(adapter, store, bus, model.endpoint(), "rest")
    await adapter.aclose()
    assert model.calls["monitor"] == 0
    assert model.calls["diagnostician"] > 0
    assert model.calls["operator"] > 0
    # The diagnostician's task carries the saved monitor answer (already handed over before).
    first = next(r for r in model.recorder.requests() if _role_of(r) == "diagnostician")
    assert _answer("monitor") in first["messages"][1]["content"][0]["text"]
    assert [(m.type, m.content.get("to_role")) for m in bus.delivered] == [
        ("alarm", "monitor"),
        ("handoff", "operator"),
    ]
    saved = await RoleAnswerStore(store, "rest").load_all()
    assert [s.role for s in saved] == list(ROLES)
    assert saved[1].handoff_id == bus.delivered[1].id
    assert saved[1].steps == model.calls["diagnostician"]  # one memory step per model call
    assert saved[2].answer == outcome.answers["operator"]
    assert saved[2].handoff_id is None


async def test_an_answer_saved_but_never_handed_over_is_handed_over_on_resume(
    model: ScriptedModel,
) -> None:
    store, bus = MemoryStateStore(), RecordingBus()
    await RoleAnswerStore(store, "unsent").save(_saved("monitor", handoff_id=None))
    adapter = SmolagentsAdapter()
    await run_once(adapter, store, bus, model.endpoint(), "unsent")
    await adapter.aclose()
    assert model.calls["monitor"] == 0
    handoff = bus.delivered[1]
    assert (handoff.content["to_role"], handoff.content["text"]) == (
        "diagnostician",
        _answer("monitor"),
    )
    assert (await RoleAnswerStore(store, "unsent").load_all())[0].handoff_id == handoff.id


async def test_a_cancelled_run_stops_its_agent_and_no_later_call_reaches_the_plant(
    model: ScriptedModel,
) -> None:
    def keep_checking(inp: PolicyInput, skill: Skill) -> Decision:
        if inp.role != "monitor" or not inp.tools:
            return FinalAnswer(_answer(inp.role or "unknown"))
        return [ToolRequest("check_device_status", {"device_id": "pump-07"})]

    model.decide = keep_checking
    store = MemoryStateStore()
    reached, release = asyncio.Event(), asyncio.Event()

    async def hold_the_first_call(record: ToolCallRecord) -> None:
        reached.set()
        await release.wait()

    adapter = SmolagentsAdapter()
    async with adapter_world(
        "smolagents", store, RecordingBus(), model.endpoint(), "cut", hooks=[hold_the_first_call]
    ) as world:
        run = asyncio.create_task(adapter.run(world.alarm, world.ctx))
        await asyncio.wait_for(reached.wait(), 30)
        run.cancel()
        with pytest.raises(asyncio.CancelledError):
            await run
        release.set()
        threads = [t for t in threading.enumerate() if t.name.startswith("agentrig-smolagents-cut")]
        assert threads  # the agent's thread is still in its first tool call
        for thread in threads:
            await asyncio.to_thread(thread.join, 10)
            assert not thread.is_alive()
        assert len(await world.ledger()) == 1
    await adapter.aclose()
    assert model.calls["monitor"] == 1  # the interrupted agent asked the model nothing more


async def test_each_roles_spans_sit_under_its_invoke_agent_span(model: ScriptedModel) -> None:
    instrument_framework("smolagents")
    adapter = SmolagentsAdapter()
    _, world = await run_once(
        adapter, MemoryStateStore(), RecordingBus(), model.endpoint(), "spans"
    )
    await adapter.aclose()
    assert world.captured is not None
    records = world.captured.records("spans")
    by_id = {record.span_id: record for record in records}
    runs = [r for r in records if r.scope_name.endswith("smolagents") and r.name.endswith(".run")]
    assert sorted(r.name for r in runs) == sorted(f"{role}.run" for role in ROLES)
    for agent_run in runs:
        parent = by_id[agent_run.parent_span_id or ""]
        assert parent.name == f"invoke_agent {agent_run.name.removesuffix('.run')}"
    assert all(record.attributes.get("agentrig.role") for record in records)
    trace = normalise(records, "spans")
    steps = {segment.role: segment.steps for segment in trace.roles}
    for role in ROLES:
        # One LLM step per model call, one tool step per plant call: nothing counted twice.
        assert sum(step.kind == "llm" for step in steps[role]) == model.calls[role]
    assert trace.tool_calls == len(await world.ledger())


def test_max_steps_leave_room_for_smolagents_final_answer_call() -> None:
    assert [max_steps_for(turns) for turns in (1, 2, 3, 30)] == [1, 1, 2, 29]


def test_smolagents_fails_when_max_steps_is_0() -> None:
    # Why max_steps_for never returns 0: smolagents 1.26's _run_stream then yields an action_step
    # it never made (agents.py:603). When this starts to pass otherwise, one turn can mean one call.
    from smolagents import ChatMessage, LogLevel, Model, ToolCallingAgent

    class Answering(Model):  # type: ignore[misc]
        def generate(self, messages: Any, **options: Any) -> Any:
            return ChatMessage(role="assistant", content="the answer")

    agent = ToolCallingAgent(tools=[], model=Answering(), max_steps=0, verbosity_level=LogLevel.OFF)
    # In a context of its own: when the process is instrumented (earlier tests), OpenInference's
    # smolagents wrapper leaves its span current after agent.run raises, and the rest of the
    # session would run inside it. The adapter runs each agent in a copied context too.
    with pytest.raises(UnboundLocalError, match="action_step"):
        contextvars.copy_context().run(agent.run, "a task")


@pytest.mark.slow
def test_importing_the_adapter_reads_no_dotenv_file_and_keeps_hub_telemetry_off(
    tmp_path: Path,
) -> None:
    # `import smolagents` runs load_dotenv() (smolagents/remote_executors.py:45); started with
    # `python -c` it reads the .env of the current folder: without the opt-out, the probe leaks.
    (tmp_path / ".env").write_text("AGENTRIG_DOTENV_PROBE=from-dotenv\n")
    opt_outs = ("PYTHON_DOTENV_DISABLED", "HF_HUB_DISABLE_TELEMETRY", "AGENTRIG_DOTENV_PROBE")
    env = {name: value for name, value in os.environ.items() if name not in opt_outs}
    code = (
        "import os, agentrig.adapters.smolagents, huggingface_hub.constants as hub\n"
        "print(os.environ.get('AGENTRIG_DOTENV_PROBE'), hub.HF_HUB_DISABLE_TELEMETRY)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(Path(__file__).parents[3])},
        check=True,
    )
    assert done.stdout.split() == ["None", "True"]


async def test_a_rate_limited_call_is_retried_by_the_client_only(tmp_path: Path) -> None:
    # smolagents' own retry waits 60 s and more on a 429 (models.py RETRY_WAIT); it is off, so
    # the endpoint's max_retries is the one retry policy, as for every adapter.
    profile = tmp_path / "always-429.yaml"
    profile.write_text("rates: {rate_limit: 1.0}\nretry_after_seconds: 0.01\n")
    model = ScriptedModel(faults=str(profile))
    adapter = SmolagentsAdapter()
    with model.server:
        async with adapter_world(
            "smolagents", MemoryStateStore(), RecordingBus(), model.endpoint(max_retries=1), "429"
        ) as world:
            with pytest.raises(Exception) as raised:
                await adapter.run(world.alarm, world.ctx)
    await adapter.aclose()
    assert isinstance(raised.value.__cause__, openai.RateLimitError)
    assert len(model.recorder.started_at) == 2  # the first try and the client's one retry

"""The Google ADK adapter beyond the conformance suite: its session in the store, resume by role,
a session it cannot read, the calls ADK would drop, the internals it relies on.

google-adk installs in its own environment (``make test-adk``, constraints-adk.txt): elsewhere
this module is skipped.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from agentrig.core.contract.roles import ROLES
from agentrig.core.llm.brain import Decision, FinalAnswer, PolicyInput, Skill, ToolRequest
from agentrig.core.messaging.message import Message
from agentrig.core.state import MemoryStateStore, open_state_store
from agentrig.exceptions import AdapterError

pytest.importorskip("google.adk")

from agentrig.adapters.google_adk import GoogleADKAdapter, patches
from agentrig.adapters.google_adk.adapter import APP_NAME, USER_ID
from agentrig.adapters.google_adk.sessions import StoreSessionService, session_key
from tests.adapters.harness import RecordingBus, ScriptedModel, ledger_of, run_once

pytestmark = pytest.mark.allow_model_requests


def answer(role: str) -> FinalAnswer:
    return FinalAnswer(f"{role}: done.\nROOT_CAUSE: blocked_discharge\nDEVICE: valve-12")


@pytest.mark.parametrize("backend", ["memory", "file", "sqlite"])
async def test_a_run_keeps_its_adk_session_in_the_store(
    backend: str, model: ScriptedModel, tmp_path: Path
) -> None:
    urls = {
        "memory": "memory://",
        "file": f"file://{tmp_path / 'state'}",
        "sqlite": f"sqlite:///{tmp_path / 'state.db'}",
    }
    store = open_state_store(urls[backend])
    adapter = GoogleADKAdapter()
    try:
        outcome, _ = await run_once(adapter, store, RecordingBus(), model.endpoint(), "session")
        service = StoreSessionService(store, "session")
        session = await service.get_session(
            app_name=APP_NAME, user_id=USER_ID, session_id="session"
        )
    finally:
        await adapter.aclose()
        await store.close()
    assert session is not None
    # Each role's answer is in the session's state (its output_key), as the outcome has it.
    assert {role: session.state[f"{role}_answer"] for role in ROLES} == outcome.answers
    handoffs = [Message.model_validate(m) for m in session.state["agentrig_handoffs"]]
    assert [m.content["to_role"] for m in handoffs] == ["diagnostician", "operator"]
    # Each role's task is a user event of the session: the alarm, then the handoffs.
    tasks = [
        "".join(part.text or "" for part in event.content.parts or [])
        for event in session.events
        if event.author == "user" and event.content is not None
    ]
    assert len(tasks) == 1 + len(ROLES)  # the runner's alarm message, then one task per role
    assert tasks[2].startswith(tasks[1])  # the diagnostician's task begins with the alarm
    assert outcome.answers["monitor"] in tasks[2]


async def test_a_resumed_run_asks_nothing_of_roles_that_answered(model: ScriptedModel) -> None:
    store, bus = MemoryStateStore(), RecordingBus()
    first = GoogleADKAdapter()
    outcome, _ = await run_once(first, store, bus, model.endpoint(), "again")
    await first.aclose()
    calls = dict(model.calls)
    handoffs = [m for m in bus.delivered if m.type == "handoff"]

    second = GoogleADKAdapter()
    resumed, _ = await run_once(second, store, bus, model.endpoint(), "again")
    await second.aclose()
    assert resumed.answers == outcome.answers
    assert dict(model.calls) == calls  # no role asked the model again
    assert [m for m in bus.delivered if m.type == "handoff"] == handoffs  # none sent twice


async def test_a_session_it_cannot_read_is_refused_and_left_in_place(
    model: ScriptedModel,
) -> None:
    store = MemoryStateStore()
    await store.save(session_key("broken"), {"id": "broken", "events": "not a list"})
    adapter = GoogleADKAdapter()
    with pytest.raises(AdapterError, match=r"cannot be resumed.*left in place"):
        await run_once(adapter, store, RecordingBus(), model.endpoint(), "broken")
    await adapter.aclose()
    kept = await store.load(session_key("broken"))
    assert kept is not None
    assert kept.state == {"id": "broken", "events": "not a list"}
    assert sum(model.calls.values()) == 0


async def test_arguments_adk_would_drop_reach_the_executor_as_sent(tmp_path: Path) -> None:
    # list_devices takes no arguments: the fault profile turns its "{}" into "{", which no
    # repair of ADK's makes JSON. ADK alone drops such a call (MALFORMED_FUNCTION_CALL).
    profile = tmp_path / "faults.yaml"
    profile.write_text("rates: {malformed_tool_arguments: 1.0}\n")
    model = ScriptedModel(faults=str(profile))
    asked = 0

    def list_once_then_answer(inp: PolicyInput, skill: Skill) -> Decision:
        nonlocal asked
        if inp.role == "monitor" and asked == 0:
            asked += 1
            return [ToolRequest("list_devices", {})]
        return answer(inp.role or "unknown")

    model.decide = list_once_then_answer
    store = MemoryStateStore()
    adapter = GoogleADKAdapter()
    with model.server:
        outcome, world = await run_once(adapter, store, RecordingBus(), model.endpoint(), "drop")
    await adapter.aclose()
    sent = [c["function"]["arguments"] for c in model.recorder.tool_calls()]
    assert sent == ["{"]
    ledger = await ledger_of(store, "drop")
    assert [(e.tool, e.arguments) for e in ledger] == [("list_devices", "{")]
    assert [r.result.ok for r in world.records] == [False]  # the executor refused it
    assert all(outcome.answers[role].strip() for role in ROLES)


def test_the_adk_internals_it_relies_on_still_exist() -> None:
    for internal in patches.INTERNALS:
        assert hasattr(internal.owner, internal.attribute), internal.name
    for supported in patches.SUPPORTED:
        supported.check()  # the installed versions are inside the ranges checked
    GoogleADKAdapter()  # building the adapter applies the patch, once per process
    assert patches.applied()

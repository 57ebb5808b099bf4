"""The CrewAI adapter's own parts: persistence and resume, mirrored handoffs, tool wrapping, ids as
idempotency keys, telemetry, cancellation and errors.

Every run is a real crew against a reference model server of this module's own, whose requests
and replies are recorded (:class:`RecordingApp`), through the real runner.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from agentrig.adapters.crewai_outputs import SavedTaskOutput, TaskOutputStore
from agentrig.core.contract.agent import BoundTool, Outcome, RunContext
from agentrig.core.contract.results import RunResult
from agentrig.core.contract.roles import ROLES, SYSTEM_PROMPTS, Role
from agentrig.core.llm.brain import (
    Decide,
    Decision,
    PolicyInput,
    Skill,
    ToolRequest,
    default_decide,
)
from agentrig.core.llm.cassettes import CassetteSettings
from agentrig.core.llm.serving import ReferenceModelServer
from agentrig.core.messaging import Delivery, Message
from agentrig.core.messaging.memory import MemoryMessageBus
from agentrig.core.plant.state import LedgerEntry, PlantState, plant_key
from agentrig.core.plant.tools import ACTION_TOOLS, ToolSpec, tools_for_role
from agentrig.core.runner import RunServices, RunSettings, RunSpec, execute_run, run_matrix
from agentrig.core.state import MemoryStateStore
from agentrig.core.telemetry.jsonl import read_trace_file
from agentrig.core.telemetry.logs import REPEATED_WARNINGS, configure_logging
from agentrig.core.telemetry.normalise import normalise
from agentrig.core.telemetry.records import SpanRecord
from agentrig.exceptions import AdapterError, StateError

pytest.importorskip("crewai")

from agentrig.adapters.crewai import CrewAIAdapter
from agentrig.adapters.crewai_run import CHATTY_INFO_PREFIXES

# These tests talk to reference model servers of their own, on purpose.
pytestmark = pytest.mark.allow_model_requests

SCENARIO = "blocked-discharge"  # monitor 2 tools, diagnostician 6, operator 5 (2 actions)
MODEL_ID = "agentrig-operator"
ASGIApp = Callable[..., Awaitable[None]]


class RecordingApp:
    """ASGI middleware keeping every chat completion request and reply body, in order."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.exchanges: list[tuple[dict[str, Any], dict[str, Any]]] = []
        self.started_at: list[float] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].endswith("/chat/completions"):
            await self.app(scope, receive, send)
            return
        self.started_at.append(time.monotonic())
        request, reply = bytearray(), bytearray()

        async def keep_request() -> Any:
            message = await receive()
            if message["type"] == "http.request":
                request.extend(message.get("body", b""))
            return message

        async def keep_reply(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.body":
                reply.extend(message.get("body", b""))
            await send(message)

        await self.app(scope, keep_request, keep_reply)
        self.exchanges.append((json.loads(request), json.loads(reply) if reply else {}))

    def requests(self) -> list[dict[str, Any]]:
        return [request for request, _ in self.exchanges]

    def tool_call_ids(self) -> list[str]:
        return [
            call["id"]
            for _, reply in self.exchanges
            for choice in reply.get("choices", [])
            for call in choice["message"].get("tool_calls") or []
        ]


class RecordingBus(MemoryMessageBus):
    """The in-memory bus, keeping a copy of every message delivered through it."""

    def __init__(self) -> None:
        super().__init__()
        self.delivered: list[Message] = []

    async def receive(self, agent_id: str, timeout: float | None = None) -> Delivery | None:
        delivery = await super().receive(agent_id, timeout)
        if delivery is not None:
            self.delivered.append(delivery.message)
        return delivery


class ModelServer:
    """A reference model server with a recorded conversation and a replaceable brain."""

    def __init__(self, *, latency: str | None = None) -> None:
        self.decide: Decide = default_decide()
        self.server = ReferenceModelServer(latency=latency, decide=self._decide)
        self.recorder = RecordingApp(self.server.app.asgi)
        self.server.app.asgi = self.recorder

    def _decide(self, inp: PolicyInput, skill: Skill) -> Decision:
        return self.decide(inp, skill)

    def model(self, **options: str) -> str:
        query = "&".join(f"{key}={value}" for key, value in {"max_retries": "0", **options}.items())
        return f"{self.server.base_url}#{MODEL_ID}?{query}"


@pytest.fixture
def model_server() -> Iterator[ModelServer]:
    server = ModelServer()
    with server.server:
        yield server


async def run_crew(
    tmp_path: Path,
    model: str,
    *,
    store: MemoryStateStore | None = None,
    bus: RecordingBus | None = None,
    run_id: str = "crew-1",
    timeout_s: float = 60.0,
    frameworks: tuple[str, ...] = (),
    cassettes: CassetteSettings | None = None,
) -> RunResult:
    settings = RunSettings(state_url="memory://", out_dir=tmp_path, cassettes=cassettes)
    spec = RunSpec(
        framework="crewai", scenario=SCENARIO, model=model, run_id=run_id, timeout_s=timeout_s
    )
    async with RunServices(
        settings, store=store or MemoryStateStore(), bus=bus, frameworks=frameworks
    ) as services:
        return await execute_run(spec, services)


async def ledger(store: MemoryStateStore, run_id: str) -> list[LedgerEntry]:
    loaded = await store.load(plant_key(run_id))
    assert loaded is not None
    return PlantState.model_validate(loaded.state).ledger


def system_text(request: dict[str, Any]) -> str:
    return "\n".join(m["content"] for m in request["messages"] if m["role"] == "system")


def actions_of(entries: list[LedgerEntry]) -> list[tuple[str, str]]:
    return [
        (entry.tool, json.dumps(entry.arguments, sort_keys=True))
        for entry in entries
        if entry.tool in ACTION_TOOLS
    ]


# ----------------------------------------------------------------------------- the crew


async def test_the_crew_runs_the_role_prompts_and_mirrors_each_handoff(
    model_server: ModelServer, tmp_path: Path
) -> None:
    store, bus = MemoryStateStore(), RecordingBus()
    result = await run_crew(tmp_path, model_server.model(), store=store, bus=bus)
    assert result.status == "passed", (result.errors, result.final_report)
    assert result.framework_version == CrewAIAdapter().framework_version != "unknown"

    # Each role's requests carry its prompt verbatim (CrewAI's system prompt holds the
    # backstory), the role's own tools as strict schemas, and the alarm as the task.
    requests = model_server.recorder.requests()
    roles = [next(r for r in ROLES if SYSTEM_PROMPTS[r] in system_text(req)) for req in requests]
    assert roles == sorted(roles, key=ROLES.index)  # monitor's calls, then ...
    assert set(roles) == set(ROLES)
    alarm = bus.delivered[0].content["text"]
    for role, request in zip(roles, requests, strict=True):
        assert request["model"] == MODEL_ID
        offered = [tool["function"] for tool in request["tools"]]
        assert [tool["name"] for tool in offered] == [spec.name for spec in _specs(role)]
        assert all(tool["strict"] is True for tool in offered)
        # The plant's own strict schemas, not CrewAI's (which adds title, default, minLength);
        # CrewAI drops a top-level description ("No arguments.").
        assert [tool["parameters"] for tool in offered] == [
            {k: v for k, v in spec.json_schema().items() if k != "description"}
            for spec in _specs(role)
        ]
        first_user = next(m["content"] for m in request["messages"] if m["role"] == "user")
        assert alarm.strip() in first_user

    # The handoffs went over the bus, in order, carrying the task outputs saved in the store.
    saved = await TaskOutputStore(store, "crew-1").load_all()
    assert [(s.index, s.role, s.task_name) for s in saved] == [
        (0, "monitor", "monitor"),
        (1, "diagnostician", "diagnostician"),
        (2, "operator", "operator"),
    ]
    alarm_message, to_diagnostician, to_operator = bus.delivered
    assert [m.content["to_role"] for m in bus.delivered] == list(ROLES)
    assert to_diagnostician.content["text"] == saved[0].output
    assert to_operator.content["text"] == saved[1].output
    assert [s.handoff_id for s in saved] == [to_diagnostician.id, to_operator.id, None]
    assert to_diagnostician.causation_id == alarm_message.id
    assert to_operator.causation_id == to_diagnostician.id
    assert saved[2].output == result.final_report
    assert "ROOT_CAUSE: blocked_discharge" in saved[1].output
    # The diagnostician got the monitor's output as CrewAI context (and nothing else).
    diagnostician_request = requests[roles.index("diagnostician")]
    diagnostician_task = "\n".join(
        m["content"] for m in diagnostician_request["messages"] if m["role"] == "user"
    )
    assert saved[0].output in diagnostician_task


async def test_a_replys_tool_calls_run_one_after_another_in_the_models_order(
    model_server: ModelServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each call advances the plant's clock, so the order changes the results. CrewAI would run a
    # reply's calls in parallel threads: slowing the first lets the second overtake it there.
    call = BoundTool.call

    def slow_alarm_history(self: BoundTool, arguments: Any, *, call_id: str | None = None) -> str:
        if self.name == "get_alarm_history":
            time.sleep(0.2)
        return call(self, arguments, call_id=call_id)

    monkeypatch.setattr(BoundTool, "call", slow_alarm_history)
    store = MemoryStateStore()
    result = await run_crew(tmp_path, model_server.model(), store=store)
    assert result.status == "passed", result.errors
    replies = [
        [(c["id"], c["function"]["name"]) for c in choice["message"]["tool_calls"]]
        for _, reply in model_server.recorder.exchanges
        for choice in reply["choices"]
        if len(choice["message"].get("tool_calls") or []) > 1
    ]
    # The diagnostician asks for the alarm history and the maintenance log in one reply.
    assert [[name for _, name in calls] for calls in replies] == [
        ["get_alarm_history", "get_maintenance_log"]
    ]
    applied = [entry.key.split("-", 2)[2] for entry in await ledger(store, "crew-1")]
    ids = [call_id for call_id, _ in replies[0]]
    first = applied.index(ids[0])
    assert applied[first : first + 2] == ids


async def test_a_recorded_crew_replays_from_its_cassette(
    model_server: ModelServer, tmp_path: Path
) -> None:
    # The crew's requests are a function of the run's spec (no parallel tool calls racing the
    # plant's clock, nothing random in a request), so its recorded traffic replays offline.
    model = model_server.model()
    folder = tmp_path / "cassettes"
    recorded = await run_crew(
        tmp_path / "record", model, cassettes=CassetteSettings(directory=folder, mode="all")
    )
    assert recorded.status == "passed", recorded.errors
    model_server.recorder.exchanges.clear()
    replayed = await run_crew(
        tmp_path / "replay", model, cassettes=CassetteSettings(directory=folder, mode="none")
    )
    assert replayed.status == "passed", replayed.errors
    assert model_server.recorder.exchanges == []  # answered from the cassette alone
    assert (replayed.llm_calls, replayed.tool_calls, replayed.final_report) == (
        recorded.llm_calls,
        recorded.tool_calls,
        recorded.final_report,
    )


async def test_a_call_with_invalid_arguments_reaches_the_executor(
    model_server: ModelServer, tmp_path: Path
) -> None:
    expert = default_decide()

    def first_call_without_a_device(inp: PolicyInput, skill: Skill) -> Decision:
        if inp.role == "monitor" and not inp.observations:
            return [ToolRequest("check_device_status", {"device_id": 7})]
        return expert(inp, skill)

    store = MemoryStateStore()
    model_server.decide = first_call_without_a_device
    result = await run_crew(tmp_path, model_server.model(), store=store)
    assert result.status == "passed", result.errors
    # CrewAI's own argument check would have answered it; the executor did, and recorded it.
    first = (await ledger(store, "crew-1"))[0]
    assert (first.tool, first.arguments, first.outcome) == (
        "check_device_status",
        {"device_id": 7},
        "rejected",
    )
    assert "device_id" in first.result["error"]
    assert result.tool_calls == 14


def _specs(role: Role) -> list[ToolSpec]:
    return list(tools_for_role(role))


async def test_every_tool_call_goes_through_the_executor_keyed_by_the_models_call_id(
    model_server: ModelServer, tmp_path: Path
) -> None:
    store = MemoryStateStore()
    result = await run_crew(tmp_path, model_server.model(), store=store)
    assert result.status == "passed", result.errors
    entries = await ledger(store, "crew-1")
    assert len(entries) == result.tool_calls == 13
    ids = model_server.recorder.tool_call_ids()
    assert len(ids) == len(set(ids)) == 13
    # The key is the id the model gave the call: a replayed request replays, never re-acts.
    assert all(entry.key.startswith(f"call-{entry.role}-") for entry in entries)
    assert {entry.key.removeprefix(f"call-{entry.role}-") for entry in entries} == set(ids)


async def test_more_crews_at_once_than_the_default_executor_has_threads(
    model_server: ModelServer, tmp_path: Path
) -> None:
    # A crew thread blocks while the loop runs its tool calls, and the file store does its I/O
    # in the loop's default executor: crews must not take that executor's threads.
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=2))
    settings = RunSettings(state_url=f"file://{tmp_path / 'state'}", out_dir=tmp_path)
    specs = [
        RunSpec(framework="crewai", scenario=SCENARIO, model=model_server.model(), run_id=f"c{i}")
        for i in range(3)
    ]
    async with RunServices(settings) as services:
        results = await asyncio.wait_for(run_matrix(specs, services, concurrency=3), 60)
    assert [result.status for result in results] == ["passed"] * 3, [r.errors for r in results]


# ----------------------------------------------------------------------------- persistence


async def test_a_run_with_saved_task_outputs_runs_only_the_rest(
    model_server: ModelServer, tmp_path: Path
) -> None:
    first = MemoryStateStore()
    done = await run_crew(tmp_path / "first", model_server.model(), store=first, run_id="full")
    assert done.status == "passed", done.errors
    earlier = (await TaskOutputStore(first, "full").load_all())[:2]

    # A killed run of the same scenario: the monitor's and diagnostician's outputs are saved,
    # their handoffs never mirrored. The resumed run mirrors them and runs the operator only.
    store, bus = MemoryStateStore(), RecordingBus()
    outputs = TaskOutputStore(store, "resumed")
    for output in earlier:
        await outputs.save(output.model_copy(update={"handoff_id": None}))
    model_server.recorder.exchanges.clear()
    result = await run_crew(
        tmp_path / "resumed", model_server.model(), store=store, bus=bus, run_id="resumed"
    )

    assert result.status == "passed", (result.errors, result.final_report)
    assert all(
        SYSTEM_PROMPTS["operator"] in system_text(request)
        for request in model_server.recorder.requests()
    )
    entries = await ledger(store, "resumed")
    assert {entry.role for entry in entries} == {"operator"}
    assert len(actions_of(entries)) == len(set(actions_of(entries))) == 2
    assert [(m.type, m.content["to_role"]) for m in bus.delivered] == [
        ("alarm", "monitor"),
        ("handoff", "diagnostician"),
        ("handoff", "operator"),
    ]
    assert [m.content["text"] for m in bus.delivered[1:]] == [o.output for o in earlier]
    saved = await outputs.load_all()
    assert [s.handoff_id for s in saved] == [bus.delivered[1].id, bus.delivered[2].id, None]
    # The operator read both earlier outputs as its CrewAI context.
    first_request = model_server.recorder.requests()[0]
    task = "\n".join(m["content"] for m in first_request["messages"] if m["role"] == "user")
    assert all(output.output in task for output in earlier)


async def test_a_finished_run_resumed_answers_from_its_saved_outputs(
    model_server: ModelServer, tmp_path: Path
) -> None:
    store, bus = MemoryStateStore(), RecordingBus()
    first = await run_crew(tmp_path / "first", model_server.model(), store=store)
    assert first.status == "passed", first.errors
    model_server.recorder.exchanges.clear()
    again = await run_crew(tmp_path / "again", model_server.model(), store=store, bus=bus)
    assert again.status == "passed", again.errors
    assert again.final_report == first.final_report
    assert model_server.recorder.exchanges == []  # no crew: every task's output was saved
    assert [m.type for m in bus.delivered] == ["alarm"]  # its handoffs were mirrored before


async def test_a_run_killed_mid_task_resumes_without_acting_twice(
    model_server: ModelServer, tmp_path: Path
) -> None:
    expert = default_decide()

    def dies_after_the_first_action(inp: PolicyInput, skill: Skill) -> Decision:
        if inp.role == "operator" and any(o.tool in ACTION_TOOLS for o in inp.observations):
            raise RuntimeError("the model host went down")
        return expert(inp, skill)

    store = MemoryStateStore()
    model_server.decide = dies_after_the_first_action
    killed = await run_crew(tmp_path / "killed", model_server.model(), store=store)
    assert killed.status == "error"
    acted = actions_of(await ledger(store, "crew-1"))
    assert [tool for tool, _ in acted] == ["stop_device"]
    assert [s.role for s in await TaskOutputStore(store, "crew-1").load_all()] == [
        "monitor",
        "diagnostician",
    ]

    model_server.decide = expert
    resumed = await run_crew(tmp_path / "resumed", model_server.model(), store=store)
    assert resumed.status == "passed", (resumed.errors, resumed.final_report)
    entries = await ledger(store, "crew-1")
    assert [tool for tool, _ in actions_of(entries)] == ["stop_device", "create_work_order"]
    # The operator's re-run sent the same requests, so its calls kept their ids: replayed.
    spans = read_trace_file(resumed.trace_file or "")
    statuses = [
        span.attributes.get("agentrig.tool.status")
        for span in spans
        if span.name.startswith("execute_tool")
    ]
    assert statuses.count("replayed") >= 3  # two status checks and the stop before the kill


async def test_saved_outputs_that_do_not_fit_are_refused_with_the_key() -> None:
    store = MemoryStateStore()
    outputs = TaskOutputStore(store, "r1")
    await outputs.save(SavedTaskOutput(index=1, role="diagnostician", task_name="d", output="x"))
    with pytest.raises(AdapterError, match=r"tasks \[1\], not the first tasks in order"):
        await outputs.load_all()
    await store.save("runs/r1/crewai/tasks/0", {"index": 0, "role": "monitor"})
    with pytest.raises(AdapterError, match="runs/r1/crewai/tasks/0 is not a CrewAI task output"):
        await outputs.load_all()
    await store.save("runs/r1/crewai/tasks/0", SavedTaskOutput(index=2, role="operator", **_x()))
    with pytest.raises(AdapterError, match=r"holds task 2 \(operator\)"):
        await outputs.load_all()


def _x() -> dict[str, str]:
    return {"task_name": "t", "output": "x"}


# ----------------------------------------------------------------------------- telemetry


async def test_each_roles_spans_sit_under_its_invoke_agent_span(
    model_server: ModelServer, tmp_path: Path
) -> None:
    # OpenInference's CrewAI instrumentor too (process-wide from here on): its CHAIN, AGENT and
    # TOOL spans wrap ours and must map onto the same roles.
    result = await run_crew(tmp_path, model_server.model(), frameworks=("crewai",))
    assert result.status == "passed", result.errors
    spans = read_trace_file(result.trace_file or "")
    by_id = {span.span_id: span for span in spans}

    def agent_above(span: SpanRecord) -> str | None:
        parent = by_id.get(span.parent_span_id or "")
        while parent is not None:
            if parent.name.startswith("invoke_agent "):
                return parent.name.removeprefix("invoke_agent ")
            parent = by_id.get(parent.parent_span_id or "")
        return None

    steps = [s for s in spans if s.name.startswith(("chat ", "execute_tool "))]
    assert len(steps) == result.llm_calls + result.tool_calls == 15 + 13
    assert all(agent_above(s) == s.attributes["agentrig.role"] for s in steps)
    assert {s.trace_id for s in spans} == {result.trace_id}
    assert [s.name for s in spans if s.name.startswith("invoke_agent")] == [
        f"invoke_agent {role}" for role in ROLES
    ]
    assert any(s.attributes.get("openinference.span.kind") == "AGENT" for s in spans)
    trace = normalise(spans, "crew-1")
    assert [segment.role for segment in trace.roles] == list(ROLES)
    assert (trace.llm_calls, trace.tool_calls) == (15, 13)


async def test_crewais_log_noise_is_tamed(model_server: ModelServer, tmp_path: Path) -> None:
    repeated = configure_logging()  # the process's pipeline, as RunServices configures it
    kept: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = kept.append  # type: ignore[method-assign]
    logging.getLogger().addHandler(handler)
    approximate = next(p for p in REPEATED_WARNINGS if p.startswith("Using an approximate"))
    before = repeated.suppressed[approximate]
    try:
        result = await run_crew(tmp_path, model_server.model())
    finally:
        logging.getLogger().removeHandler(handler)
    assert result.status == "passed", result.errors
    # CrewAI's per-call INFO lines (one per offered tool per call) never reach a handler ...
    assert not [r for r in kept if str(r.msg).startswith(CHATTY_INFO_PREFIXES)]
    # ... and its preflight token-count warning, repeated on every call, is let through once.
    assert repeated.suppressed[approximate] - before >= result.llm_calls - 1


async def test_nothing_leaves_the_run_no_tiktoken_no_network_no_files(
    model_server: ModelServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tiktoken.load

    loads: list[str] = []

    def refuse_to_load(path: str, *args: Any, **kwargs: Any) -> bytes:
        loads.append(path)
        raise AssertionError(f"tiktoken tried to load {path}")

    monkeypatch.setattr(tiktoken.load, "read_file", refuse_to_load)
    monkeypatch.setattr(tiktoken.load, "read_file_cached", refuse_to_load)
    # An encoding loaded earlier in this process would not need the loader: catch its use too.
    for method in ("encode", "encode_ordinary"):
        monkeypatch.setattr(tiktoken.Encoding, method, refuse_to_load)
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "empty-tiktoken-cache"))
    connect = socket.socket.connect
    remote: list[Any] = []

    def local_only(sock: socket.socket, address: Any) -> Any:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and address[0] not in (
            "127.0.0.1",
            "::1",
            "localhost",
        ):
            remote.append(address)
            raise OSError(f"test guard: no connections beyond this machine ({address})")
        return connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", local_only)
    home = Path.home()
    before = _files_under(home)
    result = await run_crew(tmp_path, model_server.model())
    assert result.status == "passed", result.errors
    assert loads == []
    assert remote == []
    # Nor does the run write under HOME: CrewAI's own task-output log (a SQLite file) is off.
    assert _files_under(home) == before


def _files_under(folder: Path) -> dict[str, int]:
    return {str(path): path.stat().st_mtime_ns for path in folder.rglob("*") if path.is_file()}


# ----------------------------------------------------------------------------- errors and stops


async def test_a_failing_model_raises_out_of_the_run(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    bus = RecordingBus()
    result = await run_crew(
        tmp_path, f"http://127.0.0.1:{port}/v1#{MODEL_ID}?max_retries=0&timeout=2", bus=bus
    )
    assert result.status == "error"
    assert any("APIConnectionError" in error for error in result.errors), result.errors
    assert [m.type for m in bus.delivered] == ["alarm"]  # no handoff for a task that failed


class StoreThatDies(MemoryStateStore):
    """The in-memory store, failing every plant load once ``dead`` is set (a lost database)."""

    def __init__(self) -> None:
        super().__init__()
        self.dead = threading.Event()

    async def load(self, key: str) -> Any:
        if self.dead.is_set() and key.endswith("/plant"):
            raise StateError("the store is gone")
        return await super().load(key)


async def test_an_unusable_plant_stops_the_crew_and_fails_the_run(
    model_server: ModelServer, tmp_path: Path
) -> None:
    store = StoreThatDies()
    expert = default_decide()

    def lose_the_store_after_one_call(inp: PolicyInput, skill: Skill) -> Decision:
        if inp.role == "monitor" and len(inp.observations) == 1:
            store.dead.set()  # the monitor's second tool call will not reach the plant
        return expert(inp, skill)

    model_server.decide = lose_the_store_after_one_call
    result = await run_crew(tmp_path, model_server.model(), store=store)
    assert result.status == "error"
    assert result.errors[0] == "StateError: the store is gone", result.errors
    # Two model calls, each asking for one tool; the second tool failed; no third call.
    assert len(model_server.recorder.exchanges) == 2


async def test_a_cancelled_run_stops_its_crew_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow = ModelServer(latency="250ms")
    adapter = CrewAIAdapter()
    finished = threading.Event()
    original = adapter._kickoff

    def kickoff(*args: Any) -> None:
        try:
            original(*args)
        finally:
            finished.set()

    monkeypatch.setattr(adapter, "_kickoff", kickoff)
    monkeypatch.setattr(RunServices, "adapter", lambda self, name: adapter)
    store = MemoryStateStore()
    with slow.server:
        result = await run_crew(tmp_path, slow.model(), store=store, timeout_s=0.6)
        cancelled_at = time.monotonic()
        assert result.status == "error"
        assert [error.split(" after ")[0] for error in result.errors] == [
            "the crewai run timed out"
        ]
        # The call in flight finishes; then the crew stops at its next model or tool call.
        assert await asyncio.to_thread(finished.wait, 5.0)
        calls = len(await ledger(store, "crew-1"))
        await asyncio.sleep(0.6)
        assert len(await ledger(store, "crew-1")) == calls
        assert sum(1 for t in slow.recorder.started_at if t > cancelled_at) == 0


def test_without_crewai_the_error_names_the_extra() -> None:
    code = (
        "import sys\n"
        "sys.modules['crewai'] = None  # as if the extra were not installed\n"
        "try:\n"
        "    import agentrig.adapters.crewai\n"
        "except ImportError as error:\n"
        "    print(type(error).__name__, error)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "AGENTRIG_LOG_LEVEL": "WARNING"},
        check=True,
    )
    assert done.stdout.strip() == (
        "MissingExtraError the CrewAI adapter needs the 'crewai' extra: "
        "pip install 'agentrig[crewai]'"
    )


async def test_a_role_makes_at_most_max_turns_per_role_model_calls(
    model_server: ModelServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    adapter = CrewAIAdapter()
    run = adapter.run

    async def run_with_two_turns(task: Message, ctx: RunContext) -> Outcome:
        return await run(task, dataclasses.replace(ctx, max_turns_per_role=2))

    monkeypatch.setattr(adapter, "run", run_with_two_turns)
    monkeypatch.setattr(RunServices, "adapter", lambda self, name: adapter)
    await run_crew(tmp_path, model_server.model())
    requests = model_server.recorder.requests()
    roles = [next(r for r in ROLES if SYSTEM_PROMPTS[r] in system_text(req)) for req in requests]
    assert roles == ["monitor"] * 2 + ["diagnostician"] * 2 + ["operator"] * 2
    # Each role's last call asks for the answer: CrewAI offers no tools in it.
    assert [bool(request.get("tools")) for request in requests] == [True, False] * 3

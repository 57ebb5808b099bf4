"""The CrewAI adapter's own parts: persistence and resume, mirrored handoffs, tool wrapping, ids as
idempotency keys, threads, telemetry, log noise and cancellation.

Every run is a real crew against a reference model server of this module's own, whose requests
and replies are recorded (:class:`~tests.adapters.harness.RecordingApp`), through the real
runner. The shared contract (tool-call order, malformed calls, turn limits, failures, clients per
loop, the missing extra) is the adapter conformance suite's: tests/adapters/test_conformance.py.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from agentrig.adapters.crewai.outputs import SavedTaskOutput, TaskOutputStore
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
from agentrig.core.plant.ledger import read_ledger
from agentrig.core.plant.state import LedgerEntry
from agentrig.core.plant.tools import ACTION_TOOLS, ToolSpec, tools_for_role
from agentrig.core.runner import RunServices, RunSettings, RunSpec, execute_run, run_matrix
from agentrig.core.state import MemoryStateStore
from agentrig.core.telemetry.jsonl import read_trace_file
from agentrig.core.telemetry.logs import REPEATED_WARNINGS, configure_logging
from agentrig.core.telemetry.normalise import normalise
from agentrig.core.telemetry.records import SpanRecord
from agentrig.exceptions import AdapterError

pytest.importorskip("crewai")

from agentrig.adapters.crewai.adapter import CrewAIAdapter
from agentrig.adapters.crewai.patches import CHATTY_INFO_PREFIXES
from tests.adapters.harness import RecordingApp, RecordingBus

# These tests talk to reference model servers of their own, on purpose.
pytestmark = pytest.mark.allow_model_requests

SCENARIO = "blocked-discharge"  # monitor 2 tools, diagnostician 6, operator 5 (2 actions)
MODEL_ID = "agentrig-operator"
ASGIApp = Callable[..., Awaitable[None]]


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
    return await read_ledger(store, run_id)


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

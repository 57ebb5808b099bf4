"""The plant's tools over MCP through each framework's own MCP client (``--tools mcp``).

- A run with MCP tools matches the native run call for call: the executor's ledger (tool,
  arguments, outcome, result), the ``execute_tool`` spans and the tool metrics; the hop adds one
  ``mcp.server tools/call`` span per call (replayed from cassettes: plain and Pydantic AI replay
  the *native* ones, which proves their model requests unchanged; the others their own).
- Each framework's client over both transports (streamable HTTP, and stdio against a real
  ``agentrig mcp serve`` process), and what it does with a tool error, an invalid argument, a
  server restart and a slow tool (``agentrig.testing.mcp_probe``; the findings in docs/mcp.md).

Runs in the main environment (mcp 1.x), in Google ADK's (``make test-adk``) and in Agent
Framework's (``make test-af-mcp``, mcp 2.x): a framework that is not installed here is skipped,
and so is Agent Framework over MCP where the installed mcp is older than its MCP tools need.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from agentrig.core.contract.mcp import McpEndpoint
from agentrig.core.contract.registry import installed_adapter_names, load_adapter
from agentrig.core.contract.results import RunResult
from agentrig.core.llm.brain import Decision, FinalAnswer, PolicyInput, Skill, ToolRequest
from agentrig.core.llm.cassettes import CassetteSettings
from agentrig.core.mcp.http import PlantMcpHttpServer
from agentrig.core.mcp.server import PlantToolService
from agentrig.core.plant.ledger import read_ledger
from agentrig.core.plant.plant import Plant
from agentrig.core.plant.state import LedgerEntry
from agentrig.core.runner import RunServices, RunSettings, RunSpec, execute_run
from agentrig.core.runner.run import _tool_servers
from agentrig.core.state import MemoryStateStore, open_state_store
from agentrig.core.telemetry.jsonl import read_trace_file
from agentrig.core.telemetry.metrics import AgentrigMetrics
from agentrig.exceptions import ConfigurationError
from agentrig.testing.mcp_probe import call_through, probe
from tests.adapters.harness import (
    FOUR_CALLS,
    RecordingBus,
    ScriptedModel,
    adapter_world,
    four_calls_at_once,
)
from tests.conftest import REPO_ROOT
from tests.mcp_compat import MCP_ERROR

REPLAY = CassetteSettings(directory=REPO_ROOT / "cassettes")
SCENARIO = "blocked-discharge"
INSTALLED = frozenset(installed_adapter_names())


def _agent_framework_takes_mcp() -> bool:
    if "agent-framework" not in INSTALLED:
        return False
    from agentrig.adapters.agent_framework.mcp import mcp_client_available

    return mcp_client_available()


AGENT_FRAMEWORK_MCP = _agent_framework_takes_mcp()
AGENT_FRAMEWORK_MCP_SKIP = (
    "Agent Framework's MCP tools need mcp>=2.2 (agent_framework/_mcp.py imports mcp.Client and "
    "mcp.MCPError) and this environment has an older mcp: `make test-af-mcp` runs them in "
    ".af-venv (constraints-af-mcp.txt)"
)


def _skip_mark(framework: str) -> list[pytest.MarkDecorator]:
    if framework not in INSTALLED:
        return [
            pytest.mark.skip(
                reason=f"{framework} is not installed in this environment (google-adk lives in "
                ".adk-venv: make test-adk; the others in .venv: make test)"
            )
        ]
    if framework == "agent-framework" and not AGENT_FRAMEWORK_MCP:
        return [pytest.mark.skip(reason=AGENT_FRAMEWORK_MCP_SKIP)]
    return []


def _frameworks(*frameworks: str) -> list[Any]:
    """Test parameters, each skipped where that framework cannot take its tools over MCP."""
    return [pytest.param(name, marks=_skip_mark(name), id=name) for name in frameworks]


def _cases(table: dict[tuple[str, str], Any]) -> list[Any]:
    return [
        pytest.param(framework, case, marks=_skip_mark(framework), id=f"{framework}-{case}")
        for framework, case in table
    ]


def _ledger(entries: list[LedgerEntry]) -> list[tuple[str, str, str, str, str]]:
    return [
        (e.role, e.tool, json.dumps(e.arguments, sort_keys=True), e.outcome, json.dumps(e.result))
        for e in entries
    ]


def _tool_spans(result: RunResult) -> tuple[list[tuple[str, str, str]], int]:
    spans = read_trace_file(result.trace_file or "")
    tools = [
        (
            s.name,
            str(s.attributes.get("gen_ai.tool.call.arguments")),
            str(s.attributes.get("agentrig.tool.status")),
        )
        for s in spans
        # agentrig's (the executor hook's); AutoGen's McpWorkbench adds its own execute_tool
        # span around each MCP call (autogen_core's trace_tool_span), without these attributes.
        if s.name.startswith("execute_tool ") and "agentrig.tool.status" in s.attributes
    ]
    hops = sum(1 for s in spans if s.name.startswith("mcp.server tools/call "))
    return tools, hops


async def _run(framework: str, tools: str, tmp_path: Path) -> tuple[RunResult, Any, float]:
    store = MemoryStateStore()
    metrics = AgentrigMetrics()
    settings = RunSettings(state_url="memory://", out_dir=tmp_path / tools, cassettes=REPLAY)
    spec = RunSpec(
        framework=framework, scenario=SCENARIO, run_id=f"mcp-{framework}-{tools}", tools=tools
    )
    async with RunServices(settings, store=store, metrics=metrics) as services:
        result = await execute_run(spec, services)
    ledger = await read_ledger(store, spec.run_id)
    calls = sum(
        s.value
        for family in metrics.registry.collect()
        for s in family.samples
        if s.name == "agentrig_tool_calls_total"
    )
    return result, ledger, calls


@pytest.mark.slow
@pytest.mark.parametrize(
    "framework",
    _frameworks(
        "plain",
        "langchain",
        "autogen",
        "openai-agents",
        "pydantic-ai",
        "agent-framework",
        "langgraph",
        "smolagents",
        "google-adk",
    ),
)
async def test_an_mcp_run_matches_the_native_run_call_for_call(
    framework: str, tmp_path: Path
) -> None:
    native, native_state, native_calls = await _run(framework, "native", tmp_path)
    over_mcp, mcp_state, mcp_calls = await _run(framework, "mcp", tmp_path)
    assert native.status == over_mcp.status == "passed", over_mcp.errors
    assert (native.tools, over_mcp.tools) == ("native", "mcp")
    assert _ledger(mcp_state) == _ledger(native_state)
    assert over_mcp.actions == native.actions
    native_spans, native_hops = _tool_spans(native)
    mcp_spans, mcp_hops = _tool_spans(over_mcp)
    assert mcp_spans == native_spans
    assert (native_hops, mcp_hops) == (0, len(mcp_spans))
    assert mcp_calls == native_calls == native.tool_calls > 0
    assert over_mcp.llm_calls == native.llm_calls


async def test_an_adapter_without_mcp_support_is_refused_with_a_clear_error() -> None:
    class NoMcp:
        name = "nomcp"

    spec = RunSpec(framework="nomcp", scenario=SCENARIO, tools="mcp")
    with pytest.raises(
        ConfigurationError, match=r"does not take its tools over MCP.*--tools native"
    ):
        async with _tool_servers(spec, NoMcp(), None, None):  # type: ignore[arg-type]
            pass


# ---------------------------------------------------------------- each client, each case

EXPECTED = {
    # (framework, case): (behaviour, category)
    ("plain", "ok"): ("ok", None),
    ("plain", "tool_error"): ("surfaced", None),
    ("plain", "invalid_argument"): ("surfaced", None),
    ("langchain", "ok"): ("ok", None),
    ("langchain", "tool_error"): ("surfaced", None),
    ("langchain", "invalid_argument"): ("surfaced", None),
    ("autogen", "ok"): ("ok", None),
    ("autogen", "tool_error"): ("surfaced", None),
    ("autogen", "invalid_argument"): ("surfaced", None),
    # The OpenAI Agents SDK and smolagents (mcpadapt) drop isError: the model reads the text.
    ("openai-agents", "ok"): ("ok", None),
    ("openai-agents", "tool_error"): ("surfaced", None),
    ("openai-agents", "invalid_argument"): ("surfaced", None),
    ("pydantic-ai", "ok"): ("ok", None),
    ("pydantic-ai", "tool_error"): ("surfaced", None),
    ("pydantic-ai", "invalid_argument"): ("surfaced", None),
    ("langgraph", "ok"): ("ok", None),
    ("langgraph", "tool_error"): ("surfaced", None),
    ("langgraph", "invalid_argument"): ("surfaced", None),
    ("smolagents", "ok"): ("ok", None),
    ("smolagents", "tool_error"): ("surfaced", None),
    ("smolagents", "invalid_argument"): ("surfaced", None),
    ("google-adk", "ok"): ("ok", None),
    ("google-adk", "tool_error"): ("surfaced", None),
    ("google-adk", "invalid_argument"): ("surfaced", None),
}
EXPECTED_SLOW = {
    ("plain", "server_restart"): ("raised", "interop"),
    ("plain", "slow_tool"): ("raised", "timeout"),
    ("langchain", "server_restart"): ("raised", "interop"),
    ("langchain", "slow_tool"): ("raised", "timeout"),
    # McpWorkbench turns any exception into an is_error result the model reads.
    ("autogen", "server_restart"): ("surfaced", None),
    ("autogen", "slow_tool"): ("surfaced", None),
    # crewai 1.15: every streamable-HTTP call raises on its client's disconnect ("Attempted to
    # exit cancel scope in a different task", crewai/mcp/transports/http.py), after the call
    # reached the plant; an invalid argument is refused by CrewAI's own schema before the hop.
    ("crewai", "ok"): ("raised", "framework_exception"),
    ("crewai", "invalid_argument"): ("raised", "framework_exception"),
    ("crewai", "slow_tool"): ("raised", "framework_exception"),
    # The SDK's default failure_error_function hands the model "An error occurred ...".
    ("openai-agents", "server_restart"): ("surfaced", None),
    ("openai-agents", "slow_tool"): ("surfaced", None),
    # A protocol error is always a ModelRetry in Pydantic AI: surfaced, but it spends the
    # tool's retry budget (the run raises UnexpectedModelBehavior past it).
    ("pydantic-ai", "server_restart"): ("surfaced", None),
    ("pydantic-ai", "slow_tool"): ("surfaced", None),
    ("langgraph", "server_restart"): ("raised", "interop"),
    ("langgraph", "slow_tool"): ("raised", "timeout"),
    ("smolagents", "server_restart"): ("raised", "interop"),
    ("smolagents", "slow_tool"): ("raised", "timeout"),
    # Agent Framework reconnects and sends the call again (MCPTool._call_tool_with_retries, on
    # "session terminated"); its loop turns the timeout into "Error: Function failed.".
    ("agent-framework", "server_restart"): ("ok", None),
    ("agent-framework", "slow_tool"): ("surfaced", None),
    # ADK's McpTool turns a failed hop into {"error": "MCP tool execution failed: ..."} (its
    # default-on graceful error handling, google/adk/tools/mcp_tool/mcp_tool.py, run_async).
    ("google-adk", "server_restart"): ("surfaced", None),
    ("google-adk", "slow_tool"): ("surfaced", None),
}


@pytest.mark.parametrize(("framework", "case"), _cases(EXPECTED))
async def test_each_client_over_http(framework: str, case: str) -> None:
    outcome = await probe(framework, case)
    assert (outcome.behaviour, outcome.category) == EXPECTED[(framework, case)], outcome
    assert outcome.executor_calls == 1  # the executor saw the call, valid or not
    assert outcome.text is not None
    assert json.loads(outcome.text)["ok"] is (case == "ok")


@pytest.mark.slow
@pytest.mark.parametrize(("framework", "case"), _cases(EXPECTED_SLOW))
async def test_each_client_across_a_broken_hop(framework: str, case: str) -> None:
    outcome = await probe(framework, case)
    assert (outcome.behaviour, outcome.category) == EXPECTED_SLOW[(framework, case)], outcome
    if framework == "agent-framework":
        if case == "server_restart":
            assert outcome.executor_calls == 2  # the first call, then the one sent again
        if case == "slow_tool":
            # request_timeout is an int: the endpoint's 0.5 s became 1 s (agentrig rounds up).
            assert outcome.text == "Error: Function failed."
            assert outcome.seconds >= 1.0
    if case == "slow_tool" and framework != "crewai":
        # The client gave up at its timeout; the server dropped the call with the session, so
        # the plant never applied it (no retry can act twice).
        assert outcome.seconds < 1.5
        assert outcome.executor_calls == 0
    if framework == "crewai" and case == "slow_tool":
        assert outcome.seconds >= 2.0  # CrewAI waits out its own 30 s, not the endpoint's 0.5 s
    if framework == "crewai" and case == "invalid_argument":
        assert outcome.executor_calls == 0


@pytest.mark.slow
@pytest.mark.skipif("google-adk" not in INSTALLED, reason="google-adk is not installed here")
async def test_google_adk_reconnects_after_a_restart_and_lands_a_call_it_timed_out() -> None:
    from agentrig.testing.mcp_probe import CLIENT_TIMEOUT_S, SLOW_TOOL_S, open_client

    store = MemoryStateStore()
    plant = await Plant.create(store, "adk-hop", SCENARIO)
    executor = plant.executor()
    service = PlantToolService(executor)
    read = ("check_device_status", {"device_id": "pump-07"})
    try:
        async with PlantMcpHttpServer(service) as server:
            endpoint = server.endpoints(timeout_s=CLIENT_TIMEOUT_S)["operator"]
            async with open_client("google-adk", endpoint) as call:
                assert (await call(*read))[1] is False
                await server.restart()
                # The model reads the lost session once; ADK drops that session
                # (mcp_tool.py, _run_async_impl: _discard_session) and the next call opens one.
                assert await call(*read) == ("MCP tool execution failed: Session terminated", True)
                text, is_error = await call(*read)
                assert (json.loads(text)["ok"], is_error) == (True, False)
                # Past the client's timeout the model reads an error, but ADK keeps the session
                # open, so the server finishes the call: the plant applied what the model was
                # told had failed.
                service.delay_s = SLOW_TOOL_S
                text, is_error = await call(*read)
                assert is_error is True
                assert text.startswith("MCP tool execution failed: Timed out")
                await asyncio.sleep(SLOW_TOOL_S + 0.5)
                ledger = await read_ledger(store, "adk-hop")
    finally:
        executor.close()
    # The first read, the one after the reconnect and the timed-out one; not the lost one.
    assert [entry.tool for entry in ledger] == ["check_device_status"] * 3


# Agent Framework's loop answers the model with its own sentences, not the tool's text
# (agent_framework/_tools.py: _function_execution_error_result, include_detailed_errors=False, and
# _function_argument_validation_error_result); a wrong type is refused before the hop by its
# lightweight check against the listed schema (_validate_arguments_against_schema).
AGENT_FRAMEWORK = {
    # case: (behaviour, what the model reads, calls the executor saw)
    "ok": ("ok", None, 1),
    "tool_error": ("surfaced", "Error: Function failed.", 1),
    "invalid_argument": ("surfaced", "Error: Argument parsing failed.", 0),
}


@pytest.mark.parametrize("case", list(AGENT_FRAMEWORK))
@pytest.mark.skipif(not AGENT_FRAMEWORK_MCP, reason=AGENT_FRAMEWORK_MCP_SKIP)
async def test_agent_framework_over_http(case: str) -> None:
    outcome = await probe("agent-framework", case)
    behaviour, text, executor_calls = AGENT_FRAMEWORK[case]
    assert (outcome.behaviour, outcome.category) == (behaviour, None), outcome
    assert outcome.executor_calls == executor_calls
    assert outcome.text is not None
    if text is None:
        assert json.loads(outcome.text)["ok"] is True
    else:
        assert outcome.text == text


@pytest.mark.skipif(
    "agent-framework" not in INSTALLED or AGENT_FRAMEWORK_MCP,
    reason="Agent Framework is not installed, or its MCP tools can run here",
)
async def test_agent_framework_mcp_is_refused_in_one_line_while_mcp_is_older_than_2_2() -> None:
    # agent-framework-core 1.23's _mcp.py imports mcp.Client and mcp.MCPError (mcp>=2.2); the
    # main environment pins mcp 1.30. In .af-venv (mcp 2.x) the tests above run instead.
    outcome = await probe("agent-framework", "ok")
    assert (outcome.behaviour, outcome.category, outcome.executor_calls) == ("raised", "config", 0)
    assert outcome.raised is not None
    assert "mcp>=2.2" in outcome.raised
    assert "--tools native" in outcome.raised


@pytest.mark.slow
@pytest.mark.parametrize(
    "framework",
    _frameworks(
        "plain",
        "langchain",
        "autogen",
        "crewai",
        "openai-agents",
        "pydantic-ai",
        "agent-framework",
        "smolagents",
        "google-adk",
    ),
)
async def test_each_client_over_stdio_against_agentrig_mcp_serve(
    framework: str, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    store = open_state_store(url)
    await Plant.create(store, "stdio-run", SCENARIO)
    await store.close()
    endpoint = McpEndpoint(
        transport="stdio",
        command=sys.executable,
        args=(
            "-m",
            "agentrig.cli",
            "mcp",
            "serve",
            "--transport",
            "stdio",
            "--run-id",
            "stdio-run",
            "--state",
            url,
            "--role",
            "monitor",
            "--out",
            str(tmp_path / "runs"),
        ),
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        timeout_s=30,
    )
    text, is_error = await call_through(framework, endpoint, "list_devices", {})
    assert is_error is False
    assert json.loads(text)["ok"] is True
    assert '"pump-07"' in text
    store = open_state_store(url)
    ledger = await read_ledger(store, "stdio-run")
    await store.close()
    assert Counter((e.role, e.tool) for e in ledger) == {("monitor", "list_devices"): 1}


# ------------------------------------------------------------ calls a framework answers itself


@pytest.mark.slow
@pytest.mark.allow_model_requests
@pytest.mark.parametrize(
    "framework",
    _frameworks(
        "openai-agents", "pydantic-ai", "agent-framework", "langgraph", "smolagents", "google-adk"
    ),
)
async def test_over_mcp_the_calls_a_framework_would_answer_itself_reach_the_executor(
    framework: str, tmp_path: Path
) -> None:
    # As the conformance test of the same name, with the tools over MCP: every tool-calling
    # reply is made malformed (arguments that are not JSON) or names a tool the role lacks.
    profile = tmp_path / "tool-faults.yaml"
    profile.write_text("rates: {malformed_tool_arguments: 0.5, unknown_tool: 0.5}\n")
    model = ScriptedModel(faults=str(profile))
    monitor_turns = 0

    def monitor_then_answer(inp: PolicyInput, skill: Skill) -> Decision:
        nonlocal monitor_turns
        if inp.role == "monitor" and monitor_turns < 6:
            monitor_turns += 1
            return [ToolRequest("check_device_status", {"device_id": f"pump-0{monitor_turns}"})]
        return FinalAnswer(f"{inp.role}: done.\nROOT_CAUSE: blocked_discharge\nDEVICE: valve-12")

    model.decide = monitor_then_answer
    adapter = type(load_adapter(framework))()
    with model.server:
        async with adapter_world(
            framework, MemoryStateStore(), RecordingBus(), model.endpoint(), "malformed-mcp"
        ) as world:
            executor = world.ctx.tools["monitor"][0].executor
            async with PlantMcpHttpServer(PlantToolService(executor)) as server:
                ctx = dataclasses.replace(world.ctx, mcp=server.endpoints())
                outcome = await adapter.run(world.alarm, ctx)
    await adapter.aclose()
    made = model.recorder.tool_calls()
    assert any(not _is_json(c["function"]["arguments"]) for c in made), made
    assert any(c["function"]["name"] != "check_device_status" for c in made), made
    # The executor saw every call the model made, in order, and refused each bad one.
    assert [r.tool for r in world.records] == [c["function"]["name"] for c in made]
    assert all(not r.result.ok for r in world.records if r.tool != "check_device_status")
    assert all(outcome.answers[role].strip() for role in ("monitor", "diagnostician", "operator"))


class _OverlapService(PlantToolService):
    """The run's tool service, counting how many calls it serves at once."""

    in_flight = 0
    most_at_once = 0

    async def call(self, role: Any, tool: str, arguments: Any) -> Any:
        self.in_flight += 1
        self.most_at_once = max(self.most_at_once, self.in_flight)
        try:
            return await super().call(role, tool, arguments)
        finally:
            self.in_flight -= 1


@pytest.mark.slow
@pytest.mark.allow_model_requests
@pytest.mark.parametrize("framework", _frameworks("google-adk"))
async def test_over_mcp_a_replys_tool_calls_reach_the_plant_one_by_one_in_the_models_order(
    framework: str,
) -> None:
    # As the conformance test of the same name, with the tools over MCP and a slow server: a
    # framework that sends a reply's calls together would have several in flight at once.
    model = ScriptedModel()
    model.decide = four_calls_at_once
    adapter = type(load_adapter(framework))()
    store = MemoryStateStore()
    with model.server:
        async with adapter_world(
            framework, store, RecordingBus(), model.endpoint(), "order-mcp"
        ) as world:
            service = _OverlapService(world.ctx.tools["monitor"][0].executor)
            service.delay_s = 0.1
            async with PlantMcpHttpServer(service) as server:
                ctx = dataclasses.replace(world.ctx, mcp=server.endpoints())
                await adapter.run(world.alarm, ctx)
    await adapter.aclose()
    ledger = await read_ledger(store, "order-mcp")
    assert [(e.tool, e.arguments) for e in ledger] == [(c.tool, c.arguments) for c in FOUR_CALLS]
    assert (service.calls, service.most_at_once) == (len(FOUR_CALLS), 1)


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


@pytest.mark.skipif("smolagents" not in INSTALLED, reason="smolagents is not installed here")
async def test_smolagents_connect_timeout_is_an_mcp_timeout_not_the_runs_own() -> None:
    from agentrig.adapters.smolagents.mcp import open_mcp_tools
    from agentrig.core.runner.failures import mcp_hop_failure
    from agentrig.testing.mcp_probe_clients import _in_thread

    # A server that accepts the connection and never answers: the session never comes up.
    accepted: list[asyncio.StreamWriter] = []
    silent = await asyncio.start_server(lambda r, w: accepted.append(w), "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    endpoint = McpEndpoint(
        transport="streamable_http", url=f"http://127.0.0.1:{port}/mcp/monitor", timeout_s=1
    )
    try:
        with pytest.raises(MCP_ERROR, match="Timed out while connecting") as raised:
            await _in_thread(lambda: open_mcp_tools(endpoint))
    finally:
        silent.close()
        for writer in accepted:
            writer.close()
        await silent.wait_closed()
    failure = mcp_hop_failure("smolagents", raised.value)
    assert failure is not None
    assert failure.category == "timeout"
    # mcpadapt left its connecting thread (and its event loop) behind; agentrig closes them.
    assert [t.name for t in threading.enumerate() if t.name.endswith("(_run_loop)")] == []

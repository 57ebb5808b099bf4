"""What each framework's own MCP client does when a tool call goes wrong across the hop.

:func:`probe` runs one case against a real :class:`PlantMcpHttpServer` over a fresh plant and
calls the tool through the framework's MCP client -- the ``mcp`` SDK's ``ClientSession``
(plain), ``langchain-mcp-adapters`` (LangChain and LangGraph), AutoGen's ``McpWorkbench``,
CrewAI's ``MCPNativeTool``, and those in :mod:`.mcp_probe_clients` (OpenAI Agents SDK, Pydantic
AI, Agent Framework, smolagents, Google ADK) -- exactly as its adapter does in ``compare --tools
mcp``. The cases:

=====================  =================================================================
case                   what happens on the server
=====================  =================================================================
``ok``                 ``check_device_status pump-07``: a plain read
``tool_error``         ``restart_device`` on a device that does not exist: the executor
                       answers ``ok: false`` (``isError: true``)
``invalid_argument``   ``set_valve`` with ``open_percent: "wide"``: a wrong type, which a
                       client may refuse itself before the hop
``server_restart``     one good call, the server restarts on the same port (every session
                       gone), then the same call again
``slow_tool``          the server takes :data:`SLOW_TOOL_S` s; the client's timeout is
                       :data:`CLIENT_TIMEOUT_S` s
=====================  =================================================================

Each :class:`HopOutcome` says what the agent's loop would get (the text the model reads, its
error flag, or the exception raised), whether the call reached the executor (the plant's ledger
grew), and how the behaviour is classed (:func:`classify`). ``docs/mcp.md`` has the table;
``benchmarks/mcp_tools.py`` prints it and ``tests/adapters/test_mcp.py`` pins it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from agentrig.core.contract.mcp import McpEndpoint
from agentrig.core.mcp.http import PlantMcpHttpServer
from agentrig.core.mcp.server import PlantToolService
from agentrig.core.plant.ledger import read_ledger
from agentrig.core.plant.plant import Plant
from agentrig.core.runner.failures import FRAMEWORK_NAMES, mcp_hop_failure
from agentrig.core.state import open_state_store
from agentrig.exceptions import ConfigurationError, PlantError
from agentrig.testing.mcp_probe_clients import OPENERS

__all__ = [
    "CASES",
    "CLIENT_TIMEOUT_S",
    "FRAMEWORKS",
    "SLOW_TOOL_S",
    "HopOutcome",
    "call_through",
    "classify",
    "open_client",
    "probe",
]

CASES = ("ok", "tool_error", "invalid_argument", "server_restart", "slow_tool")
FRAMEWORKS = (
    "plain",
    "langchain",
    "autogen",
    "crewai",
    "openai-agents",
    "pydantic-ai",
    "agent-framework",
    "langgraph",
    "smolagents",
    "google-adk",
)
SLOW_TOOL_S = 2.0
CLIENT_TIMEOUT_S = 0.5
Behaviour = Literal["ok", "surfaced", "raised", "lost"]
"""``ok``: the model reads the tool's real result; ``surfaced``: it reads an error it can act on
and the run goes on; ``raised``: the framework raises into the agent's loop (the run errors,
categorised by :func:`~agentrig.core.runner.failures.mcp_hop_failure`); ``lost``: the call
reached the plant but its result never reached the model."""

Call = Callable[[str, dict[str, Any]], Awaitable[tuple[str, bool]]]
"""``call(tool, arguments)`` -> (the text the model reads, whether it is flagged an error)."""

_CALLS: dict[str, tuple[str, dict[str, Any]]] = {
    "ok": ("check_device_status", {"device_id": "pump-07"}),
    "tool_error": ("restart_device", {"device_id": "pump-99", "reason": None}),
    "invalid_argument": ("set_valve", {"device_id": "valve-12", "open_percent": "wide"}),
    "server_restart": ("check_device_status", {"device_id": "pump-07"}),
    "slow_tool": ("check_device_status", {"device_id": "pump-07"}),
}


@dataclass(frozen=True)
class HopOutcome:
    """What one framework's MCP client did in one case."""

    framework: str
    case: str
    text: str | None
    """What the model reads (None when the client raised)."""
    is_error: bool | None
    raised: str | None
    """``Type: message`` of what the client raised, else None."""
    executor_calls: int
    """Calls of the case's tool the plant's ledger recorded (the first good call included for
    ``server_restart``)."""
    seconds: float
    behaviour: Behaviour
    category: str | None
    """For ``raised``: the run's error category (``timeout``, ``interop``, or
    ``framework_exception``); else None."""


def classify(
    framework: str,
    text: str | None,
    is_error: bool | None,
    error: BaseException | None,
    expected_calls: int,
    executor_calls: int,
) -> tuple[Behaviour, str | None]:
    """The behaviour class and, when the client raised, the run's error category."""
    if isinstance(error, ConfigurationError):
        return "raised", "config"  # the client refused to start (agent-framework under mcp<2)
    if error is not None:
        failure = mcp_hop_failure(FRAMEWORK_NAMES.get(framework, framework), error)
        return "raised", failure.category if failure else "framework_exception"
    if is_error:
        return "surfaced", None
    if executor_calls < expected_calls:
        return "lost", None
    return "ok", None


async def probe(framework: str, case: str) -> HopOutcome:
    """Run ``case`` through ``framework``'s MCP client (see the module docstring)."""
    if case not in CASES:
        raise ValueError(f"unknown case {case!r}: one of {', '.join(CASES)}")
    store = open_state_store("memory://")
    run_id = f"probe-{framework}-{case}"
    plant = await Plant.create(store, run_id, "blocked-discharge")
    executor = plant.executor()
    service = PlantToolService(executor)
    tool, arguments = _CALLS[case]
    text: str | None = None
    is_error: bool | None = None
    error: BaseException | None = None
    expected = 1
    try:
        async with PlantMcpHttpServer(service) as server:
            endpoint = server.endpoints(timeout_s=CLIENT_TIMEOUT_S)["operator"]
            started = time.perf_counter()
            try:
                async with open_client(framework, endpoint) as call:
                    if case == "server_restart":
                        await call(tool, arguments)
                        await server.restart()
                        expected = 2
                    if case == "slow_tool":
                        service.delay_s = SLOW_TOOL_S
                    text, is_error = await call(tool, arguments)
            except Exception as raised:  # noqa: BLE001 -- what the client raised is the finding
                error = raised
            seconds = time.perf_counter() - started
            if case == "slow_tool":
                await asyncio.sleep(SLOW_TOOL_S)  # let the server finish the call it still runs
    finally:
        executor.close()
    try:
        ledger = await read_ledger(store, run_id)
    except PlantError:  # no plant: nothing reached the executor
        ledger = []
    executor_calls = sum(1 for entry in ledger if entry.tool == tool)
    await store.close()
    behaviour, category = classify(framework, text, is_error, error, expected, executor_calls)
    return HopOutcome(
        framework=framework,
        case=case,
        text=text,
        is_error=is_error,
        raised=f"{type(error).__name__}: {_first_line(error)}" if error else None,
        executor_calls=executor_calls,
        seconds=round(seconds, 3),
        behaviour=behaviour,
        category=category,
    )


async def call_through(
    framework: str, endpoint: McpEndpoint, tool: str, arguments: dict[str, Any]
) -> tuple[str, bool]:
    """One call of ``tool`` through ``framework``'s MCP client on ``endpoint`` (any transport):
    (the text the model reads, whether it is flagged an error)."""
    async with open_client(framework, endpoint) as call:
        return await call(tool, arguments)


def _first_line(error: BaseException) -> str:
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    return str(error).strip().splitlines()[0][:300] if str(error).strip() else type(error).__name__


@contextlib.asynccontextmanager
async def open_client(framework: str, endpoint: McpEndpoint) -> AsyncIterator[Call]:
    """``framework``'s MCP client on ``endpoint``, as a ``call(tool, arguments)`` function."""
    opener = {
        "plain": _plain,
        "langchain": _langchain,
        "autogen": _autogen,
        "crewai": _crewai,
        "langgraph": _langchain,  # the langgraph adapter loads its tools as langchain's does
        **OPENERS,
    }.get(framework)
    if opener is None:
        raise ValueError(f"no MCP probe for {framework!r}: one of {', '.join(FRAMEWORKS)}")
    async with opener(endpoint) as call:
        yield call


@contextlib.asynccontextmanager
async def _plain(endpoint: McpEndpoint) -> AsyncIterator[Call]:
    from mcp import ClientSession

    from agentrig.core.mcp.compat import mcp_read_timeout, mcp_streams, result_is_error

    async with mcp_streams(endpoint) as (read, write), ClientSession(read, write) as session:
        await session.initialize()

        async def call(tool: str, arguments: dict[str, Any]) -> tuple[str, bool]:
            result = await session.call_tool(
                tool, arguments, read_timeout_seconds=mcp_read_timeout(endpoint.timeout_s)
            )
            text = "".join(b.text for b in result.content if b.type == "text")
            return text, result_is_error(result)

        yield call


@contextlib.asynccontextmanager
async def _langchain(endpoint: McpEndpoint) -> AsyncIterator[Call]:
    from agentrig.adapters.langchain.mcp import mcp_tools

    async with mcp_tools(endpoint) as tools:
        by_name = {tool.name: tool for tool in tools}

        async def call(tool: str, arguments: dict[str, Any]) -> tuple[str, bool]:
            message = await by_name[tool].ainvoke(
                {"name": tool, "args": arguments, "id": "call_probe", "type": "tool_call"}
            )
            content = message.content
            text = (
                content
                if isinstance(content, str)
                else "".join(str(b.get("text", "")) for b in content if isinstance(b, dict))
            )
            return text, message.status == "error"

        yield call


@contextlib.asynccontextmanager
async def _autogen(endpoint: McpEndpoint) -> AsyncIterator[Call]:
    from autogen_ext.tools.mcp import McpWorkbench

    from agentrig.adapters.autogen.mcp import server_params

    bench = McpWorkbench(server_params(endpoint))
    await bench.start()
    try:

        async def call(tool: str, arguments: dict[str, Any]) -> tuple[str, bool]:
            result = await bench.call_tool(tool, arguments)
            return result.to_text(), result.is_error

        yield call
    finally:
        await bench.stop()


@contextlib.asynccontextmanager
async def _crewai(endpoint: McpEndpoint) -> AsyncIterator[Call]:
    from crewai import Agent

    from agentrig.adapters.crewai.mcp import mcp_server

    # CrewAI runs tools in the crew's worker thread; so does the probe (the loop serves the hop).
    agent = Agent(role="operator", goal="probe", backstory="probe", llm="gpt-4o-mini")
    tools = await _in_thread(lambda: agent.get_mcp_tools([mcp_server(endpoint)]))
    by_name = {getattr(tool, "original_tool_name", tool.name): tool for tool in tools}

    async def call(tool: str, arguments: dict[str, Any]) -> tuple[str, bool]:
        result = await _in_thread(lambda: by_name[tool].run(**arguments))
        failed = type(result).__name__ == "ToolFailure"
        return (str(getattr(result, "message", result)), failed)

    yield call


async def _in_thread(work: Callable[[], Any]) -> Any:
    """Run ``work`` on a plain thread (no event loop in it, as in a crew) without blocking ours."""
    done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    loop = asyncio.get_running_loop()

    def target() -> None:
        try:
            value = work()
        except BaseException as error:  # noqa: BLE001 -- handed to the awaiting task
            loop.call_soon_threadsafe(_settle, done, None, error)
        else:
            loop.call_soon_threadsafe(_settle, done, value, None)

    threading.Thread(target=target, name="agentrig-mcp-probe", daemon=True).start()
    return await done


def _settle(future: asyncio.Future[Any], value: Any, error: BaseException | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)

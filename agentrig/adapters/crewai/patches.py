"""Every change agentrig makes to CrewAI itself, and the CrewAI versions it was checked against.

:func:`apply` makes the process-wide changes, once, when a
:class:`~agentrig.adapters.crewai.CrewAIAdapter` is built (importing the adapter changes nothing);
:data:`INTERNALS` lists every private CrewAI attribute the adapter wraps, overrides or uses, and
``tests/adapters/test_patches.py`` checks each still exists on the installed CrewAI.
Per agentrig's rule that a framework's real behaviour is reported, never hidden, each change is
also described in docs/adapters-crewai.md ("What agentrig changes in CrewAI").
"""

from __future__ import annotations

import functools
import json
import logging
from typing import Any

from agentrig.adapters._patching import Internal, PatchSet, VersionRange

# The two overrides live on agentrig's own subclasses: AgentrigCrew and PlantTool (crewai.run).
from agentrig.adapters.crewai.run import PlantTool, active_run, current_tool_call_id
from agentrig.core.contract.optouts import disable_phone_home
from agentrig.exceptions import MissingExtraError

disable_phone_home()  # before CrewAI is imported (see agentrig.core.contract.optouts)
try:
    from crewai import Crew
    from crewai.agents.agent_executor import AgentExecutor
    from crewai.llms.providers.openai.completion import OpenAICompletion
    from crewai.tools import BaseTool
    from crewai.utilities.agent_utils import extract_tool_call_info
except ImportError as error:  # pragma: no cover - exercised in a venv without the extra
    raise MissingExtraError("the CrewAI adapter", "crewai") from error

__all__ = [
    "CHATTY_INFO_PREFIXES",
    "INTERNALS",
    "SUPPORTED",
    "CrewAIChatterFilter",
    "applied",
    "apply",
]

SUPPORTED: tuple[VersionRange, ...] = (
    VersionRange("crewai", minimum="1.15", below="1.16", extra="crewai"),
)
"""The CrewAI versions whose internals below were checked (constraints.txt pins 1.15.30)."""

INTERNALS: tuple[Internal, ...] = (
    Internal(
        AgentExecutor,
        "_execute_single_native_tool_call",
        "wrapped",
        "sets the model's tool-call id in a contextvar around each native tool call, so the "
        "plant tool keys the call by it (CrewAI 1.15 gives a tool only its arguments); in "
        "agentrig's crews, a call naming a tool the agent lacks or with arguments that are not "
        "JSON goes to the plant's executor instead of CrewAI's own 'Tool not found' / parse-error "
        "answer, so it is recorded",
    ),
    Internal(
        AgentExecutor,
        "_should_parallelize_native_tool_calls",
        "wrapped",
        "returns False inside an agentrig run: a reply's tool calls run in the model's order, "
        "not in parallel threads (docs/adapters-crewai.md); other crews are left as they are",
    ),
    Internal(
        Crew,
        "_task_output_handler",
        "overridden",
        "AgentrigCrew replaces CrewAI's kickoff task-output log (a SQLite file under HOME that "
        "concurrent runs overwrite) with a no-op; the outputs go to the StateStore instead",
    ),
    Internal(
        BaseTool,
        "_validate_kwargs",
        "overridden",
        "PlantTool passes the model's arguments unvalidated so a bad call reaches the plant's "
        "executor, which records it and answers the model with the same error text as in "
        "every framework",
    ),
    Internal(
        OpenAICompletion,
        "_client",
        "used",
        "CrewAIAdapter.aclose() closes the openai.OpenAI client a crewai.LLM built for an "
        "OpenAI-compatible endpoint (CrewAI offers no close of its own)",
    ),
)
"""Every private CrewAI attribute the adapter relies on (the tests check each exists)."""


def _install() -> None:
    _pass_tool_call_ids()
    _run_tool_calls_in_order()
    _quiet_crewai_chatter()


_PATCHES = PatchSet(SUPPORTED, install=_install)
apply = _PATCHES.apply
"""Check the installed CrewAI against :data:`SUPPORTED`, then make the process-wide changes
(:func:`_pass_tool_call_ids`, :func:`_run_tool_calls_in_order`, the chatter filter); once."""
applied = _PATCHES.applied


def _pass_tool_call_ids() -> None:
    """Let the tools see the model's tool-call id; send the calls CrewAI cannot run to the executor.

    CrewAI 1.15 gives a tool only its arguments; the id is known one frame up, in
    ``AgentExecutor._execute_single_native_tool_call``. ``AgentExecutor`` is a Flow whose steps
    CrewAI finds by parsing the class's own source, so a subclass would have none; the method is
    wrapped once per process instead. The wrapper sets a contextvar around it and, in agentrig's
    crews only, answers through the plant's executor the calls CrewAI would answer itself (a
    tool the agent lacks: "Tool not found"; arguments that are not JSON: a parse error), so the
    executor records every call the model makes, as in the other adapters.
    """
    original = AgentExecutor._execute_single_native_tool_call
    if getattr(original, "_agentrig_passes_call_id", False):
        return

    @functools.wraps(original)
    def execute_single_native_tool_call(self: Any, tool_call: Any) -> Any:
        info = extract_tool_call_info(tool_call)
        token = current_tool_call_id.set(str(info[0]) if info and info[0] else None)
        try:
            if info and active_run.get() is not None:
                answered = _answer_unrunnable(self, str(info[0]), str(info[1]), info[2])
                if answered is not None:
                    return answered
            return original(self, tool_call)
        finally:
            current_tool_call_id.reset(token)

    execute_single_native_tool_call._agentrig_passes_call_id = True  # type: ignore[attr-defined]
    AgentExecutor._execute_single_native_tool_call = execute_single_native_tool_call  # type: ignore[method-assign]


def _answer_unrunnable(
    agent_executor: Any, call_id: str, name: str, arguments: Any
) -> dict[str, Any] | None:
    """The executor's answer to a call CrewAI cannot run, as CrewAI's own result dict; or None."""
    plant_tools = {
        tool.name: tool
        for tool in getattr(agent_executor, "original_tools", None) or []
        if isinstance(tool, PlantTool)
    }
    if not plant_tools:
        return None
    tool = plant_tools.get(name)
    if tool is not None and (not isinstance(arguments, str) or _is_json(arguments)):
        return None  # CrewAI runs it through PlantTool as usual
    try:
        if tool is not None:
            text = tool.bound.call(arguments, call_id=call_id)
        else:
            # Not one of this role's tools: the executor still answers (unknown tool, or not
            # allowed for the role) under a key it derives, as in the plain baseline.
            bound = next(iter(plant_tools.values())).bound
            text = bound.executor.call_sync(name, arguments, role=bound.role).to_text()
    except Exception as error:
        run = active_run.get()
        if run is not None:
            run.fail(error)  # the plant is unusable: stop the crew, as PlantTool._run does
        raise
    # The shape CrewAI's own method returns (its caller reads these keys).
    return {
        "call_id": call_id,
        "func_name": name,
        "result": text,
        "from_cache": False,
        "original_tool": tool,
    }


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _run_tool_calls_in_order() -> None:
    """Run the tool calls of one model reply one after another, in the model's order.

    CrewAI runs them in parallel threads; every plant tool call advances the plant's clock, so the
    results -- and every later request -- would depend on thread scheduling: runs would not
    repeat, cassettes would not replay, resumed tasks would not meet their ledger again. Only
    agentrig's crews are affected (the override asks the contextvar); the plain baseline applies a
    reply's calls in order too.
    """
    original = AgentExecutor._should_parallelize_native_tool_calls
    if getattr(original, "_agentrig_in_order", False):
        return

    @functools.wraps(original)
    def should_parallelize_native_tool_calls(self: Any, tool_calls: list[Any]) -> bool:
        if active_run.get() is not None:
            return False
        parallel: bool = original(self, tool_calls)
        return parallel

    should_parallelize_native_tool_calls._agentrig_in_order = True  # type: ignore[attr-defined]
    AgentExecutor._should_parallelize_native_tool_calls = should_parallelize_native_tool_calls  # type: ignore[method-assign]


CHATTY_INFO_PREFIXES: tuple[str, ...] = (
    # crewai.llms.providers.utils.common: once per offered tool on every model call (12 tools
    # per operator call: ~100 lines per run).
    "OpenAI: Successfully validated tool",
    # crewai.llms.providers.openai.completion: the usage of a call, which its chat span has.
    "OpenAI API usage:",
)


class CrewAIChatterFilter(logging.Filter):
    """Demote CrewAI's per-call INFO lines to DEBUG.

    CrewAI logs them through the root logger (``logging.info``), so no logger level can quiet
    them without quieting everything; this filter sits on the root logger and passes them on
    only when DEBUG is enabled there.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if (
            record.levelno != logging.INFO
            or record.name != "root"
            or not isinstance(record.msg, str)
            or not record.msg.startswith(CHATTY_INFO_PREFIXES)
        ):
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger().isEnabledFor(logging.DEBUG)


def _quiet_crewai_chatter() -> None:
    root = logging.getLogger()
    if not any(isinstance(existing, CrewAIChatterFilter) for existing in root.filters):
        root.addFilter(CrewAIChatterFilter())

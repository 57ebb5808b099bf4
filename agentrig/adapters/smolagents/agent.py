"""What agentrig plugs into smolagents: plant tools, a role's ToolCallingAgent and its prompts.

- :class:`PlantTool`: a smolagents ``Tool`` over a role's
  :class:`~agentrig.core.contract.agent.BoundTool`; its ``forward`` runs in the agent's worker
  thread and reaches the plant's async executor on the run's event loop (``BoundTool.call``).
- :class:`RoleAgent`: a ``ToolCallingAgent`` whose ``process_tool_calls`` sends every call the
  model makes through the executor, one after another in the model's order, keyed by the model's
  tool-call id (see the method for what smolagents itself would do instead).
- :func:`role_prompt_templates`: smolagents' prompt templates with the role prompt as the system
  prompt, so every framework starts from the same instructions.
"""

from __future__ import annotations

import contextvars
import json
import threading
from collections.abc import Generator, Mapping
from typing import Any

from agentrig.core.contract.agent import BoundTool
from agentrig.core.contract.optouts import disable_phone_home
from agentrig.core.contract.roles import Role
from agentrig.core.llm.transcript import FINAL_ANSWER_TOOL
from agentrig.exceptions import AdapterError, MissingExtraError

disable_phone_home()  # before smolagents (and huggingface_hub) is imported
try:
    from smolagents import ChatMessage, Tool, ToolCallingAgent
    from smolagents.agents import PromptTemplates, ToolOutput
    from smolagents.memory import ActionStep, ToolCall
except ImportError as error:  # pragma: no cover - exercised in a venv without the extra
    raise MissingExtraError("the smolagents adapter", "smolagents") from error

__all__ = [
    "FINAL_ANSWER_RULE",
    "PlantTool",
    "RoleAgent",
    "RunStopped",
    "current_tool_call_id",
    "role_prompt_templates",
    "smolagents_inputs",
]

current_tool_call_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "agentrig_smolagents_tool_call_id", default=None
)
"""The model's id of the tool call :class:`RoleAgent` is running in this thread."""

FINAL_ANSWER_RULE = (
    "When you have your final answer, call the final_answer tool with the whole answer as its "
    "`answer` argument: it is the only way to finish."
)
"""smolagents' one rule the role prompts lack: a ToolCallingAgent ends only by calling final_answer."""

_OUT_OF_STEPS = (
    "You have no more steps. Give your final answer now, as plain text, in the format your "
    "instructions above give."
)


class RunStopped(AdapterError):
    """The run was cancelled or failed while its agent still ran; no more tool calls go out."""


def role_prompt_templates(role_prompt: str) -> PromptTemplates:
    """smolagents' prompt templates for one role: the role prompt first, verbatim.

    The system prompt is the role prompt and :data:`FINAL_ANSWER_RULE` (smolagents' default
    system prompt is 4 KB of few-shot examples with notional tools, and names the tools again;
    the tools go natively in every request). The out-of-steps prompt smolagents sends when
    ``max_steps`` is used up starts with the role prompt too, so it still reads as that role.
    Planning and managed-agent templates are unused (no planning, no managed agents).
    """
    # The system prompt template takes the role prompt as ``instructions`` (a variable), so no
    # Jinja syntax in it is ever interpreted.
    return {
        "system_prompt": "{{ custom_instructions }}\n\n" + FINAL_ANSWER_RULE,
        "planning": {
            "initial_plan": "",
            "update_plan_pre_messages": "",
            "update_plan_post_messages": "",
        },
        "managed_agent": {"task": "{{ task }}", "report": "{{ final_answer }}"},
        "final_answer": {
            "pre_messages": role_prompt,  # sent as it is (smolagents renders only post_messages)
            "post_messages": _OUT_OF_STEPS,
        },
    }


def smolagents_inputs(parameters: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """A plant tool's JSON schema properties as smolagents ``Tool.inputs``.

    smolagents builds the schema it sends from ``inputs`` (``models.get_tool_json_schema``): a
    property is required unless ``nullable``. The plant's optional arguments are
    ``anyOf [T, null]``; here they become ``type: T, nullable: true`` (enums kept).
    """
    inputs: dict[str, dict[str, Any]] = {}
    for name, schema in parameters.get("properties", {}).items():
        entry = {key: value for key, value in schema.items() if key != "anyOf"}
        branches = schema.get("anyOf")
        if branches:
            kinds = [branch for branch in branches if branch.get("type") != "null"]
            entry["type"] = kinds[0].get("type", "any") if len(kinds) == 1 else "any"
            if len(kinds) == 1 and "enum" in kinds[0]:
                entry["enum"] = kinds[0]["enum"]
            entry["nullable"] = len(kinds) < len(branches)
        entry.setdefault("type", "any")
        entry.setdefault("description", name)
        inputs[name] = entry
    return inputs


class PlantTool(Tool):  # type: ignore[misc]  # smolagents is untyped
    """A plant tool of one role: every call goes through the run's executor via BoundTool."""

    # Placeholders: each instance sets its own (smolagents validates them after __init__).
    name = "plant_tool"
    description = "A plant tool."
    inputs: dict[str, dict[str, Any]] = {}
    output_type = "string"
    # forward takes the model's arguments as they came: the executor validates and records them.
    skip_forward_signature_validation = True

    def __init__(self, bound: BoundTool, stop: threading.Event) -> None:
        self.name = bound.name
        self.description = bound.description
        self.inputs = smolagents_inputs(bound.parameters())
        self.bound = bound
        self.stop = stop
        super().__init__()

    def forward(self, *args: Any, **kwargs: Any) -> str:
        if self.stop.is_set():
            raise RunStopped(f"the agentrig run stopped before {self.name} was called")
        arguments: Any = kwargs if kwargs or not args else args[0]
        if not isinstance(arguments, (dict, str)):
            arguments = json.dumps(arguments)  # a JSON array or number: the executor refuses it
        return self.bound.call(arguments, call_id=current_tool_call_id.get())


class RoleAgent(ToolCallingAgent):  # type: ignore[misc]  # smolagents is untyped
    """A ``ToolCallingAgent`` for one role whose tool calls all reach the plant's executor.

    Args:
        role: the role it plays (also its smolagents ``name``).
        tools: the role's plant tools.
        stop: set when the run is over; no tool call is made after it.
        mcp_tools: with ``--tools mcp``, the role's tools from its MCP server (smolagents'
            ``MCPClient``), offered and called instead of ``tools``; ``tools`` still answer the
            calls no MCP request can carry (arguments that are not a JSON object).
        **kwargs: passed on to ``ToolCallingAgent`` (model, prompt templates, max_steps ...).
    """

    def __init__(
        self,
        role: Role,
        tools: list[PlantTool],
        stop: threading.Event,
        *,
        mcp_tools: list[Tool] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(tools=list(tools if mcp_tools is None else mcp_tools), name=role, **kwargs)
        self.role: Role = role
        self.plant_tools = {tool.name: tool for tool in tools}
        self.mcp_tools = None if mcp_tools is None else {tool.name: tool for tool in mcp_tools}
        self.stop = stop

    def process_tool_calls(
        self, chat_message: ChatMessage, memory_step: ActionStep
    ) -> Generator[ToolCall | ToolOutput]:
        """Run the reply's tool calls one after another, in the model's order, through the executor.

        smolagents 1.26 (``agents.py`` ``ToolCallingAgent.process_tool_calls``) runs a reply's
        calls in parallel threads, writes them back sorted by call id rather than in the model's
        order, answers an unknown tool or arguments its schema rejects itself (``Unknown tool``,
        ``AgentToolCallError``) and gives a tool no call id. Here every call reaches the plant's
        executor (which validates and records it, and keys it by the model's id), in order; the
        memory step is filled as smolagents fills it. A ``final_answer`` call whose arguments are
        not ``{"answer": ...}`` goes to the executor too, which refuses it (smolagents would take
        the broken text as the role's answer).
        """
        calls = [
            ToolCall(name=call.function.name, arguments=call.function.arguments, id=call.id)
            for call in chat_message.tool_calls or []
        ]
        yield from calls
        outputs: list[ToolOutput] = []
        for call in calls:
            output = self._run_call(call)
            outputs.append(output)
            yield output
        memory_step.tool_calls = calls
        memory_step.observations = "\n".join(output.observation for output in outputs)

    def _run_call(self, call: ToolCall) -> ToolOutput:
        if self.stop.is_set():
            raise RunStopped(f"the agentrig run stopped before the {self.role}'s {call.name} call")
        arguments = call.arguments if call.arguments is not None else {}
        if call.name == FINAL_ANSWER_TOOL and _is_answer(arguments):
            answer = str(arguments["answer"])
            return ToolOutput(
                id=call.id, output=answer, is_final_answer=True, observation=answer, tool_call=call
            )
        token = current_tool_call_id.set(call.id)
        try:
            tool: Tool | None = self.plant_tools.get(call.name)
            if self.mcp_tools is not None and isinstance(arguments, dict):
                tool = self.mcp_tools.get(call.name)
            if tool is not None:
                text = str(tool(arguments))
            else:
                # Not one of this role's tools (or a broken final_answer): the executor still
                # answers -- unknown tool, or not allowed for the role -- and records the call.
                any_tool = next(iter(self.plant_tools.values())).bound
                raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
                text = any_tool.executor.call_sync(call.name, raw, role=self.role).to_text()
        finally:
            current_tool_call_id.reset(token)
        return ToolOutput(
            id=call.id, output=text, is_final_answer=False, observation=text, tool_call=call
        )


def _is_answer(arguments: Any) -> bool:
    return isinstance(arguments, dict) and set(arguments) == {"answer"}

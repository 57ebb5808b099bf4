"""From a Chat Completions request to what the policy decides on.

One request says, in its own framework's way, who the agent is, what it was told and what its
tools returned so far. :func:`understand` reads the shapes that LangChain ``create_agent``,
AutoGen AgentChat (AssistantAgent, RoundRobinGroupChat, SelectorGroupChat, reflection calls),
CrewAI (native tools, and its ReAct text format), smolagents (native tools, its history written
as text: :mod:`agentrig.core.llm.transcript`) and a plain ``openai`` loop send, and returns a
:class:`Conversation`:

- ``role``: the first workflow role word of the system/developer prompt (role prompts name their
  role in their first sentence; CrewAI's say "You are monitor."), else a "You are ... <role>"
  opening of the first user message, else None;
- ``task``: every user message in order -- the alarm, and in group chats the other agents'
  messages, which AutoGen sends as user messages with a ``name`` -- without framework boilerplate;
- ``exchanges``: this assistant's own tool calls paired with the results answering them;
- ``tools``: the tools offered (``tools``, or those listed in a ReAct prompt).

Failed calls that were malformed against the offered tools -- an unknown tool, arguments that are
not a JSON object, a missing required argument, an id found nowhere earlier in the conversation --
are *slips*. The policy does not see them (they changed nothing in the plant); like a real model
that reads the error, it simply makes the call again, properly.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, Literal

from agentrig.core.contract.roles import HANDOFF_MARKER, handoff_header
from agentrig.core.llm.brain import Observation, Role
from agentrig.core.llm.protocol import ChatCompletionRequest, ChatMessage, message_text
from agentrig.core.llm.react import (
    clean_task_text,
    is_crewai_meta_prompt,
    is_force_final_answer,
    is_react_prompt,
    react_steps,
    react_tool_schemas,
)
from agentrig.core.llm.results import is_error_result, parse_arguments, parse_tool_result
from agentrig.core.llm.selector import SelectorPrompt, parse_selector_prompt, role_of
from agentrig.core.llm.transcript import (
    is_transcript_note,
    transcript_calls,
    transcript_task_text,
)

__all__ = ["Conversation", "ConversationMode", "Exchange", "ToolSpec", "detect_role", "understand"]

ConversationMode = Literal["tools", "react", "selector"]

_ROLE_WORDS: dict[str, Role] = {
    "monitor": "monitor",
    "diagnostician": "diagnostician",
    "operator": "operator",
}
_FIRST_ROLE_WORD = re.compile(r"\b(monitor|diagnostician|operator)\b", re.IGNORECASE)
_YOU_ARE_ROLE = re.compile(
    r"^\s*You are\b[^.\n]{0,60}?\b(monitor|diagnostician|operator)\b", re.IGNORECASE
)
# Values that look like equipment ids (pump-07, PT_101, hx-01): the kind a sloppy model mistypes.
_ID_LIKE = re.compile(r"^[A-Za-z][A-Za-z0-9]*(?:[-_.][A-Za-z0-9]+)*[-_]\d+[A-Za-z]?$")
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*[A-Za-z0-9]")


@dataclass(frozen=True)
class ToolSpec:
    """A tool offered to the model: its name and JSON-schema parameters."""

    name: str
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def required(self) -> list[str]:
        required = self.parameters.get("required", [])
        return [str(name) for name in required] if isinstance(required, list) else []

    @property
    def truly_required(self) -> list[str]:
        """Required arguments that may not be null (strict schemas list optional ones as required)."""
        properties = self.parameters.get("properties", {})
        return [
            name
            for name in self.required
            if not (isinstance(properties, dict) and _allows_null(properties.get(name, {})))
        ]


def _allows_null(schema: Any) -> bool:
    if not isinstance(schema, dict):
        return False
    kind = schema.get("type")
    if kind == "null" or (isinstance(kind, list) and "null" in kind):
        return True
    return any(_allows_null(branch) for branch in schema.get("anyOf", []) or [])


@dataclass(frozen=True)
class Exchange:
    """One tool call this assistant made and the result it got (``result_text`` None: no answer)."""

    call_id: str | None
    tool: str
    raw_arguments: str
    arguments: dict[str, Any] | None  # None when the arguments were not a JSON object
    result_text: str | None
    result: Any
    slip: bool = False


@dataclass(frozen=True)
class Conversation:
    """What one request says, read into the policy's terms (see the module docstring)."""

    mode: ConversationMode
    role: Role | None
    task: str
    exchanges: list[Exchange]
    tools: list[ToolSpec]
    first_user_text: str
    must_answer: bool = False  # the framework demands a final answer now (CrewAI force-final)
    selector: SelectorPrompt | None = None

    @property
    def tool_names(self) -> list[str]:
        return [tool.name for tool in self.tools]

    def tool(self, name: str) -> ToolSpec | None:
        return next((tool for tool in self.tools if tool.name == name), None)

    def observations(self) -> list[Observation]:
        """The answered, non-slip exchanges, as the policy sees them."""
        return [
            Observation(tool=ex.tool, arguments=ex.arguments or {}, result=ex.result)
            for ex in self.exchanges
            if ex.result_text is not None and not ex.slip
        ]

    @property
    def slip_count(self) -> int:
        return sum(1 for ex in self.exchanges if ex.slip)

    @property
    def last_was_slip(self) -> bool:
        return bool(self.exchanges) and self.exchanges[-1].slip


@lru_cache(maxsize=1024)
def detect_role(system_text: str, first_user_text: str = "") -> Role | None:
    """The agent's role: the first role word of its system prompt, else a "You are ..." opening."""
    match = _FIRST_ROLE_WORD.search(system_text)
    if match is None:
        match = _YOU_ARE_ROLE.search(first_user_text)
    return _ROLE_WORDS[match.group(1).lower()] if match else None


def understand(request: ChatCompletionRequest) -> Conversation:
    """Read a request into a :class:`Conversation` (see the module docstring)."""
    messages = request.messages
    texts = [message_text(m.content) for m in messages]
    user_texts = [t for m, t in zip(messages, texts, strict=True) if m.role == "user"]
    first_user = user_texts[0] if user_texts else ""

    selector = parse_selector_prompt(user_texts)
    if selector is not None:
        return Conversation("selector", None, first_user, [], [], first_user, selector=selector)

    system_text = "\n".join(
        t for m, t in zip(messages, texts, strict=True) if m.role in ("system", "developer")
    )
    turns = [(m.role, t) for m, t in zip(messages, texts, strict=True)]
    written = transcript_calls(turns)
    first_user = transcript_task_text(first_user)
    role = detect_role(system_text, first_user)
    task = _task(messages, texts, transcript=written is not None)
    must_answer = any(is_force_final_answer(t) for t in user_texts)

    if not request.tools and is_react_prompt(system_text + "\n" + first_user):
        schemas = react_tool_schemas(system_text + "\n" + first_user)
        tools = [ToolSpec(name, schema) for name, schema in schemas.items()]
        exchanges = [
            _exchange(None, step.tool, step.raw_input, step.observation)
            for step in react_steps(turns)
        ]
        mode: ConversationMode = "react"
    else:
        tools = [
            ToolSpec(t.function.name, t.function.parameters or {}) for t in request.tools or []
        ]
        if written is not None:
            exchanges = [
                _exchange(call_id, name, _raw_arguments(arguments), result)
                for call_id, name, arguments, result in written
            ]
        else:
            exchanges = _native_exchanges(messages, texts)
        mode = "tools"
    exchanges = _mark_slips(exchanges, tools, system_text + "\n" + task)
    return Conversation(mode, role, task, exchanges, tools, first_user, must_answer)


def _raw_arguments(arguments: Any) -> str:
    # smolagents keeps arguments it could parse as a dict, and the model's text otherwise.
    return arguments if isinstance(arguments, str) else json.dumps(arguments)


def _task(messages: list[ChatMessage], texts: list[str], *, transcript: bool = False) -> str:
    """The user messages in order, other agents' under a handoff header like build_task's."""
    parts: list[str] = []
    for message, text in zip(messages, texts, strict=True):
        if message.role != "user" or is_crewai_meta_prompt(text):
            continue
        if transcript and is_transcript_note(text):
            continue  # a tool result or error smolagents wrote as a user message
        text = transcript_task_text(text)
        cleaned = clean_task_text(text)
        if not cleaned:
            continue
        if message.name and message.name != "user":
            # AutoGen group chats: another agent's message, sent as a user message named after it.
            role = role_of(message.name)
            header = handoff_header(role) if role else f"{HANDOFF_MARKER} {message.name} ---"
            cleaned = f"{header}\n{cleaned}"
        parts.append(cleaned)
    return "\n\n".join(parts)


def _exchange(call_id: str | None, tool: str, raw: str, result_text: str | None) -> Exchange:
    result = parse_tool_result(result_text) if result_text is not None else None
    return Exchange(call_id, tool, raw, parse_arguments(raw), result_text, result)


def _native_exchanges(messages: list[ChatMessage], texts: list[str]) -> list[Exchange]:
    """Assistant tool calls paired with the tool messages answering them, in call order."""
    calls: list[tuple[str | None, str, str]] = []
    answers: dict[int, str] = {}
    pending: dict[str, list[int]] = {}  # call id -> unanswered call positions (ids may repeat)
    last_function_call: int | None = None
    for message, text in zip(messages, texts, strict=True):
        if message.role == "assistant":
            for call in message.tool_calls or []:
                pending.setdefault(call.id, []).append(len(calls))
                calls.append((call.id, call.function.name, call.function.arguments))
            if message.function_call is not None:
                last_function_call = len(calls)
                calls.append((None, message.function_call.name, message.function_call.arguments))
        elif message.role == "tool" and message.tool_call_id is not None:
            positions = pending.get(message.tool_call_id)
            if positions:
                answers[positions.pop(0)] = text
        elif message.role == "function" and last_function_call is not None:
            answers[last_function_call] = text
            last_function_call = None
    return [
        _exchange(call_id, name, raw, answers.get(position))
        for position, (call_id, name, raw) in enumerate(calls)
    ]


def _mark_slips(exchanges: list[Exchange], tools: list[ToolSpec], context: str) -> list[Exchange]:
    """Flag the calls that failed because they were malformed (see the module docstring)."""
    offered = {tool.name: tool for tool in tools}
    marked: list[Exchange] = []
    for index, ex in enumerate(exchanges):
        if (offered and ex.tool not in offered) or ex.arguments is None:
            marked.append(replace(ex, slip=True))
            continue
        if ex.result_text is None or not is_error_result(ex.result):
            marked.append(ex)
            continue
        spec = offered.get(ex.tool)
        missing = spec is not None and any(name not in ex.arguments for name in spec.required)
        id_values = [v for v in ex.arguments.values() if isinstance(v, str) and _ID_LIKE.match(v)]
        made_up = bool(id_values) and not set(id_values) <= _known_ids(context, exchanges[:index])
        marked.append(replace(ex, slip=True) if missing or made_up else ex)
    return marked


def _known_ids(context: str, earlier: list[Exchange]) -> set[str]:
    """Words of the prompt and of earlier successful results: the ids the model has seen."""
    known = set(_words(context))
    for ex in earlier:
        # Error texts echo the bad id back ("unknown device 'pump-7'"): they do not count.
        if ex.result_text is not None and not is_error_result(ex.result):
            known.update(_words(ex.result_text))
    return known


@lru_cache(maxsize=4096)
def _words(text: str) -> frozenset[str]:
    # Cached: an agent's prompt and earlier results come back in every request of its run.
    return frozenset(_TOKEN.findall(text))

"""The reference model proper: one Chat Completions request in, one :class:`Completion` out.

It reads the conversation (``conversation.py``), asks the brain (the plant's expert policy, at the
persona's skill) what to do, and renders the decision in the request's terms: tool calls or text,
CrewAI's ReAct format, a speaker name for AutoGen's selector, a ``final_answer`` call where
smolagents offers that tool, JSON for ``response_format``; then
honours ``tool_choice``, ``parallel_tool_calls``, ``stop`` and ``max_tokens``. It is a pure
function of (request, persona, seed): no clock, no global state.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import structlog
from pydantic_core import to_json

from agentrig.core.llm.brain import Decide, FinalAnswer, PolicyInput, ToolRequest, default_decide
from agentrig.core.llm.conversation import Conversation, ToolSpec, understand
from agentrig.core.llm.determinism import digest
from agentrig.core.llm.personas import Persona
from agentrig.core.llm.protocol import (
    ChatCompletionRequest,
    Completion,
    NamedToolChoice,
    OutgoingToolCall,
    message_text,
)
from agentrig.core.llm.react import react_action, react_final_answer
from agentrig.core.llm.schemas import instance_for_schema, json_answer
from agentrig.core.llm.selector import next_speaker
from agentrig.core.llm.tokens import (
    count_completion_tokens,
    count_prompt_tokens,
    count_tokens,
    split_tokens,
)
from agentrig.core.llm.transcript import FINAL_ANSWER_TOOL

__all__ = ["ReferenceModel", "ReplyPlan"]

log = structlog.get_logger(__name__)

_DEVICE_MENTION = re.compile(r"\b[a-z][a-z0-9]*-\d+[a-z]?\b")
_READ_ONLY_PREFIXES = ("check", "read", "get", "list")


@dataclass(frozen=True)
class ReplyPlan:
    """What the model will say before rendering: text, or calls as (name, arguments JSON)."""

    text: str | None
    calls: list[tuple[str, str]]


class ReferenceModel:
    """Answers chat requests from the conversation alone, through a decide() function.

    Args:
        decide: the brain; defaults to ``agentrig.core.expert.policy.decide`` (imported lazily).
        seed: mixed into every persona draw, with the request's own ``seed``.
    """

    def __init__(self, decide: Decide | None = None, *, seed: int = 0) -> None:
        self._decide = decide
        self.seed = seed

    @property
    def decide(self) -> Decide:
        if self._decide is None:
            self._decide = default_decide()
        return self._decide

    def reply(
        self, request: ChatCompletionRequest, persona: Persona, request_key: str
    ) -> Completion:
        """The model's reply to ``request`` (``request_key``: a digest of the request body)."""
        conversation = understand(request)
        plan = self.plan(request, conversation, persona, request_key)
        return self._render(request, conversation, plan, request_key)

    def plan(
        self,
        request: ChatCompletionRequest,
        conversation: Conversation,
        persona: Persona,
        request_key: str,
    ) -> ReplyPlan:
        """Decide what to say: consult the brain, then apply tool_choice and the persona."""
        if conversation.selector is not None:
            return ReplyPlan(next_speaker(conversation.selector), [])
        seed = (self.seed, request.seed)
        answer_only = conversation.must_answer or request.tool_choice == "none"
        # smolagents offers a final_answer tool beside the role's: the way it answers, not a tool.
        answer_tool = not answer_only and conversation.tool(FINAL_ANSWER_TOOL) is not None
        tools = [] if answer_only else conversation.tool_names
        tools = [name for name in tools if name != FINAL_ANSWER_TOOL]
        policy_input = PolicyInput(
            role=conversation.role,
            task=conversation.task,
            observations=conversation.observations(),
            tools=tools,
        )
        decision = self.decide(policy_input, persona.skill(conversation.first_user_text, seed))
        if isinstance(decision, FinalAnswer) or not decision:
            text = decision.text if isinstance(decision, FinalAnswer) else ""
            if answer_tool:
                return ReplyPlan(None, [(FINAL_ANSWER_TOOL, _arguments_json({"answer": text}))])
            forced = self._forced_call(request, conversation, answer_only)
            return ReplyPlan(None, [forced]) if forced else ReplyPlan(text, [])
        if answer_only or not tools:
            log.warning(
                "policy asked for tools where it must answer", tools=tools, role=conversation.role
            )
            return ReplyPlan(_describe_next_steps(decision), [])
        requests = _apply_named_choice(request, conversation, decision)
        if conversation.mode == "react" or request.parallel_tool_calls is False:
            requests = requests[:1]
        calls = [(r.tool, _arguments_json(r.arguments)) for r in requests]
        slipped = persona.slip_call(
            tool=requests[0].tool,
            arguments=requests[0].arguments,
            required=_required(conversation.tool(requests[0].tool)),
            offered=conversation.tool_names,
            request_key=request_key,
            conversation_key=conversation.first_user_text,
            seed=seed,
            slips_so_far=conversation.slip_count,
            last_was_slip=conversation.last_was_slip,
        )
        if slipped is not None:
            kind, call = slipped
            log.debug("sloppy persona slips", kind=kind.value, tool=call.tool)
            calls[0] = (call.tool, call.arguments_json)
        return ReplyPlan(None, calls)

    def _forced_call(
        self, request: ChatCompletionRequest, conversation: Conversation, answer_only: bool
    ) -> tuple[str, str] | None:
        """A call that tool_choice demands when the policy wanted to answer, or None."""
        choice = request.tool_choice
        if answer_only or not conversation.tools or choice in (None, "auto", "none"):
            return None
        if isinstance(choice, NamedToolChoice):
            spec = conversation.tool(choice.function.name) or ToolSpec(choice.function.name)
        else:
            spec = next(
                (t for t in conversation.tools if t.name.startswith(_READ_ONLY_PREFIXES)),
                conversation.tools[0],
            )
        return spec.name, _arguments_json(_fill_arguments(spec, conversation))

    def _render(
        self,
        request: ChatCompletionRequest,
        conversation: Conversation,
        plan: ReplyPlan,
        request_key: str,
    ) -> Completion:
        prompt_tokens = _prompt_tokens(request)
        if conversation.mode == "react":
            if plan.calls:
                tool, arguments = plan.calls[0]
                text = react_action(tool, arguments, f"I should use {tool} next.")
            else:
                text = react_final_answer(plan.text or "")
            plan = ReplyPlan(text, [])
        if plan.text is not None and not plan.calls:
            content = _formatted(request, plan.text)
            completion = Completion(content=content, prompt_tokens=prompt_tokens)
            _apply_stop(completion, request.stop_sequences)
        else:
            completion = Completion(
                content=None,
                tool_calls=[
                    OutgoingToolCall(
                        f"call_{digest('call', request_key, index, size=12)}", name, args
                    )
                    for index, (name, args) in enumerate(plan.calls)
                ],
                finish_reason="tool_calls",
                prompt_tokens=prompt_tokens,
            )
        completion.completion_tokens = count_completion_tokens(
            completion.content, [(c.name, c.arguments) for c in completion.tool_calls]
        )
        if request.token_limit is not None:
            truncate(completion, request.token_limit)
        return completion


def _formatted(request: ChatCompletionRequest, text: str) -> str:
    fmt = request.response_format
    if fmt is None or fmt.type == "text":
        return text
    schema = fmt.json_schema.json_schema if fmt.json_schema else None
    return json_answer(text, schema)


def _apply_stop(completion: Completion, stops: list[str]) -> None:
    if not stops or completion.content is None:
        return
    cut = min((i for i in (completion.content.find(s) for s in stops) if i != -1), default=-1)
    if cut != -1:
        completion.content = completion.content[:cut]


def truncate(completion: Completion, limit: int) -> None:
    """Cut a reply to ``limit`` completion tokens, as OpenAI does: ``finish_reason: length``."""
    if completion.completion_tokens <= limit:
        return
    budget = limit
    if completion.content is not None:
        completion.content = "".join(split_tokens(completion.content)[:budget])
    kept: list[OutgoingToolCall] = []
    for call in completion.tool_calls:
        cost = 3 + count_tokens(call.name)
        if budget <= cost:
            break
        pieces = split_tokens(call.arguments)
        arguments = "".join(pieces[: budget - cost])
        kept.append(OutgoingToolCall(call.id, call.name, arguments))
        budget -= cost + len(pieces)
        if budget <= 0:
            break
    completion.tool_calls = kept
    completion.finish_reason = "length"
    completion.completion_tokens = limit


def _prompt_tokens(request: ChatCompletionRequest) -> int:
    messages: list[tuple[str, str | None]] = []
    for message in request.messages:
        text = message_text(message.content)
        for call in message.tool_calls or []:
            text += call.function.name + call.function.arguments
        messages.append((text, message.name))
    tools = [
        # pydantic_core's serializer: compact JSON like json.dumps(separators=(",", ":")), 5x faster
        t.function.name
        + (t.function.description or "")
        + (to_json(t.function.parameters).decode() if t.function.parameters else "")
        for t in request.tools or []
    ]
    return count_prompt_tokens(messages, tools)


def _arguments_json(arguments: dict[str, Any]) -> str:
    return json.dumps(arguments, separators=(", ", ": "), ensure_ascii=False)


def _required(spec: ToolSpec | None) -> list[str]:
    return spec.truly_required if spec is not None else []


def _apply_named_choice(
    request: ChatCompletionRequest, conversation: Conversation, decision: list[ToolRequest]
) -> list[ToolRequest]:
    choice = request.tool_choice
    if not isinstance(choice, NamedToolChoice):
        return decision
    named = [r for r in decision if r.tool == choice.function.name]
    if named:
        return named
    spec = conversation.tool(choice.function.name) or ToolSpec(choice.function.name)
    return [ToolRequest(tool=spec.name, arguments=_fill_arguments(spec, conversation))]


def _fill_arguments(spec: ToolSpec, conversation: Conversation) -> dict[str, Any]:
    """Required arguments for a forced call: device ids from the task, the rest schema defaults."""
    devices = _DEVICE_MENTION.findall(conversation.task)
    properties = spec.parameters.get("properties", {})
    arguments: dict[str, Any] = {}
    for name in spec.required:
        if "device" in name and devices:
            arguments[name] = devices[0]
        else:
            schema = properties.get(name, {}) if isinstance(properties, dict) else {}
            arguments[name] = instance_for_schema(schema, text=conversation.task[:200], name=name)
    return arguments


def _describe_next_steps(decision: list[ToolRequest]) -> str:
    steps = "; ".join(f"{r.tool}({_arguments_json(r.arguments)})" for r in decision)
    return f"I cannot call tools here. The next steps would be: {steps}."

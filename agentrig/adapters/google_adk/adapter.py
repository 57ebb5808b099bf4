"""The Google ADK adapter: a ``SequentialAgent`` of three role steps, each an ``LlmAgent``.

ADK's idiom for a fixed pipeline is a ``SequentialAgent`` whose sub-agents run in order on one
session, passing results through the session state (``output_key``). Each role is a custom agent
(:class:`_RoleStep`, ADK's documented way to put code around an agent) holding the role's
``LlmAgent``: it takes the handoff from the bus, puts the role's task in the session as a user
event, and runs the ``LlmAgent`` inside the role's ``invoke_agent`` span. The ``LlmAgent`` sees
only its own turn (``include_contents="none"``), so every framework's role is asked the same thing.

The model is ADK's ``LiteLlm`` (``openai/<model>`` at the endpoint's base URL) given the adapter's
own ``AsyncOpenAI`` client, so the requests go through the openai SDK, one client per event loop.
The session lives in the shared store (:mod:`.sessions`), written after every event, so a killed
run resumes at the role it was in. With ``--tools mcp`` each role's tools come from its MCP server
through ADK's own ``McpToolset`` (:mod:`.mcp`). See docs/adapters-google-adk.md.
"""

from __future__ import annotations

import asyncio
import json
import logging
import warnings
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass, field
from importlib.metadata import version
from typing import Any

from pydantic import PrivateAttr

from agentrig.adapters._loop_cache import LoopClients, endpoint_digest
from agentrig.core.contract.agent import BoundTool, Outcome, RunContext, no_final_answer
from agentrig.core.contract.optouts import disable_phone_home
from agentrig.core.contract.roles import ROLES, Role
from agentrig.core.llm.endpoints import ModelEndpoint
from agentrig.core.messaging.message import Message
from agentrig.exceptions import AdapterError, MissingExtraError

disable_phone_home()  # before LiteLLM is imported: it fetches its model price map on import

try:
    import litellm
    from google.adk.agents import BaseAgent, LlmAgent, SequentialAgent
    from google.adk.agents.callback_context import CallbackContext
    from google.adk.agents.invocation_context import InvocationContext
    from google.adk.events.event import Event
    from google.adk.events.event_actions import EventActions
    from google.adk.models.lite_llm import LiteLlm
    from google.adk.models.llm_request import LlmRequest
    from google.adk.models.llm_response import LlmResponse
    from google.adk.runners import Runner
    from google.adk.tools.base_tool import BaseTool
    from google.adk.tools.tool_context import ToolContext
    from google.genai import types
    from openai import AsyncOpenAI

    from agentrig.adapters.google_adk import patches
    from agentrig.adapters.google_adk.sessions import StoreSessionService
except ImportError as error:
    raise MissingExtraError("the Google ADK adapter", "google-adk") from error

__all__ = ["APP_NAME", "USER_ID", "GoogleADKAdapter", "PlantTool"]

APP_NAME = "agentrig"
USER_ID = "agentrig"
_HANDOFFS = "agentrig_handoffs"
"""Session state: the handoffs mirrored on the bus so far, as the Messages received."""


def _quiet_framework_logs() -> None:
    # LiteLLM logs every completion at INFO ("LiteLLM completion() model= ..."), ADK's runner its
    # opening and closing; agentrig's spans carry the steps. WARNING, unless the application chose
    # a level for them. On an error LiteLLM also *prints* "Give Feedback / Get Help" lines to
    # stdout, which would break `agentrig run --json`; suppress_debug_info is its setting for that.
    for name in ("LiteLLM", "google_adk"):
        framework_logger = logging.getLogger(name)
        if framework_logger.level == logging.NOTSET:
            framework_logger.setLevel(logging.WARNING)
    litellm.suppress_debug_info = True


def _answer_key(role: str) -> str:
    return f"{role}_answer"


@dataclass
class _Run:
    """What the role steps of one run share: the context, the alarm and the first tool failure."""

    ctx: RunContext
    alarm: str
    task: Message
    order: asyncio.Lock = field(default_factory=asyncio.Lock)
    failure: BaseException | None = None
    model_calls: dict[str, int] = field(default_factory=dict)

    def record(self, error: BaseException) -> None:
        if self.failure is None:
            self.failure = error


class PlantTool(BaseTool):
    """A plant tool as an ADK tool: its declaration is the catalogue's JSON schema.

    The call id ADK gives the call (the model's own id) becomes the executor's idempotency key, so
    a resumed role repeating a call the store already holds does not act twice. A response's calls
    run in the model's order: ADK starts them together, the lock lets them through one by one.
    """

    def __init__(self, bound: BoundTool, run: _Run) -> None:
        super().__init__(name=bound.name, description=bound.description)
        self._bound = bound
        self._run = run

    def _get_declaration(self) -> types.FunctionDeclaration:
        return types.FunctionDeclaration(
            name=self._bound.name,
            description=self._bound.description,
            parameters_json_schema=self._bound.parameters(),
        )

    async def run_async(self, *, args: dict[str, Any], tool_context: ToolContext) -> Any:
        async with self._run.order:
            try:
                text = await self._bound.acall(
                    _arguments(args), call_id=tool_context.function_call_id
                )
            except Exception as error:
                # ADK hands a tool's exception on as the run's; kept to raise it from run().
                self._run.record(error)
                raise
        return json.loads(text)


def _arguments(args: Mapping[str, Any]) -> dict[str, Any] | str:
    raw = args.get(patches.RAW_ARGUMENTS)
    return raw if isinstance(raw, str) else dict(args)


class _RoleStep(BaseAgent):
    """One role: its handoff from the bus, its task as a user event, its ``LlmAgent`` turn."""

    role: Role
    _run: _Run = PrivateAttr()

    def bind(self, run: _Run) -> _RoleStep:
        self._run = run
        return self

    async def _run_async_impl(self, ctx: InvocationContext) -> AsyncGenerator[Event, None]:
        run, role = self._run, self.role
        state = ctx.session.state
        if _answer_key(role) in state:
            return  # answered before the run was stopped: resumed past it
        index = ROLES.index(role)
        handoffs = [Message.model_validate(m) for m in state.get(_HANDOFFS, [])]
        if index > 0 and len(handoffs) < index:
            sender = ROLES[index - 1]
            previous = handoffs[-1] if handoffs else run.task
            received = await run.ctx.handoffs.hand_over(
                sender, role, str(state[_answer_key(sender)]), causation=previous
            )
            handoffs.append(received)
            yield Event(
                author=self.name,
                invocation_id=ctx.invocation_id,
                actions=EventActions(
                    state_delta={_HANDOFFS: [m.model_dump(mode="json") for m in handoffs]}
                ),
            )
        task = run.ctx.task_for(
            run.alarm,
            [(ROLES[i], run.ctx.handoffs.text_of(m)) for i, m in enumerate(handoffs[:index])],
        )
        yield Event(
            author="user",
            invocation_id=ctx.invocation_id,
            content=types.Content(role="user", parts=[types.Part(text=task)]),
        )
        answer: str | None = None
        with run.ctx.telemetry.agent(role):
            async for event in self.sub_agents[0].run_async(ctx):
                yield event
                if event.author == role and event.is_final_response() and event.content:
                    answer = "".join(part.text or "" for part in event.content.parts or [])
        if run.failure is not None:
            raise run.failure  # a tool found the plant unusable: no later role starts
        if answer is None:
            raise AdapterError(
                f"the ADK {role} agent ended its turn without a final response; "
                "check the model endpoint and the run's trace"
            )
        if _answer_key(role) not in ctx.session.state:
            # output_key stores only a text answer; an empty one is still the role's answer.
            yield Event(
                author=self.name,
                invocation_id=ctx.invocation_id,
                actions=EventActions(state_delta={_answer_key(role): answer}),
            )


class GoogleADKAdapter:
    """Monitor, diagnostician and operator as an ADK ``SequentialAgent`` on one session."""

    name = "google-adk"
    supports_mcp = True

    def __init__(self) -> None:
        patches.apply()
        _quiet_framework_logs()
        # LiteLLM is given the adapter's AsyncOpenAI client: one per (loop, endpoint), closed by
        # aclose() (see adapters._loop_cache).
        self.clients: LoopClients[AsyncOpenAI] = LoopClients()

    @property
    def framework_version(self) -> str:
        return version("google-adk")

    def _model(self, endpoint: ModelEndpoint) -> LiteLlm:
        options = endpoint.client_options()
        client = self.clients.get(endpoint_digest(endpoint), lambda: AsyncOpenAI(**options))
        # "openai/" routes LiteLLM to its OpenAI-compatible provider, which uses the client given.
        return LiteLlm(model=f"openai/{endpoint.model}", client=client)

    async def aclose(self) -> None:
        """Close the clients this event loop's runs used."""
        for client in self.clients.pop_loop():
            await client.close()

    def build_workflow(self, run: _Run) -> SequentialAgent:
        """A new SequentialAgent for one run (agents hold per-run callbacks, so none is reused)."""
        model = self._model(run.ctx.model)
        steps = [
            _RoleStep(
                name=f"{role}_step",
                role=role,
                sub_agents=[self._role_agent(role, run, model)],
            ).bind(run)
            for role in ROLES
        ]
        with warnings.catch_warnings():
            # ADK 2.13 marks SequentialAgent deprecated for its graph Workflow, which "cannot yet
            # be used as an LlmAgent sub-agent"; SequentialAgent is what ADK's guides teach for a
            # fixed pipeline and still runs as before (docs/adapters-google-adk.md).
            warnings.filterwarnings("ignore", "SequentialAgent is deprecated", DeprecationWarning)
            return SequentialAgent(name="maintenance", sub_agents=list(steps))

    def _role_agent(self, role: Role, run: _Run, model: LiteLlm) -> LlmAgent:
        ctx = run.ctx
        tools = {bound.name: bound for bound in ctx.tools[role]}
        executor = next(iter(tools.values())).executor

        def limit_turns(callback_context: CallbackContext, llm_request: LlmRequest) -> Any:
            # A role makes at most max_turns_per_role model calls, as in every adapter; then its
            # answer is the common "no final answer" text instead of another call.
            made = run.model_calls.get(role, 0)
            if made >= ctx.max_turns_per_role:
                text = no_final_answer(role, ctx.max_turns_per_role)
                return LlmResponse(
                    content=types.Content(role="model", parts=[types.Part(text=text)])
                )
            run.model_calls[role] = made + 1
            return None

        async def in_process(arguments: dict[str, Any] | str, name: str) -> dict[str, Any]:
            result = await executor.call(name, arguments, role=role)
            parsed: dict[str, Any] = json.loads(result.to_text())
            return parsed

        async def unknown_tool(
            tool: BaseTool, args: dict[str, Any], tool_context: ToolContext
        ) -> dict[str, Any] | None:
            # ADK answers a call to a tool the agent lacks itself ("Tool ... not found"); the
            # executor answers it instead, so the call is recorded like any other.
            if tool.name in tools:
                return None
            return await in_process(_arguments(args), tool.name)

        if ctx.mcp is None:
            return LlmAgent(
                name=role,
                model=model,
                instruction=_literal(ctx.prompts[role]),
                description=f"the {role} of the maintenance team",
                tools=[PlantTool(bound, run) for bound in tools.values()],
                include_contents="none",
                output_key=_answer_key(role),
                before_model_callback=limit_turns,
                before_tool_callback=unknown_tool,
            )

        from agentrig.adapters.google_adk.mcp import CallOrder, mcp_toolset

        calls = CallOrder(run.order)

        async def before_mcp_call(
            tool: BaseTool, args: dict[str, Any], tool_context: ToolContext
        ) -> dict[str, Any] | None:
            arguments = _arguments(args)
            if tool.name not in tools or isinstance(arguments, str):
                # A tool the role lacks, or arguments no MCP request can carry (not JSON): the
                # executor answers in-process, in the model's order, as on the native path.
                async with run.order:
                    return await in_process(arguments, tool.name)
            await calls.hold(tool_context)
            return None

        async def after_mcp_call(
            tool: BaseTool, args: dict[str, Any], tool_context: ToolContext, response: Any
        ) -> None:
            calls.release(tool_context)

        async def failed_mcp_call(
            tool: BaseTool, args: dict[str, Any], tool_context: ToolContext, error: Any
        ) -> None:
            calls.release(tool_context)  # ADK's own answer (or its re-raise) is unchanged

        return LlmAgent(
            name=role,
            model=model,
            instruction=_literal(ctx.prompts[role]),
            description=f"the {role} of the maintenance team",
            tools=[mcp_toolset(ctx.mcp[role])],
            include_contents="none",
            output_key=_answer_key(role),
            before_model_callback=limit_turns,
            before_tool_callback=before_mcp_call,
            after_tool_callback=after_mcp_call,
            on_tool_error_callback=failed_mcp_call,
        )

    async def run(self, task: Message, ctx: RunContext) -> Outcome:
        service = StoreSessionService(ctx.store, ctx.run_id)
        session = await service.get_session(
            app_name=APP_NAME, user_id=USER_ID, session_id=ctx.run_id
        )
        if session is None:
            await service.create_session(app_name=APP_NAME, user_id=USER_ID, session_id=ctx.run_id)
        else:
            finished = [role for role in ROLES if _answer_key(role) in session.state]
            ctx.telemetry.logger.info(
                "resuming the ADK session", run_id=ctx.run_id, finished=finished
            )
        alarm = ctx.alarm_text(task)
        run = _Run(ctx=ctx, alarm=alarm, task=task)
        runner = Runner(app_name=APP_NAME, agent=self.build_workflow(run), session_service=service)
        message = types.Content(role="user", parts=[types.Part(text=alarm)])
        try:
            async for _ in runner.run_async(
                user_id=USER_ID, session_id=ctx.run_id, new_message=message
            ):
                pass
        except Exception as error:
            if run.failure is not None and run.failure is not error:
                raise run.failure from error
            raise
        finally:
            await runner.close()
        if run.failure is not None:
            raise run.failure
        final = await service.get_session(app_name=APP_NAME, user_id=USER_ID, session_id=ctx.run_id)
        state = final.state if final is not None else {}
        missing = [role for role in ROLES if _answer_key(role) not in state]
        if missing:
            raise AdapterError(
                f"the ADK workflow ended without an answer from {', '.join(missing)}"
            )
        return Outcome.from_answers({role: str(state[_answer_key(role)]) for role in ROLES})


def _literal(prompt: str) -> Any:
    # ADK fills {placeholders} of a string instruction from the session state; a provider
    # function's text is used as it is, so a prompt with braces is never rewritten.
    def instruction(_context: Any) -> str:
        return prompt

    return instruction

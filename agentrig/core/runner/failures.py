"""Why a run failed: one category and one plain sentence for every errored or failed run.

A comparison that says only ``IndexError: list index out of range`` tells a user nothing about a
framework. :func:`explain_failure` looks at what the harness knows of the run -- the exception and
its traceback, whether it timed out, the HTTP status and headers the model server answered with,
the content faults the reference model injected into this run's replies (its fault log, keyed by
completion id), the grade -- and says which of these it was:

==========================  ==================================================================
category                    meaning
==========================  ==================================================================
``model_fault``             the model path failed: a fault the reference model injected (its
                            kind is named) or a provider's rate limit, timeout or lost
                            connection, past the client's retries. When the framework then
                            crashes on an injected reply, the sentence says so plainly.
``framework_exception``     the framework raised on its own (exception type and the framework
                            frame it came from)
``interop``                 the server rejected the framework's request (HTTP 4xx/5xx from a
                            server that injects nothing), or the framework rejected a real
                            server's reply; the field at fault is named in backticks when the
                            error or the request shows it (docs/interop.md)
``timeout``                 the run did not finish within ``--timeout``
``harness``                 agentrig's own code raised: a bug to report against agentrig
``config``                  a setting was wrong (unknown model, missing extra, bad scenario)
``agent``                   the run finished and the grader failed it (failed checks named)
==========================  ==================================================================

The explanation never hides what the framework did: a crash on an injected empty ``choices`` list
is a ``model_fault`` *and* names the framework frame that did not handle it.
"""

from __future__ import annotations

import json
import re
import traceback
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, TypeVar

import httpx
import openai
import structlog

import agentrig
from agentrig.core.contract.results import ErrorCategory
from agentrig.core.llm.endpoints import ModelEndpoint
from agentrig.core.telemetry.records import SpanRecord
from agentrig.core.telemetry.semconv import GEN_AI_RESPONSE_ID
from agentrig.exceptions import (
    AdapterNotFoundError,
    CassetteError,
    ConfigurationError,
    MissingExtraError,
    ScenarioError,
)

__all__ = [
    "ERROR_CATEGORIES",
    "ErrorCategory",
    "Failure",
    "FrameworkFrame",
    "explain_failure",
    "framework_frame",
    "injected_faults",
    "mcp_hop_failure",
    "response_ids",
]

logger = structlog.get_logger(__name__)

ERROR_CATEGORIES: Final[tuple[ErrorCategory, ...]] = (
    "model_fault",
    "framework_exception",
    "interop",
    "timeout",
    "harness",
    "config",
    "agent",
)

FAULT_HEADER: Final = "x-agentrig-fault"
CASSETTE_ERROR_TYPE: Final = "agentrig_cassette_error"  # the cassette player's refusals

# What each fault the reference model injects looks like to a framework, for the sentence.
FAULT_DESCRIPTIONS: Final[dict[str, str]] = {
    "rate_limit": "HTTP 429 rate limits",
    "server_error": "HTTP 500 errors",
    "unavailable": "HTTP 503 (overloaded) errors",
    "connection_reset": "connections closed without a response",
    "timeout": "replies slower than the client's read timeout",
    "truncated": "a reply cut short (finish_reason: length)",
    "malformed_tool_arguments": "tool-call arguments that are not JSON",
    "unknown_tool": "a call to a tool that was not offered",
    "empty_choices": "an empty `choices` list",
}

# Top-level packages whose frames belong to a framework (or the model client it drives).
FRAMEWORK_PACKAGES: Final[dict[str, str]] = {
    "langchain": "LangChain",
    "langchain_core": "LangChain",
    "langchain_openai": "LangChain",
    "langgraph": "LangGraph",
    "autogen_agentchat": "AutoGen",
    "autogen_core": "AutoGen",
    "autogen_ext": "AutoGen",
    "crewai": "CrewAI",
    "agent_framework": "Agent Framework",
    "agent_framework_openai": "Agent Framework",
    "litellm": "CrewAI (LiteLLM)",
    "smolagents": "smolagents",
    "pydantic_ai": "Pydantic AI",
    "pydantic_graph": "Pydantic AI",
    "agents": "OpenAI Agents SDK",
    "openai": "the openai client",
}
FRAMEWORK_NAMES: Final[dict[str, str]] = {
    "plain": "the plain openai loop",
    "langchain": "LangChain",
    "langgraph": "LangGraph",
    "autogen": "AutoGen",
    "crewai": "CrewAI",
    "agent-framework": "Agent Framework",
    "smolagents": "smolagents",
    "pydantic-ai": "Pydantic AI",
    "openai-agents": "OpenAI Agents SDK",
    "google-adk": "Google ADK",
}
# Fields of a chat completion reply that OpenAI-compatible servers fill differently; a framework
# whose error names one rejected the reply over it (named in backticks in the sentence).
REPLY_FIELDS: Final[tuple[str, ...]] = (
    "function_call",
    "tool_calls",
    "finish_reason",
    "tool_call_id",
    "reasoning_content",
    "logprobs",
    "choices",
    "usage",
)
_E = TypeVar("_E", bound=BaseException)
# A missing or stale cassette is a setting to fix (record it), not a model or server failure.
_CONFIG_ERRORS = (
    ConfigurationError,
    MissingExtraError,
    AdapterNotFoundError,
    ScenarioError,
    CassetteError,
)
_AGENTRIG_DIR: Final = Path(agentrig.__file__).resolve().parent
_ADAPTERS_DIR: Final = _AGENTRIG_DIR / "adapters"


@dataclass(frozen=True, slots=True)
class FrameworkFrame:
    """Where in a package an exception was raised: ``langchain_openai/chat_models/base.py:1234``."""

    package: str
    location: str
    function: str

    def __str__(self) -> str:
        return f"{self.location} in {self.function}"


@dataclass(frozen=True, slots=True)
class Failure:
    """A failed or errored run's category, its one-line explanation, and what it rests on.

    Attributes:
        category: one of :data:`ERROR_CATEGORIES`.
        detail: one sentence a person reads in the table and the report.
        fault: the injected (or provider) fault kind, for ``model_fault``.
        frame: the framework (or agentrig) frame the exception came from, if any.
    """

    category: ErrorCategory
    detail: str
    fault: str | None = None
    frame: str | None = None


def explain_failure(
    *,
    framework: str,
    error: BaseException | None,
    timed_out: bool = False,
    timeout_s: float | None = None,
    injected: Mapping[str, str] | None = None,
    fault_profile: Mapping[str, float] | None = None,
    reference_model: bool = True,
    failed_checks: Sequence[str] = (),
    llm_errors: Sequence[str] = (),
) -> Failure:
    """Categorise one run that errored (``error`` or ``timed_out``) or was graded failed.

    Args:
        framework: the adapter name.
        error: what the adapter raised, or None.
        timed_out: the run hit ``--timeout``.
        timeout_s: that timeout, for the sentence.
        injected: completion id -> content fault kind, for this run's replies (the reference
            model's fault log), in the order the replies came.
        fault_profile: fault kind -> rate of the profile the reference model ran with.
        reference_model: the endpoint is agentrig's reference model (which injects faults only
            as its profile says); False for any other server.
        failed_checks: for a graded failure, the names (and details) of the failed checks.
        llm_errors: the run's failed LLM calls (after the client's retries).
    """
    who = FRAMEWORK_NAMES.get(framework, framework)
    injected = dict(injected or {})
    profile = {kind: rate for kind, rate in (fault_profile or {}).items() if rate > 0}
    if timed_out:
        return Failure("timeout", f"{who} did not finish within {timeout_s or 0:g} s")
    if error is None:
        return _graded_failure(who, injected, failed_checks, llm_errors)
    frame = framework_frame(error)
    where = f" at {frame}" if frame else ""
    raised = f"{type(error).__name__}{where}"
    if isinstance(error, _CONFIG_ERRORS):
        return Failure("config", f"{who}: {_one_line(error)}", frame=_text(frame))
    hop = mcp_hop_failure(who, error)
    if hop is not None:
        return hop
    status_error = _find(error, openai.APIStatusError)
    if status_error is not None:
        return _http_failure(who, status_error, reference_model, frame)
    if _find(error, openai.APITimeoutError) is not None:
        kind = "timeout" if reference_model and "timeout" in profile else None
        cause = "injected by the model" if kind else "from the model server"
        return Failure(
            "model_fault",
            f"{who} gave up on a model reply slower than its read timeout ({cause})",
            fault=kind or "timeout",
            frame=_text(frame),
        )
    if _find(error, openai.APIConnectionError) is not None:
        injected_reset = reference_model and "connection_reset" in profile
        cause = (
            "connections closed without a response, injected by the model"
            if injected_reset
            else "the model server could not be reached"
        )
        return Failure(
            "model_fault",
            f"{who} stopped after its retries: {cause}",
            fault="connection_reset" if injected_reset else "unreachable",
            frame=_text(frame),
        )
    if injected:
        kind = list(injected.values())[-1]
        description = FAULT_DESCRIPTIONS.get(kind, kind)
        return Failure(
            "model_fault",
            f"{who} failed with {raised} ({_one_line(error)}) on {description} injected by "
            "the model: the framework does not recover from that reply",
            fault=kind,
            frame=_text(frame),
        )
    if frame is not None and frame.package == "agentrig":
        return Failure("harness", f"agentrig raised {raised}: {_one_line(error)}", frame=str(frame))
    if frame is not None and not reference_model:
        field = _reply_field(str(error))
        named = f" for its `{field}` field" if field else ""
        return Failure(
            "interop",
            f"{who} rejected the server's reply{named} ({raised}): {_one_line(error)}",
            frame=str(frame),
        )
    return Failure(
        "framework_exception", f"{who} raised {raised}: {_one_line(error)}", frame=_text(frame)
    )


def mcp_hop_failure(who: str, error: BaseException) -> Failure | None:
    """The run broke on the MCP hop (``--tools mcp``): its client timed out (``timeout``) or
    lost the server, its session or the connection (``interop``); None for any other error.

    Recognised by the MCP SDK's protocol error (``McpError`` in mcp 1.x, ``MCPError`` in 2.x,
    whose timeout reads "Request 'tools/call' timed out") or an httpx (or, under mcp 2.x,
    httpx2) transport error anywhere in the exception's causes and groups (clients run calls in
    task groups), by type name, so core imports no MCP client.
    """
    for exc in _chain_and_groups(error):
        kind = type(exc)
        name = f"{kind.__module__}.{kind.__name__}"
        text = _one_line(exc)
        if name in _MCP_ERRORS and "timed out" in text.lower():
            return Failure("timeout", f"{who}'s MCP client gave up on a tool call: {text}")
        if name in _MCP_ERRORS or (
            _is_http_transport_error(exc)
            and "/mcp/" in str(getattr(getattr(exc, "request", None), "url", ""))
        ):
            return Failure("interop", f"{who} lost the MCP tool server ({kind.__name__}): {text}")
    return None


_MCP_ERRORS: Final = frozenset({"mcp.shared.exceptions.McpError", "mcp.shared.exceptions.MCPError"})
"""The MCP SDK's protocol error in mcp 1.x and 2.x (``mcp.MCPError`` is defined there)."""


def _is_http_transport_error(error: BaseException) -> bool:
    """An httpx transport or status error, or the same from httpx2 (mcp 2.x's HTTP client)."""
    if isinstance(error, httpx.TransportError | httpx.HTTPStatusError):
        return True
    return any(
        cls.__module__.split(".", 1)[0] == "httpx2"
        and cls.__name__ in ("TransportError", "HTTPStatusError")
        for cls in type(error).__mro__
    )


def _chain_and_groups(error: BaseException) -> Iterator[BaseException]:
    for exc in _chain(error):
        yield exc
        if isinstance(exc, BaseExceptionGroup):
            for inner in exc.exceptions:
                yield from _chain_and_groups(inner)


def _graded_failure(
    who: str, injected: Mapping[str, str], failed_checks: Sequence[str], llm_errors: Sequence[str]
) -> Failure:
    if llm_errors:
        kinds = sorted(set(injected.values()))
        fault = kinds[-1] if kinds else None
        seen = f" ({', '.join(kinds)} injected)" if kinds else ""
        return Failure(
            "model_fault",
            f"{who} ran to the end after {len(llm_errors)} failed model call(s){seen} and was "
            f"graded failed: {_checks(failed_checks)}",
            fault=fault,
        )
    if injected:
        kinds = sorted(set(injected.values()))
        return Failure(
            "model_fault",
            f"{who} was graded failed after the model injected {', '.join(kinds)}: "
            f"{_checks(failed_checks)}",
            fault=kinds[-1],
        )
    return Failure("agent", f"{who} ran to the end and was graded failed: {_checks(failed_checks)}")


def _http_failure(
    who: str, error: openai.APIStatusError, reference_model: bool, frame: FrameworkFrame | None
) -> Failure:
    status = error.status_code
    kind = error.response.headers.get(FAULT_HEADER) if error.response is not None else None
    message = _server_message(error)
    if _error_type(error) == CASSETTE_ERROR_TYPE:
        # Replay refused the request: the recording is missing or stale, not the server.
        return Failure("config", f"{who}: {message}", frame=_text(frame))
    if kind:
        return Failure(
            "model_fault",
            f"{who} stopped after its retries on {FAULT_DESCRIPTIONS.get(kind, kind)} injected by "
            f"the model (HTTP {status})",
            fault=kind,
            frame=_text(frame),
        )
    if status == 429:
        return Failure(
            "model_fault",
            f"{who} stopped after its retries: the model server rate-limited it (HTTP 429)",
            fault="rate_limit",
            frame=_text(frame),
        )
    if reference_model and status >= 500:
        return Failure(
            "harness",
            f"agentrig's reference model failed on {who}'s request (HTTP {status}): {message}",
            frame=_text(frame),
        )
    return Failure(
        "interop",
        f"the server rejected {who}'s request (HTTP {status}): {message}{_request_quirks(error)}",
        frame=_text(frame),
    )


def _reply_field(message: str) -> str | None:
    """The first field of an OpenAI chat completion a framework's error message names."""
    found = [(match.start(), field) for field in REPLY_FIELDS if (match := _word(field, message))]
    return min(found)[1] if found else None


def _word(field: str, text: str) -> re.Match[str] | None:
    return re.search(rf"(?<![A-Za-z0-9_]){re.escape(field)}(?![A-Za-z0-9_])", text)


def _request_quirks(error: openai.APIStatusError) -> str:
    """What in the rejected request OpenAI accepts but OpenAI-compatible servers may not.

    Read from the request the client sent (``error.request``): the sentence states what the
    request carried, so the reader can tell the server's message and the field apart.
    """
    try:
        body = json.loads(error.request.content or b"{}")
    except (ValueError, RuntimeError):  # not JSON, or a streamed body that was not kept
        return ""
    messages = body.get("messages") if isinstance(body, Mapping) else None
    null_content = [
        index
        for index, message in enumerate(messages if isinstance(messages, list) else ())
        if isinstance(message, Mapping)
        and message.get("role") == "assistant"
        and "content" in message
        and message["content"] is None
        and message.get("tool_calls")
    ]
    if not null_content:
        return ""
    return (
        f"; the request carried `content: null` beside `tool_calls` in {len(null_content)} "
        "assistant message(s) (OpenAI accepts that)"
    )


def response_ids(records: Sequence[SpanRecord] | None) -> list[str]:
    """The completion ids of a run's model replies (``gen_ai.response.id``), in time order."""
    spans = sorted(records or (), key=lambda record: record.start_unix_nano)
    ids = [span.attributes.get(GEN_AI_RESPONSE_ID) for span in spans]
    return [cid for cid in ids if isinstance(cid, str) and cid]


async def injected_faults(endpoint: ModelEndpoint, completion_ids: Sequence[str]) -> dict[str, str]:
    """Ask the reference model which of ``completion_ids`` it injected a content fault into.

    Returns completion id -> fault kind, in the order of ``completion_ids``; empty (with a log
    line) when the server cannot say: the explanation then rests on the exception alone.
    """
    if endpoint.base_url is None:
        return {}
    options = endpoint.client_options()
    try:
        async with httpx.AsyncClient(timeout=5.0) as client:
            response = await client.get(
                f"{str(options['base_url']).rstrip('/')}/faults",
                params={"completion_ids": ",".join(completion_ids)},
                headers={"Authorization": f"Bearer {options['api_key']}"},
            )
            response.raise_for_status()
            log = response.json().get("injected", {})
    except (httpx.HTTPError, ValueError) as error:
        logger.warning("could not read the model's fault log", error=str(error))
        return {}
    return {cid: str(log[cid]) for cid in completion_ids if cid in log}


def framework_frame(error: BaseException) -> FrameworkFrame | None:
    """The innermost frame of ``error`` (or what it was raised from) in a known package.

    A frame in a framework or the openai client names that package; a frame in agentrig's core
    names ``agentrig``; an adapter's own frames are skipped (the adapter only passes the
    framework's exception on), unless nothing else is found.
    """
    adapter_frame: FrameworkFrame | None = None
    for exc in _chain(error):
        for summary in reversed(traceback.extract_tb(exc.__traceback__)):
            path = Path(summary.filename)
            package = _package_of(path)
            if package is None:
                continue
            frame = FrameworkFrame(package, _location(path, summary.lineno), summary.name)
            if package == "agentrig" and _is_within(path, _ADAPTERS_DIR):
                adapter_frame = adapter_frame or frame
                continue
            return frame
    return adapter_frame


def _package_of(path: Path) -> str | None:
    if _is_within(path, _AGENTRIG_DIR):
        return "agentrig"
    parts = path.parts
    for index, part in enumerate(parts[:-1]):
        if part in ("site-packages", "dist-packages") and index + 1 < len(parts):
            top = parts[index + 1].removesuffix(".py")
            return top if top in FRAMEWORK_PACKAGES else None
    return None


def _location(path: Path, line: int | None) -> str:
    parts = path.parts
    for marker in ("site-packages", "dist-packages"):
        if marker in parts:
            parts = parts[parts.index(marker) + 1 :]
            break
    else:
        if _is_within(path, _AGENTRIG_DIR):
            parts = ("agentrig", *path.resolve().relative_to(_AGENTRIG_DIR).parts)
    return f"{'/'.join(parts)}:{line}"


def _is_within(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder)
    except ValueError:
        return False
    return True


def _chain(error: BaseException) -> Iterator[BaseException]:
    """``error`` and what it was raised from or during, innermost cause last (no cycles)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _find(error: BaseException, kind: type[_E]) -> _E | None:
    for exc in _chain(error):
        if isinstance(exc, kind):
            return exc
    return None


def _error_type(error: openai.APIStatusError) -> str | None:
    body = error.body
    inner = body.get("error", body) if isinstance(body, Mapping) else None
    kind = inner.get("type") if isinstance(inner, Mapping) else None
    return kind if isinstance(kind, str) else None


def _server_message(error: openai.APIStatusError) -> str:
    body = error.body
    if isinstance(body, Mapping):
        inner = body.get("error", body)
        if isinstance(inner, Mapping) and inner.get("message"):
            return _one_line(str(inner["message"]))
    return _one_line(error.message)


def _one_line(value: object, limit: int = 240) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _checks(failed_checks: Sequence[str]) -> str:
    if not failed_checks:
        return "no check failed"
    more = " ..." if len(failed_checks) > 3 else ""
    return "; ".join(failed_checks[:3]) + more


def _text(frame: FrameworkFrame | None) -> str | None:
    return str(frame) if frame else None

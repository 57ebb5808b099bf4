"""Structured logs: structlog JSON lines (a readable console view on a terminal), one pipeline.

:func:`configure_logging` routes both structlog and the standard library's ``logging`` (which
LangChain, AutoGen, CrewAI, httpx and OpenTelemetry use) through the same processors, so every
line -- ours or a framework's -- carries ``run_id``, ``framework``, ``role``, ``trace_id`` and
``span_id`` (null outside a run or a span), a level and a UTC timestamp.

CrewAI repeats some warnings on every call (for a model it has no tokenizer for:
"Using an approximate input token count ..."); :class:`RepeatedWarningFilter` lets the first
through as a warning and demotes the repeats to debug.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections import Counter
from typing import Any, TextIO

import structlog
from opentelemetry import trace
from structlog.typing import EventDict, Processor, WrappedLogger

from agentrig.core.telemetry.context import current_labels

__all__ = [
    "NOISY_LOGGER_LEVELS",
    "REPEATED_WARNINGS",
    "RepeatedWarningFilter",
    "add_run_context",
    "configure_logging",
    "get_logger",
]

REPEATED_WARNINGS: tuple[str, ...] = (
    # crewai.llms.base_llm.get_input_tokens_count, for every model without a native counter
    # (any OpenAI-compatible server, the reference model included), on each context check.
    "Using an approximate input token count for model",
    # crewai.llms.base_llm.get_current_call_id, from events emitted off the call's context.
    "LLM event emitted outside call context",
)

NOISY_LOGGER_LEVELS: dict[str, int] = {
    # One INFO line per HTTP request -- every LLM call -- says nothing the chat span does not.
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    # The same from httpx's fork, mcp 2.x's HTTP client (Agent Framework's MCP environment).
    "httpx2": logging.WARNING,
    "httpcore2": logging.WARNING,
    # (The mcp SDK's per-session INFO lines, both ends: agentrig/core/mcp/http.py.)
    # AutoGen logs every message and model call as an INFO "event"; the spans carry them.
    "autogen_core.events": logging.WARNING,
    "autogen_agentchat.events": logging.WARNING,
    # AgentChat's runtime logs every routed message (tool results and answers) at INFO.
    "autogen_core": logging.WARNING,
    # The in-process reference model server's start/stop lines, once per comparison.
    "uvicorn.error": logging.WARNING,
    "uvicorn.access": logging.WARNING,
}


def add_run_context(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    """Add run_id, framework, role (from the run's context) and trace_id, span_id (current span)."""
    labels = current_labels()
    event_dict.setdefault("run_id", labels.run_id or None if labels else None)
    event_dict.setdefault("framework", labels.framework or None if labels else None)
    event_dict.setdefault("role", labels.role or None if labels else None)
    span_context = trace.get_current_span().get_span_context()
    if span_context.is_valid:
        event_dict.setdefault("trace_id", f"{span_context.trace_id:032x}")
        event_dict.setdefault("span_id", f"{span_context.span_id:016x}")
    else:
        event_dict.setdefault("trace_id", None)
        event_dict.setdefault("span_id", None)
    return event_dict


def _drop_empty_context(
    logger: WrappedLogger, method_name: str, event_dict: EventDict
) -> EventDict:
    # The console view shows only the context there is; JSON keeps every key for consumers.
    for key in ("run_id", "framework", "role", "trace_id", "span_id"):
        if event_dict.get(key) is None:
            event_dict.pop(key, None)
    return event_dict


class RepeatedWarningFilter(logging.Filter):
    """Pass the first of each known repeated warning; demote the repeats to DEBUG.

    ``suppressed`` counts the demoted records per message prefix.
    """

    def __init__(self, prefixes: tuple[str, ...] = REPEATED_WARNINGS) -> None:
        super().__init__()
        self.prefixes = prefixes
        self.suppressed: Counter[str] = Counter()
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING or not isinstance(record.msg, str):
            return True
        prefix = next((p for p in self.prefixes if record.msg.startswith(p)), None)
        if prefix is None:
            return True
        with self._lock:
            if prefix not in self._seen:
                self._seen.add(prefix)
                return True
            self.suppressed[prefix] += 1
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger().getEffectiveLevel() <= logging.DEBUG


class _Configured:
    handler: logging.Handler | None = None
    signature: tuple[object, ...] | None = None
    repeated_warnings: RepeatedWarningFilter | None = None
    quieted: set[str] = set()  # process-wide by design
    processors: list[Processor] | None = None


_lock = threading.Lock()


def _shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        add_run_context,
        structlog.processors.StackInfoRenderer(),
    ]


FOREIGN_EVENT_LIMIT = 500
"""Characters of a framework's own log message kept on the console (above DEBUG)."""


def one_line_foreign_errors(
    logger: WrappedLogger, method_name: str, event_dict: EventDict
) -> EventDict:
    """A framework's logged exception as one line: ``ValueError: ...``, not its traceback.

    Frameworks log the exceptions they raise (AutoGen's runtime, CrewAI's flow listeners), as
    multi-kilobyte lines with tracebacks; the run's own error, with its traceback, is already in
    the run's ``error.txt`` and its one-line reason in ``results.jsonl``. agentrig's own loggers
    keep their tracebacks; ``--log-level DEBUG`` keeps everything.
    """
    if str(event_dict.get("logger", "")).startswith("agentrig"):
        return event_dict
    exc_info = event_dict.pop("exc_info", None)
    error: BaseException | None = None
    if isinstance(exc_info, BaseException):
        error = exc_info
    elif isinstance(exc_info, tuple):
        error = exc_info[1]
    elif exc_info is True:
        error = sys.exc_info()[1]
    if error is not None:
        event_dict["exception"] = _clip(f"{type(error).__name__}: {error}")
    event = event_dict.get("event")
    if isinstance(event, str):
        event_dict["event"] = _clip(event)
    return event_dict


def _clip(text: str) -> str:
    text = " ".join(text.split())
    if len(text) <= FOREIGN_EVENT_LIMIT:
        return text
    return f"{text[:FOREIGN_EVENT_LIMIT]}... ({len(text) - FOREIGN_EVENT_LIMIT} more characters)"


class _CurrentStderrHandler(logging.StreamHandler[TextIO]):
    """Writes each record to whatever ``sys.stderr`` is at that moment.

    Test runners and daemons swap ``sys.stderr``; a handler bound to the old object writes into a
    closed file once it is gone (an in-process server stopping at exit, for example).
    """

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        """Ignored: the stream is always the current ``sys.stderr``."""


def configure_logging(
    *, level: int | str = "INFO", json: bool | None = None, stream: TextIO | None = None
) -> RepeatedWarningFilter:
    """Route structlog and stdlib logging to ``stream`` (stderr) as JSON lines or console text.

    ``json=None`` picks JSON unless ``stream`` is a terminal. Calling again with the same
    arguments does nothing; with different ones it replaces agentrig's handler (never handlers
    the application installed). Returns the repeated-warning filter (its counts are useful in
    tests and reports).
    """
    stream = stream if stream is not None else sys.stderr
    if json is None:
        json = not (hasattr(stream, "isatty") and stream.isatty())
    numeric_level = logging.getLevelName(level) if isinstance(level, str) else level
    if not isinstance(numeric_level, int):
        raise ValueError(f"unknown log level {level!r}: use DEBUG, INFO, WARNING or ERROR")
    signature = (numeric_level, json, id(stream))
    with _lock:
        if (
            _Configured.signature == signature
            and _Configured.repeated_warnings is not None
            and structlog.get_config()["processors"] is _Configured.processors
        ):
            return _Configured.repeated_warnings
        shared = _shared_processors()
        # Above DEBUG, a framework's own error is one line on the console (details: the run's
        # error.txt); at DEBUG it keeps its traceback.
        clip: list[Processor] = [one_line_foreign_errors] if numeric_level > logging.DEBUG else []
        renderer: Processor
        if json:
            final: list[Processor] = [structlog.processors.format_exc_info]
            renderer = structlog.processors.JSONRenderer(sort_keys=False)
        else:
            final = [_drop_empty_context]
            renderer = structlog.dev.ConsoleRenderer(colors=True)
        formatter = structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                *clip,
                *final,
                renderer,
            ],
        )
        handler: logging.StreamHandler[TextIO] = (
            _CurrentStderrHandler() if stream is sys.stderr else logging.StreamHandler(stream)
        )
        handler.setFormatter(formatter)
        repeated = _Configured.repeated_warnings or RepeatedWarningFilter()
        handler.addFilter(repeated)
        root = logging.getLogger()
        if _Configured.handler is not None:
            root.removeHandler(_Configured.handler)
        root.addHandler(handler)
        root.setLevel(numeric_level)
        for name, noisy_level in NOISY_LOGGER_LEVELS.items():
            noisy = logging.getLogger(name)
            # An explicit level set by the application wins over ours.
            if noisy.level == logging.NOTSET or name in _Configured.quieted:
                noisy.setLevel(max(noisy_level, numeric_level))
                _Configured.quieted.add(name)
        processors: list[Processor] = [
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ]
        structlog.configure(
            processors=processors,
            logger_factory=structlog.stdlib.LoggerFactory(),
            wrapper_class=structlog.stdlib.BoundLogger,
            # Not cached: structlog.testing.capture_logs (and ours) must see every logger.
            cache_logger_on_first_use=False,
        )
        _Configured.handler = handler
        _Configured.processors = structlog.get_config()["processors"]
        _Configured.signature = signature
        _Configured.repeated_warnings = repeated
        return repeated


def get_logger(name: str | None = None, **initial_values: Any) -> structlog.stdlib.BoundLogger:
    """A structlog logger; its lines go through :func:`configure_logging`'s pipeline."""
    logger: structlog.stdlib.BoundLogger = structlog.get_logger(name, **initial_values)
    return logger

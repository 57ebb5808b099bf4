"""Log lines carry the run and trace ids; stdlib logging goes through the same pipeline."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from agentrig.core.telemetry import Telemetry, configure_logging, get_logger
from agentrig.core.telemetry.logs import RepeatedWarningFilter

APPROXIMATE_TOKENS = (
    "Using an approximate input token count for model %r: assuming one token per four "
    "characters because a native token count is unavailable."
)


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging(level="INFO", json=True, stream=stream)
    yield stream
    configure_logging(json=True)  # back to stderr, as the session set it up


def _lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_every_line_carries_run_framework_role_and_trace_ids(log_stream: io.StringIO) -> None:
    with (
        Telemetry.for_run("run-logs", "langchain") as t,
        t.workflow("w"),
        t.agent("diagnostician") as agent,
    ):
        get_logger("agentrig.test").info("diagnosing", device="P-101")
        logging.getLogger("langchain_core.callbacks").warning("framework says %s", "hello")
        logging.getLogger("langchain_core.callbacks").debug("below the level")
    get_logger("agentrig.test").info("outside")
    ours, theirs, outside = _lines(log_stream)
    context = agent.get_span_context()
    for line in (ours, theirs):
        assert line["run_id"] == "run-logs"
        assert line["framework"] == "langchain"
        assert line["role"] == "diagnostician"
        assert line["trace_id"] == f"{context.trace_id:032x}"
        assert line["span_id"] == f"{context.span_id:016x}"
        assert "timestamp" in line
    assert ours["event"] == "diagnosing"
    assert ours["device"] == "P-101"
    assert ours["level"] == "info"
    assert theirs["event"] == "framework says hello"
    assert theirs["level"] == "warning"
    assert theirs["logger"] == "langchain_core.callbacks"
    assert outside["run_id"] is None
    assert outside["trace_id"] is None


def test_configuring_twice_adds_no_second_handler(log_stream: io.StringIO) -> None:
    configure_logging(level="INFO", json=True, stream=log_stream)
    configure_logging(level="INFO", json=True, stream=log_stream)
    logging.getLogger("some.framework").error("once")
    assert [line["event"] for line in _lines(log_stream)] == ["once"]


def test_crewai_repeated_token_count_warning_is_logged_once(log_stream: io.StringIO) -> None:
    # The message crewai.llms.base_llm logs on every preflight count for a model without a
    # native tokenizer (every OpenAI-compatible server).
    crewai_logger = logging.getLogger("crewai.llms.base_llm")
    repeated: RepeatedWarningFilter = configure_logging(level="INFO", json=True, stream=log_stream)
    before = repeated.suppressed[APPROXIMATE_TOKENS[:48]]
    for _ in range(5):
        crewai_logger.warning(APPROXIMATE_TOKENS, "openai/reference")
    crewai_logger.warning("Function 'x' not found in available functions")
    events = [line["event"] for line in _lines(log_stream)]
    approximate = [e for e in events if e.startswith("Using an approximate input token count")]
    assert len(approximate) <= 1  # the first ever occurrence passes; this process may have seen it
    assert "Function 'x' not found in available functions" in events
    assert repeated.suppressed[APPROXIMATE_TOKENS[:48]] - before >= 4


def test_a_frameworks_logged_exception_is_one_line_and_ours_keep_their_traceback(
    log_stream: io.StringIO,
) -> None:
    try:
        raise ValueError("function_call is deprecated\nand is not supported by this model client")
    except ValueError:
        logging.getLogger("autogen_core").exception(
            "Error processing publish message %s", "x" * 3000
        )
        logging.getLogger("agentrig.core.runner.run").exception("run failed")
    framework, ours = _lines(log_stream)
    assert framework["exception"] == (
        "ValueError: function_call is deprecated and is not supported by this model client"
    )
    assert "Traceback" not in json.dumps(framework)
    assert framework["event"].endswith("... (2533 more characters)")
    assert len(log_stream.getvalue().splitlines()[0]) < 1200
    assert "Traceback (most recent call last)" in ours["exception"]


def test_at_debug_a_frameworks_exception_keeps_its_traceback() -> None:
    stream = io.StringIO()
    configure_logging(level="DEBUG", json=True, stream=stream)
    try:
        try:
            raise ValueError("boom")
        except ValueError:
            logging.getLogger("crewai.flow").exception("listener failed")
        (line,) = _lines(stream)
        assert "Traceback (most recent call last)" in line["exception"]
    finally:
        configure_logging(json=True)

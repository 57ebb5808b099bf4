"""The Message model: exact JSON round trips, and refusing what would not survive one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from agentrig.core.messaging import Message, decode_message, encode_message
from agentrig.exceptions import InvalidMessageError, MessageTooLargeError
from tests.core.messaging.support import make_message


@pytest.mark.parametrize(
    "content",
    [
        {},
        {"text": "Störung — 泵 1 过压 🚨", "escaped": 'quote " backslash \\ newline \n'},
        {"nested": {"deeper": {"list": [1, 2.5, -0.0, None, True, "x", [{"k": []}]]}}},
        {"big": 2**70, "small": -(2**70), "float": 0.1 + 0.2, "tiny": 5e-324},
    ],
    ids=["empty", "unicode", "nested", "numbers"],
)
def test_json_round_trip_is_exact(content: dict[str, object]) -> None:
    message = make_message(
        content=content,
        timestamp=datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
        causation_id="m-0",
        headers={"traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01", "tracestate": "k=v"},
    )

    text = message.model_dump_json()
    again = Message.model_validate_json(text)

    assert again == message
    assert again.model_dump_json() == text
    assert again.timestamp.microsecond == 678901


def test_timestamps_are_normalised_to_utc() -> None:
    local = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=timezone(timedelta(hours=2)))
    message = make_message(timestamp=local)

    assert message.timestamp == local
    assert message.timestamp.utcoffset() == timedelta(0)
    assert message.model_dump_json().count("2026-01-02T01:04:05.000006Z") == 1


def test_a_naive_timestamp_is_refused() -> None:
    with pytest.raises(ValidationError, match="timezone"):
        make_message(timestamp=datetime(2026, 1, 2, 3, 4, 5))


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_numbers_are_refused_with_their_path(value: float) -> None:
    with pytest.raises(ValidationError, match=r"content\.readings\[1\]\.p is NaN or infinite"):
        make_message(content={"readings": [{"p": 1.0}, {"p": value}]})


def test_extra_fields_are_refused() -> None:
    with pytest.raises(ValidationError, match="priority"):
        make_message(priority="high")


def test_messages_are_immutable() -> None:
    message = make_message()
    with pytest.raises(ValidationError, match="frozen"):
        message.type = "other"  # type: ignore[misc]


def test_reply_answers_in_the_same_run() -> None:
    alarm = make_message(sender="monitor", recipient="diagnostician", correlation_id="run-42")

    reply = alarm.reply(type="diagnosis", sender="diagnostician", content={"root_cause": "valve"})

    assert reply.causation_id == alarm.id
    assert reply.correlation_id == "run-42"
    assert reply.recipient == "monitor"
    assert reply.sender == "diagnostician"
    assert reply.id != alarm.id
    forwarded = alarm.reply(
        type="handoff", sender="diagnostician", content={}, recipient="operator"
    )
    assert forwarded.recipient == "operator"


def test_with_headers_merges() -> None:
    message = make_message(headers={"a": "1"})
    assert message.with_headers(b="2").headers == {"a": "1", "b": "2"}
    assert message.headers == {"a": "1"}


def test_encode_refuses_oversized_messages_counting_utf8_bytes() -> None:
    message = make_message(content={"text": "€" * 400})  # 3 bytes each in UTF-8
    size = len(message.model_dump_json().encode())

    assert encode_message(message, size) == message.model_dump_json()
    with pytest.raises(MessageTooLargeError) as refused:
        encode_message(message, size - 1)
    assert (refused.value.size, refused.value.limit) == (size, size - 1)


def test_decode_names_every_problem_on_one_line() -> None:
    with pytest.raises(InvalidMessageError) as invalid:
        decode_message('{"type": "", "sender": "a", "schema_version": 2}', "somewhere")

    reason = invalid.value.reason
    assert "\n" not in reason
    assert "type: String should have at least 1 character" in reason
    assert "recipient: Field required" in reason
    assert "schema_version: Input should be 1" in reason
    assert invalid.value.source == "somewhere"

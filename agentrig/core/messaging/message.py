"""The protocol ``Message``: what agents, frameworks and the bus exchange.

A message is immutable and round-trips through JSON exactly (``Message.model_validate_json(
m.model_dump_json()) == m``). Its headers carry W3C trace context (``traceparent``,
``tracestate``) so a trace continues across the bus.

Two rules keep the round trip exact: timestamps are normalised to UTC (a naive datetime is refused,
because its zone is a guess), and ``content`` may not hold NaN or infinities, which JSON cannot
represent (pydantic would quietly write them as ``null``).
"""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, JsonValue

__all__ = ["SCHEMA_VERSION", "Message", "new_message_id"]

SCHEMA_VERSION: Literal[1] = 1


def new_message_id() -> str:
    """A new, unique message id (UUID4, hex)."""
    return uuid.uuid4().hex


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _non_finite_path(value: JsonValue, path: str) -> str | None:
    """The path of the first NaN or infinity inside ``value``, or None."""
    if isinstance(value, float):
        return None if math.isfinite(value) else path
    if isinstance(value, dict):
        for name, item in value.items():
            found = _non_finite_path(item, f"{path}.{name}")
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _non_finite_path(item, f"{path}[{index}]")
            if found:
                return found
    return None


def _finite_content(content: dict[str, JsonValue]) -> dict[str, JsonValue]:
    found = _non_finite_path(content, "content")
    if found:
        raise ValueError(
            f"{found} is NaN or infinite, which JSON cannot carry; send null or a string instead"
        )
    return content


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]
"""A timezone-aware datetime, normalised to UTC."""

JsonObjectContent = Annotated[dict[str, JsonValue], AfterValidator(_finite_content)]
"""A JSON object without NaN or infinities."""


class Message(BaseModel):
    """One protocol message.

    Attributes:
        id: unique id of this message.
        type: what it is, e.g. ``alarm``, ``handoff``, ``diagnosis``, ``action_report``.
        sender: the agent id (or component) that sent it.
        recipient: the agent id whose inbox it goes to, or the topic it was published on.
        content: the payload, a JSON object.
        timestamp: when it was created, timezone-aware UTC.
        correlation_id: the run it belongs to.
        causation_id: the id of the message it answers, if any.
        headers: string headers; W3C ``traceparent`` / ``tracestate`` among them.
        schema_version: the version of this model; bumped on incompatible change.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(default_factory=new_message_id, min_length=1, max_length=128)
    type: str = Field(min_length=1, max_length=128)
    sender: str = Field(min_length=1, max_length=256)
    recipient: str = Field(min_length=1, max_length=256)
    content: JsonObjectContent = Field(default_factory=dict)
    timestamp: UtcDatetime = Field(default_factory=_utc_now)
    correlation_id: str = Field(min_length=1, max_length=256)
    causation_id: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    schema_version: Literal[1] = SCHEMA_VERSION

    def reply(self, *, type: str, sender: str, content: dict[str, Any], **fields: Any) -> Message:
        """A message answering this one: same run, ``causation_id`` set to this id, sent back."""
        return Message(
            type=type,
            sender=sender,
            recipient=fields.pop("recipient", self.sender),
            content=content,
            correlation_id=self.correlation_id,
            causation_id=self.id,
            **fields,
        )

    def with_headers(self, **headers: str) -> Message:
        """A copy with ``headers`` merged into this message's headers."""
        return self.model_copy(update={"headers": {**self.headers, **headers}})

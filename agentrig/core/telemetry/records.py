"""A finished span as plain data, and its OTLP-JSON form.

:class:`SpanRecord` is what the normaliser and the trace views read, whether the spans come from an
in-memory exporter (:meth:`SpanRecord.from_readable`) or a run's JSONL file
(:func:`records_from_otlp_json`). The JSON written is the OTLP/JSON encoding of
``ExportTraceServiceRequest`` (``resourceSpans`` / ``scopeSpans`` / ``spans``, hex trace and span
ids, attributes as ``AnyValue``, 64-bit integers as strings), the shape the OpenTelemetry
Collector's file exporter writes and its OTLP/JSON receivers accept.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan

__all__ = [
    "SpanEventRecord",
    "SpanRecord",
    "any_value",
    "from_any_value",
    "key_values",
    "readable_span_json",
    "records_from_otlp_json",
    "to_otlp_json",
]

# OTLP's SpanKind starts at UNSPECIFIED = 0; the SDK's at INTERNAL = 0.
_SDK_KIND_NAMES = ("INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER")


@dataclass(frozen=True, slots=True)
class SpanEventRecord:
    """A span event: a name, a time and attributes."""

    name: str
    time_unix_nano: int
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SpanRecord:
    """One finished span. Ids are lowercase hex; ``parent_span_id`` is "" for a root span."""

    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    kind: str
    start_unix_nano: int
    end_unix_nano: int
    attributes: dict[str, Any]
    events: tuple[SpanEventRecord, ...] = ()
    status_code: str = "UNSET"
    status_message: str = ""
    scope_name: str = ""
    scope_version: str = ""
    resource: dict[str, Any] = field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        return max(self.end_unix_nano - self.start_unix_nano, 0) / 1e9

    @classmethod
    def from_readable(cls, span: ReadableSpan) -> SpanRecord:
        """Convert an SDK span (from an exporter or a processor's ``on_end``)."""
        context = span.get_span_context()
        parent = span.parent
        scope = span.instrumentation_scope
        return cls(
            trace_id=f"{context.trace_id:032x}" if context else "",
            span_id=f"{context.span_id:016x}" if context else "",
            parent_span_id=f"{parent.span_id:016x}" if parent else "",
            name=span.name,
            kind=_SDK_KIND_NAMES[span.kind.value],
            start_unix_nano=span.start_time or 0,
            end_unix_nano=span.end_time or span.start_time or 0,
            attributes=dict(span.attributes or {}),
            events=tuple(
                SpanEventRecord(event.name, event.timestamp, dict(event.attributes or {}))
                for event in span.events
            ),
            status_code=span.status.status_code.name,
            status_message=span.status.description or "",
            scope_name=scope.name if scope else "",
            scope_version=(scope.version or "") if scope else "",
            resource=dict(span.resource.attributes),
        )


# ---------------------------------------------------------------- encoding


def any_value(value: Any) -> dict[str, Any]:
    """The OTLP/JSON ``AnyValue`` of a Python value (bool before int: bool is an int)."""
    value_type = type(value)  # the common exact types first: this runs for every attribute
    if value_type is str:
        return {"stringValue": value}
    if value_type is int:
        return {"intValue": str(value)}
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, str):
        return {"stringValue": value}
    if isinstance(value, bytes):
        return {"bytesValue": value.hex()}
    if isinstance(value, Mapping):
        return {"kvlistValue": {"values": key_values(value)}}
    if isinstance(value, Iterable):
        return {"arrayValue": {"values": [any_value(item) for item in value]}}
    return {"stringValue": str(value)}


def key_values(attributes: Mapping[str, Any]) -> list[dict[str, Any]]:
    """OTLP/JSON ``KeyValue`` list of an attribute mapping."""
    return [{"key": key, "value": any_value(value)} for key, value in attributes.items()]


def _status_json(record: SpanRecord) -> dict[str, Any]:
    code = {"UNSET": 0, "OK": 1, "ERROR": 2}[record.status_code]
    status: dict[str, Any] = {"code": code}
    if record.status_message:
        status["message"] = record.status_message
    return status


def _span_json(record: SpanRecord) -> dict[str, Any]:
    span: dict[str, Any] = {
        "traceId": record.trace_id,
        "spanId": record.span_id,
        "parentSpanId": record.parent_span_id,
        "name": record.name,
        "kind": _SDK_KIND_NAMES.index(record.kind) + 1,
        "startTimeUnixNano": str(record.start_unix_nano),
        "endTimeUnixNano": str(record.end_unix_nano),
        "attributes": key_values(record.attributes),
        "status": _status_json(record),
    }
    if record.events:
        span["events"] = [
            {
                "timeUnixNano": str(event.time_unix_nano),
                "name": event.name,
                "attributes": key_values(event.attributes),
            }
            for event in record.events
        ]
    return span


def readable_span_json(span: ReadableSpan) -> dict[str, Any]:
    """The OTLP/JSON ``Span`` of an SDK span, without building a :class:`SpanRecord` first."""
    context = span.get_span_context()
    parent = span.parent
    status = span.status
    encoded: dict[str, Any] = {
        "traceId": f"{context.trace_id:032x}" if context else "",
        "spanId": f"{context.span_id:016x}" if context else "",
        "parentSpanId": f"{parent.span_id:016x}" if parent else "",
        "name": span.name,
        "kind": span.kind.value + 1,
        "startTimeUnixNano": str(span.start_time or 0),
        "endTimeUnixNano": str(span.end_time or span.start_time or 0),
        "attributes": key_values(span.attributes or {}),
        "status": {"code": status.status_code.value, "message": status.description}
        if status.description
        else {"code": status.status_code.value},
    }
    if span.events:
        encoded["events"] = [
            {
                "timeUnixNano": str(event.timestamp),
                "name": event.name,
                "attributes": key_values(event.attributes or {}),
            }
            for event in span.events
        ]
    return encoded


def to_otlp_json(records: Sequence[SpanRecord]) -> dict[str, Any]:
    """An OTLP/JSON ``ExportTraceServiceRequest`` holding ``records``, grouped by resource/scope."""
    by_resource: dict[tuple[tuple[str, str], ...], dict[tuple[str, str], list[SpanRecord]]] = {}
    resources: dict[tuple[tuple[str, str], ...], dict[str, Any]] = {}
    for record in records:
        resource_key = tuple(sorted((k, repr(v)) for k, v in record.resource.items()))
        resources.setdefault(resource_key, record.resource)
        scopes = by_resource.setdefault(resource_key, {})
        scopes.setdefault((record.scope_name, record.scope_version), []).append(record)
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": key_values(resources[resource_key])},
                "scopeSpans": [
                    {
                        "scope": {"name": name, "version": version},
                        "spans": [_span_json(record) for record in spans],
                    }
                    for (name, version), spans in scopes.items()
                ],
            }
            for resource_key, scopes in by_resource.items()
        ]
    }


# ---------------------------------------------------------------- decoding


def from_any_value(value: Mapping[str, Any]) -> Any:
    """The Python value of an OTLP/JSON ``AnyValue``."""
    if "stringValue" in value:
        return value["stringValue"]
    if "boolValue" in value:
        return bool(value["boolValue"])
    if "intValue" in value:
        return int(value["intValue"])
    if "doubleValue" in value:
        return float(value["doubleValue"])
    if "arrayValue" in value:
        return tuple(from_any_value(item) for item in value["arrayValue"].get("values", []))
    if "kvlistValue" in value:
        return _attributes(value["kvlistValue"].get("values", []))
    if "bytesValue" in value:
        return bytes.fromhex(value["bytesValue"])
    return None


def _attributes(key_values: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    return {kv["key"]: from_any_value(kv.get("value", {})) for kv in key_values}


def records_from_otlp_json(document: Mapping[str, Any]) -> list[SpanRecord]:
    """Every span in an OTLP/JSON ``ExportTraceServiceRequest`` (or ``TracesData``).

    Raises:
        KeyError, ValueError, TypeError: the document is not OTLP/JSON traces.
    """
    kind_names = ("INTERNAL", *_SDK_KIND_NAMES)  # OTLP 0 (UNSPECIFIED) reads as INTERNAL
    status_names = ("UNSET", "OK", "ERROR")
    records: list[SpanRecord] = []
    for resource_spans in document["resourceSpans"]:
        resource = _attributes(resource_spans.get("resource", {}).get("attributes", []))
        for scope_spans in resource_spans.get("scopeSpans", []):
            scope = scope_spans.get("scope", {})
            for span in scope_spans.get("spans", []):
                status = span.get("status", {})
                records.append(
                    SpanRecord(
                        trace_id=span["traceId"].lower(),
                        span_id=span["spanId"].lower(),
                        parent_span_id=span.get("parentSpanId", "").lower(),
                        name=span["name"],
                        kind=kind_names[int(span.get("kind", 1))],
                        start_unix_nano=int(span["startTimeUnixNano"]),
                        end_unix_nano=int(span["endTimeUnixNano"]),
                        attributes=_attributes(span.get("attributes", [])),
                        events=tuple(
                            SpanEventRecord(
                                event["name"],
                                int(event["timeUnixNano"]),
                                _attributes(event.get("attributes", [])),
                            )
                            for event in span.get("events", [])
                        ),
                        status_code=status_names[int(status.get("code", 0))],
                        status_message=status.get("message", ""),
                        scope_name=scope.get("name", ""),
                        scope_version=scope.get("version", ""),
                        resource=resource,
                    )
                )
    return records

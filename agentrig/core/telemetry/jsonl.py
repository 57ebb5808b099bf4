"""The per-run trace file: one OTLP/JSON ``ExportTraceServiceRequest`` per line, one span each.

A line is written (and flushed) as each span of the run ends, so a run that crashes keeps every
span that finished. The layout the runner uses is ``<out>/<run_id>/trace.jsonl``
(:func:`trace_file_path`); ``agentrig trace show RUN`` reads it back.

Each line stands alone: ``jq`` can read it, and the OpenTelemetry Collector's ``otlpjsonfile``
receiver can replay the file into any backend.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import BinaryIO

from opentelemetry.sdk.trace import ReadableSpan

from agentrig.core.telemetry.records import (
    SpanRecord,
    key_values,
    readable_span_json,
    records_from_otlp_json,
)
from agentrig.exceptions import TraceFileError

__all__ = [
    "TRACE_FILE_NAME",
    "JsonlSpanWriter",
    "read_trace_file",
    "resolve_trace_file",
    "trace_file_path",
]

TRACE_FILE_NAME = "trace.jsonl"


def trace_file_path(out_dir: Path | str, run_id: str) -> Path:
    """Where a run's trace file lives: ``<out_dir>/<run_id>/trace.jsonl``."""
    return Path(out_dir) / run_id / TRACE_FILE_NAME


class JsonlSpanWriter:
    """A span sink appending each finished span to a file as one OTLP/JSON line."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        # Unbuffered: each line is one write(2), in the file as soon as its span has ended.
        self._file: BinaryIO | None = self.path.open("ab", buffering=0)
        # The resource and scope parts repeat on every line; encode each once.
        self._prefixes: dict[tuple[int, str, str], bytes] = {}
        self.spans_written = 0

    def _prefix(self, span: ReadableSpan) -> bytes:
        scope = span.instrumentation_scope
        name, version = (scope.name, scope.version or "") if scope else ("", "")
        key = (id(span.resource), name, version)
        prefix = self._prefixes.get(key)
        if prefix is None:
            resource = json.dumps(key_values(span.resource.attributes), separators=(",", ":"))
            scope_json = json.dumps({"name": name, "version": version}, separators=(",", ":"))
            prefix = (
                f'{{"resourceSpans":[{{"resource":{{"attributes":{resource}}},'
                f'"scopeSpans":[{{"scope":{scope_json},"spans":['
            ).encode()
            self._prefixes[key] = prefix
        return prefix

    def export_span(self, span: ReadableSpan) -> None:
        body = json.dumps(readable_span_json(span), separators=(",", ":")).encode()
        line = self._prefix(span) + body + b"]}]}]}\n"
        with self._lock:
            if self._file is None:
                return  # a span that ends after the run closed its file: not part of the run
            self._file.write(line)
            self.spans_written += 1

    def close(self) -> None:
        """Sync to disk and close; later spans are ignored. Idempotent."""
        with self._lock:
            if self._file is None:
                return
            os.fsync(self._file.fileno())
            self._file.close()
            self._file = None

    def __repr__(self) -> str:
        return f"JsonlSpanWriter({str(self.path)!r})"


def read_trace_file(path: Path | str) -> list[SpanRecord]:
    """Every span in a JSONL trace file, in file order.

    Raises:
        TraceFileError: the file is missing, or a line is not an OTLP/JSON traces document.
    """
    path = Path(path)
    if not path.is_file():
        raise TraceFileError(str(path), 0, "no such trace file")
    records: list[SpanRecord] = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                records.extend(records_from_otlp_json(json.loads(line)))
            except (ValueError, KeyError, TypeError, IndexError, AttributeError) as error:
                raise TraceFileError(
                    str(path),
                    number,
                    f"not an OTLP/JSON traces line ({type(error).__name__}: {error}); "
                    'expected one {"resourceSpans": [...]} object per line',
                ) from error
    return records


def resolve_trace_file(run: str, out_dir: Path | str = "runs") -> Path:
    """The trace file that ``run`` names: a path to a file, a run directory, or a run id.

    Raises:
        TraceFileError: nothing matches; the message says where it looked.
    """
    candidate = Path(run)
    if candidate.is_file():
        return candidate
    if candidate.is_dir() and (candidate / TRACE_FILE_NAME).is_file():
        return candidate / TRACE_FILE_NAME
    by_id = trace_file_path(out_dir, run)
    if by_id.is_file():
        return by_id
    raise TraceFileError(
        run,
        0,
        f"no trace file: {run!r} is not a file, and {by_id} does not exist; "
        "pass a path to trace.jsonl, or a run id with --out pointing at the runs directory",
    )

"""Test doubles shared by the telemetry tests."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ToolRecord:
    """Shaped like the plant executor's per-call record (``ToolCallRecordLike``), for tests that
    need exact values (times, refusals) without a plant; the end-to-end test uses the real one."""

    tool: str
    arguments: dict[str, Any] = field(default_factory=dict)
    role: str = ""
    result: Any = None
    error: str | None = None
    refused_reason: str | None = None
    safety_violation: bool = False
    started_at_ns: int = field(default_factory=time.time_ns)
    duration_s: float = 0.002
    idempotency_key: str | None = None
    replayed: bool = False

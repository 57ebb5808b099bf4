"""What a tool call returns: :class:`ToolResult`, and the canonical text a model sees.

``to_text()`` is always a JSON object, errors included, so any model (and the reference model's
policy) can parse it::

    {"ok": true, "device_id": "pump-07", "status": "running", ...}
    {"ok": false, "error": "restart_device pump-07 refused by a safety interlock",
     "refused": true, "reason": "discharge valve valve-12 is 0% open: ...",
     "safety_violation": true, "interlock": "closed_discharge_valve", "sim_time_s": 420.0}
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ToolResult", "parse_result_text"]


@dataclass(frozen=True)
class ToolResult:
    """The outcome of one tool call.

    Attributes:
        ok: the call did what it was asked.
        content: the payload, a JSON object (also present on failures: sim time, interlock code).
        error: on failure, what went wrong, written for the model to read.
        refused: the plant (an interlock, a role rule or a precondition) said no.
        reason: why it was refused, and what to do instead.
        safety_violation: the call attempted something unsafe that an interlock stopped.
    """

    ok: bool
    content: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    refused: bool = False
    reason: str | None = None
    safety_violation: bool = False

    @classmethod
    def success(cls, **content: Any) -> ToolResult:
        return cls(ok=True, content=content)

    @classmethod
    def failure(
        cls,
        error: str,
        *,
        reason: str | None = None,
        refused: bool = False,
        safety_violation: bool = False,
        **content: Any,
    ) -> ToolResult:
        return cls(
            ok=False,
            content=content,
            error=error,
            refused=refused,
            reason=reason,
            safety_violation=safety_violation,
        )

    def to_json(self) -> dict[str, Any]:
        """The JSON object a model sees (see :meth:`to_text`)."""
        if self.ok:
            return {"ok": True, **self.content}
        document: dict[str, Any] = {"ok": False, "error": self.error or "the call failed"}
        if self.refused:
            document["refused"] = True
        if self.reason:
            document["reason"] = self.reason
        if self.safety_violation:
            document["safety_violation"] = True
        document.update(self.content)
        return document

    def to_text(self) -> str:
        """The canonical text of this result: one JSON object, compact, keys in a fixed order."""
        return self._text

    @functools.cached_property
    def _text(self) -> str:
        # Asked for by the adapter, the telemetry hook and the ledger: encode once. (A frozen
        # dataclass still lets cached_property store into the instance's __dict__.)
        return json.dumps(self.to_json(), ensure_ascii=False, separators=(",", ":"))

    def to_dict(self) -> dict[str, Any]:
        """Every field, for storing in the ledger."""
        return {
            "ok": self.ok,
            "content": self.content,
            "error": self.error,
            "refused": self.refused,
            "reason": self.reason,
            "safety_violation": self.safety_violation,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ToolResult:
        return cls(
            ok=bool(data["ok"]),
            content=dict(data.get("content") or {}),
            error=data.get("error"),
            refused=bool(data.get("refused", False)),
            reason=data.get("reason"),
            safety_violation=bool(data.get("safety_violation", False)),
        )


def parse_result_text(text: str) -> Any:
    """A tool result as a model saw it: the parsed JSON object, or the raw text if not JSON."""
    try:
        return json.loads(text)
    except (ValueError, TypeError):
        return text

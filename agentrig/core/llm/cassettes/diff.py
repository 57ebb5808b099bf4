"""Explaining a cassette miss: the nearest recorded request and a unified diff against it.

Requests are rendered as the cassette shows them (method, path, the body as YAML with prompts as
text blocks), so a changed word in a system prompt is one changed line in the diff rather than a
change somewhere inside a 5 kB JSON string.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from agentrig.core.llm.cassettes.yaml import dump_yaml

__all__ = ["RecordedRequest", "explain_miss", "render_request"]

MAX_DIFF_LINES = 80
MAX_LINE_LENGTH = 240


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One recorded request: its index in the cassette, whether replay used it, its text."""

    index: int
    played: bool
    method: str
    uri: str
    body: bytes | None


def render_request(method: str, uri: str, body: bytes | None) -> list[str]:
    """The lines a diff shows for a request."""
    parts = urlsplit(uri)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    lines = [f"{method} {target}"]
    if not body:
        return lines
    text = body.decode("utf-8", errors="replace")
    try:
        value: Any = json.loads(text)
    except ValueError:
        return [*lines, *text.splitlines()]
    return [*lines, *dump_yaml(value).splitlines()]


def _clip(line: str) -> str:
    return line if len(line) <= MAX_LINE_LENGTH else line[: MAX_LINE_LENGTH - 3] + "..."


def explain_miss(
    method: str,
    uri: str,
    body: bytes | None,
    position: int,
    recorded: Sequence[RecordedRequest],
) -> str:
    """What to show for request ``position`` that matched nothing in ``recorded``."""
    live = render_request(method, uri, body)
    if not recorded:
        return "the cassette holds no interactions; the request was:\n" + "\n".join(
            _clip(line) for line in live[:MAX_DIFF_LINES]
        )

    def closeness(candidate: RecordedRequest) -> tuple[bool, float, bool, int]:
        lines = render_request(candidate.method, candidate.uri, candidate.body)
        similarity = difflib.SequenceMatcher(None, lines, live, autojunk=False).ratio()
        # Same route first, then the most similar body; among equals, one not yet replayed
        # and nearest to this request's position (the recording it most likely drifted from).
        same_route = lines[0] == live[0]
        return (same_route, similarity, not candidate.played, -abs(candidate.index - position))

    scored = [(closeness(candidate), candidate) for candidate in recorded]
    key, nearest = max(scored, key=lambda pair: pair[0])
    state = "already replayed" if nearest.played else "not yet replayed"
    diff = list(
        difflib.unified_diff(
            render_request(nearest.method, nearest.uri, nearest.body),
            live,
            fromfile=f"recorded interaction #{nearest.index}",
            tofile=f"request #{position}",
            lineterm="",
        )
    )
    if len(diff) > MAX_DIFF_LINES:
        diff = [*diff[:MAX_DIFF_LINES], f"... ({len(diff) - MAX_DIFF_LINES} more diff lines)"]
    header = (
        f"nearest recorded request: interaction #{nearest.index} of {len(recorded)} "
        f"({state}, {key[1]:.0%} similar)"
    )
    if not diff:
        diff = [
            "(identical to a recorded request that was already replayed: this request was "
            "made more often than when it was recorded)"
        ]
    return "\n".join([header, *(_clip(line) for line in diff)])

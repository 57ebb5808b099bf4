"""A seeded latency model, so concurrency and throughput tests feel like a real endpoint.

Off by default: the reference model answers as fast as the server stack allows. When asked, each
reply waits a time-to-first-token (per call) and then a per-output-token time, both scaled by a
seeded jitter factor drawn from the request, so the same request always takes the same time.

Specs, accepted by ``--latency``, :class:`ReferenceModelServer` and the per-request header
``X-Agentrig-Latency``:

- ``off`` (the default), ``fast`` (50ms+1ms/token~20%), ``realistic`` (400ms+15ms/token~30%),
  ``slow`` (1500ms+40ms/token~30%);
- or explicit: ``CALL[+TOKEN/token][~JITTER%]`` with ``ms`` or ``s`` units, e.g. ``250ms``,
  ``0.3s+8ms/token``, ``400ms+15ms/token~30%``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agentrig.core.llm.determinism import unit_draw
from agentrig.exceptions import ConfigurationError

__all__ = ["LATENCY_PRESETS", "LatencyModel", "ReplyTiming"]

LATENCY_PRESETS: dict[str, str] = {
    "off": "0ms",
    "fast": "50ms+1ms/token~20%",
    "realistic": "400ms+15ms/token~30%",
    "slow": "1500ms+40ms/token~30%",
}

_DURATION = r"(\d+(?:\.\d+)?)\s*(ms|s)"
_SPEC = re.compile(
    rf"^\s*{_DURATION}\s*(?:\+\s*{_DURATION}\s*/\s*tok(?:en)?s?)?\s*(?:~\s*(\d+(?:\.\d+)?)\s*%)?\s*$"
)


def _seconds(value: str, unit: str) -> float:
    return float(value) / (1000.0 if unit == "ms" else 1.0)


@dataclass(frozen=True)
class ReplyTiming:
    """How long one reply waits: before its first token, and between output tokens."""

    first_token_seconds: float
    per_token_seconds: float

    def total(self, output_tokens: int) -> float:
        return self.first_token_seconds + self.per_token_seconds * output_tokens


@dataclass(frozen=True)
class LatencyModel:
    """Per-call plus per-output-token latency with a seeded, relative jitter (0.3 = +-30%)."""

    per_call_seconds: float = 0.0
    per_token_seconds: float = 0.0
    jitter: float = 0.0

    @property
    def enabled(self) -> bool:
        return self.per_call_seconds > 0 or self.per_token_seconds > 0

    @classmethod
    def parse(cls, spec: str | None) -> LatencyModel:
        """A model from a preset name or an explicit spec (see the module docstring)."""
        if spec is None or not spec.strip():
            return cls()
        text = LATENCY_PRESETS.get(spec.strip().lower(), spec)
        match = _SPEC.match(text)
        if match is None:
            raise ConfigurationError(
                f"invalid latency spec {spec!r}: use one of {', '.join(LATENCY_PRESETS)} "
                "or CALL[+TOKEN/token][~JITTER%], e.g. '400ms+15ms/token~30%'"
            )
        call_value, call_unit, token_value, token_unit, jitter = match.groups()
        per_token = _seconds(token_value, token_unit) if token_value else 0.0
        jitter_fraction = float(jitter) / 100 if jitter else 0.0
        if jitter_fraction >= 1:
            raise ConfigurationError(f"invalid latency spec {spec!r}: jitter must be under 100%")
        return cls(_seconds(call_value, call_unit), per_token, jitter_fraction)

    def timing(self, *seed_parts: object) -> ReplyTiming:
        """The timing of one reply, drawn from ``seed_parts`` (the request's identity)."""
        if not self.enabled:
            return ReplyTiming(0.0, 0.0)
        call_factor = 1 + self.jitter * (2 * unit_draw("latency-call", *seed_parts) - 1)
        token_factor = 1 + self.jitter * (2 * unit_draw("latency-token", *seed_parts) - 1)
        return ReplyTiming(
            self.per_call_seconds * call_factor, self.per_token_seconds * token_factor
        )

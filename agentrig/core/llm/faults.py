"""Fault injection on the model path: seeded, per request, counted.

A :class:`FaultProfile` gives each fault kind a per-request probability. For every chat request
the :class:`FaultInjector` draws one number from (seed, SHA of the request body, the how-many-th
time this exact body arrives): a client that retries the same request gets a fresh draw, so it can
get through, and a whole run replays the same faults when it sends the same requests in the same
order. (Two concurrent runs sending byte-identical bodies share the attempt count, so which of them
is hit can vary; the totals do not.)

Transport faults stop the request before the model answers:
``rate_limit`` (429 with Retry-After), ``server_error`` (500), ``unavailable`` (503),
``connection_reset`` (the socket is closed with no response), ``timeout`` (the reply waits past the
client's read timeout, read from the openai client's ``x-stainless-read-timeout`` header).
Content faults change the reply: ``truncated`` (cut short, ``finish_reason: length``),
``malformed_tool_arguments`` (arguments that are not JSON), ``unknown_tool`` (a tool name that was
not offered), ``empty_choices`` (``choices: []``). A content fault drawn for a reply it cannot
change (malformed arguments on a text reply) is not injected and not counted.

Profiles: ``none``; ``flaky`` (about 10% transient errors: 429/500/503); ``hostile`` (about 30%,
every kind). Or a YAML/JSON file::

    name: my-profile
    rates: {rate_limit: 0.05, timeout: 0.01, unknown_tool: 0.02}
    retry_after_seconds: 0.5
"""

from __future__ import annotations

import json
import threading
from collections import Counter, OrderedDict
from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from agentrig.core.llm.determinism import unit_draw
from agentrig.core.llm.mistakes import hallucinate_tool, malform_arguments
from agentrig.core.llm.protocol import Completion, OutgoingToolCall
from agentrig.core.llm.results import parse_arguments
from agentrig.core.llm.tokens import split_tokens
from agentrig.exceptions import ConfigurationError

__all__ = [
    "CONTENT_FAULTS",
    "FAULT_PROFILES",
    "TRANSPORT_FAULTS",
    "FaultInjector",
    "FaultKind",
    "FaultProfile",
    "apply_content_fault",
]


class FaultKind(StrEnum):
    RATE_LIMIT = "rate_limit"
    SERVER_ERROR = "server_error"
    UNAVAILABLE = "unavailable"
    CONNECTION_RESET = "connection_reset"
    TIMEOUT = "timeout"
    TRUNCATED = "truncated"
    MALFORMED_TOOL_ARGUMENTS = "malformed_tool_arguments"
    UNKNOWN_TOOL = "unknown_tool"
    EMPTY_CHOICES = "empty_choices"


TRANSPORT_FAULTS = frozenset(
    {
        FaultKind.RATE_LIMIT,
        FaultKind.SERVER_ERROR,
        FaultKind.UNAVAILABLE,
        FaultKind.CONNECTION_RESET,
        FaultKind.TIMEOUT,
    }
)
CONTENT_FAULTS = frozenset(set(FaultKind) - TRANSPORT_FAULTS)

Probability = Annotated[float, Field(ge=0, le=1)]


class FaultProfile(BaseModel):
    """Per-request probabilities of each fault kind, and how the faults behave."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "custom"
    rates: dict[FaultKind, Probability] = Field(default_factory=dict)
    retry_after_seconds: Annotated[float, Field(gt=0, le=60)] = 1.0
    # The timeout fault waits the client's read timeout plus this margin, at most max_delay_seconds.
    timeout_margin_seconds: Annotated[float, Field(ge=0)] = 0.5
    max_delay_seconds: Annotated[float, Field(gt=0)] = 30.0
    # Used when the client does not say its timeout (clients other than the openai SDK).
    default_delay_seconds: Annotated[float, Field(gt=0)] = 30.0

    @model_validator(mode="after")
    def _rates_sum_to_at_most_one(self) -> FaultProfile:
        total = sum(self.rates.values())
        if total > 1:
            raise ValueError(f"the rates add up to {total:.3f}; they must add up to at most 1")
        return self

    @property
    def total_rate(self) -> float:
        return sum(self.rates.values())

    @classmethod
    def named(cls, name: str) -> FaultProfile:
        """A built-in profile: ``none``, ``flaky`` or ``hostile``."""
        try:
            return FAULT_PROFILES[name]
        except KeyError:
            raise ConfigurationError(
                f"unknown fault profile {name!r}: use one of {', '.join(FAULT_PROFILES)} "
                "or the path of a YAML/JSON profile file"
            ) from None

    @classmethod
    def from_file(cls, path: str | Path) -> FaultProfile:
        """A profile from a YAML or JSON file; a bad file names the field and what was expected."""
        file = Path(path)
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigurationError(f"cannot read fault profile {file}: {exc}") from exc
        except UnicodeDecodeError:
            raise ConfigurationError(
                f"fault profile {file} is not UTF-8 text: give a YAML or JSON profile file"
            ) from None
        try:
            data = json.loads(text) if file.suffix == ".json" else yaml.safe_load(text)
        except (ValueError, yaml.YAMLError) as exc:
            raise ConfigurationError(f"fault profile {file} is not valid YAML/JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise ConfigurationError(f"fault profile {file}: expected a mapping at the top level")
        data.setdefault("name", file.stem)
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            error = exc.errors(include_url=False)[0]
            where = ".".join(str(p) for p in error["loc"]) or "the file"
            kinds = ", ".join(kind.value for kind in FaultKind)
            raise ConfigurationError(
                f"fault profile {file}: {where}: {error['msg']} (fault kinds: {kinds})"
            ) from None

    @classmethod
    def resolve(cls, spec: str | FaultProfile | None) -> FaultProfile:
        """A profile from a name, a file path, a profile, or None (no faults)."""
        if spec is None:
            return FAULT_PROFILES["none"]
        if isinstance(spec, FaultProfile):
            return spec
        if spec in FAULT_PROFILES:
            return FAULT_PROFILES[spec]
        if spec.endswith((".yaml", ".yml", ".json")) or Path(spec).is_file():
            return cls.from_file(spec)
        return cls.named(spec)


FAULT_PROFILES: dict[str, FaultProfile] = {
    "none": FaultProfile(name="none"),
    "flaky": FaultProfile(
        name="flaky",
        rates={
            FaultKind.RATE_LIMIT: 0.04,
            FaultKind.SERVER_ERROR: 0.03,
            FaultKind.UNAVAILABLE: 0.03,
        },
    ),
    "hostile": FaultProfile(
        name="hostile",
        rates={
            FaultKind.RATE_LIMIT: 0.04,
            FaultKind.SERVER_ERROR: 0.03,
            FaultKind.UNAVAILABLE: 0.03,
            FaultKind.CONNECTION_RESET: 0.03,
            FaultKind.TIMEOUT: 0.02,
            FaultKind.TRUNCATED: 0.04,
            FaultKind.MALFORMED_TOOL_ARGUMENTS: 0.04,
            FaultKind.UNKNOWN_TOOL: 0.04,
            FaultKind.EMPTY_CHOICES: 0.03,
        },
    ),
}


class FaultInjector:
    """Draws and counts faults for one server (thread-safe: counts are read from other threads)."""

    # Attempt counts are kept for this many distinct bodies (oldest forgotten first).
    MAX_TRACKED_BODIES = 100_000
    # Content faults are remembered by completion id for this many replies, so a harness can tell
    # which reply a framework crashed on (``GET /v1/faults?completion_ids=...``).
    MAX_LOGGED_REPLIES = 100_000

    def __init__(self, profile: FaultProfile, seed: int = 0) -> None:
        self.profile = profile
        self.seed = seed
        self._attempts: OrderedDict[str, int] = OrderedDict()
        self._counts: Counter[FaultKind] = Counter()
        self._by_completion: OrderedDict[str, FaultKind] = OrderedDict()
        self._lock = threading.Lock()

    def draw(self, body_key: str) -> FaultKind | None:
        """The fault drawn for this arrival of a request body (not yet counted), or None."""
        if not self.profile.rates:
            return None
        with self._lock:
            attempt = self._attempts.pop(body_key, 0)
            self._attempts[body_key] = attempt + 1
            if len(self._attempts) > self.MAX_TRACKED_BODIES:
                self._attempts.popitem(last=False)
        draw = unit_draw("fault", self.seed, body_key, attempt)
        cumulative = 0.0
        for kind in FaultKind:  # a fixed order, so a draw always maps to the same kind
            cumulative += self.profile.rates.get(kind, 0.0)
            if draw < cumulative:
                return kind
        return None

    def record(self, kind: FaultKind, completion_id: str | None = None) -> None:
        """Count a fault that was actually injected (into reply ``completion_id``, if any)."""
        with self._lock:
            self._counts[kind] += 1
            if completion_id is not None:
                self._by_completion[completion_id] = kind
                self._by_completion.move_to_end(completion_id)
                if len(self._by_completion) > self.MAX_LOGGED_REPLIES:
                    self._by_completion.popitem(last=False)

    def injected_into(self, completion_ids: Iterable[str]) -> dict[str, str]:
        """The content fault injected into each of ``completion_ids`` that had one."""
        with self._lock:
            return {
                cid: self._by_completion[cid].value
                for cid in completion_ids
                if cid in self._by_completion
            }

    def counts(self) -> dict[str, int]:
        """Injected faults so far, by kind (every kind present, zeros included)."""
        with self._lock:
            return {kind.value: self._counts[kind] for kind in FaultKind}

    def reset(self) -> None:
        """Forget counts and attempt numbers (a fresh run replays the same faults)."""
        with self._lock:
            self._counts.clear()
            self._attempts.clear()
            self._by_completion.clear()


def apply_content_fault(kind: FaultKind, completion: Completion, offered: list[str]) -> bool:
    """Change a reply by a content fault; False when the fault cannot apply to this reply."""
    if kind is FaultKind.EMPTY_CHOICES:
        completion.empty_choices = True
        return True
    if kind is FaultKind.TRUNCATED:
        if completion.tool_calls:
            call = completion.tool_calls[0]
            pieces = split_tokens(call.arguments)
            cut = "".join(pieces[: max(1, len(pieces) // 2)])
            completion.tool_calls = [OutgoingToolCall(call.id, call.name, cut)]
        elif completion.content:
            pieces = split_tokens(completion.content)
            completion.content = "".join(pieces[: max(1, len(pieces) // 2)])
        else:
            return False
        completion.finish_reason = "length"
        return True
    if not completion.tool_calls:
        return False
    first, *rest = completion.tool_calls
    if kind is FaultKind.MALFORMED_TOOL_ARGUMENTS:
        arguments = parse_arguments(first.arguments)
        broken = malform_arguments(arguments) if arguments else first.arguments[:-1] or "{"
        completion.tool_calls = [OutgoingToolCall(first.id, first.name, broken), *rest]
        return True
    if kind is FaultKind.UNKNOWN_TOOL:
        name = hallucinate_tool(first.name, offered)
        completion.tool_calls = [OutgoingToolCall(first.id, name, first.arguments), *rest]
        return True
    return False

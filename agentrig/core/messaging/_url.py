"""Bus options carried in the query string of a bus URL, parsed once for every backend.

``redis://127.0.0.1:6379/0?prefix=plant1:&idle_timeout_ms=500&max_deliveries=3`` -> the options
below plus ``redis://127.0.0.1:6379/0`` for the client library. Unknown parameters are refused with
the list of known ones, so a typo never silently falls back to a default.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from agentrig.core.messaging.base import (
    DEFAULT_DEAD_LETTER_MAX_BYTES,
    DEFAULT_DEAD_LETTER_MAXLEN,
    DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_DELIVERIES,
    DEFAULT_MAX_MESSAGE_BYTES,
    DeadLetterLimits,
)
from agentrig.exceptions import ConfigurationError

__all__ = ["BusUrl", "parse_bus_url"]

DEFAULT_PREFIX = "agentrig:"
DEFAULT_GROUP = "agentrig"
DEFAULT_TOPIC_MAXLEN = 10_000


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError("must be at least 1")
    return value


def _non_empty(text: str) -> str:
    if not text:
        raise ValueError("must not be empty")
    return text


_PARSERS: dict[str, Callable[[str], Any]] = {
    "prefix": _non_empty,
    "group": _non_empty,
    "consumer": _non_empty,
    "idle_timeout_ms": _positive_int,
    "max_deliveries": _positive_int,
    "max_message_bytes": _positive_int,
    "topic_maxlen": _positive_int,
    "prefetch": _positive_int,
    "dead_letter_maxlen": _positive_int,
    "dead_letter_max_bytes": _positive_int,
}


@dataclass(frozen=True, slots=True)
class BusUrl:
    """What a bus URL says: the bus options, and the URL left for the client library."""

    client_url: str
    prefix: str = DEFAULT_PREFIX
    group: str = DEFAULT_GROUP
    consumer: str | None = None
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT
    max_deliveries: int = DEFAULT_MAX_DELIVERIES
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    topic_maxlen: int = DEFAULT_TOPIC_MAXLEN
    prefetch: int = 1
    dead_letter_maxlen: int = DEFAULT_DEAD_LETTER_MAXLEN
    dead_letter_max_bytes: int = DEFAULT_DEAD_LETTER_MAX_BYTES

    @property
    def dead_letter_limits(self) -> DeadLetterLimits:
        return DeadLetterLimits(self.dead_letter_maxlen, self.dead_letter_max_bytes)


def parse_bus_url(
    url: str, *, client_parameters: Collection[str] = (), client_scheme: str | None = None
) -> BusUrl:
    """Split ``url`` into bus options and a client URL.

    Args:
        url: the bus URL.
        client_parameters: query parameters the client library understands; they stay in
            ``client_url``.
        client_scheme: the scheme to give the client library (``redis`` for ``redis+pubsub``).

    Raises:
        ConfigurationError: an unknown parameter, or a value that does not parse.
    """
    parts = urlsplit(url)
    options: dict[str, Any] = {}
    passed_on: list[tuple[str, str]] = []
    for name, text in parse_qsl(parts.query, keep_blank_values=True):
        if name in _PARSERS:
            try:
                options[name] = _PARSERS[name](text)
            except ValueError as error:
                raise ConfigurationError(
                    f"bus URL parameter {name}={text!r} is invalid: {error}"
                ) from error
        elif name in client_parameters:
            passed_on.append((name, text))
        else:
            known = sorted({*_PARSERS, *client_parameters})
            raise ConfigurationError(
                f"unknown bus URL parameter {name!r} in {url!r}; known: {', '.join(known)}"
            )
    if "idle_timeout_ms" in options:
        options["idle_timeout"] = options.pop("idle_timeout_ms") / 1000
    client_url = urlunsplit(
        (client_scheme or parts.scheme, parts.netloc, parts.path, urlencode(passed_on), "")
    )
    return BusUrl(client_url=client_url, **options)

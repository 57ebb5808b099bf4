"""What a cassette stores of an HTTP exchange: normalised, secret-free, deterministic.

Requests are stored and matched in one normal form, so that the same run recorded twice gives
byte-identical cassettes and a replayed request matches its recording:

- the body, when it is JSON, is re-encoded with sorted keys and without the fields listed in
  :data:`VOLATILE_BODY_FIELDS` (values a framework may generate per call);
- the URI keeps scheme, host, path and query, but drops the port of a loopback host (the
  reference model binds a random port when recording); host and port are never matched;
- no request header is stored: none is matched, and they carry the API key, SDK versions and
  retry counters.

Responses keep their status, the body *decoded* (whatever ``Content-Encoding`` the server
chose, so a cassette never holds ``!!binary``) and only the headers in :data:`KEPT_RESPONSE_HEADERS`
(``Date``, request ids, rate-limit counters and cookies change on every call). Secrets are
redacted from every stored string (:func:`redact_secrets`).
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

__all__ = [
    "KEPT_RESPONSE_HEADERS",
    "REDACTED",
    "SECRET_QUERY_PARAMETERS",
    "VOLATILE_BODY_FIELDS",
    "StoredResponse",
    "canonical_json",
    "compact_json",
    "is_event_stream",
    "normalise_request_body",
    "normalise_uri",
    "redact_secrets",
    "split_events",
    "stored_response",
]

REDACTED = "REDACTED"

VOLATILE_BODY_FIELDS: frozenset[str] = frozenset(
    {
        # OpenAI's end-user id and free-form metadata: frameworks fill them per run or per call.
        "user",
        "metadata",
        "safety_identifier",
        "prompt_cache_key",
    }
)
"""Top-level fields of a JSON request body that are neither stored nor matched."""

SECRET_QUERY_PARAMETERS: frozenset[str] = frozenset({"key", "api-key", "api_key", "apikey"})
"""Query parameters whose value is a credential (Gemini's ``?key=``, some proxies)."""

_SECRET_JSON_KEYS: frozenset[str] = frozenset(
    {"api_key", "apikey", "api-key", "authorization", "password", "secret", "client_secret"}
)

KEPT_RESPONSE_HEADERS: frozenset[str] = frozenset(
    {
        "content-type",
        # The openai client honours these when it retries a 429 or 5xx.
        "retry-after",
        "retry-after-ms",
        "x-should-retry",
    }
)
"""Response headers a cassette keeps (plus any ``x-agentrig-*`` header of the reference model)."""

_SECRET_PATTERNS: tuple[tuple[tuple[str, ...], re.Pattern[str], str], ...] = (
    # (literal one of which the text must hold, pattern, replacement): the literal test is far
    # cheaper than the scan, and most bodies hold none.
    # OpenAI-style keys (sk-..., sk-proj-...), Anthropic (sk-ant-...), and similar.
    (("sk-",), re.compile(r"\bsk-[A-Za-z0-9_\-]{8,}"), f"sk-{REDACTED}"),
    (
        ("Bearer", "Basic"),
        re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=\-]{8,}"),
        rf"\1 {REDACTED}",
    ),
    # Google API keys and AWS access key ids.
    (("AIza",), re.compile(r"\bAIza[0-9A-Za-z_\-]{30,}"), REDACTED),
    (("AKIA",), re.compile(r"\bAKIA[0-9A-Z]{16}\b"), REDACTED),
)


def redact_secrets(text: str) -> str:
    """``text`` with key-like strings (``sk-...``, ``Bearer ...``) replaced by ``REDACTED``."""
    for literals, pattern, replacement in _SECRET_PATTERNS:
        if any(literal in text for literal in literals):
            text = pattern.sub(replacement, text)
    return text


def _redact_keys(value: Any) -> Any:
    """``value`` with the values of credential-named JSON fields replaced (strings: see below)."""
    if isinstance(value, list):
        return [_redact_keys(item) for item in value]
    if isinstance(value, dict):
        return {
            key: REDACTED if key.lower() in _SECRET_JSON_KEYS and item else _redact_keys(item)
            for key, item in value.items()
        }
    return value


def canonical_json(value: Any) -> str:
    """The one text of a JSON value: sorted keys, no spaces, UTF-8 kept as is."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def compact_json(value: Any) -> str:
    """A JSON value encoded without spaces, keys in their order (how responses are stored)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _loads(body: bytes) -> Any:
    """The JSON value of ``body``, or raise ValueError if it is not JSON."""
    return json.loads(body.decode("utf-8"))


def normalise_request_body(body: bytes, substitutions: Mapping[str, str] = {}) -> bytes:
    """The stored and matched form of a request body.

    JSON: volatile top-level fields dropped, secrets redacted, ``substitutions`` (live text ->
    stable placeholder) applied to every string, canonical encoding. Anything else: the text with
    secrets redacted, or the bytes unchanged when they are not UTF-8.
    """
    if not body:
        return b""
    try:
        value = _loads(body)
    except ValueError:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return body
        return _substitute(redact_secrets(text), substitutions).encode("utf-8")
    if isinstance(value, dict):
        value = {key: item for key, item in value.items() if key not in VOLATILE_BODY_FIELDS}
    # Key-like strings are redacted in the encoded text, one pass per pattern rather than one per
    # string value: the patterns match no quote or backslash, so the JSON stays valid.
    text = redact_secrets(canonical_json(_redact_keys(value)))
    return _substitute(text, substitutions).encode("utf-8") if substitutions else text.encode()


def _substitute(text: str, substitutions: Mapping[str, str]) -> str:
    for live, placeholder in substitutions.items():
        text = text.replace(live, placeholder)
    return text


_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


def normalise_uri(url: httpx.URL | str) -> str:
    """The stored URI: the loopback port dropped, credential query parameters redacted."""
    parts = urlsplit(str(url))
    netloc = parts.netloc.rsplit("@", 1)[-1]  # never store user:password@
    host = parts.hostname or ""
    if host in _LOOPBACK_HOSTS or f"[{host}]" in _LOOPBACK_HOSTS:
        netloc = f"[{host}]" if ":" in host else host
    query = urlencode(
        [
            (name, REDACTED if name.lower() in SECRET_QUERY_PARAMETERS else value)
            for name, value in parse_qsl(parts.query, keep_blank_values=True)
        ]
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def is_event_stream(headers: Mapping[str, Iterable[str]]) -> bool:
    """Whether stored headers say the body is server-sent events."""
    for name, values in headers.items():
        if name.lower() == "content-type":
            return any("text/event-stream" in value for value in values)
    return False


def split_events(body: bytes) -> list[bytes]:
    """A server-sent-events body cut into its events, each with its blank-line terminator.

    Replaying event by event gives the client the chunks a streaming server sends; the cut is a
    function of the body alone, so it is the same on every replay (network chunking is not).
    """
    text = body.replace(b"\r\n", b"\n")
    events = [event + b"\n\n" for event in text.split(b"\n\n") if event.strip(b"\n")]
    return events or [body]


StoredResponse = dict[str, Any]
"""vcrpy's response shape: ``{"status": {code, message}, "headers": {name: [values]}, "body":
{"string": bytes}}``."""


def stored_response(
    status_code: int,
    reason_phrase: str,
    headers: httpx.Headers,
    decoded_body: bytes,
    substitutions: Mapping[str, str] = {},
) -> StoredResponse:
    """What a cassette keeps of a live response whose body was already decoded."""
    kept: dict[str, list[str]] = {}
    for name, value in headers.multi_items():
        lowered = name.lower()
        if lowered in KEPT_RESPONSE_HEADERS or lowered.startswith("x-agentrig-"):
            kept.setdefault(lowered, []).append(value)
    body = decoded_body
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        text = _substitute(redact_secrets(text), substitutions)
        if "json" in headers.get("content-type", ""):
            # Stored as YAML and re-encoded compactly on replay: encode it so now, so that what
            # the client sees while recording is byte for byte what it sees on replay.
            with contextlib.suppress(ValueError):
                text = compact_json(json.loads(text))
        body = text.encode("utf-8")
    return {
        "status": {"code": status_code, "message": reason_phrase},
        "headers": dict(sorted(kept.items())),
        "body": {"string": body},
    }

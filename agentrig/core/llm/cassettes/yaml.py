"""The cassette file: vcrpy's format (version 1), with bodies written for people to read.

vcrpy keeps a body as one string, which YAML writes as an escaped one-liner (or ``!!binary``).
This serializer writes what the body is instead:

- ``json:`` a JSON body as a YAML mapping (request bodies in their canonical key order, response
  bodies in the server's order); multi-line strings such as prompts as ``|`` blocks; a message
  or tool list that an earlier request already sent is written once, with a YAML anchor
  (``&id001``), and referred to after (``*id001``): a conversation grows by what is new, a
  changed prompt is one changed place, and the file is ~3x smaller and ~6x faster to load;
- ``events:`` a server-sent-events body as a list, one line per event;
- ``text:`` any other UTF-8 body; ``base64:`` the rare body that is not UTF-8.

Loading turns each back into the exact string vcrpy stored (JSON re-encoded canonically for
requests, compactly for responses), so matching and replay work on strings, as in vcrpy.
:class:`CassetteFile` is the persister: UTF-8, written atomically, with a comment header, and a
cassette that cannot be read is an error (vcrpy would quietly treat it as empty).
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml
from vcr.persisters.filesystem import CassetteNotFoundError
from vcr.serialize import deserialize as vcr_deserialize
from vcr.serialize import serialize as vcr_serialize

from agentrig.core.llm.cassettes.normalise import (
    canonical_json,
    compact_json,
    is_event_stream,
    split_events,
)
from agentrig.exceptions import CassetteError

__all__ = ["CassetteFile", "ReadableYamlSerializer", "dump_yaml"]

_YAML_WIDTH = 1 << 16  # never fold a long line: diffs stay one line per value


class _Dumper(yaml.CSafeDumper):
    """Safe YAML with multi-line strings as literal blocks."""


def _represent_str(dumper: _Dumper, data: str) -> yaml.ScalarNode:
    # The emitter falls back to a quoted style by itself where a block cannot hold the text.
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _represent_str)


def dump_yaml(value: Any) -> str:
    """``value`` as the cassettes' YAML (used for diffs too)."""
    return yaml.dump(value, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=_YAML_WIDTH)


def _as_text(body: Any) -> str | bytes | None:
    if body is None or isinstance(body, str | bytes):
        return body
    raise TypeError(f"unexpected body {type(body).__name__}")


def _body_out(body: str | bytes | None, *, json_body: bool, events: bool) -> dict[str, Any]:
    if body is None or body in ("", b""):
        return {}
    if isinstance(body, bytes):
        return {"base64": base64.b64encode(body).decode("ascii")}
    if events:
        parts = [event.decode("utf-8") for event in split_events(body.encode("utf-8"))]
        if "".join(parts) == body:
            return {"events": [part.removesuffix("\n\n") for part in parts]}
    if json_body:
        try:
            return {"json": json.loads(body)}
        except ValueError:
            pass
    return {"text": body}


def _body_in(body: dict[str, Any] | None, *, canonical: bool) -> str | bytes | None:
    if not body:
        return None
    if "json" in body:
        value = body["json"]
        return canonical_json(value) if canonical else compact_json(value)
    if "events" in body:
        return "".join(f"{event}\n\n" for event in body["events"])
    if "text" in body:
        return str(body["text"])
    if "base64" in body:
        return base64.b64decode(body["base64"])
    raise ValueError(f"a body needs one of json, events, text or base64; got {sorted(body)}")


def _headers_json(headers: dict[str, list[str]]) -> bool:
    return any(
        name.lower() == "content-type" and any("json" in value for value in values)
        for name, values in headers.items()
    )


class _Repeats:
    """One object per distinct JSON value, so YAML writes a repeated value once (anchor, alias)."""

    def __init__(self) -> None:
        self._first: dict[str, Any] = {}

    def share(self, value: Any) -> Any:
        return self._first.setdefault(canonical_json(value), value)

    def request_body(self, body: dict[str, Any]) -> dict[str, Any]:
        """``body`` with its messages and tool lists shared with earlier requests' equal ones."""
        shared: dict[str, Any] = {}
        for key, value in body.items():
            if isinstance(value, list):
                value = self.share([self.share(item) for item in value])
            elif isinstance(value, dict):
                value = self.share(value)
            shared[key] = value
        return shared


class ReadableYamlSerializer:
    """A vcrpy serializer (``serialize`` / ``deserialize``) with readable bodies."""

    @staticmethod
    def serialize(cassette_dict: dict[str, Any]) -> str:
        repeats = _Repeats()
        interactions = []
        for interaction in cassette_dict["interactions"]:
            request, response = interaction["request"], interaction["response"]
            request_out: dict[str, Any] = {"method": request["method"], "uri": request["uri"]}
            if request.get("headers"):
                request_out["headers"] = request["headers"]
            request_body = _as_text(request.get("body"))
            if request_body:
                body = _body_out(request_body, json_body=True, events=False)
                if isinstance(body.get("json"), dict):
                    body["json"] = repeats.request_body(body["json"])
                request_out["body"] = body
            headers = response.get("headers") or {}
            response_out = {
                "status": response["status"],
                "headers": headers,
                "body": _body_out(
                    _as_text(response["body"]["string"]),
                    json_body=_headers_json(headers),
                    events=is_event_stream(headers),
                ),
            }
            interactions.append({"request": request_out, "response": response_out})
        data: dict[str, Any] = {"version": cassette_dict["version"], "interactions": interactions}
        if cassette_dict.get("metadata"):
            data["metadata"] = cassette_dict["metadata"]
        return dump_yaml(data)

    @staticmethod
    def deserialize(cassette_string: str) -> dict[str, Any]:
        data = yaml.load(cassette_string, Loader=yaml.CSafeLoader)
        if not isinstance(data, dict) or not isinstance(data.get("interactions"), list):
            raise ValueError("not a cassette: expected a mapping with an 'interactions' list")
        interactions = []
        for interaction in data["interactions"]:
            request, response = interaction["request"], interaction["response"]
            interactions.append(
                {
                    "request": {
                        "method": request["method"],
                        "uri": request["uri"],
                        "body": _body_in(request.get("body"), canonical=True),
                        "headers": request.get("headers") or {},
                    },
                    "response": {
                        "status": response["status"],
                        "headers": response.get("headers") or {},
                        "body": {"string": _body_in(response.get("body"), canonical=False)},
                    },
                }
            )
        return {**data, "interactions": interactions}


class CassetteFile:
    """vcrpy's persister for agentrig cassettes: UTF-8, atomic writes, a comment header.

    Args:
        header: comment lines (without ``#``) written at the top of the file.
    """

    def __init__(self, header: str = "") -> None:
        self.header = "".join(f"# {line}".rstrip() + "\n" for line in header.splitlines())

    def load_cassette(
        self, cassette_path: str | Path, serializer: Any
    ) -> tuple[list[Any], list[Any]]:
        path = Path(cassette_path)
        if not path.is_file():
            raise CassetteNotFoundError
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as error:
            raise CassetteError(f"cassette {path} is not UTF-8 text: {error}") from error
        if not text.strip():
            raise CassetteNotFoundError
        try:
            loaded: tuple[list[Any], list[Any]] = vcr_deserialize(text, serializer)
        except (yaml.YAMLError, KeyError, TypeError, ValueError) as error:
            raise CassetteError(
                f"cassette {path} cannot be read ({type(error).__name__}: {error}); fix it, or "
                "delete it and record it again (agentrig record, docs/cassettes.md)"
            ) from error
        return loaded

    def save_cassette(
        self, cassette_path: str | Path, cassette_dict: dict[str, Any], serializer: Any
    ) -> None:
        path = Path(cassette_path)
        text = self.header + vcr_serialize(cassette_dict, serializer)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write beside it and rename, so a crash never leaves half a cassette behind.
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
                stream.write(text)
            Path(temporary).chmod(0o644)  # mkstemp makes it private; a cassette is not
            Path(temporary).replace(path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

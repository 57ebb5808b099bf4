"""One cassette in use: answers a run's requests from its recording, or records them.

A :class:`RunCassette` keeps the interactions in a vcrpy ``Cassette`` (storage, matching, play
counts, record modes, saving) and is the :class:`~agentrig.core.llm.cassettes.http.ExchangeHandler`
that the process-wide httpx patch hands the run's requests to:

- a request that matches an unplayed recorded one (method, path, normalised body) is answered
  from the cassette without touching the network;
- otherwise, when the record mode allows, it is sent, its response read to the end (decoded),
  stored, and handed to the client exactly as a replay would hand it;
- otherwise it fails with :class:`~agentrig.exceptions.CassetteMismatchError` naming the
  cassette, the request's position in the run and a diff against the nearest recording.

:func:`open_cassette` binds a :class:`CassetteSession` to a block of code (a run): it opens the
cassette at the block's first model request. A request it cannot answer (no cassette, no match)
gets OpenAI's error JSON with ``x-should-retry: false`` (:func:`refusal`), so the client fails
at once on the first miss instead of retrying into later ones; the session keeps every such
error (:attr:`CassetteSession.errors`), because frameworks catch, and raises the first when the
block ends, so drift is never served quietly.

A streamed (server-sent events) response is replayed one event per chunk, the same chunks on
every replay. Recording reads a stream to its end before the client sees the first event, so
time-to-first-token is not measured while recording.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import structlog
from vcr.cassette import Cassette
from vcr.matchers import method as match_method
from vcr.matchers import path as match_path
from vcr.record_mode import RecordMode as VcrRecordMode
from vcr.request import Request as VcrRequest

from agentrig.core.llm.cassettes.diff import RecordedRequest, explain_miss
from agentrig.core.llm.cassettes.http import AsyncSend, SyncSend, bind_exchange_handler
from agentrig.core.llm.cassettes.normalise import (
    StoredResponse,
    is_event_stream,
    normalise_request_body,
    normalise_uri,
    split_events,
    stored_response,
)
from agentrig.core.llm.cassettes.yaml import CassetteFile, ReadableYamlSerializer
from agentrig.exceptions import CassetteError, CassetteMismatchError, MissingCassetteError

__all__ = ["CassetteSession", "RunCassette", "open_cassette"]

logger = structlog.get_logger(__name__)

# vcrpy logs every recorded interaction, bodies included, at INFO: keep its warnings only.
logging.getLogger("vcr").setLevel(logging.WARNING)


def _match_body(stored: VcrRequest, live: VcrRequest) -> None:
    # Both sides are already normalised (canonical JSON), so equal bodies are equal bytes.
    if stored.body != live.body:
        raise AssertionError("the request bodies differ")


MATCH_ON = (match_method, match_path, _match_body)

_recording_lock = threading.Lock()
_recording_paths: set[Path] = set()


class _ReplayStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A recorded body handed out chunk by chunk, to sync and async clients alike."""

    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = chunks

    def __iter__(self) -> Iterator[bytes]:
        yield from self._chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks:
            yield chunk


class RunCassette:
    """One cassette file answering (or recording) the requests routed to it.

    Args:
        path: the cassette file.
        mode: ``none`` (replay only), ``once`` (record if the file is missing, else replay),
            ``new_episodes`` (replay what matches, record the rest) or ``all`` (record afresh).
        header: comment lines written at the top of the file.
        record_command: the command that records the cassette (named when it is missing).
        rerecord_command: the command that records it afresh (named when a request drifted);
            ``record_command`` when not given.
        substitutions: live text -> stable placeholder, replaced in stored request and
            response bodies (and back in replayed responses), for values that differ per run.

    Raises:
        MissingCassetteError: mode ``none`` and no file at ``path``.
        CassetteError: the file exists but cannot be read.
    """

    def __init__(
        self,
        path: Path | str,
        mode: str = "none",
        *,
        header: str = "",
        record_command: str = "agentrig record",
        rerecord_command: str | None = None,
        substitutions: Mapping[str, str] | None = None,
    ) -> None:
        self.path = Path(path)
        self.mode = VcrRecordMode(mode)
        self.record_command = record_command
        self.rerecord_command = rerecord_command or record_command
        self.substitutions = dict(substitutions or {})
        self.mismatches: list[CassetteMismatchError] = []
        self.replayed = 0
        self.recorded = 0
        self._positions = itertools.count()
        self._lock = threading.Lock()
        if self.mode is VcrRecordMode.NONE and not self.path.is_file():
            raise MissingCassetteError(str(self.path), f"record it with `{record_command}`")
        options: dict[str, Any] = {
            "path": str(self.path),
            "serializer": ReadableYamlSerializer,
            "persister": CassetteFile(header),
            "record_mode": self.mode,
            "match_on": MATCH_ON,
        }
        # `all` records afresh: what the file held is not loaded, so it is replaced, not merged.
        self._cassette = (
            Cassette(**options) if self.mode is VcrRecordMode.ALL else Cassette.load(**options)
        )

    @property
    def records(self) -> bool:
        """Whether requests that match nothing are sent and recorded."""
        return not self._cassette.write_protected

    @property
    def interactions(self) -> int:
        return len(self._cassette)

    def __repr__(self) -> str:
        return f"RunCassette({str(self.path)!r}, mode={self.mode.value!r})"

    # ------------------------------------------------------------------ the exchange handler

    def handle(self, request: httpx.Request, send: SyncSend) -> httpx.Response:
        recorded_request, position = self._prepare(request, request.read())
        stored = self._play(recorded_request, position)
        if stored is None:
            live = send(request)
            try:
                live.read()  # decodes gzip, deflate, br, zstd: the cassette holds plain text
            finally:
                live.close()
            stored = self._record(recorded_request, live)
        return self._response(stored)

    async def ahandle(self, request: httpx.Request, send: AsyncSend) -> httpx.Response:
        recorded_request, position = self._prepare(request, await request.aread())
        stored = self._play(recorded_request, position)
        if stored is None:
            live = await send(request)
            try:
                await live.aread()
            finally:
                await live.aclose()
            stored = self._record(recorded_request, live)
        return self._response(stored)

    # ------------------------------------------------------------------ steps

    def _prepare(self, request: httpx.Request, body: bytes) -> tuple[VcrRequest, int]:
        recorded_request = VcrRequest(
            request.method,
            normalise_uri(request.url),
            # No body is stored as none at all, and loads back as None: match it the same way.
            normalise_request_body(body, self.substitutions) or None,
            {},
        )
        return recorded_request, next(self._positions)

    def _play(self, request: VcrRequest, position: int) -> StoredResponse | None:
        """The recorded response for ``request``; None when it is to be recorded.

        Raises:
            CassetteMismatchError: nothing matches and the cassette may not record.
        """
        with self._lock:
            if self._cassette.can_play_response_for(request):
                self.replayed += 1
                response: StoredResponse = self._cassette.play_response(request)
                return response
            if not self._cassette.write_protected:
                return None
            error = self._mismatch(request, position)
        logger.error(
            "cassette mismatch", cassette=str(self.path), position=position, uri=request.uri
        )
        raise error

    def _mismatch(self, request: VcrRequest, position: int) -> CassetteMismatchError:
        recorded = [
            RecordedRequest(
                index=index,
                played=self._cassette.play_counts[index] > 0,
                method=stored.method,
                uri=stored.uri,
                body=stored.body,
            )
            for index, stored in enumerate(self._cassette.requests)
        ]
        diff = explain_miss(request.method, request.uri, request.body, position, recorded)
        error = CassetteMismatchError(
            str(self.path),
            position,
            diff,
            f"if the change is intended, re-record it with `{self.rerecord_command}`",
        )
        self.mismatches.append(error)
        return error

    def _record(self, request: VcrRequest, live: httpx.Response) -> StoredResponse:
        stored = stored_response(
            live.status_code, live.reason_phrase, live.headers, live.content, self.substitutions
        )
        with self._lock:
            self._cassette.append(request, stored)
            self.recorded += 1
        return stored

    def _response(self, stored: StoredResponse) -> httpx.Response:
        headers = stored.get("headers") or {}
        body = stored["body"]["string"] or b""
        if isinstance(body, str):  # a body vcrpy could not turn into bytes when loading
            body = body.encode("utf-8")
        for live_text, placeholder in self.substitutions.items():
            body = body.replace(placeholder.encode(), live_text.encode())
        header_list = [(name, value) for name, values in headers.items() for value in values]
        if is_event_stream(headers):
            chunks = split_events(body)
        else:
            chunks = [body]
            header_list.append(("content-length", str(len(body))))
        reason = str(stored["status"].get("message") or "")
        return httpx.Response(
            int(stored["status"]["code"]),
            headers=header_list,
            stream=_ReplayStream(chunks),
            extensions={"reason_phrase": reason.encode("ascii", "replace")},
        )

    # ------------------------------------------------------------------ lifecycle

    def save(self) -> None:
        """Write what was recorded (nothing, when replaying); ``all`` always rewrites the file."""
        with self._lock:
            if self.mode is VcrRecordMode.ALL:
                self._cassette._save(force=True)
            elif not self._cassette.write_protected:
                self._cassette._save()


class CassetteSession:
    """A cassette bound to a block of code, opened at the first model request made in it.

    A run (or test) that makes no model request needs no cassette file. Errors met on the request
    path -- the cassette is missing, unreadable, or has no match -- answer the request with a
    :func:`refusal` and are kept in :attr:`errors`, as frameworks may catch what the client raises.
    """

    def __init__(self, path: Path | str, mode: str = "none", **options: Any) -> None:
        self.path = Path(path)
        self.mode = mode
        self.errors: list[CassetteError] = []
        self._options = options
        self._cassette: RunCassette | None = None
        self._lock = threading.Lock()

    @property
    def cassette(self) -> RunCassette | None:
        """The open cassette; None until the first model request."""
        return self._cassette

    @property
    def replayed(self) -> int:
        return self._cassette.replayed if self._cassette else 0

    @property
    def recorded(self) -> int:
        return self._cassette.recorded if self._cassette else 0

    def _open(self) -> RunCassette:
        with self._lock:
            if self._cassette is None:
                try:
                    cassette = RunCassette(self.path, self.mode, **self._options)
                    _claim_for_recording(cassette)
                except CassetteError as error:
                    self.errors.append(error)
                    raise
                self._cassette = cassette
            return self._cassette

    def handle(self, request: httpx.Request, send: SyncSend) -> httpx.Response:
        try:
            cassette = self._open()
        except CassetteError as error:
            return refusal(error)
        try:
            return cassette.handle(request, send)
        except CassetteMismatchError as error:
            self.errors.append(error)
            return refusal(error)

    async def ahandle(self, request: httpx.Request, send: AsyncSend) -> httpx.Response:
        try:
            cassette = self._open()
        except CassetteError as error:
            return refusal(error)
        try:
            return await cassette.ahandle(request, send)
        except CassetteMismatchError as error:
            self.errors.append(error)
            return refusal(error)

    def close(self) -> None:
        """Save what was recorded and let another recorder have the file."""
        cassette = self._cassette
        if cassette is None:
            return
        try:
            cassette.save()
        finally:
            _release_for_recording(cassette)


REFUSAL_STATUS = 400
_REFUSAL_CODES: dict[type[CassetteError], str] = {
    CassetteMismatchError: "cassette_mismatch",
    MissingCassetteError: "missing_cassette",
}


def refusal(error: CassetteError) -> httpx.Response:
    """The answer to a request the cassette cannot answer: OpenAI's error JSON, not retried.

    Raised in the transport, the error would reach the client as a connection error, which the
    openai SDK retries (twice by default, with back-off): each retry is another miss at the next
    position, and the test fails more than a second later naming a later request. A 400 with
    ``x-should-retry: false`` makes the SDK, and every framework built on it, give up at once
    with the error's message; the block still raises the first error when it ends.
    """
    body = {
        "error": {
            "message": str(error),
            "type": "agentrig_cassette_error",
            "param": None,
            "code": _REFUSAL_CODES.get(type(error), "cassette_error"),
        }
    }
    return httpx.Response(REFUSAL_STATUS, headers={"x-should-retry": "false"}, json=body)


def _claim_for_recording(cassette: RunCassette) -> None:
    """Refuse a second recorder of the same file in this process (they would overwrite)."""
    if not cassette.records:
        return
    key = cassette.path.resolve()
    with _recording_lock:
        if key in _recording_paths:
            raise CassetteError(
                f"cassette {cassette.path} is already being recorded by another run in this "
                "process; give the runs different repeats or cassette folders"
            )
        _recording_paths.add(key)


def _release_for_recording(cassette: RunCassette) -> None:
    if cassette.records:
        with _recording_lock:
            _recording_paths.discard(cassette.path.resolve())


@contextmanager
def open_cassette(
    path: Path | str,
    mode: str = "none",
    *,
    header: str = "",
    record_command: str = "agentrig record",
    rerecord_command: str | None = None,
    substitutions: Mapping[str, str] | None = None,
) -> Iterator[CassetteSession]:
    """Route the block's model requests (and its tasks' and carried threads') to one cassette.

    The file is opened at the first model request. On exit what was recorded is saved, and an
    error met on the request path (missing cassette, no match) is raised even if the code
    inside caught it, in place of whatever error it turned into: drift is never served quietly.

    Raises:
        MissingCassetteError: replay of a cassette that does not exist.
        CassetteMismatchError: a request matched no recorded interaction.
    """
    session = CassetteSession(
        path,
        mode,
        header=header,
        record_command=record_command,
        rerecord_command=rerecord_command,
        substitutions=substitutions,
    )
    try:
        with bind_exchange_handler(session):
            yield session
    except Exception as error:
        if session.errors and error is not session.errors[0]:
            raise session.errors[0] from error
        raise
    finally:
        session.close()
    if session.errors:
        raise session.errors[0]

"""ADK sessions in the shared StateStore: a ``BaseSessionService`` whose sessions are documents.

ADK keeps a conversation -- every event of every agent, and the session's state -- in a
``Session`` that a session service loads and appends to. :class:`StoreSessionService` keeps one
session per run under :func:`session_key` (``runs/{run_id}/google-adk/session``), the
``Session.model_dump(mode="json")`` of ADK itself, rewritten with compare-and-set after every
event ADK appends. A run that dies resumes from the last event it stored: the roles that answered
are in the session's state (each agent's ``output_key``), the handoffs mirrored on the bus too.

Only the session scope is kept: ``app:`` and ``user:`` state would be shared between runs, which
the workflow never uses; ``temp:`` state is never stored, as ADK asks of every service.
"""

from __future__ import annotations

import time
from typing import Any

from pydantic import ValidationError

from agentrig.core.state.base import StateStore
from agentrig.core.state.documents import unresumable_document
from agentrig.exceptions import AdapterError

try:
    from google.adk.events.event import Event
    from google.adk.sessions import BaseSessionService, Session
    from google.adk.sessions.base_session_service import GetSessionConfig, ListSessionsResponse
except ImportError as error:  # pragma: no cover - the adapter module names the extra first
    from agentrig.exceptions import MissingExtraError

    raise MissingExtraError("the Google ADK adapter", "google-adk") from error

__all__ = ["StoreSessionService", "session_key"]


def session_key(run_id: str) -> str:
    """The StateStore key of a run's ADK session."""
    return f"runs/{run_id}/google-adk/session"


class StoreSessionService(BaseSessionService):
    """One run's ADK session in the StateStore, each write compare-and-set.

    The session id is the run id. The version seen by the last load or save is the one the next
    save expects, so two processes resuming the same run cannot both write: the second gets
    :class:`~agentrig.exceptions.VersionConflict` and nothing is overwritten.
    """

    def __init__(self, store: StateStore, run_id: str) -> None:
        self.store = store
        self.run_id = run_id
        self.key = session_key(run_id)
        self.version = 0

    def _check(self, session_id: str) -> None:
        if session_id != self.run_id:
            raise AdapterError(
                f"this ADK session service keeps run {self.run_id!r} only; "
                f"session {session_id!r} was asked for"
            )

    async def create_session(
        self,
        *,
        app_name: str,
        user_id: str,
        state: dict[str, Any] | None = None,
        session_id: str | None = None,
    ) -> Session:
        session_id = session_id or self.run_id
        self._check(session_id)
        session = Session(
            id=session_id,
            app_name=app_name,
            user_id=user_id,
            state=dict(state or {}),
            last_update_time=time.time(),
        )
        await self._save(session)
        return session

    async def get_session(
        self,
        *,
        app_name: str,
        user_id: str,
        session_id: str,
        config: GetSessionConfig | None = None,
    ) -> Session | None:
        self._check(session_id)
        loaded = await self.store.load(self.key)
        if loaded is None:
            self.version = 0
            return None
        try:
            session = Session.model_validate(loaded.state)
        except ValidationError as error:
            raise unresumable_document(
                "ADK session", self.key, loaded.version, error, "start the run over"
            ) from error
        self.version = loaded.version
        if session.app_name != app_name or session.user_id != user_id:
            return None
        if config is not None and config.num_recent_events is not None:
            recent = config.num_recent_events
            session.events = session.events[-recent:] if recent else []
        return session

    async def list_sessions(
        self, *, app_name: str, user_id: str | None = None
    ) -> ListSessionsResponse:
        session = await self.get_session(
            app_name=app_name, user_id=user_id or "", session_id=self.run_id
        )
        if session is None:
            return ListSessionsResponse()
        return ListSessionsResponse(sessions=[session.model_copy(update={"events": []})])

    async def delete_session(self, *, app_name: str, user_id: str, session_id: str) -> None:
        self._check(session_id)
        await self.store.delete(self.key)
        self.version = 0

    async def append_event(self, session: Session, event: Event) -> Event:
        appended = await super().append_event(session, event)
        if event.partial:
            return appended
        session.last_update_time = event.timestamp
        await self._save(session)
        return appended

    async def _save(self, session: Session) -> None:
        document = session.model_dump(mode="json", exclude_none=True)
        self.version = await self.store.save(self.key, document, expected_version=self.version)

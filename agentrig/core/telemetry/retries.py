"""Count the ``openai`` client's HTTP retries per run, whichever framework drives the client.

All four adapters reach the model through the ``openai`` SDK, which retries 429s, 5xx answers,
timeouts and dropped connections by itself and logs each retry (``Retrying request to ... in ...
seconds``, INFO, logger ``openai._base_client``). No span marks them -- the instrumentation wraps
the whole call -- so this handler counts those records against the run bound in the current
context (:func:`agentrig.core.telemetry.context.current_labels`), which works for async tasks and
for threads started with the context carried.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter

from agentrig.core.telemetry.context import current_labels

__all__ = ["OPENAI_CLIENT_LOGGER", "RetryCounter", "retry_counter"]

OPENAI_CLIENT_LOGGER = "openai._base_client"
_RETRY_PREFIX = "Retrying request to "


class RetryCounter(logging.Handler):
    """A logging handler that counts the openai client's retries per run id."""

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self._counts: Counter[str] = Counter()
        self._counts_lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        if not isinstance(record.msg, str) or not record.msg.startswith(_RETRY_PREFIX):
            return
        labels = current_labels()
        run_id = labels.run_id if labels is not None else ""
        with self._counts_lock:
            self._counts[run_id] += 1

    def count(self, run_id: str) -> int:
        """Retries seen so far for ``run_id``."""
        with self._counts_lock:
            return self._counts[run_id]

    def forget(self, run_id: str) -> None:
        """Drop a finished run's count."""
        with self._counts_lock:
            self._counts.pop(run_id, None)


_installed: RetryCounter | None = None
_install_lock = threading.Lock()


def retry_counter() -> RetryCounter:
    """The process's retry counter, attached to the openai client's logger on first use.

    The logger is set to INFO so the retry records are created at all (the SDK leaves it at the
    root's level, usually WARNING); they still propagate to the application's handlers.
    """
    global _installed
    with _install_lock:
        if _installed is None:
            _installed = RetryCounter()
            client_logger = logging.getLogger(OPENAI_CLIENT_LOGGER)
            if client_logger.getEffectiveLevel() > logging.INFO:
                client_logger.setLevel(logging.INFO)
            client_logger.addHandler(_installed)
        return _installed

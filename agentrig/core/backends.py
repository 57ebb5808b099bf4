"""Pick a backend class by URL scheme, importing its module only then; say what failed, safely.

The state store and the message bus both choose their backend from a URL (``redis://...``);
importing the chosen module lazily keeps ``import agentrig`` free of the optional client
libraries, whose absence then surfaces as a :class:`~agentrig.exceptions.MissingExtraError`
naming the extra to install. :func:`redact_url` and :func:`one_line` shape what an error
message about a backend may show: its URL without the password, a cause on one line (client
libraries put the password in the URL and their hints on extra lines).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from importlib import import_module
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit

from agentrig.exceptions import ConfigurationError

__all__ = ["AsyncClosing", "one_line", "open_backend", "redact_url"]


def open_backend(url: str, backends: Mapping[str, tuple[str, str]], what: str) -> Any:
    """``Backend.from_url(url)`` for the class that ``backends[scheme]`` names.

    Args:
        url: the backend URL.
        backends: scheme -> (module, class name).
        what: what is being opened, for the error message ("state store").

    Raises:
        ConfigurationError: the scheme is not one of ``backends``.
        MissingExtraError: the backend's client library is not installed.
    """
    scheme = urlsplit(url).scheme.lower()
    if scheme not in backends:
        known = ", ".join(f"{name}://" for name in sorted(backends))
        raise ConfigurationError(f"unknown {what} URL {url!r}: the scheme must be one of {known}")
    module_name, class_name = backends[scheme]
    return getattr(import_module(module_name), class_name).from_url(url)


# user:password@ in a URL; password=... in a URL query or a libpq "key=value" string.
_URL_PASSWORD = re.compile(r"(?<=://)([^/@:?#]*):[^/?#]*@")
_PASSWORD_PARAMETER = re.compile(r"(?i)(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&#]*)")


def redact_url(url: str) -> str:
    """``url`` fit for an error message or a log: any password replaced by ``***``.

    Handles ``scheme://user:secret@host`` and a ``password=`` parameter, in a URL's query or in
    a libpq ``key=value`` connection string.
    """
    url = _URL_PASSWORD.sub(r"\1:***@", url)
    return _PASSWORD_PARAMETER.sub(r"\1***", url)


def one_line(error: BaseException) -> str:
    """An exception's message on one line (client libraries add hints on further lines)."""
    text = " ".join(str(error).split())
    return text or type(error).__name__


class AsyncClosing:
    """``async with`` for the built-in stores, buses and subscriptions: leaving closes."""

    async def close(self) -> None:
        """Release resources; classes holding any override this."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

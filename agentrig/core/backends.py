"""Pick a backend class by URL scheme, importing its module only then.

The state store and the message bus both choose their backend from a URL (``redis://...``);
importing the chosen module lazily keeps ``import agentrig`` free of the optional client
libraries, whose absence then surfaces as a :class:`~agentrig.exceptions.MissingExtraError`
naming the extra to install.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import import_module
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit, urlunsplit

from agentrig.exceptions import ConfigurationError

__all__ = ["AsyncClosing", "open_backend", "redact_url"]


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


def redact_url(url: str) -> str:
    """``url`` with any password replaced by ``***``, for messages and records."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = netloc[0].split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[1]}"))


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

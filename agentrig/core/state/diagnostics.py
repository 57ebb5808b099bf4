"""What error messages about a backend may show: its URL without the password, a cause in one line.

Client libraries put the password in the URL and their hints on extra lines; an error that reaches
a log or a terminal should carry neither.
"""

from __future__ import annotations

import re

__all__ = ["one_line", "redact_url"]


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

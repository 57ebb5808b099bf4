"""What every framework's ``patches`` module shares: its supported range and its internals.

An adapter that changes or relies on a framework's private attributes says which ones in its
``patches`` module (``INTERNALS``), checks the installed version against the range those were
verified on (``SUPPORTED``) when the adapter is built -- never on import -- and refuses, in one
clear line, a version outside it: a renamed private method would otherwise fail half-way
through a run, or worse, stop being patched without a word.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Literal

from agentrig.exceptions import MissingExtraError, UnsupportedFrameworkVersionError

__all__ = ["Internal", "PatchSet", "VersionRange"]

_RELEASE = re.compile(r"\d+(?:\.\d+)*")


def _release(text: str) -> tuple[int, ...]:
    # The numeric release only: "0.8.0rc1" counts as 0.8.0, so a pre-release of the next
    # minor is outside a "<0.8" range, as it should be.
    found = _RELEASE.match(text)
    return tuple(int(part) for part in found.group().split(".")) if found else ()


@dataclass(frozen=True)
class VersionRange:
    """``minimum <= installed < below`` for one distribution, as the adapter's extra pins it."""

    distribution: str
    minimum: str
    below: str
    extra: str

    def __str__(self) -> str:
        return f">={self.minimum},<{self.below}"

    def contains(self, installed: str) -> bool:
        return _release(self.minimum) <= _release(installed) < _release(self.below)

    def check(self) -> str:
        """The installed version, when it is inside the range.

        Raises:
            UnsupportedFrameworkVersionError: it is outside the range.
            MissingExtraError: the distribution is not installed at all.
        """
        try:
            installed = version(self.distribution)
        except PackageNotFoundError as error:
            raise MissingExtraError(f"the {self.extra} adapter", self.extra) from error
        if not self.contains(installed):
            raise UnsupportedFrameworkVersionError(
                self.distribution, installed, str(self), self.extra
            )
        return installed


@dataclass(frozen=True)
class Internal:
    """One private framework attribute an adapter relies on.

    Attributes:
        owner: the class or module that has it.
        attribute: its name.
        change: ``wrapped`` (replaced on the framework's own class, process-wide, by
            ``apply()``), ``overridden`` (redefined in an agentrig subclass only) or ``used``
            (called or read as it is).
        why: what framework behaviour this changes, and where that change is reported.
    """

    owner: object
    attribute: str
    change: Literal["wrapped", "overridden", "used"]
    why: str

    @property
    def name(self) -> str:
        """``module.Class.attribute`` (or ``module.attribute``)."""
        if isinstance(self.owner, type):
            return f"{self.owner.__module__}.{self.owner.__qualname__}.{self.attribute}"
        return f"{getattr(self.owner, '__name__', self.owner)}.{self.attribute}"


class PatchSet:
    """A framework's :class:`VersionRange` checks and process-wide changes, applied once.

    Each framework's ``patches`` module builds one and exposes its ``apply`` and ``applied``.
    ``install`` makes the process-wide changes (wrapping a framework class's method, say); it runs
    only after every range has been checked, so an unsupported version changes nothing.
    """

    def __init__(
        self,
        supported: Sequence[VersionRange],
        install: Callable[[], None] | None = None,
    ) -> None:
        self.supported = tuple(supported)
        self._install = install
        self._lock = threading.Lock()
        self._applied = False

    def applied(self) -> bool:
        """Whether :meth:`apply` has run (and found supported versions) in this process."""
        return self._applied

    def apply(self) -> None:
        """Check every supported range, then make the process-wide changes; once per process.

        Raises:
            UnsupportedFrameworkVersionError: a distribution is outside its supported range.
            MissingExtraError: a distribution is not installed.
        """
        with self._lock:
            if self._applied:
                return
            for supported in self.supported:
                supported.check()
            if self._install is not None:
                self._install()
            self._applied = True

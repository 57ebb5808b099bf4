"""Package attributes that load on first use (PEP 562), shared by every package ``__init__``.

A package that re-exports its modules' names eagerly makes importing any one submodule load them
all: ``from agentrig.core.plant.tools import TOOLS`` would pull in the simulator, the scenario
loader and the state store. Each package ``__init__`` instead hands a name -> module table to
:func:`lazy_exports` and binds the two functions it returns as its module ``__getattr__`` and
``__dir__``; ``TYPE_CHECKING`` imports beside the table keep type checkers and IDEs informed.

Example::

    __getattr__, __dir__ = lazy_exports(__name__, {"Plant": "agentrig.core.plant.plant"})
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping
from importlib import import_module
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, table: Mapping[str, str], eager: Iterable[str] = ()
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Return ``(__getattr__, __dir__)`` for ``package`` serving the names in ``table`` lazily.

    Args:
        package: the package's ``__name__``.
        table: exported name -> the module that defines it.
        eager: names already bound in the package (listed by ``__dir__`` too).
    """
    names = sorted(set(table) | set(eager))

    def __getattr__(name: str) -> Any:
        module = table.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(module), name)
        setattr(sys.modules[package], name, value)  # later lookups skip this function
        return value

    def __dir__() -> list[str]:
        return sorted(set(names) | set(vars(sys.modules[package])))

    return __getattr__, __dir__

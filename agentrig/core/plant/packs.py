"""Scenario packs: incidents that an installed package ships, found by entry point.

A package declares a pack in its ``pyproject.toml``::

    [project.entry-points."agentrig.scenarios"]
    acme = "acme_incidents"                 # a package: its folder holds the YAML files
    # or "acme_incidents.paths:SCENARIOS"   # an attribute: a folder path (str or Path),
    #                                       # or a function returning one

The folder's ``*.yaml`` files are scenarios (a layout file beside them, one with ``devices``
and no ``alarm``, is skipped: scenarios name it by relative path). A scenario from a pack
records its origin as ``pack:<distribution name>``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path
from types import ModuleType

from agentrig.exceptions import ScenarioError

__all__ = ["PACK_GROUP", "PACK_PREFIX", "ScenarioPack", "installed_packs", "pack_origin"]

PACK_GROUP = "agentrig.scenarios"
PACK_PREFIX = "pack:"


@dataclass(frozen=True)
class ScenarioPack:
    """One ``agentrig.scenarios`` entry point: its distribution, its name and its folder."""

    distribution: str
    name: str
    folder: Path

    @property
    def origin(self) -> str:
        return pack_origin(self.distribution)


def pack_origin(distribution: str) -> str:
    """``pack:<distribution>``: what a run records as the source of a pack's scenario."""
    return f"{PACK_PREFIX}{distribution}"


def installed_packs() -> list[ScenarioPack]:
    """Every installed pack, sorted by distribution and entry-point name.

    Raises:
        ScenarioError: an entry point does not load or does not name a folder.
    """
    packs = []
    for entry_point in metadata.entry_points(group=PACK_GROUP):
        distribution = entry_point.dist.name if entry_point.dist else entry_point.name
        where = (
            f"{pack_origin(distribution)} (entry point {entry_point.name} = {entry_point.value})"
        )
        try:
            loaded = entry_point.load()
        except (ImportError, AttributeError) as error:
            raise ScenarioError(where, "", f"an importable module or attribute ({error})") from None
        packs.append(ScenarioPack(distribution, entry_point.name, _folder(loaded, where)))
    return sorted(packs, key=lambda pack: (pack.distribution, pack.name))


def _folder(loaded: object, where: str) -> Path:
    if isinstance(loaded, ModuleType):
        folder = Path(str(resources.files(loaded)))
    else:
        value = loaded() if callable(loaded) else loaded
        if not isinstance(value, (str, os.PathLike)):
            raise ScenarioError(
                where, "", f"a package, a folder path or a function returning one (got {value!r})"
            )
        folder = Path(value)
    if not folder.is_dir():
        raise ScenarioError(where, "", f"an existing folder of scenario YAML files (got {folder})")
    return folder

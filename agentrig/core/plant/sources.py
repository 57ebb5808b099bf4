"""Choosing scenarios: ``-s`` selections of ids, files, folders and globs, each with its origin.

:func:`select_scenarios` turns what a user typed after ``-s`` into :class:`ScenarioRef` s::

    breaker-trip-cooling-pump,./incidents/,more/*.yaml,acme-pump-surge

An item is ``all`` (the catalogue and every installed pack), a scenario id (the catalogue's or a
pack's), a ``.yaml`` file, a folder (its scenario files) or a glob. A run names its scenario by
id everywhere (run id, results, report, cassettes) and keeps the origin beside it
(``RunSpec.scenario_source``), so any process can load it again from the spec alone. Two
different scenarios with one id in one selection -- or a file reusing an id of the catalogue or
of a pack -- are refused: results and cassettes are keyed by id.
"""

from __future__ import annotations

import glob
from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from agentrig.core.plant.scenarios import (
    CATALOGUE,
    Scenario,
    is_layout_file,
    is_scenario_path,
    list_scenarios,
    load_scenario,
    pack_scenarios,
    scenario_files,
)
from agentrig.exceptions import ConfigurationError, ScenarioError

__all__ = ["ScenarioRef", "available_scenarios", "scenario_paths", "select_scenarios"]


class ScenarioRef(BaseModel):
    """A scenario by id and origin: ``catalogue``, ``pack:<distribution>`` or a file path."""

    model_config = ConfigDict(frozen=True)

    id: str
    source: str = CATALOGUE

    @classmethod
    def of(cls, scenario: Scenario) -> ScenarioRef:
        return cls(id=scenario.id, source=scenario.origin or CATALOGUE)

    def load(self) -> Scenario:
        return load_scenario(self.id, self.source)


def available_scenarios() -> list[Scenario]:
    """The catalogue, then every installed pack's scenarios.

    Raises:
        ScenarioError: a pack's scenario does not load, or reuses an id (listing both places).
    """
    scenarios = [*list_scenarios(), *pack_scenarios()]
    _refuse_duplicates(scenarios)
    return scenarios


def select_scenarios(requested: str | Iterable[str]) -> list[ScenarioRef]:
    """The scenarios a ``-s`` value names, in the order given, each once.

    Raises:
        ConfigurationError: an item is no known id, file, folder or glob match.
        ScenarioError: a file does not validate, or two different scenarios share an id.
    """
    items = requested.split(",") if isinstance(requested, str) else list(requested)
    items = [item.strip() for item in items if item.strip()] or ["all"]
    known = available_scenarios()
    by_id = {scenario.id: scenario for scenario in known}
    chosen: list[Scenario] = []
    for item in items:
        if item == "all":
            chosen.extend(known)
        elif item in by_id:
            chosen.append(by_id[item])
        elif _names_files(item):
            chosen.extend(load_scenario(path) for path in scenario_paths(item))
        else:
            raise ConfigurationError(
                f"unknown scenario(s) {item}; `agentrig scenarios` lists: "
                f"{', '.join(by_id)}; or give a scenario .yaml file, a folder or a glob"
            )
    # A file of the catalogue or of a pack, named by path, is that scenario.
    chosen = [by_id.get(s.id, s) if _same_file(by_id.get(s.id), s) else s for s in chosen]
    _refuse_duplicates([*known, *chosen])
    refs = [ScenarioRef.of(scenario) for scenario in chosen]
    return list(dict.fromkeys(refs))


def scenario_paths(item: str) -> list[Path]:
    """The scenario files ``item`` names: a .yaml file, a folder's files, or a glob's matches.

    Layout files among a folder's files or a glob's matches are left out.

    Raises:
        ConfigurationError: a folder or glob without scenario files, or neither file, folder
            nor glob.
    """
    path = Path(item).expanduser()
    if path.is_dir():
        found = scenario_files(path)
        if not found:
            raise ConfigurationError(f"{item}: the folder has no scenario files (*.yaml)")
        return found
    if glob.has_magic(item):
        # glob.glob, not Path.glob: the pattern may be absolute, which Path.glob refuses.
        matches = [Path(match) for match in sorted(glob.glob(item, recursive=True))]  # noqa: PTH207
        found = [
            match
            for match in matches
            if match.is_file() and is_scenario_path(match) and not is_layout_file(match)
        ]
        if not found:
            raise ConfigurationError(f"{item}: the glob matches no scenario file (*.yaml)")
        return found
    if is_scenario_path(item):
        return [path]
    raise ConfigurationError(f"{item}: not a scenario .yaml file, a folder or a glob")


def _names_files(item: str) -> bool:
    return Path(item).expanduser().is_dir() or glob.has_magic(item) or is_scenario_path(item)


def _same_file(known: Scenario | None, scenario: Scenario) -> bool:
    if known is None or not known.source or not scenario.source:
        return False
    return Path(known.source).resolve() == Path(scenario.source).resolve()


def _refuse_duplicates(scenarios: Iterable[Scenario]) -> None:
    places: dict[str, list[str]] = {}
    for scenario in scenarios:
        where = scenario.origin or CATALOGUE
        if where not in places.setdefault(scenario.id, []):
            places[scenario.id].append(where)
    for scenario_id, found in places.items():
        if len(found) > 1:
            raise ScenarioError(
                scenario_id,
                "id",
                f"one scenario per id, but {scenario_id!r} comes from {' and '.join(found)}: "
                "give one of them another id (results and cassettes are keyed by id)",
            )

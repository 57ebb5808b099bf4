"""Scenarios from files, folders, globs and packs: what ``-s`` selects, and where each came from."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from agentrig.core.plant.packs import installed_packs
from agentrig.core.plant.scenarios import CATALOGUE, load_scenario, scenarios_dir
from agentrig.core.plant.sources import ScenarioRef, select_scenarios
from agentrig.core.runner.compare import MatrixFile
from agentrig.core.runner.spec import RunSettings, RunSpec, build_matrix
from agentrig.exceptions import ConfigurationError, ScenarioError

INCIDENTS = Path(__file__).parent / "incidents"
BOOSTER = INCIDENTS / "booster-valve-left-shut.yaml"


def write_scenario(folder: Path, scenario_id: str, base: str = "breaker-trip-cooling-pump") -> Path:
    """A catalogue scenario under a new id, as a user would copy one."""
    document = yaml.safe_load((scenarios_dir() / f"{base}.yaml").read_text())
    document["id"] = scenario_id
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{scenario_id}.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def make_pack(site: Path, scenario_ids: list[str], distribution: str = "acme-incidents") -> Path:
    """A real installed distribution: a package of YAML files and an entry point naming it."""
    package = site / "acme_incidents"
    for scenario_id in scenario_ids:
        write_scenario(package, scenario_id)
    (package / "__init__.py").write_text('"""Incidents of the ACME plant."""\n')
    dist_info = site / f"{distribution.replace('-', '_')}-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {distribution}\nVersion: 1.0\n"
    )
    (dist_info / "entry_points.txt").write_text("[agentrig.scenarios]\nacme = acme_incidents\n")
    return package


def test_ids_files_folders_and_globs_mix_and_carry_their_origin(tmp_path: Path) -> None:
    one = write_scenario(tmp_path / "incidents", "my-first-trip")
    two = write_scenario(tmp_path / "incidents", "my-second-trip")
    write_scenario(tmp_path / "more", "my-third-trip")
    refs = select_scenarios(
        f"breaker-trip-cooling-pump,{tmp_path / 'incidents'}/,{tmp_path / 'more'}/*.yaml,{one}"
    )
    assert refs == [
        ScenarioRef(id="breaker-trip-cooling-pump", source=CATALOGUE),
        ScenarioRef(id="my-first-trip", source=str(one.resolve())),
        ScenarioRef(id="my-second-trip", source=str(two.resolve())),
        ScenarioRef(
            id="my-third-trip", source=str((tmp_path / "more" / "my-third-trip.yaml").resolve())
        ),
    ]
    # a catalogue file named by path is the catalogue's scenario
    by_path = select_scenarios(str(scenarios_dir() / "closed-discharge-valve.yaml"))
    assert by_path == [ScenarioRef(id="closed-discharge-valve", source=CATALOGUE)]


def test_a_folder_skips_the_layout_beside_its_scenarios() -> None:
    assert select_scenarios(str(INCIDENTS)) == [
        ScenarioRef(id="booster-valve-left-shut", source=str(BOOSTER.resolve()))
    ]


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("no-such-incident", "unknown scenario(s) no-such-incident"),
        ("{tmp}/empty/", "the folder has no scenario files"),
        ("{tmp}/*.nothing.yaml", "the glob matches no scenario file"),
    ],
)
def test_a_selection_that_names_nothing_says_what_it_expected(
    tmp_path: Path, item: str, message: str
) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigurationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        select_scenarios(item.format(tmp=tmp_path))


def test_one_id_from_two_places_is_refused(tmp_path: Path) -> None:
    first = write_scenario(tmp_path / "a", "my-trip")
    second = write_scenario(tmp_path / "b", "my-trip")
    with pytest.raises(ScenarioError) as caught:
        select_scenarios(f"{first},{second}")
    assert caught.value.path == "my-trip"
    assert str(first.resolve()) in caught.value.expected
    assert str(second.resolve()) in caught.value.expected
    # reusing a catalogue id would mix with the catalogue's results and cassettes
    shadow = write_scenario(tmp_path / "c", "closed-discharge-valve")
    with pytest.raises(ScenarioError, match="comes from catalogue and "):
        select_scenarios(str(shadow))


def test_a_run_spec_names_the_scenario_by_id_and_loads_it_from_its_source(
    tmp_path: Path,
) -> None:
    (spec,) = build_matrix(["plain"], select_scenarios(str(BOOSTER)), session="s1")
    assert spec.run_id == "s1-plain-booster-valve-left-shut-r0"
    assert spec.scenario == "booster-valve-left-shut"
    again = RunSpec.model_validate_json(spec.model_dump_json())
    assert again == spec
    assert again.scenario_source == str(BOOSTER.resolve())
    # another process, in another directory, loads it from the spec alone
    code = (
        "import sys; from agentrig.core.runner.spec import RunSpec; "
        "from agentrig.core.plant.scenarios import load_scenario; "
        "spec = RunSpec.model_validate_json(sys.argv[1]); "
        "s = load_scenario(spec.scenario, spec.scenario_source); "
        "print(s.id, s.load_layout().name)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, spec.model_dump_json()],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(Path(__file__).parents[3]), "HOME": str(tmp_path)},
    )
    assert done.stdout.split() == ["booster-valve-left-shut", "booster-station"]


def test_a_moved_or_rewritten_file_is_reported_not_run(tmp_path: Path) -> None:
    path = write_scenario(tmp_path, "my-trip")
    source = str(path.resolve())
    assert load_scenario("my-trip", source).origin == source
    path.write_text(path.read_text().replace("id: my-trip", "id: other-trip"))
    with pytest.raises(ScenarioError, match="the file now says 'other-trip'"):
        load_scenario("my-trip", source)


def test_a_layout_file_is_found_relative_to_the_scenario_not_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copied = tmp_path / "site"
    shutil.copytree(INCIDENTS, copied)
    monkeypatch.chdir(tmp_path)  # the layout is not in the working directory
    scenario = load_scenario(copied / "booster-valve-left-shut.yaml")
    assert scenario.layout == str((copied / "booster-plant.yaml").resolve())
    assert "booster-82" in scenario.load_layout().devices


def test_matrix_file_keeps_the_sources_for_resume(tmp_path: Path) -> None:
    refs = select_scenarios(f"breaker-trip-cooling-pump,{BOOSTER}")
    matrix = MatrixFile(
        session="s1",
        frameworks=["plain"],
        scenarios=[ref.id for ref in refs],
        scenario_sources={ref.id: ref.source for ref in refs},
        repeats=1,
        model="reference",
        timeout_s=30,
        settings=RunSettings(),
    )
    matrix.write(tmp_path)
    assert MatrixFile.read(tmp_path).scenario_refs() == refs


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder on sys.path, as site-packages is; the pack's package imported afresh."""
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "acme_incidents", raising=False)
    return tmp_path


def test_a_pack_is_listed_with_its_distribution_and_selected_by_id(site: Path) -> None:
    package = make_pack(site, ["acme-pump-trip", "acme-second-trip"])
    (pack,) = installed_packs()
    assert (pack.distribution, pack.name, pack.folder) == ("acme-incidents", "acme", package)
    refs = select_scenarios("acme-second-trip,breaker-trip-cooling-pump")
    assert refs == [
        ScenarioRef(id="acme-second-trip", source="pack:acme-incidents"),
        ScenarioRef(id="breaker-trip-cooling-pump", source=CATALOGUE),
    ]
    assert {r.id for r in select_scenarios("all")} >= {"acme-pump-trip", "closed-discharge-valve"}
    assert load_scenario("acme-pump-trip").origin == "pack:acme-incidents"
    assert load_scenario("acme-pump-trip", "pack:acme-incidents").id == "acme-pump-trip"


def test_a_pack_reusing_a_catalogue_id_is_refused_naming_both(site: Path) -> None:
    make_pack(site, ["closed-discharge-valve"])
    with pytest.raises(ScenarioError, match="comes from catalogue and pack:acme-incidents"):
        select_scenarios("breaker-trip-cooling-pump")

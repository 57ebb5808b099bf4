"""The architecture holds: the never-rules of docs/architecture.md, and imports that stay light."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

NEVER_RULES = {
    "state and messaging import nothing above them",
    "the plant imports neither the expert, the model, nor the adapters",
    "the expert does not import the model",
    "the model and telemetry do not import the adapters",
    "the MCP server imports neither the adapters, the runner nor the CLI",
    "core never imports a framework package",
}


def test_every_never_rule_is_an_import_contract() -> None:
    config = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    assert {contract["name"] for contract in config["contracts"]} == NEVER_RULES
    assert config["include_external_packages"] is True  # rule 5 needs the frameworks in the graph


def test_the_import_contracts_are_kept() -> None:
    lint = Path(sys.executable).parent / "lint-imports"  # installed beside this interpreter
    done = subprocess.run(
        [str(lint)], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Contracts: {len(NEVER_RULES)} kept, 0 broken." in done.stdout


def loaded_after(statement: str) -> set[str]:
    """The agentrig modules a fresh interpreter has loaded after ``statement``."""
    probe = (
        f"import sys\n{statement}\n"
        "print('\\n'.join(m for m in sys.modules if m.startswith('agentrig')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    return set(done.stdout.split())


@pytest.mark.parametrize(
    "statement",
    [
        "from agentrig.core.expert import decide",
        "from agentrig.core.llm.brain import default_decide; default_decide()",
    ],
)
def test_the_expert_loads_the_tool_catalogue_not_the_world(statement: str) -> None:
    loaded = loaded_after(statement)
    assert "agentrig.core.plant.tools" in loaded
    world = {
        "agentrig.core.plant.simulator",
        "agentrig.core.plant.scenarios",
        "agentrig.core.plant.executor",
        "agentrig.core.plant.plant",
        "agentrig.core.state.base",
    }
    assert not loaded & world, sorted(loaded & world)

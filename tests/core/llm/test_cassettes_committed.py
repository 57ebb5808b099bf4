"""Every committed cassette: no secrets, plain text, loadable, and in the documented layout."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from agentrig.core.plant import list_scenarios

REPO_ROOT = Path(__file__).resolve().parents[3]
CASSETTES = sorted((REPO_ROOT / "cassettes").rglob("*.yaml"))

SECRET_PATTERNS = {
    "an OpenAI-style key": re.compile(r"\bsk-(?!REDACTED)[A-Za-z0-9_\-]{8,}"),
    "a bearer token": re.compile(r"\bBearer\s+(?!REDACTED)\S{8,}"),
    "an AWS access key id": re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    "a Google API key": re.compile(r"\bAIza[0-9A-Za-z_\-]{30,}"),
    "a credential header": re.compile(
        r"^\s*['\"]?(authorization|api-key|x-api-key|openai-organization|openai-project|cookie"
        r"|set-cookie|proxy-authorization)['\"]?\s*:",
        re.IGNORECASE | re.MULTILINE,
    ),
    "a credential query parameter": re.compile(
        r"[?&](key|api-key|api_key|apikey)=(?!REDACTED)", re.IGNORECASE
    ),
    "the reference model's placeholder key": re.compile(r"agentrig-reference"),
}


def test_the_committed_cassettes_cover_every_scenario_of_the_baseline() -> None:
    plain = {path.stem for path in (REPO_ROOT / "cassettes" / "reference" / "plain").glob("*.yaml")}
    assert {scenario.id for scenario in list_scenarios()} <= plain


@pytest.mark.parametrize("path", CASSETTES, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_a_committed_cassette_holds_no_secret_and_only_text(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    for what, pattern in SECRET_PATTERNS.items():
        found = pattern.search(text)
        assert found is None, f"{path} holds {what}: {found.group(0)[:40]!r}"
    assert "!!binary" not in text
    assert "!!python" not in text
    data = yaml.load(text, Loader=yaml.CSafeLoader)
    assert data["version"] == 1
    assert data["interactions"], f"{path} records no interaction"
    for interaction in data["interactions"]:
        assert set(interaction["request"]) <= {"method", "uri", "body"}  # no request header kept
        assert set(interaction["response"]["body"]) <= {"json", "events", "text"}

"""Role prompts, the handoff convention and final-answer parsing."""

from __future__ import annotations

from typing import get_args

import pytest

from agentrig.core.contract.roles import (
    ROLES,
    ROOT_CAUSES,
    SYSTEM_PROMPTS,
    RootCauseLabel,
    alarm_part,
    build_task,
    detect_role,
    handoff_header,
    parse_final_answer,
)


def test_vocabulary_is_spelled_once_in_each_form() -> None:
    assert set(ROOT_CAUSES) == set(get_args(RootCauseLabel))
    assert len(ROOT_CAUSES) == 9


@pytest.mark.parametrize("role", ROLES)
def test_each_prompt_names_its_role_first_and_asks_for_its_final_lines(role: str) -> None:
    prompt = SYSTEM_PROMPTS[role]  # type: ignore[index]
    first_sentence = prompt.split(".")[0]
    assert f"You are the {role}" in first_sentence
    assert detect_role(prompt) == role
    expected = {
        "monitor": ["ALARM_DEVICE:", "CONFIRMED:", "OBSERVED:"],
        "diagnostician": ["ROOT_CAUSE:", "DEVICE:", "RECOMMENDED_ACTIONS:"],
        "operator": ["ROOT_CAUSE:", "DEVICE:", "ACTIONS_TAKEN:", "ESCALATED:"],
    }[role]
    for line in expected:
        assert line in prompt
    if role != "monitor":
        for label in ROOT_CAUSES:
            assert label in prompt


def test_detect_role_finds_nothing_in_other_text() -> None:
    assert detect_role("You are a helpful assistant.") is None


def test_build_task_puts_the_alarm_first_and_alarm_part_recovers_it() -> None:
    task = build_task(
        "ALARM pump-07 tripped",
        [("monitor", "ALARM_DEVICE: pump-07"), ("diagnostician", "ROOT_CAUSE: closed_valve")],
    )
    assert task.startswith("ALARM pump-07 tripped")
    assert handoff_header("monitor") in task
    assert task.index(handoff_header("monitor")) < task.index(handoff_header("diagnostician"))
    assert alarm_part(task).strip() == "ALARM pump-07 tripped"
    assert alarm_part("no handoff here") == "no handoff here"


@pytest.mark.parametrize(
    ("text", "label", "device", "escalated"),
    [
        (
            "ROOT_CAUSE: blocked_discharge\nDEVICE: valve-12\nESCALATED: no",
            "blocked_discharge",
            "valve-12",
            False,
        ),
        (
            "**ROOT_CAUSE:** Blocked discharge.\n- **Device**: `valve-12` (pump-07 discharge)\n**Escalated:** Yes",
            "blocked_discharge",
            "valve-12",
            True,
        ),
        ("* root cause = stuck sensor\n* device = PT-07", "stuck_sensor", "pt-07", None),
        (
            "DEVICE: motor-11\nRoot-Cause: Ground fault\nESCALATED: true",
            "ground_fault",
            "motor-11",
            True,
        ),
        ("1. ROOT_CAUSE: valve closed\n2. DEVICE: valve-05", "closed_valve", "valve-05", None),
        (
            "| ROOT_CAUSE: tripped_breaker |\n| DEVICE: motor-04 |",
            "tripped_breaker",
            "motor-04",
            None,
        ),
    ],
)
def test_parse_final_answer_tolerates_markdown_case_and_synonyms(
    text: str, label: str, device: str, escalated: bool | None
) -> None:
    parsed = parse_final_answer(text)
    assert parsed.root_cause == label
    assert parsed.device == device
    assert parsed.escalated is escalated


def test_parse_final_answer_pairs_several_causes_in_order() -> None:
    repeated = parse_final_answer(
        "ROOT_CAUSE: sensor_drift\nDEVICE: tt-21\nROOT_CAUSE: motor_overheating\nDEVICE: motor-07"
    )
    listed = parse_final_answer(
        "ROOT_CAUSE: sensor_drift, motor_overheating\nDEVICE: tt-21, motor-07"
    )
    expected = (("sensor_drift", "tt-21"), ("motor_overheating", "motor-07"))
    assert repeated.causes == expected
    assert listed.causes == expected


def test_parse_final_answer_ignores_placeholders_and_reports_unknown_labels() -> None:
    quoted_prompt = "ROOT_CAUSE: <one label from the vocabulary>\nDEVICE: <the device>"
    assert parse_final_answer(quoted_prompt).root_cause is None
    parsed = parse_final_answer("ROOT_CAUSE: gremlins\nDEVICE: pump-07")
    assert parsed.root_cause is None
    assert parsed.unknown_labels == ("gremlins",)
    assert parsed.device == "pump-07"


def test_parse_final_answer_reads_the_monitor_lines_as_fields() -> None:
    parsed = parse_final_answer("ALARM_DEVICE: pump-07\nCONFIRMED: yes\nOBSERVED: pt-07 9.8 bar")
    assert parsed.fields == {
        "ALARM_DEVICE": "pump-07",
        "CONFIRMED": "yes",
        "OBSERVED": "pt-07 9.8 bar",
    }
    assert parsed.root_cause is None

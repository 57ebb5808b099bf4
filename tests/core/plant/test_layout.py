"""The default plant layout and layout validation."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from agentrig.core.plant import load_layout
from agentrig.exceptions import ScenarioError


def test_default_layout_has_every_kind_and_at_least_twelve_devices() -> None:
    layout = load_layout()
    assert len(layout.devices) >= 12
    kinds = Counter(spec.kind for spec in layout.devices.values())
    assert {"pump", "motor", "valve", "tank", "compressor", "heat_exchanger"} <= set(kinds)
    assert kinds["pump"] == 3
    assert kinds["motor"] == 3
    assert len(layout.all_sensors()) >= 25
    # every pump is driven by a motor, and connections are mirrored
    for device_id, spec in layout.devices.items():
        if spec.kind == "pump":
            assert spec.driven_by
            assert layout.drives(spec.driven_by) == device_id
        for target in spec.feeds:
            assert device_id in layout.fed_by(target)
    assert layout.sensor_owner("pt-07") == "pump-07"
    assert layout.fed_by("compressor-02") == ["valve-05"]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "plant.yaml"
    path.write_text(text)
    return path


def test_layout_errors_name_file_field_and_expectation(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "name: x\ndevices:\n  pump-01:\n    kind: pump\n    nominal_flow_m3h: 1\n",
    )
    with pytest.raises(ScenarioError) as caught:
        load_layout(path)
    assert caught.value.path == str(path)
    assert caught.value.field == "devices.pump-01"
    assert "nominal_pressure_bar" in caught.value.expected

    path = _write(
        tmp_path,
        "name: x\ndevices:\n  tank-01: {kind: tank, initial_level: 50, feeds: [pump-99]}\n",
    )
    with pytest.raises(ScenarioError, match="refers to 'pump-99', which is not a device"):
        load_layout(path)

    path = _write(tmp_path, "name: x\ndevices:\n  tank-01: {kind: silo, initial_level: 50}\n")
    with pytest.raises(ScenarioError) as caught:
        load_layout(path)
    assert caught.value.field == "devices.tank-01.kind"
    assert "'pump', 'motor', 'valve'" in caught.value.expected
    assert "'silo'" in caught.value.expected


def test_unknown_layout_name_lists_the_built_in_ones() -> None:
    with pytest.raises(ScenarioError, match="built-in: default"):
        load_layout("nowhere")

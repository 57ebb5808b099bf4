"""The report of a real comparison folder: written by compare, re-rendered by `agentrig report`,
and still rendered when trace files are missing, corrupt or empty."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentrig.cli import app
from agentrig.core.contract.results import read_results
from agentrig.core.report.summary import summarise
from tests.core.report.htmlparse import parse

# The folder comes from live runs of the reference model (see conftest.py).
pytestmark = pytest.mark.allow_model_requests

runner = CliRunner()


def _self_contained(copy: Path, original: Path) -> None:
    # The copied results still name the original folder's trace files; point them at the copy
    # so that deleting a trace here really leaves the run without one.
    results = copy / "results.jsonl"
    results.write_text(results.read_text().replace(str(original), str(copy)))


def test_compare_writes_a_report_with_the_numbers_of_its_results(compared_folder: Path) -> None:
    results = read_results(compared_folder)
    page = parse((compared_folder / "report.html").read_text())
    (summary,) = summarise(results)
    row = page.find("tr", data_framework="plain")[0]
    values = {
        c.attrs["data-field"]: c.attrs["data-value"]
        for c in row.iter("td")
        if "data-field" in c.attrs
    }
    assert int(values["runs"]) == len(results) == 4
    assert float(values["pass_rate"]) == summary.pass_rate
    assert int(values["retries"]) == sum(r.retries for r in results)
    assert int(values["safety_violations"]) == sum(r.safety_violations for r in results)
    # Every run has its timeline, with its LLM and tool calls as bars.
    runs = {div.attrs["data-run-id"]: div for div in page.find("div", class_="run")}
    assert set(runs) == {r.run_id for r in results}
    for r in results:
        (timeline,) = runs[r.run_id].find("svg", class_="timeline")
        assert len(timeline.find("g", class_="step-llm")) == r.llm_calls
        assert len(timeline.find("g", class_="step-tool")) == r.tool_calls
    # One framework: each scenario's second repeat is aligned against its first.
    alignments = page.find("details", class_="alignment")
    assert len(alignments) == 2
    assert all(" vs plain r0" in d.find("summary")[0].text for d in alignments)
    assert page.find("div", class_="problems") == []


def test_report_re_renders_the_same_report_from_the_folder(
    compared_folder: Path, compared_copy: Path
) -> None:
    written_by_compare = (compared_folder / "report.html").read_text()
    (compared_copy / "report.html").unlink()
    shown = runner.invoke(app, ["report", str(compared_copy)])
    assert shown.exit_code == 0, shown.output
    assert f"report: {compared_copy / 'report.html'} (4 runs, 4 traces)" in shown.stdout
    again = (compared_copy / "report.html").read_text()
    assert again.replace(str(compared_copy), str(compared_folder)) == written_by_compare


def test_missing_corrupt_and_empty_trace_files_are_named_and_the_rest_renders(
    compared_folder: Path, compared_copy: Path
) -> None:
    _self_contained(compared_copy, compared_folder)
    results = read_results(compared_copy)
    missing, corrupt, empty, intact = results
    (compared_copy / missing.run_id / "trace.jsonl").unlink()
    (compared_copy / corrupt.run_id / "trace.jsonl").write_text('{"resourceSpans": [\n')
    (compared_copy / empty.run_id / "trace.jsonl").write_text("")
    output = compared_copy / "elsewhere" / "r.html"
    shown = runner.invoke(app, ["report", str(compared_copy), "--output", str(output)])
    assert shown.exit_code == 0, shown.output
    assert "(4 runs, 1 traces, 3 missing or unreadable)" in shown.stdout
    for run in (missing, corrupt, empty):
        assert f"warning: {run.run_id}: " in shown.stderr
    page = parse(output.read_text())
    problems = {
        li.find("code")[0].text: li.text for li in page.find("div", class_="problems")[0].iter("li")
    }
    assert set(problems) == {missing.run_id, corrupt.run_id, empty.run_id}
    assert "trace file missing" in problems[missing.run_id]
    assert "trace file unreadable" in problems[corrupt.run_id]
    assert "trace.jsonl:1: not an OTLP/JSON traces line" in problems[corrupt.run_id]
    assert "has no spans" in problems[empty.run_id]
    assert [
        div.attrs["data-run-id"]
        for div in page.find("div", class_="run")
        if div.find("svg", class_="timeline")
    ] == [intact.run_id]
    row = page.find("tr", data_framework="plain")[0]
    runs = [c for c in row.iter("td") if c.attrs.get("data-field") == "runs"]
    assert runs[0].text == "4"  # the numbers come from results.jsonl, complete


def test_report_of_a_folder_without_results_says_what_to_do(tmp_path: Path) -> None:
    shown = runner.invoke(app, ["report", str(tmp_path)])
    assert shown.exit_code == 2
    assert f"no results at {tmp_path / 'results.jsonl'}" in shown.output
    assert "agentrig compare --out" in shown.output
    assert not (tmp_path / "report.html").exists()


@pytest.mark.slow  # a process of its own, stopped half-way
def test_ctrl_c_during_compare_still_writes_the_report_of_the_finished_runs(
    tmp_path: Path,
) -> None:
    out = tmp_path / "interrupted"
    command = [sys.executable, "-c", "from agentrig.cli import main; main()", "compare"]
    command += ["-f", "plain", "--repeats", "2", "--concurrency", "1"]
    command += ["--state", "memory://", "--out", str(out)]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    results = out / "results.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if results.is_file() and len(results.read_text().splitlines()) >= 2:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    stdout, _ = process.communicate(timeout=120)
    assert process.returncode == 130, stdout
    finished = read_results(out)
    assert 2 <= len(finished) < 24  # stopped half-way through the 12 scenarios x 2
    assert f"report:  {out / 'report.html'}" in stdout
    page = parse((out / "report.html").read_text())
    row = page.find("tr", data_framework="plain")[0]
    runs = [c for c in row.iter("td") if c.attrs.get("data-field") == "runs"]
    assert runs[0].text == str(len(finished))
    shown = {div.attrs["data-run-id"] for div in page.find("div", class_="run")}
    assert shown == {r.run_id for r in finished}

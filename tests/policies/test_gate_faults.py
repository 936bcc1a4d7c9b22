"""The gate under faults: a checkov that hangs (timeout, SIGTERM), checkov without its package metadata, a
stack file or baseline over the size limit, an inconsistent baseline. Each is exit 2 with a message, leaving
no process, no temporary directory and the previous report set exactly as it was."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

import pytest

from policies import checkov_layer, report
from policies.cli import EXIT_ERROR, EXIT_NONCOMPLIANT, MAX_BASELINE_BYTES, run_gate
from policies.model import MAX_MANIFEST_BYTES, MAX_STACK_BYTES
from tests.conftest import REPO_ROOT
from tests.policies.test_gate import COMPLIANT_SYNTH, NONCOMPLIANT_SYNTH, copy_fixture, write_register

# Stands in for the Python that runs checkov: records its pid and its child's, leaves a file in its TMPDIR,
# then hangs (as checkov did on a pathological synth).
HANGING_CHECKOV = """#!/bin/sh
sleep 300 &
echo "$$ $!" >> "{pids}"
echo scratch > "$TMPDIR/checkov-scratch"
sleep 300
"""


def hanging_checkov(tmp_path: Path) -> tuple[Path, Path]:
    pids = tmp_path / "checkov.pids"
    script = tmp_path / "hanging-python"
    script.write_text(HANGING_CHECKOV.format(pids=pids))
    script.chmod(0o755)
    return script, pids


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"  # a zombie has ended; only its exit status is left to collect


def checkov_pids(pids: Path) -> list[int]:
    return [int(pid) for line in pids.read_text().splitlines() for pid in line.split()] if pids.exists() else []


@pytest.fixture
def private_tmp(tmp_path, monkeypatch) -> Path:
    directory = tmp_path / "tmp"
    directory.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(directory))
    return directory


def test_a_hanging_checkov_is_stopped_at_the_timeout_with_its_children(tmp_path, private_tmp, monkeypatch, capsys):
    script, pids = hanging_checkov(tmp_path)
    monkeypatch.setattr(checkov_layer.sys, "executable", str(script))
    register = write_register(tmp_path / "exceptions.yaml")
    started = time.monotonic()
    code = run_gate(COMPLIANT_SYNTH, tmp_path / "reports", register_file=register, checkov_timeout=2)
    elapsed = time.monotonic() - started
    assert code == EXIT_ERROR and elapsed < 2 + 10
    assert "checkov did not finish within 2 s and was stopped" in capsys.readouterr().err
    started_pids = checkov_pids(pids)
    assert len(started_pids) == 2
    deadline = time.monotonic() + 5
    while any(alive(pid) for pid in started_pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in started_pids if alive(pid)]
    assert list(private_tmp.iterdir()) == []
    assert not (tmp_path / "reports").exists()


def test_the_timeout_comes_from_the_environment_and_must_be_a_number(tmp_path, monkeypatch, capsys):
    register = write_register(tmp_path / "exceptions.yaml")
    monkeypatch.setenv(checkov_layer.TIMEOUT_VARIABLE, "soon")
    assert run_gate(COMPLIANT_SYNTH, tmp_path / "reports", register_file=register) == EXIT_ERROR
    assert f"${checkov_layer.TIMEOUT_VARIABLE}='soon': expected a positive number" in capsys.readouterr().err
    script, _ = hanging_checkov(tmp_path)
    monkeypatch.setattr(checkov_layer.sys, "executable", str(script))
    monkeypatch.setenv(checkov_layer.TIMEOUT_VARIABLE, "1.5")
    assert run_gate(COMPLIANT_SYNTH, tmp_path / "reports", register_file=register) == EXIT_ERROR
    assert "within 1.5 s" in capsys.readouterr().err


GATE_WITH_HANGING_CHECKOV = """
import sys
from policies import checkov_layer
from policies.cli import main
checkov_layer.sys.executable = sys.argv[1]
sys.exit(main(["gate", "--synth-dir", sys.argv[2], "--report-dir", sys.argv[3]]))
"""


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_gate_interrupted_while_checkov_runs_stops_checkov_and_exits_2(signum, tmp_path, private_tmp):
    script, pids = hanging_checkov(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "TMPDIR": str(private_tmp)}
    gate = subprocess.Popen([sys.executable, "-c", GATE_WITH_HANGING_CHECKOV, str(script), str(COMPLIANT_SYNTH),
                             str(tmp_path / "reports")], cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while len(checkov_pids(pids)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(checkov_pids(pids)) == 2, "the fake checkov never started"
        gate.send_signal(signum)
        _, stderr = gate.communicate(timeout=20)
    finally:
        gate.kill()
    assert gate.returncode == EXIT_ERROR, stderr
    assert f"interrupted by {signum.name}; checkov stopped" in stderr and "Traceback" not in stderr
    deadline = time.monotonic() + 5
    while any(alive(pid) for pid in checkov_pids(pids)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in checkov_pids(pids) if alive(pid)]
    assert list(private_tmp.iterdir()) == []
    assert not (tmp_path / "reports").exists()


def test_checkov_without_its_package_metadata_is_exit_2(tmp_path, monkeypatch, capsys):
    def missing(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(checkov_layer.metadata, "version", missing)
    register = write_register(tmp_path / "exceptions.yaml")
    code = run_gate(COMPLIANT_SYNTH, tmp_path / "reports", register_file=register, checkov_cache=tmp_path / "cache")
    assert code == EXIT_ERROR
    assert "checkov is not installed" in capsys.readouterr().err
    assert not (tmp_path / "reports").exists()


@pytest.mark.parametrize("case", ["oversized", "not-utf8", "not-json"])
def test_a_hostile_manifest_is_exit_2_naming_it_before_any_scan(case, tmp_path, monkeypatch, capsys):
    synth = copy_fixture(tmp_path)
    manifest = synth / "manifest.json"
    if case == "oversized":  # still a valid manifest: only its size is wrong
        manifest.write_bytes(manifest.read_bytes() + b" " * MAX_MANIFEST_BYTES)
    else:
        manifest.write_bytes(b'{"stacks": "\xff"}' if case == "not-utf8" else b'{"stacks": {' + b"A" * 5000)
    script, pids = hanging_checkov(tmp_path)
    monkeypatch.setattr(checkov_layer.sys, "executable", str(script))
    register = write_register(tmp_path / "exceptions.yaml")
    assert run_gate(synth, tmp_path / "reports", register_file=register, checkov_timeout=5) == EXIT_ERROR
    error = capsys.readouterr().err
    assert str(manifest) in error and "Traceback" not in error
    assert len(error) < 1000, "the message quotes the file's content unbounded"
    assert not pids.exists(), "checkov was started"
    assert not (tmp_path / "reports").exists()


def test_a_stack_file_over_the_limit_is_refused_before_any_scan(tmp_path, monkeypatch, capsys):
    synth = copy_fixture(tmp_path)
    stack = next(synth.glob("stacks/*/cdk.tf.json"))
    with open(stack, "r+b") as stream:  # sparse: no disk or time spent; only its size counts
        stream.seek(MAX_STACK_BYTES)
        stream.write(b" ")
    script, pids = hanging_checkov(tmp_path)
    monkeypatch.setattr(checkov_layer.sys, "executable", str(script))
    register = write_register(tmp_path / "exceptions.yaml")
    assert run_gate(synth, tmp_path / "reports", register_file=register, checkov_timeout=5) == EXIT_ERROR
    assert f"{stack.resolve()}: larger than the limit of {MAX_STACK_BYTES} bytes" in capsys.readouterr().err
    assert not pids.exists(), "checkov was started"


@pytest.fixture
def previous_reports(tmp_path):
    """A complete report set of an earlier (failing) run: every file's bytes and mtime."""
    reports = tmp_path / "reports"
    register = write_register(tmp_path / "exceptions.yaml")
    with contextlib.redirect_stdout(io.StringIO()):
        assert run_gate(NONCOMPLIANT_SYNTH, reports, register_file=register) == EXIT_NONCOMPLIANT
    return reports, register


def snapshot(directory: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(directory.iterdir())}


def test_an_inconsistent_or_oversized_baseline_is_exit_2_and_the_previous_reports_stay(previous_reports, tmp_path,
                                                                                       capsys):
    reports, register = previous_reports
    before = snapshot(reports)
    baseline = json.loads((reports / report.RESULTS_FILE).read_text())
    missing = next(row["control"] for row in baseline["results"])
    baseline["controls"] = [c for c in baseline["controls"] if c["id"] != missing]
    report.validate(baseline)  # the schema alone cannot see it
    inconsistent = tmp_path / "baseline.json"
    inconsistent.write_text(json.dumps(baseline))
    assert run_gate(COMPLIANT_SYNTH, reports, baseline=inconsistent, register_file=register) == EXIT_ERROR
    error = capsys.readouterr().err
    assert f"{inconsistent}: not a consistent results.json: results[" in error
    assert f"names control '{missing}', which its controls list lacks" in error
    assert snapshot(reports) == before

    oversized = tmp_path / "huge.json"
    with open(oversized, "wb") as stream:
        stream.write(b"{}")
        stream.truncate(MAX_BASELINE_BYTES + 1)
    assert run_gate(COMPLIANT_SYNTH, reports, baseline=oversized, register_file=register) == EXIT_ERROR
    assert f"{oversized}: baseline is larger than the limit" in capsys.readouterr().err
    assert snapshot(reports) == before


@pytest.mark.parametrize("case", ["deep-nesting", "not-utf8"])
def test_a_hostile_stack_file_is_exit_2_naming_it_before_any_scan(case, tmp_path, monkeypatch, capsys):
    synth = copy_fixture(tmp_path)
    stack = next(synth.glob("stacks/*/cdk.tf.json"))
    stack.write_bytes(b'{"locals": {"x": ' + b"[" * 5000 + b"]" * 5000 + b"}}" if case == "deep-nesting"
                      else b'{"locals": {"x": "caf\xe9"}}')
    script, pids = hanging_checkov(tmp_path)
    monkeypatch.setattr(checkov_layer.sys, "executable", str(script))
    register = write_register(tmp_path / "exceptions.yaml")
    assert run_gate(synth, tmp_path / "reports", register_file=register, checkov_timeout=5) == EXIT_ERROR
    error = capsys.readouterr().err
    assert f"{stack.resolve()}: malformed JSON" in error and "Traceback" not in error
    assert not pids.exists() and not (tmp_path / "reports").exists()


def test_a_baseline_that_is_not_utf8_is_exit_2_naming_it(tmp_path, capsys):
    baseline = tmp_path / "baseline.json"
    baseline.write_bytes(b'{\n "schema_version": "caf\xe9"}')
    register = write_register(tmp_path / "exceptions.yaml")
    assert run_gate(COMPLIANT_SYNTH, tmp_path / "reports", baseline=baseline, register_file=register) == EXIT_ERROR
    assert f"{baseline}: line 2: baseline is not UTF-8" in capsys.readouterr().err
    assert not (tmp_path / "reports").exists()

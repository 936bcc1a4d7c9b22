"""Fixtures of the report tests. The real reports are made once per session from the gate's results on the
session synth (tests/conftest.py); the fixture reports from tests/reports/fixtures.py."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from policies.reports import write_reports
from policies.reports.pdf import find_chromium
from tests.reports import fixtures


@pytest.fixture(scope="session")
def chromium() -> str:
    binary = find_chromium()
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("no Chromium found, and CI must have it: .ci/run installs Debian's chromium")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    return binary


@pytest.fixture
def no_pdf(monkeypatch):
    """Reports without the PDF: printing a large report takes a while and one test covers it."""
    monkeypatch.setenv("REPORT_CHROMIUM", "")


@pytest.fixture(scope="session")
def gate_results(synth_dir, tmp_path_factory) -> dict:
    """The gate's results.json for the real app's synth."""
    from policies.cli import run_gate

    report_dir = tmp_path_factory.mktemp("gate")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REPORT_CHROMIUM", "")  # the gate may publish the reports itself: no PDF here
        code = run_gate(synth_dir, report_dir)
    assert code in (0, 1), f"the gate could not evaluate the synth (exit {code})"
    return json.loads((report_dir / "results.json").read_text())


@pytest.fixture(scope="session")
def real_reports(gate_results, synth_dir, tmp_path_factory) -> Path:
    report_dir = tmp_path_factory.mktemp("real-reports")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REPORT_CHROMIUM", "")
        write_reports(gate_results, report_dir, baseline=None, synth_dir=synth_dir)
    return report_dir


@pytest.fixture
def fixture_synth(tmp_path) -> Path:
    return fixtures.write_synth(tmp_path / "synth")

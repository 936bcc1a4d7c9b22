"""`make compliance` redoes exactly what depends on a changed input (tools/compliance.py).

One real pipeline run (synth under the depfile recorder, validate, gate with the checkov scan cache) into a
temporary directory; then every input kind is changed in a copy of the project sources and the stages whose
stamps go stale are compared with the dependency the stage really has.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from app.config import KNOWN_ENVIRONMENTS
from policies import depfile
from policies.checkov_layer import ScanCache
from policies.evaluation import load_policies
from tools import compliance

REPO_ROOT = Path(__file__).resolve().parent.parent
TODAY = dt.datetime.now(dt.timezone.utc).date()


def _pipeline(synth_dir: Path, report_dir: Path, timings: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tools.compliance", "--synth-dir", str(synth_dir),
                           "--report-dir", str(report_dir), "--timings", str(timings)],
                          cwd=REPO_ROOT, capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory, terraform):
    workdir = tmp_path_factory.mktemp("pipeline")
    synth_dir, report_dir = workdir / "cdktf.out", workdir / "reports"
    first = _pipeline(synth_dir, report_dir, workdir / "first.json")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    second = _pipeline(synth_dir, report_dir, workdir / "second.json")
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    yield {"synth_dir": synth_dir, "report_dir": report_dir, "first": json.loads((workdir / "first.json").read_text()),
           "second": json.loads((workdir / "second.json").read_text()), "output": second.stdout}
    for stage in ("synth", "gate"):
        compliance._stamp_file(stage, synth_dir if stage == "synth" else report_dir).unlink(missing_ok=True)


def _stamp(stage: str, directory: Path) -> dict:
    return json.loads(compliance._stamp_file(stage, directory).read_text())


@pytest.fixture
def sources(tmp_path) -> Path:
    """A copy of every source root, the tree the stamps' recorded inputs are checked against."""
    for entry in depfile.SOURCE_ROOTS:
        source = REPO_ROOT / entry
        if source.is_dir():
            shutil.copytree(source, tmp_path / entry, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, tmp_path / entry)
    return tmp_path


def _stale(pipeline: dict, root: Path) -> set[str]:
    """Which cached results the tree at root invalidates: synth, gate, checkov (any stack's findings)."""
    synth_dir = pipeline["synth_dir"]
    key = compliance.synth_key([], TODAY)
    stale = set()
    if compliance.synth_is_current(_stamp("synth", synth_dir), key, synth_dir, root):
        stale.add("synth")
    if depfile.changed(_stamp("gate", pipeline["report_dir"])["inputs"], root):
        stale.add("gate")
    cache = ScanCache(compliance.CHECKOV_CACHE, sorted(set(load_policies().checkov_ids)))
    entries = [json.loads(cache._entry(path).read_text()) for path in synth_dir.glob("stacks/*/cdk.tf.json")]
    if any(depfile.changed(entry["inputs"], root) for entry in entries):
        stale.add("checkov")
    return stale


def test_a_second_run_with_nothing_changed_reuses_every_stage(pipeline):
    assert all(pipeline["second"][stage]["reused"] for stage in ("synth", "validate", "gate"))
    assert "reports in" in pipeline["output"] and "are current" in pipeline["output"]
    assert pipeline["second"]["total"] < pipeline["first"]["total"] / 5


def test_the_recorded_inputs_are_what_each_stage_reads(pipeline):
    synth_inputs = set(_stamp("synth", pipeline["synth_dir"])["inputs"]["files"])
    assert {"app/environments/prod.yaml", "lambda_src/fraud_detection/handler.py", "policies/catalog.yaml",
            "policies/exceptions.yaml", "app/stacks/compute.py", "policies/controls/enc/controls.yaml",
            "policies/controls/net/rules.py"} <= synth_inputs
    assert not any(name.startswith(("policies/reports/", "tools/")) or "/checks/" in name or "/fixtures/" in name
                   or name.endswith("/jmespath.yaml") for name in synth_inputs), \
        "the synth does not read the gate's checks, rules or reports"
    gate_inputs = set(_stamp("gate", pipeline["report_dir"])["inputs"]["files"])
    assert {"policies/controls/net/jmespath.yaml", "policies/exceptions.yaml", "policies/reports/html_report.py",
            "policies/controls/alb/checks/pci_alb_access_logs.py", "policies/catalog.yaml",
            "policies/controls/alb/controls.yaml"} <= gate_inputs
    assert not any(name.startswith(("app/stacks/", "lambda_src/")) for name in gate_inputs)


CHANGES = [
    ("lambda_src/fraud_detection/handler.py", {"synth"}),
    ("app/environments/prod.yaml", {"synth"}),
    ("app/stacks/compute.py", {"synth"}),
    ("policies/exceptions.yaml", {"synth", "gate"}),
    ("policies/catalog.yaml", {"synth", "gate", "checkov"}),
    ("policies/controls/alb/controls.yaml", {"synth", "gate", "checkov"}),
    ("policies/controls/net/rules.py", {"synth"}),
    ("policies/controls/alb/checks/pci_alb_access_logs.py", {"gate", "checkov"}),
    ("policies/controls/mon/checks/pci_alarm_notifies_sns_topic.yaml", {"gate", "checkov"}),
    ("policies/controls/net/jmespath.yaml", {"gate"}),
    ("policies/reports/html_report.py", {"gate"}),
    ("tools/shift_traffic.py", set()),
]


@pytest.mark.parametrize(("path", "dependents"), CHANGES, ids=[path for path, _ in CHANGES])
def test_changing_one_input_invalidates_exactly_what_depends_on_it(pipeline, sources, path, dependents):
    assert _stale(pipeline, sources) == set(), "an identical copy invalidates nothing"
    (sources / path).write_text((sources / path).read_text() + "\n# edited\n")
    assert _stale(pipeline, sources) == dependents


@pytest.mark.parametrize(("new_file", "dependents"), [
    ("lambda_src/fraud_detection/extra.py", {"synth"}),  # packaged with the function
    ("policies/controls/net/checks/pci_extra.py", {"gate", "checkov"}),  # a new check is loaded by checkov
])
def test_a_new_file_next_to_the_inputs_invalidates_what_lists_its_directory(pipeline, sources, new_file,
                                                                             dependents):
    (sources / new_file).write_text("# new\n")
    assert _stale(pipeline, sources) == dependents


def test_touching_a_file_invalidates_nothing(pipeline, sources):
    (sources / "lambda_src" / "fraud_detection" / "handler.py").touch()
    assert _stale(pipeline, sources) == set()


def test_the_date_invalidates_the_gate_daily_and_the_synth_only_when_an_exception_expires(pipeline):
    report_dir, synth_dir = pipeline["report_dir"], pipeline["synth_dir"]
    stamp = _stamp("gate", report_dir)
    run_date = dt.date.fromisoformat(stamp["key"]["date"])  # the suite may run across midnight
    tomorrow = run_date + dt.timedelta(days=1)
    options = (KNOWN_ENVIRONMENTS, True)  # what make compliance passes: every environment, provenance required

    def key(date):
        return compliance.gate_key(synth_dir, report_dir, None, False, date, *options)

    assert compliance.gate_is_current(stamp, key(run_date), report_dir) == []
    assert compliance.gate_is_current(stamp, key(tomorrow), report_dir) == ["date changed"]
    assert compliance.gate_is_current(stamp, compliance.gate_key(synth_dir, report_dir, None, False, run_date),
                                      report_dir) == ["environments changed", "require_provenance changed"]
    synth_stamp = _stamp("synth", synth_dir)
    assert compliance.synth_is_current(synth_stamp, compliance.synth_key([], tomorrow), synth_dir) == []
    latest_expiry = max(e.expires for e in load_policies().register.entries)
    after = compliance.synth_key([], latest_expiry + dt.timedelta(days=1))
    assert compliance.synth_is_current(synth_stamp, after, synth_dir) == ["expired_exceptions changed"]


def test_modified_outputs_are_never_reused(pipeline, tmp_path):
    report_dir, synth_dir = pipeline["report_dir"], pipeline["synth_dir"]
    copy = tmp_path / "cdktf.out"
    shutil.copytree(synth_dir, copy)
    stamp = _stamp("synth", synth_dir)
    assert compliance.synth_is_current(stamp, compliance.synth_key([], TODAY), copy) == []
    (copy / "stacks" / "payments-dev-network" / "cdk.tf.json").write_text("{}")
    assert compliance.synth_is_current(stamp, compliance.synth_key([], TODAY), copy) == [f"{copy} is missing or "
                                                                                         "was modified"]
    reports = tmp_path / "reports"
    shutil.copytree(report_dir, reports)
    gate_stamp = _stamp("gate", report_dir)
    key = {**gate_stamp["key"], "report_dir": str(reports.resolve())}
    assert compliance.gate_is_current(gate_stamp, key, reports) == ["report_dir changed"]
    (reports / "report.html").write_text("tampered")
    assert compliance.gate_is_current(gate_stamp, gate_stamp["key"], reports) == [
        f"reports in {reports} are missing or were modified"]


def test_one_changed_stack_is_the_only_one_validated_and_scanned_again(pipeline, tmp_path):
    synth_dir = tmp_path / "cdktf.out"
    shutil.copytree(pipeline["synth_dir"], synth_dir)
    changed = synth_dir / "stacks" / "payments-dev-network" / "cdk.tf.json"
    document = json.loads(changed.read_text())
    vpc = next(iter(document["resource"]["aws_vpc"].values()))
    # Content no earlier run can have validated: the validation stamps outlive a test session.
    vpc["tags"] = {**vpc.get("tags", {}), "incremental-test": uuid.uuid4().hex}
    changed.write_text(json.dumps(document, indent=2))

    validated = compliance.run_validate(synth_dir, force=False)
    assert validated.exit_code == 0, validated.output
    assert validated.detail == "1 of 21 stacks validated"
    assert any("payments-dev-network  (validated)" in line for line in validated.output)

    reports = tmp_path / "reports"
    gate = compliance.run_gate(synth_dir, reports, None, False, False, TODAY)
    assert gate.exit_code == 0, gate.output
    assert json.loads((reports / "results.json").read_text())["run"]["checkov_scan"] == {"scanned": 1,
                                                                                         "reused": 20}
    compliance._stamp_file("gate", reports).unlink()


def test_a_noncompliant_verdict_is_reused_as_a_failure_never_as_a_pass(pipeline, tmp_path):
    synth_dir, reports = tmp_path / "cdktf.out", tmp_path / "reports"
    shutil.copytree(pipeline["synth_dir"], synth_dir)
    stack = synth_dir / "stacks" / "payments-dev-security" / "cdk.tf.json"
    document = json.loads(stack.read_text())
    for key in document["resource"]["aws_kms_key"].values():
        key["enable_key_rotation"] = False
    stack.write_text(json.dumps(document, indent=2))

    first = compliance.run_gate(synth_dir, reports, None, False, False, TODAY)
    again = compliance.run_gate(synth_dir, reports, None, False, False, TODAY)
    compliance._stamp_file("gate", reports).unlink()
    assert (first.exit_code, first.reused) == (1, False), first.output
    assert (again.exit_code, again.reused) == (1, True)
    assert "FAIL" in "\n".join(again.output)


def test_usage_errors_exit_2_before_doing_anything(tmp_path, capsys):
    assert compliance.main(["--stage", "deploy"]) == 2
    assert compliance.main(["--baseline", str(tmp_path / "missing.json"), "--synth-dir", str(tmp_path)]) == 2
    assert "no such file" in capsys.readouterr().err
    assert not (tmp_path / "manifest.json").exists()

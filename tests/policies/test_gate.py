"""The gate command: exit codes, the results document, atomic reports, the exceptions register, baselines."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import datetime as dt
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import textwrap

import jsonschema
import pytest

from policies import checkov_layer, report
from policies.cli import EXIT_ERROR, EXIT_NONCOMPLIANT, EXIT_OK, main, run_gate
from policies.gate import COMPLIANT, EXCEPTED, NON_COMPLIANT
from policies.register import ExceptionEntry, Register, RegisterError, load_register
from tests.conftest import REPO_ROOT
from tests.policies.conftest import evaluate_fixture
from tests.policies.support import PENDING_INFRASTRUCTURE, fixture_directory

NONCOMPLIANT_SYNTH = fixture_directory("PCI-S3-002") / "fail_archive_after_30_days"
COMPLIANT_SYNTH = fixture_directory("PCI-S3-002") / "pass_92_days_hot_7_years_kept"
TODAY = dt.datetime.now(dt.timezone.utc).date()

# The gate's own files, the pack coverage matrix and the auditor reports (policies/reports); report.pdf only
# with --pdf.
GATE_OUTPUTS = sorted([report.RESULTS_FILE, report.SUMMARY_FILE, "report.html", "report.md", "results.sarif",
                       "junit.xml", "coverage.md", "evidence.csv", "SHA256SUMS"])


def write_register(path, entries=()):
    path.write_text(json.dumps({"version": 1, "exceptions": list(entries)}))  # JSON is YAML
    return path


@pytest.fixture
def empty_register(tmp_path):
    return write_register(tmp_path / "exceptions.yaml")


def results(report_dir) -> dict:
    return json.loads((report_dir / report.RESULTS_FILE).read_text())


def test_the_gate_passes_the_real_app(synth_dir, tmp_path):
    """End to end through the command line, on the session's synth of the real app."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    completed = subprocess.run([sys.executable, "-m", "policies", "gate", "--synth-dir", str(synth_dir),
                                "--report-dir", str(tmp_path / "reports")],
                               cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=False)
    assert completed.returncode == EXIT_OK, completed.stdout[-4000:] + completed.stderr[-4000:]
    document = results(tmp_path / "reports")
    jsonschema.validate(document, report.load_schema())
    scanned = {entry["path"]: entry["sha256"] for entry in document["inputs"]}
    on_disk = {str(p.resolve()): hashlib.sha256(p.read_bytes()).hexdigest()
               for p in synth_dir.glob("stacks/*/cdk.tf.json")}
    assert scanned == on_disk
    statuses = {control["id"]: control["status"] for control in document["controls"]}
    assert "FAIL" not in statuses.values()
    assert {control for control, status in statuses.items() if status == "NOT_APPLICABLE"} == set(
        PENDING_INFRASTRUCTURE
    )
    assert document["summary"]["by_verdict"]["ERROR"] == 0 and document["exceptions"]["problems"] == []
    excepted = {(r["control"], r["resource"]["address"]) for r in document["results"] if r["verdict"] == EXCEPTED}
    assert excepted == {(e.control, e.resource) for e in load_register().entries}
    assert all(r["layers"] for r in document["results"])


@pytest.fixture(scope="module")
def noncompliant_run(tmp_path_factory):
    """One gate run on a noncompliant fixture synth: (report dir, exit code, summary printed)."""
    directory = tmp_path_factory.mktemp("noncompliant")
    register = write_register(directory / "exceptions.yaml")
    reports = directory / "reports"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = run_gate(NONCOMPLIANT_SYNTH, reports, register_file=register)
    return reports, code, printed.getvalue()


def test_a_noncompliant_synth_exits_1_naming_control_requirement_resource_attribute_and_fix(noncompliant_run):
    reports, code, summary = noncompliant_run
    assert code == EXIT_NONCOMPLIANT
    assert "FAIL PCI-S3-002 (PCI DSS v4.0.1 10.5.1)" in summary
    assert "fixture:aws_s3_bucket_lifecycle_configuration.audit-lifecycle (fixture/audit-lifecycle)" in summary
    assert 'rule[].transition[].days: observed [{"days": 30, "storage_class": "GLACIER"}], expected every' in summary
    assert "fix: Add an S3BucketLifecycleConfiguration" in summary
    document = results(reports)
    jsonschema.validate(document, report.load_schema())
    assert document["run"]["exit_code"] == EXIT_NONCOMPLIANT and document["run"]["outcome"] == "FAIL"
    [row] = [r for r in document["results"] if r["control"] == "PCI-S3-002" and r["verdict"] == NON_COMPLIANT]
    assert row["resource"]["construct_path"] == "fixture/audit-lifecycle"
    assert row["layers"] == ["checkov", "jmespath"]
    assert {e["check"] for e in row["evidence"] if e["verdict"] == NON_COMPLIANT} == {"CKV_PCI_013",
                                                                                         "s3-lifecycle-hot-tier"}
    assert sorted(p.name for p in reports.iterdir()) == GATE_OUTPUTS


def test_a_baseline_reports_new_and_resolved_failures(noncompliant_run, tmp_path, empty_register):
    baseline = results(noncompliant_run[0])
    fixed = {"control": "PCI-OLD-999", "resource": "gone:aws_s3_bucket.old"}
    baseline["results"].append({**baseline["results"][0], "control": fixed["control"], "verdict": NON_COMPLIANT,
                                "resource": {**baseline["results"][0]["resource"], "address": fixed["resource"]}})
    # A baseline from an older catalog lists the controls it had, including this one since retired.
    baseline["controls"].append({**baseline["controls"][0], "id": fixed["control"]})
    (tmp_path / "baseline.json").write_text(json.dumps(baseline))
    assert run_gate(NONCOMPLIANT_SYNTH, tmp_path / "reports", baseline=tmp_path / "baseline.json",
                    register_file=empty_register) == EXIT_NONCOMPLIANT
    comparison = results(tmp_path / "reports")["comparison"]
    assert comparison["resolved"] == [fixed] and comparison["new_failures"] == []
    jsonschema.validate(results(tmp_path / "reports"), report.load_schema())


def copy_fixture(tmp_path, source=COMPLIANT_SYNTH):
    target = tmp_path / "synth"
    shutil.copytree(source, target)
    return target


@pytest.mark.parametrize("damage", ["missing", "empty", "malformed", "not-an-object", "modules", "manifest"])
def test_unusable_input_exits_2_and_writes_nothing(damage, tmp_path, empty_register, capsys):
    synth = copy_fixture(tmp_path)
    stack_file = next(synth.glob("stacks/*/cdk.tf.json"))
    if damage == "missing":
        shutil.rmtree(synth)
    elif damage == "empty":
        shutil.rmtree(synth / "stacks")
    elif damage == "malformed":
        stack_file.write_text('{"resource": {')
    elif damage == "not-an-object":
        stack_file.write_text("[]")
    elif damage == "modules":
        stack_file.write_text(json.dumps({"module": {"vpc": {"source": "./vpc"}}}))
    else:
        (synth / "manifest.json").write_text(json.dumps({"stacks": {"other": {
            "synthesizedStackPath": "stacks/other/cdk.tf.json"}}}))
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / report.RESULTS_FILE).write_text("previous")
    assert run_gate(synth, reports, register_file=empty_register) == EXIT_ERROR
    assert "nothing written" in capsys.readouterr().err
    assert [p.name for p in reports.iterdir()] == [report.RESULTS_FILE]
    assert (reports / report.RESULTS_FILE).read_text() == "previous"


def test_checkov_missing_or_crashing_exits_2(tmp_path, empty_register, monkeypatch, capsys):
    synth = copy_fixture(tmp_path)
    monkeypatch.setattr(checkov_layer.sys, "executable", shutil.which("python3") or "/usr/bin/python3")
    assert run_gate(synth, tmp_path / "reports", register_file=empty_register) == EXIT_ERROR
    assert "checkov is not installed" in capsys.readouterr().err
    crashing = tmp_path / "crashing-python"
    crashing.write_text("#!/bin/sh\necho 'Traceback: boom' >&2\nexit 3\n")
    crashing.chmod(0o755)
    monkeypatch.setattr(checkov_layer.sys, "executable", str(crashing))
    assert run_gate(synth, tmp_path / "reports", register_file=empty_register) == EXIT_ERROR
    assert "checkov exited with 3" in capsys.readouterr().err
    assert not (tmp_path / "reports").exists()


@pytest.mark.parametrize(("name", "text"), [
    ("pci_zz_broken.py", "this is not python("),
    ("pci_zz_broken.yaml", "metadata: {id: CKV2_PCI_999, name: incomplete}\ndefinition: {cond_type: filter}\n"),
])
def test_a_custom_check_checkov_cannot_load_is_a_tooling_error(name, text, tmp_path, monkeypatch):
    """checkov logs such a check and carries on without it; the gate must not."""
    checks = tmp_path / "zz" / "checks"
    checks.mkdir(parents=True)
    (checks / "__init__.py").write_text("")
    (checks / name).write_text(text)
    areas = checkov_layer.checks_dirs()
    monkeypatch.setattr(checkov_layer, "checks_dirs", lambda: [*areas, checks])
    with pytest.raises(checkov_layer.ToolError, match="could not load a custom check"):
        checkov_layer.run_checkov(list(COMPLIANT_SYNTH.glob("stacks/*/cdk.tf.json")), ["CKV_PCI_012"])


def test_an_unreadable_register_or_bad_usage_exits_2(tmp_path):
    register = tmp_path / "exceptions.yaml"
    register.write_text("exceptions: [unclosed")
    assert run_gate(COMPLIANT_SYNTH, tmp_path / "reports", register_file=register) == EXIT_ERROR
    register.write_text("version: 1\nexceptions:\n  - control: PCI-S3-002\n    waiver: yes\n")
    with pytest.raises(RegisterError, match="unknown field"):
        load_register(register)
    assert main(["gate", "--no-such-option"]) == EXIT_ERROR
    assert main([]) == EXIT_ERROR


REFERENCE = "docs/exceptions/EXC-001-service-logs-sse-s3.md"


def entry(**fields) -> dict:
    base = {"control": "PCI-S3-002", "resource": "fixture:aws_s3_bucket_lifecycle_configuration.audit-lifecycle",
            "justification": "Archive tier moves early only for this test bucket, compensated by replication.",
            "approver": {"name": "Ada Lovelace", "role": "Head of Information Security"},
            "approved": (TODAY - dt.timedelta(days=10)).isoformat(),
            "expires": (TODAY + dt.timedelta(days=30)).isoformat(), "reference": REFERENCE,
            "compensating_controls": ["PCI-S3-001"]}
    return {**base, **fields}


def register_of(tmp_path, *entries) -> Register:
    return load_register(write_register(tmp_path / "register.yaml", entries))


@pytest.fixture
def noncompliant_fixture(fixture_stacks):
    return fixture_stacks["PCI-S3-002/fail_archive_after_30_days"]


def test_a_valid_exception_reports_the_finding_as_excepted(tmp_path, policies, noncompliant_fixture, fixture_records):
    evaluation = evaluate_fixture(policies, noncompliant_fixture, fixture_records, register_of(tmp_path, entry()))
    control = evaluation.catalog.control("PCI-S3-002")
    [row] = [r for r in evaluation.rows_of(control.id) if r.raw_verdict != COMPLIANT]
    assert row.verdict == EXCEPTED and row.exception.approver == "Ada Lovelace (Head of Information Security)"
    assert evaluation.control_status(control) == EXCEPTED and evaluation.register_problems == []


@pytest.mark.parametrize(("fields", "problem"), [
    ({"justification": "because"}, "justification is missing or shorter"),
    ({"approver": ""}, "approver.name <missing> is not a person's name"),
    # a document, a team, an address or a ticket is not a named approver
    ({"approver": {"name": "../shared/design/architecture.md (ALB access logs)", "role": "x"}},
     "is not a person's name"),
    ({"approver": {"name": "Security lead", "role": ""}}, "approver.role is missing"),
    ({"approver": {"name": "jane@example.com", "role": "CISO"}}, "is not a person's name"),
    ({"approver": {"name": "RISK-42", "role": "CISO"}}, "is not a person's name"),
    ({"approved": None}, "approved is missing or not a date"),
    ({"approved": (TODAY + dt.timedelta(days=1)).isoformat()}, "is in the future"),
    ({"expires": (TODAY - dt.timedelta(days=1)).isoformat()}, "expired on"),
    ({"expires": "soon"}, "expires is missing or not a date"),
    ({"expires": "9999-12-31"}, "is more than 12 months after approval"),
    ({"approved": "2026-02-28", "expires": "2027-03-01"}, "(latest 2027-02-28)"),
    ({"reference": None}, "reference <missing> is not a file of this repository"),
    ({"reference": "../shared/design/architecture.md#facts-worth-knowing"}, "is not a file of this repository"),
    ({"reference": "/etc/passwd"}, "is not a file of this repository"),
    ({"compensating_controls": []}, "compensating_controls is missing"),
    ({"compensating_controls": ["PCI-NOPE-001"]}, "compensating control 'PCI-NOPE-001' is not in the catalog"),
    ({"compensating_controls": ["PCI-S3-002"]}, "is the excepted control itself"),
    # nothing of PCI-ENC-005's types (SNS topics) in the fixture: NOT_APPLICABLE compensates nothing
    ({"compensating_controls": ["PCI-S3-001", "PCI-ENC-005"]}, "compensating control PCI-ENC-005 does not PASS"),
    ({"control": "PCI-NOPE-001"}, "is not in the catalog"),
    ({"resource": "fixture:aws_s3_bucket.audit"}, "matches a COMPLIANT finding"),
    ({"resource": "elsewhere:aws_s3_bucket.gone"}, "matches no finding"),
])
def test_an_invalid_or_stale_exception_fails_the_gate(fields, problem, tmp_path, policies, noncompliant_fixture,
                                                      fixture_records):
    evaluation = evaluate_fixture(policies, noncompliant_fixture, fixture_records,
                                  register_of(tmp_path, entry(**fields)))
    [found] = evaluation.register_problems
    assert any(problem in text for text in found.problems), found.problems
    assert evaluation.failed
    assert all(row.exception is None for row in evaluation.rows)


def test_a_duplicate_exception_fails_the_gate(tmp_path, policies, noncompliant_fixture, fixture_records):
    evaluation = evaluate_fixture(policies, noncompliant_fixture, fixture_records,
                                  register_of(tmp_path, entry(), entry()))
    [duplicate] = evaluation.register_problems
    assert duplicate.entry.index == 1 and "duplicates an earlier entry" in duplicate.problems[0]


def test_exception_dates_must_be_real_dates(tmp_path):
    register = tmp_path / "register.yaml"
    register.write_text(textwrap.dedent("""\
        version: 1
        exceptions:
          - {control: PCI-S3-002, resource: a, justification: x, approver: {name: A B, role: y}, expires: 2030-02-30}
        """))
    with pytest.raises(RegisterError):
        load_register(register)


def test_the_results_schema_rejects_what_it_does_not_describe(noncompliant_run):
    document = results(noncompliant_run[0])
    for damage in ({"schema_version": "0.9"}, {"results": [{"control": "PCI-S3-002"}]},
                   {"run": {**document["run"], "exit_code": 2}}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({**document, **damage}, report.load_schema())


def test_exception_entries_are_read_as_written(tmp_path):
    [read] = register_of(tmp_path, entry(reference=REFERENCE + "#why")).entries
    assert read == ExceptionEntry(index=0, control="PCI-S3-002", resource=entry()["resource"],
                                  justification=entry()["justification"], approver_name="Ada Lovelace",
                                  approver_role="Head of Information Security",
                                  approved=TODAY - dt.timedelta(days=10), expires=TODAY + dt.timedelta(days=30),
                                  reference=REFERENCE + "#why",
                                  reference_sha256=hashlib.sha256((REPO_ROOT / REFERENCE).read_bytes()).hexdigest(),
                                  compensating_controls=("PCI-S3-001",))


def test_a_failing_compensating_control_withdraws_the_exception(tmp_path, policies, fixture_stacks, fixture_records):
    """PCI-S3-002 fails on the lifecycle; with the bucket's versioning suspended PCI-S3-001 fails too, and an
    entry that leans on versioning does not hold: the row stays NON_COMPLIANT and the register fails the gate."""
    stacks = fixture_stacks["PCI-S3-002/fail_archive_after_30_days"]
    plain = evaluate_fixture(policies, stacks, fixture_records)
    versioning = plain.catalog.control("PCI-S3-001")
    assert plain.control_status(versioning) == "PASS"
    broken = []
    for stack in stacks:  # a copy of the fixture with the bucket's versioning suspended
        document = copy.deepcopy(stack.document)
        for block in document.get("resource", {}).get("aws_s3_bucket_versioning", {}).values():
            block["versioning_configuration"]["status"] = "Suspended"
        broken.append(dataclasses.replace(stack, document=document))
    evaluation = evaluate_fixture(policies, broken, fixture_records, register_of(tmp_path, entry()))
    assert evaluation.control_status(versioning) == "FAIL"
    [problem] = evaluation.register_problems
    assert problem.problems == ["compensating control PCI-S3-001 does not PASS in fixture"]
    assert all(row.exception is None for row in evaluation.rows) and evaluation.failed

"""Reports made from hand-made results (tests/reports/fixtures.py): a noncompliant run, hostile names, a
posture diff between two runs, publication that never leaves a report half-written or stale, the PDF."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from policies.reports import publishing, write_reports
from tests.reports import fixtures
from tests.reports.fixtures import HOSTILE, HOSTILE_PATH, Row
from tests.reports.support import external_references, load_page, section_text, sections

RESULTS_SCHEMA = Path(__file__).resolve().parents[2] / "policies" / "results.schema.json"
SARIF_SCHEMA = Path(__file__).resolve().parents[2] / "policies" / "reports" / "schemas" / "sarif-schema-2.1.0.json"


@pytest.fixture
def noncompliant(fixture_synth, tmp_path, no_pdf) -> tuple[dict, Path]:
    document = fixtures.noncompliant_document(fixture_synth)
    report_dir = tmp_path / "reports"
    write_reports(document, report_dir, baseline=None, synth_dir=fixture_synth)
    return document, report_dir


def test_fixture_documents_follow_the_results_schema(fixture_synth):
    schema = json.loads(RESULTS_SCHEMA.read_text())
    jsonschema.Draft202012Validator(schema).validate(fixtures.noncompliant_document(fixture_synth))
    for document in _diff_documents(fixture_synth):
        jsonschema.Draft202012Validator(schema).validate(document)


def test_failing_control_shows_in_summary_requirement_view_and_evidence(noncompliant):
    _, report_dir = noncompliant
    html = (report_dir / "report.html").read_text()
    parsed = sections(html)
    summary = {row[0]: row[1:] for row in parsed.tables["summary"][0].rows[1:]}
    # passed, failed, excepted, n/a: TST-001 and TST-003 fail in prod, TST-005 (no resource) fails everywhere
    assert summary["dev"][:4] == ["3", "1", "1", "1"]
    assert summary["prod"][:4] == ["2", "3", "0", "1"]
    attention = {row[0]: row for row in parsed.tables["summary"][1].rows[1:]}
    assert attention["PCI-TST-001"][3:] == ["PASS", "FAIL"]
    requirement_rows = [row for table in parsed.tables["requirements"] for row in table.rows]
    assert ["3.5.1", "FAIL", "PCI-TST-001", "Tables are encrypted with a customer-managed key", "PASS", "FAIL"] \
        in requirement_rows
    evidence = section_text(html, "evidence")
    assert "acme-prod-core:aws_dynamodb_table.orders" in evidence
    assert '"kms_key_arn": null' in evidence
    failing_rows = [row for table in parsed.tables["evidence"] for row in table.rows
                    if row[1].startswith("acme-prod-core:aws_dynamodb_table.orders")]
    assert failing_rows and failing_rows[0][2].startswith("FAIL")


def test_expired_exception_is_shown_as_failing(noncompliant):
    _, report_dir = noncompliant
    html = (report_dir / "report.html").read_text()
    exceptions = {(row[0], row[2]): row for row in sections(html).tables["exceptions"][0].rows[1:]}
    assert exceptions[("PCI-TST-003", "prod")][3].startswith("EXPIRED")
    assert exceptions[("PCI-TST-003", "dev")][3] == "in force"
    attention = {row[0]: row for row in sections(html).tables["summary"][1].rows[1:]}
    assert attention["PCI-TST-003"][3:] == ["EXCEPTED", "FAIL"]
    junit = ET.parse(report_dir / "junit.xml").getroot()
    prod = next(s for s in junit.findall("testsuite") if s.get("name") == "prod")
    case = next(c for c in prod.findall("testcase") if c.get("name").startswith("PCI-TST-003"))
    assert "expired on 2026-05-01" in case.find("failure").text
    dev = next(s for s in junit.findall("testsuite") if s.get("name") == "dev")
    excepted = next(c for c in dev.findall("testcase") if c.get("name").startswith("PCI-TST-003"))
    skipped = excepted.find("skipped")  # accepted by the register: skipped with who accepted it and why
    assert skipped is not None and skipped.get("message").startswith("EXCEPTED: 1 resource(s) accepted")
    assert "Accepted for the test fixture because a compensating control" in skipped.get("message")
    assert "approved by Jane Auditor" in skipped.get("message")
    register = next(s for s in junit.findall("testsuite") if s.get("name") == "exceptions register")
    assert [c.find("failure") is not None for c in register.findall("testcase")] == [False, True]
    sarif = json.loads((report_dir / "results.sarif").read_text())["runs"][0]["results"]
    helper = {r["properties"]["environment"]: r for r in sarif if r["ruleId"] == "PCI-TST-003"}
    assert "suppressions" in helper["dev"] and "suppressions" not in helper["prod"]
    assert helper["dev"]["suppressions"][0]["justification"].startswith("Accepted for the test fixture")
    assert "**EXPIRED**" in (report_dir / "report.md").read_text()


def test_a_row_still_marked_excepted_after_its_expiry_fails(fixture_synth, tmp_path, no_pdf):
    """The gate refuses expired entries itself; a document that still carries one is not trusted either."""
    lapsed = fixtures.exception_entry("PCI-TST-001", "prod", "aws_dynamodb_table", "orders", "2026-05-31")
    document = fixtures.results_document(fixture_synth, [
        Row("PCI-TST-001", "prod", "aws_dynamodb_table", "orders", "EXCEPTED", {"kms_key_arn": None})],
        applied=[lapsed])
    write_reports(document, tmp_path / "reports", baseline=None, synth_dir=fixture_synth)
    html = (tmp_path / "reports" / "report.html").read_text()
    attention = {row[0]: row for row in sections(html).tables["summary"][1].rows[1:]}
    assert attention["PCI-TST-001"][3:] == ["N/A", "FAIL"]
    exceptions = sections(html).tables["exceptions"][0].rows[1:]
    assert [row[3] for row in exceptions] == ["EXPIRED: finding counts as failing"]
    result = json.loads((tmp_path / "reports" / "results.sarif").read_text())["runs"][0]["results"][0]
    assert result["properties"]["verdict"] == "NON_COMPLIANT" and "suppressions" not in result


def test_a_rule_that_could_not_run_fails_every_environment(noncompliant):
    _, report_dir = noncompliant
    junit = ET.parse(report_dir / "junit.xml").getroot()
    for suite in junit.findall("testsuite")[:2]:
        case = next(c for c in suite.findall("testcase") if c.get("name").startswith("PCI-TST-005"))
        assert case.find("error") is not None and case.find("failure") is None
        assert int(suite.get("tests")) == len(fixtures.CONTROLS)
        # PCI-TST-006 has nothing to check; PCI-TST-003 is excepted in dev: accepted, never passed
        assert int(suite.get("skipped")) == {"dev": 2, "prod": 1}[suite.get("name")]
    result = next(r for r in json.loads((report_dir / "results.sarif").read_text())["runs"][0]["results"]
                  if r["ruleId"] == "PCI-TST-005")
    assert "locations" not in result


def test_fixture_sarif_validates_against_the_vendored_schema(noncompliant):
    _, report_dir = noncompliant
    sarif = json.loads((report_dir / "results.sarif").read_text())
    jsonschema.Draft4Validator(json.loads(SARIF_SCHEMA.read_text())).validate(sarif)
    results = sarif["runs"][0]["results"]
    table = next(r for r in results if r["ruleId"] == "PCI-TST-001")
    location = table["locations"][0]
    assert location["physicalLocation"]["artifactLocation"]["uri"] == "stacks/acme-prod-core/cdk.tf.json"
    assert location["logicalLocations"][0]["fullyQualifiedName"] == "acme-prod-core/orders"
    line = location["physicalLocation"]["region"]["startLine"]
    synth = Path(sarif["runs"][0]["originalUriBaseIds"]["SYNTHDIR"]["uri"][len("file://"):])
    assert '"orders": {' in (synth / "stacks/acme-prod-core/cdk.tf.json").read_text().splitlines()[line - 1]


def test_hostile_names_are_text_everywhere(noncompliant, chromium, tmp_path):
    _, report_dir = noncompliant
    html = (report_dir / "report.html").read_text()
    for raw in (HOSTILE, HOSTILE_PATH):
        assert raw not in html
    assert "&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;" in html
    assert "<script" not in html.lower() and "<img" not in html.lower()
    assert external_references(html) == []
    load = load_page(chromium, report_dir / "report.html", tmp_path / "offline")
    assert "<script" not in load.dom.lower() and "<img" not in load.dom.lower()
    assert load.requests == []
    figure = re.search(r'<figure class="diagram" id="architecture-dev">(.*?)</figure>', html, re.S).group(1)
    assert "&lt;script&gt;" in figure  # the hostile function is drawn, as text
    markdown = (report_dir / "report.md").read_text()
    assert "\\<script\\>" in markdown and not re.search(r"(?<!\\)<", markdown), "an unescaped < in report.md"


def test_offline_check_would_notice_a_page_that_loads_something(chromium, tmp_path):
    page = tmp_path / "leaky.html"
    page.write_text('<!DOCTYPE html><html><body><img src="http://reports.example.invalid/pixel.png"></body></html>')
    assert external_references(page.read_text()) == ["http://reports.example.invalid/pixel.png"]
    load = load_page(chromium, page, tmp_path / "offline")
    assert [r["url"] for r in load.requests] == ["http://reports.example.invalid/pixel.png"]


def test_architecture_and_weights_come_from_the_synth_not_from_names(noncompliant):
    _, report_dir = noncompliant
    html = (report_dir / "report.html").read_text()
    prod = re.search(r'<figure class="diagram" id="architecture-prod">(.*?)</figure>', html, re.S).group(1)
    for address in ("aws_api_gateway_rest_api.gw", "aws_api_gateway_vpc_link.link", "aws_lb.front", "aws_lb.inner",
                    "aws_lb_target_group.old", "aws_lb_target_group.new", "aws_lambda_function.checkout",
                    "aws_dynamodb_table.orders"):
        assert f'data-address="acme-prod-core:{address}"' in prod, address
    assert ">70%<" in prod and ">30%<" in prod
    assert "192.168.50.10:8443" in prod and "on premises" in prod
    traffic = sections(html).tables["traffic"][0].rows
    assert [row[3:7] for row in traffic if row[0] == "prod"] == [["blue", "onprem", "70", "70.0%"]]
    assert next(row[8] for row in traffic if row[0] == "prod").endswith("agrees with the listener rule")
    tags = sections(html).tables["tags"]
    assert any(row[1].endswith("aws_dynamodb_table.orders") and row[3] == "Owner" for row in tags[1].rows)


def _diff_documents(synth: Path) -> tuple[dict, dict]:
    """A baseline and a later run. Changes: TST-001 starts failing in prod; TST-002 is fixed in prod;
    TST-004 gets an exception in prod; TST-005's exception expires (so it fails again); TST-006 finds
    something to check in prod (not applicable -> pass: a change, but not a fix); TST-003 keeps failing in
    prod, unchanged."""
    grant = fixtures.exception_entry("PCI-TST-004", "prod", "aws_lambda_function", "checkout", "2026-12-31")
    lapsing = fixtures.exception_entry("PCI-TST-005", "prod", "aws_lambda_function", "checkout", "2026-06-15")
    common = [Row(control, "dev", "aws_lambda_function", "checkout", "COMPLIANT")
              for control in ("PCI-TST-001", "PCI-TST-002", "PCI-TST-003", "PCI-TST-004", "PCI-TST-005")]
    fail = {"reserved_concurrent_executions": None}
    baseline = fixtures.results_document(synth, [*common,
        Row("PCI-TST-001", "prod", "aws_lambda_function", "checkout", "COMPLIANT"),
        Row("PCI-TST-002", "prod", "aws_lambda_function", "checkout", "NON_COMPLIANT", fail),
        Row("PCI-TST-003", "prod", "aws_lambda_function", "checkout", "NON_COMPLIANT", fail),
        Row("PCI-TST-004", "prod", "aws_lambda_function", "checkout", "NON_COMPLIANT", fail),
        Row("PCI-TST-005", "prod", "aws_lambda_function", "checkout", "EXCEPTED", fail),
    ], applied=[lapsing], started_at="2026-06-01T10:00:00+00:00")
    current = fixtures.results_document(synth, [*common,
        Row("PCI-TST-001", "prod", "aws_lambda_function", "checkout", "NON_COMPLIANT", fail),
        Row("PCI-TST-002", "prod", "aws_lambda_function", "checkout", "COMPLIANT"),
        Row("PCI-TST-003", "prod", "aws_lambda_function", "checkout", "NON_COMPLIANT", fail),
        Row("PCI-TST-004", "prod", "aws_lambda_function", "checkout", "EXCEPTED", fail),
        Row("PCI-TST-005", "prod", "aws_lambda_function", "checkout", "NON_COMPLIANT", fail),
        Row("PCI-TST-006", "prod", "aws_lambda_function", "checkout", "COMPLIANT"),
    ], applied=[grant], problems=[{"entry": lapsing, "problems": ["expired on 2026-06-15"]}],
        started_at="2026-07-01T10:00:00+00:00")
    return baseline, current


def test_diff_lists_exactly_the_changed_controls(fixture_synth, tmp_path, no_pdf):
    baseline, current = _diff_documents(fixture_synth)
    report_dir = tmp_path / "reports"
    written = write_reports(current, report_dir, baseline=baseline, synth_dir=fixture_synth)
    assert report_dir / "diff.json" in written
    diff = json.loads((report_dir / "diff.json").read_text())
    pairs = {key: [(c["control"], c["environment"]) for c in diff[key]]
             for key in ("newly_failing", "newly_passing", "other_changes")}
    assert pairs == {"newly_failing": [("PCI-TST-001", "prod"), ("PCI-TST-005", "prod")],
                     "newly_passing": [("PCI-TST-002", "prod")],
                     "other_changes": [("PCI-TST-004", "prod"), ("PCI-TST-006", "prod")]}
    assert [(e["control"], e["resource"]) for e in diff["new_exceptions"]] == [
        ("PCI-TST-004", "acme-prod-core:aws_lambda_function.checkout")]
    assert [(e["control"], e["resource"]) for e in diff["expired_exceptions"]] == [
        ("PCI-TST-005", "acme-prod-core:aws_lambda_function.checkout")]

    tables = sections((report_dir / "report.html").read_text()).tables["diff"]
    assert [[row[0] for row in table.rows[1:]] for table in tables] == [
        ["PCI-TST-001", "PCI-TST-005"], ["PCI-TST-002"], ["PCI-TST-004"], ["PCI-TST-005"],
        ["PCI-TST-004", "PCI-TST-006"]]
    markdown = (report_dir / "report.md").read_text()
    changes = markdown.split("## Change since the baseline", 1)[1].split("\n## ", 1)[0]
    assert set(re.findall(r"PCI-TST-\d{3}", changes)) == {"PCI-TST-001", "PCI-TST-002", "PCI-TST-004",
                                                          "PCI-TST-005", "PCI-TST-006"}


def test_unchanged_runs_have_an_empty_diff(fixture_synth, tmp_path, no_pdf):
    _, current = _diff_documents(fixture_synth)
    write_reports(current, tmp_path, baseline=current, synth_dir=fixture_synth)
    diff = json.loads((tmp_path / "diff.json").read_text())
    assert all(diff[key] == [] for key in ("newly_failing", "newly_passing", "new_exceptions",
                                           "expired_exceptions", "other_changes"))


def test_a_failure_leaves_the_previous_reports_whole(fixture_synth, tmp_path, no_pdf, monkeypatch):
    document = fixtures.noncompliant_document(fixture_synth)
    report_dir = tmp_path / "reports"
    first = write_reports(document, report_dir, baseline=None, synth_dir=fixture_synth)
    before = {path.name: path.read_bytes() for path in first}

    def broken(context):
        raise RuntimeError("renderer crashed")

    monkeypatch.setattr("policies.reports.render_junit", broken)
    with pytest.raises(RuntimeError):
        write_reports(fixtures.results_document(fixture_synth, []), report_dir, baseline=None, synth_dir=fixture_synth)
    assert {path.name: path.read_bytes() for path in first} == before
    monkeypatch.undo()

    staged, stage = [], publishing.ReportSet.stage

    def stage_then_fail(self, name, content):
        if len(staged) == 2:
            raise OSError("disk full")
        staged.append(stage(self, name, content))
        return staged[-1]

    monkeypatch.setattr(publishing.ReportSet, "stage", stage_then_fail)
    with pytest.raises(OSError):
        write_reports(fixtures.results_document(fixture_synth, []), report_dir, baseline=None, synth_dir=fixture_synth)
    assert {path.name: path.read_bytes() for path in first} == before
    assert len(staged) == 2 and not any(path.exists() for path in staged)
    assert sorted(p.name for p in report_dir.iterdir()) == sorted(before)


def test_stale_optional_reports_are_removed(fixture_synth, tmp_path, no_pdf):
    report_dir = tmp_path / "reports"
    report_dir.mkdir()
    (report_dir / "diff.json").write_text("{}")
    (report_dir / "report.pdf").write_bytes(b"%PDF-stale")
    written = write_reports(fixtures.noncompliant_document(fixture_synth), report_dir, baseline=None,
                            synth_dir=fixture_synth)
    assert sorted(p.name for p in written) == ["SHA256SUMS", "evidence.csv", "junit.xml", "report.html",
                                               "report.md", "results.sarif"]
    assert sorted(p.name for p in report_dir.iterdir()) == sorted(p.name for p in written)


def test_changed_synth_is_flagged_in_the_chain_of_custody(fixture_synth, tmp_path, no_pdf):
    document = fixtures.noncompliant_document(fixture_synth)
    stack = fixture_synth / "stacks" / "acme-prod-core" / "cdk.tf.json"
    stack.write_text(stack.read_text().replace("acme-prod-orders", "acme-prod-orders-v2"))
    write_reports(document, tmp_path, baseline=None, synth_dir=fixture_synth)
    html = (tmp_path / "report.html").read_text()
    states = {row[0]: row[-1] for row in sections(html).tables["metadata"][0].rows[1:]}
    assert states == {"acme-dev-core": "verified", "acme-prod-core": "CHANGED since the gate ran"}
    assert "differ from what the gate scanned" in section_text(html, "architecture")


def test_pdf_is_printed_from_the_html(fixture_synth, tmp_path, chromium, monkeypatch):
    monkeypatch.setenv("REPORT_CHROMIUM", chromium)
    written = write_reports(fixtures.noncompliant_document(fixture_synth), tmp_path, baseline=None,
                            synth_dir=fixture_synth)
    pdf = tmp_path / "report.pdf"
    assert pdf in written
    assert pdf.read_bytes().startswith(b"%PDF-") and pdf.stat().st_size > 10_000
    assert "chromium (PDF) Chromium" in section_text((tmp_path / "report.html").read_text(), "metadata")

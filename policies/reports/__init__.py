"""Auditor reports of one policy-gate run, rendered from its results document (``results.json``).

``write_reports`` writes, into the report directory:

- ``report.html``: self-contained report (run metadata and chain of custody, executive summary, PCI DSS
  v4.0.1 requirement view, exceptions, tag coverage, blue/green weights, architecture diagrams, evidence of
  every resource checked, and the change since a baseline when one is given);
- ``report.md``: the summary, requirement view, exceptions, findings and change in Markdown;
- ``results.sarif``: SARIF 2.1.0, one rule per control, one result per failing or excepted finding;
- ``junit.xml``: one test case per control and environment, plus the exceptions register;
- ``evidence.csv``: every evidence row, compliant ones included, with the path read and the value observed;
- ``diff.json``: the posture change since the baseline (only with a baseline; removed otherwise);
- ``report.pdf``: the HTML printed by headless Chromium (only when Chromium is installed; removed
  otherwise, so a stale PDF never sits beside fresh reports).

Everything is rendered in memory first and published as one set by rename, with ``SHA256SUMS``, every file
0644 (see ``publishing``): a failure leaves the previous reports as they were. ``results.json`` and
``summary.md`` are the gate's to render; it hands them over to be published in the same set.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Mapping
from pathlib import Path

from policies.jsontypes import JsonObject, JsonValue
from policies.reports.context import ReportContext
from policies.reports.diff import posture_diff
from policies.reports.evidence_csv import render_evidence_csv
from policies.reports.html_report import render_html
from policies.reports.junit import render_junit
from policies.reports.markdown_report import render_markdown
from policies.reports.pdf import PdfError, find_chromium, print_pdf
from policies.reports.posture import build_posture
from policies.reports.provenance import Revision, chromium_version, reporter_python, revision
from policies.reports.publishing import ReportSet
from policies.reports.sarif import render_sarif
from policies.reports.synth import read_synth
from policies.reports.topology import build_topology

HTML_FILE, MARKDOWN_FILE, SARIF_FILE, JUNIT_FILE = "report.html", "report.md", "results.sarif", "junit.xml"
CSV_FILE = "evidence.csv"
DIFF_FILE, PDF_FILE, RESULTS_FILE = "diff.json", "report.pdf", "results.json"

__all__ = ["write_reports"]


def _json(value: JsonValue) -> bytes:
    return (json.dumps(value, indent=1, sort_keys=False, ensure_ascii=False) + "\n").encode("utf-8")


def write_reports(results: JsonObject, report_dir: Path, *, baseline: JsonObject | None,
                  synth_dir: Path, pdf: bool = True, gate_files: Mapping[str, bytes] | None = None) -> list[Path]:
    """Write every report of one gate run, with ``gate_files`` (the gate's results.json and summary.md) and
    SHA256SUMS, as one set (policies/reports/publishing.py); return the paths written, in a stable order.
    ``pdf=False`` skips (and removes a stale) report.pdf: printing ~180 pages takes Chromium ~15 s, too slow
    for every gate run. Every value shown passes through the synth's redactor (policies/redaction.py)."""
    report_dir, synth_dir = Path(report_dir), Path(synth_dir)
    environments = build_posture(results).environments
    synth = read_synth(results, synth_dir, environments)
    posture = build_posture(synth.redactor.value(results))
    baseline = synth.redactor.value(baseline) if baseline is not None else None  # an older run's, maybe unredacted
    topologies = {environment: build_topology(synth.model, environment)
                  for environment in posture.environments} if synth.model is not None else {}
    chromium = find_chromium() if pdf else None
    versions = {"python (reports)": reporter_python()}
    browser = chromium_version(chromium) if chromium else None
    if browser:
        versions["chromium (PDF)"] = browser
    diff = posture_diff(posture, baseline) if baseline is not None else None
    files = (RESULTS_FILE, HTML_FILE, MARKDOWN_FILE, SARIF_FILE, JUNIT_FILE, CSV_FILE) + ((DIFF_FILE,) if diff else ())
    # The checkout the gate ran in (results of schema 1.0.0 predate that record: the one found now).
    checkout = results["run"].get("provenance")
    context = ReportContext(posture=posture, synth=synth, topologies=topologies,
                            revision=Revision(checkout["commit"], checkout["dirty"]) if checkout else revision(),
                            versions=versions, generated_at=dt.datetime.now(dt.timezone.utc).replace(microsecond=0),
                            synth_dir=synth_dir, diff=diff, files=files)
    contents = {
        **(gate_files or {}),
        HTML_FILE: render_html(context).encode("utf-8"),
        MARKDOWN_FILE: render_markdown(context).encode("utf-8"),
        SARIF_FILE: _json(render_sarif(context)),
        JUNIT_FILE: render_junit(context),
        CSV_FILE: render_evidence_csv(context),
    }
    if diff is not None:
        contents[DIFF_FILE] = _json(diff)
    with ReportSet(report_dir) as reports:
        for name, content in contents.items():
            reports.stage(name, content)
        if chromium is not None:
            try:
                print_pdf(chromium, reports.path(HTML_FILE), reports.stage(PDF_FILE, b""))
            except PdfError as error:
                reports.drop(PDF_FILE)
                print(f"reports: {PDF_FILE} not written: {error}", file=sys.stderr)
        return reports.publish(retired=(DIFF_FILE, PDF_FILE))

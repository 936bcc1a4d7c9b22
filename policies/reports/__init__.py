"""Auditor reports of one policy-gate run, rendered from its results document (``results.json``).

``write_reports`` writes, into the report directory:

- ``report.html``: self-contained report (run metadata and chain of custody, executive summary, PCI DSS
  v4.0 requirement view, exceptions, tag coverage, blue/green weights, architecture diagrams, evidence of
  every resource checked, and the change since a baseline when one is given);
- ``report.md``: the summary, requirement view, exceptions, findings and change in Markdown;
- ``results.sarif``: SARIF 2.1.0, one rule per control, one result per failing or excepted finding;
- ``junit.xml``: one test case per control and environment, plus the exceptions register;
- ``diff.json``: the posture change since the baseline (only with a baseline; removed otherwise);
- ``report.pdf``: the HTML printed by headless Chromium (only when Chromium is installed; removed
  otherwise, so a stale PDF never sits beside fresh reports).

Everything is rendered in memory first and published by rename (see ``publish``): a failure leaves the
previous reports as they were. ``results.json`` itself is the gate's to write.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

from policies.reports.context import ReportContext
from policies.reports.diff import posture_diff
from policies.reports.html_report import render_html
from policies.reports.junit import render_junit
from policies.reports.markdown_report import render_markdown
from policies.reports.pdf import PdfError, find_chromium, print_pdf
from policies.reports.posture import build_posture
from policies.reports.provenance import chromium_version, reporter_python, revision
from policies.reports.publishing import adopt, publish, retract, stage
from policies.reports.sarif import render_sarif
from policies.reports.synth import read_synth
from policies.reports.topology import build_topology

HTML_FILE, MARKDOWN_FILE, SARIF_FILE, JUNIT_FILE = "report.html", "report.md", "results.sarif", "junit.xml"
DIFF_FILE, PDF_FILE, RESULTS_FILE = "diff.json", "report.pdf", "results.json"

__all__ = ["write_reports"]


def _json(value: Any) -> bytes:
    return (json.dumps(value, indent=1, sort_keys=False, ensure_ascii=False) + "\n").encode("utf-8")


def write_reports(results: dict[str, Any], report_dir: Path, *, baseline: dict[str, Any] | None,
                  synth_dir: Path, pdf: bool = True) -> list[Path]:
    """Write every report of one gate run; return the paths written, in a stable order. ``pdf=False`` skips
    (and removes a stale) report.pdf: printing ~180 pages takes Chromium ~15 s, too slow for every gate run."""
    report_dir, synth_dir = Path(report_dir), Path(synth_dir)
    posture = build_posture(results)
    synth = read_synth(results, synth_dir, posture.environments)
    topologies = {environment: build_topology(synth.model, environment)
                  for environment in posture.environments} if synth.model is not None else {}
    chromium = find_chromium() if pdf else None
    versions = {"python (reports)": reporter_python()}
    browser = chromium_version(chromium) if chromium else None
    if browser:
        versions["chromium (PDF)"] = browser
    diff = posture_diff(posture, baseline) if baseline is not None else None
    files = (RESULTS_FILE, HTML_FILE, MARKDOWN_FILE, SARIF_FILE, JUNIT_FILE) + ((DIFF_FILE,) if diff else ())
    context = ReportContext(posture=posture, synth=synth, topologies=topologies, revision=revision(),
                            versions=versions, generated_at=dt.datetime.now(dt.timezone.utc).replace(microsecond=0),
                            synth_dir=synth_dir, diff=diff, files=files)
    contents = {
        HTML_FILE: render_html(context).encode("utf-8"),
        MARKDOWN_FILE: render_markdown(context).encode("utf-8"),
        SARIF_FILE: _json(render_sarif(context)),
        JUNIT_FILE: render_junit(context),
    }
    if diff is not None:
        contents[DIFF_FILE] = _json(diff)
    written = publish(contents, report_dir)
    if diff is None:
        retract(report_dir, DIFF_FILE)
    if chromium is None:
        retract(report_dir, PDF_FILE)
        return written
    pdf = stage(report_dir, PDF_FILE, b"")
    try:
        print_pdf(chromium, report_dir / HTML_FILE, pdf)
    except PdfError as error:
        pdf.unlink(missing_ok=True)
        retract(report_dir, PDF_FILE)
        print(f"reports: {PDF_FILE} not written: {error}", file=sys.stderr)
        return written
    return [*written, adopt(pdf, report_dir, PDF_FILE)]

"""``evidence.csv``: every evidence row of the run, compliant ones included, one line per layer check.

Columns: environment, control, requirement (the ids the control's verdict counts toward), resource, path (the
attribute path(s) read), observed (the value(s) behind the verdict, as JSON), expected, verdict (the check's,
EXCEPTED where the register accepts the row). Read from the redacted posture, like every other report. When
the synth is not what the synth wrote (policies/integrity.py), a first line ``# <notice>`` says so, as every
report does. A
cell a spreadsheet would run as a formula (starting ``=``, ``+``, ``-``, ``@``, tab or carriage return) is
prefixed with ``'``.
"""

from __future__ import annotations

import csv
import io
import json

from policies.reports.context import ReportContext
from policies.reports.posture import EXCEPTED, FAILING

COLUMNS = ("environment", "control", "requirement", "resource", "path", "observed", "expected", "verdict")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def render_evidence_csv(context: ReportContext) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    notice = context.posture.integrity_notice()
    if notice is not None:
        writer.writerow([f"# {notice}"])
    writer.writerow(COLUMNS)
    for view in context.posture.controls:
        requirements = " ".join(view.control["requirements"])
        for finding in view.findings:
            for evidence in finding.row["evidence"]:
                verdict = EXCEPTED if finding.verdict == EXCEPTED and evidence["verdict"] in FAILING \
                    else evidence["verdict"]
                observed = json.dumps(evidence["observed"], sort_keys=True, ensure_ascii=False)
                writer.writerow([_cell(text) for text in (
                    finding.environment_label, view.id, requirements, finding.address or "(the rule itself)",
                    evidence["attribute"] or "-", observed, evidence["expected"], verdict)])
    return out.getvalue().encode("utf-8")

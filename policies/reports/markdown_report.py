"""``report.md``: the summary, the requirement view, exceptions, failing findings and the baseline diff in
Markdown, for reading in a repository browser or a pull request.

Values are escaped so that a resource name cannot become a link, an HTML tag or a table column.
"""

from __future__ import annotations

import re

from policies.jsontypes import JsonObject
from policies.reports.context import ReportContext
from policies.reports.posture import (
    EXCEPTED,
    FAIL,
    FAILING,
    NOT_APPLICABLE,
    PRINCIPAL_REQUIREMENTS,
    STATUSES,
    requirement_sort_key,
)

_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&#!])")
_STATUS_TEXT = {NOT_APPLICABLE: "N/A"}


def md(value: object) -> str:
    """Literal text: Markdown punctuation backslash-escaped, line breaks folded into spaces."""
    return _SPECIAL.sub(r"\\\1", " ".join(str(value).split()))


def _status(status: str | None) -> str:
    if status is None:
        return "absent"
    text = _STATUS_TEXT.get(status, status)
    return f"**{text}**" if status == FAIL else text


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    if not rows:
        return ["None.", ""]
    return ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers),
            *("| " + " | ".join(row) + " |" for row in rows), ""]


def render_markdown(context: ReportContext) -> str:
    posture, run = context.posture, context.posture.run
    environments = posture.environments
    lines = [
        f"# PCI DSS v4.0.1 compliance report: gate {run['outcome']} (exit code {run['exit_code']})", "",
        f"Gate run {md(run['started_at'])}; report generated {md(context.generated_at.isoformat())}; "
        f"git commit {md(context.revision.describe())}; environments {md(', '.join(environments))}. "
        "The full report with evidence, diagrams and chain of custody is `report.html`; machine-readable: "
        "`results.json`, `results.sarif`, `junit.xml`.", "",
        *([f"**{md(notice)}**", ""] if (notice := posture.integrity_notice()) else []),
        "## Executive summary", "",
        *_table(["Environment", "Passed", "Failed", "Excepted", "N/A", "Results"],
                [[md(e), *[str(posture.counts(e)[s]) for s in STATUSES], str(sum(posture.verdict_counts(e).values()))]
                 for e in environments]
                + [["all environments", *[str(posture.overall_counts()[s]) for s in STATUSES],
                    str(sum(posture.verdict_counts().values()))]]),
    ]
    attention = [v for v in posture.controls if v.status in (FAIL, EXCEPTED)]
    lines += ["### Controls needing attention", "",
              *_table(["Control", "Title", "Severity", *map(md, environments)],
                      [[md(v.id), md(v.control["title"]), md(v.control["severity"]),
                        *[_status(v.status_by_environment[e]) for e in environments]] for v in attention])]
    if context.diff is not None:
        lines += _diff(context.diff)
    lines += ["## PCI DSS v4.0.1 requirement view", "",
              "A requirement's verdict is the worst of the automated controls mapped to it in full or in part: "
              "evidence toward the requirement, not an assessment of it as a whole. Supporting mappings give no "
              "verdict.", ""]
    rows = []
    for requirement, views in posture.requirements():
        for index, view in enumerate(views):
            mapping = posture.mapping(view, requirement)  # None in results before schema 1.2.0
            rows.append([md(f"{requirement}: {posture.paraphrase(requirement)}") if index == 0 else "",
                         _status(posture.requirement_status(views)) if index == 0 else "", md(view.id),
                         md(f"{mapping['strength']}: {mapping['reason']}" if mapping else view.control["title"]),
                         *[_status(view.status_by_environment[e]) for e in environments]])
    lines += _table(["Requirement", "Verdict", "Control", "Mapping", *map(md, environments)], rows)
    supporting = posture.supporting_only()
    if supporting:
        lines += ["### Supporting evidence only (no verdict)", "",
                  *_table(["Requirement", "Controls and why they only support"],
                          [[md(f"{r}: {posture.paraphrase(r)}"),
                            md("; ".join(f"{v.id}: {reason}" for v, reason in pairs))] for r, pairs in supporting])]
    if posture.not_evidenced():
        lines += ["### Requirements this gate cannot evidence", "",
                  *_table(["Requirement", "Kind", "Paraphrase"],
                          [[md(n["requirement"]), md(n["kind"]), md(n["paraphrase"])]
                           for n in posture.not_evidenced()])]
    covered = {requirement_sort_key(r)[0] for r, _ in posture.requirements()}
    uncovered = [f"{n} ({title})" for n, title in PRINCIPAL_REQUIREMENTS.items() if n not in covered]
    if uncovered:
        lines += ["Principal requirements no automated control addresses: " + md("; ".join(uncovered)) + ".", ""]
    lines += ["## Exceptions", "",
              *_table(["Control", "Resource", "State", "Expires", "Days to expiry", "Approver", "Justification"],
                      [[md(x.entry["control"]), md(x.entry["resource"]), f"**{x.state}**" if x.state != "ACTIVE"
                        else "in force", md(x.entry["expires"] or "-"),
                        "-" if x.days_to_expiry is None else str(x.days_to_expiry), md(x.entry["approver"] or "-"),
                        md(x.entry["justification"] or "-")] for x in posture.exceptions])]
    lines += ["## Findings", ""]
    findings = [f for f in posture.findings() if f.verdict in (*FAILING, EXCEPTED)]
    if not findings:
        lines += ["No noncompliant or excepted resource.", ""]
    for finding in findings:
        lines.append(f"- **{finding.verdict}** {md(finding.row['control'])} in {md(finding.environment_label)}: "
                     + md(finding.where()))
        lines += [f"  - {md(line)}" for line in finding.details()]
    lines.append("")
    return "\n".join(lines)


def _diff(diff: JsonObject) -> list[str]:
    def changes(items: list[JsonObject]) -> list[str]:
        return _table(["Control", "Environment", "Before", "Now"],
                      [[md(c["control"]), md(c["environment"]), _status(c["before"]), _status(c["after"])]
                       for c in items])

    def exceptions(items: list[JsonObject]) -> list[str]:
        return _table(["Control", "Resource", "Expires", "Approver"],
                      [[md(e["control"]), md(e["resource"]), md(e["expires"] or "-"), md(e["approver"])]
                       for e in items])

    return ["## Change since the baseline", "",
            f"Baseline gate run {md(diff['baseline']['started_at'])} ({diff['baseline']['outcome']}); details in "
            "`diff.json`.", "",
            "### Newly failing", "", *changes(diff["newly_failing"]),
            "### Newly passing", "", *changes(diff["newly_passing"]),
            "### New exceptions", "", *exceptions(diff["new_exceptions"]),
            "### Expired exceptions", "", *exceptions(diff["expired_exceptions"]),
            "### Other status changes", "", *changes(diff["other_changes"])]

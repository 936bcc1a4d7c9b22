"""The gate's reports: ``results.json`` (schema ``policies/results.schema.json``) and ``summary.md``.

Both are validated/rendered completely in memory and published with the auditor reports as one set
(policies/reports/publishing.py), so a reader never sees a half-written or mixed set.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import Counter
from pathlib import Path

import jsonschema

from policies.gate import (
    ERROR,
    EXCEPTED,
    FAIL,
    NON_COMPLIANT,
    NOT_APPLICABLE,
    PASS,
    Evaluation,
    Row,
)
from policies.jsontypes import JsonObject, JsonValue
from policies.results import ResultRecord
from policies.yamlfile import quote

SCHEMA_FILE = Path(__file__).resolve().parent / "results.schema.json"
SCHEMA_VERSION = "1.2.0"
RESULTS_FILE = "results.json"
SUMMARY_FILE = "summary.md"


def sha256_of(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def sha256_of_tree(directory: Path, pattern: str) -> str:
    digest = hashlib.sha256()
    for path in sorted(Path(directory).glob(pattern)):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _row(row: Row) -> ResultRecord:
    view = row.view
    return {
        "control": row.control.id,
        "requirements": list(row.control.requirements),
        "verdict": row.verdict,
        "resource": None if view is None else {
            "address": view["address"], "stack": view["stack"], "type": view["selector"], "name": view["name"],
            "construct_path": view["path"]},
        "layers": row.layers,
        "evidence": [{"layer": e.layer, "check": e.check, "verdict": e.verdict, "attribute": e.attribute,
                      "observed": e.observed, "expected": e.expected, "message": e.message} for e in row.evidence],
        "exception": row.exception.as_dict() if row.exception else None,
    }


def _controls(evaluation: Evaluation) -> list[JsonObject]:
    controls = []
    for control in evaluation.catalog.controls:
        rows = evaluation.rows_of(control.id)
        counts = Counter(row.verdict for row in rows)
        controls.append({
            "id": control.id, "title": control.title, "requirements": list(control.requirements),
            "mappings": [mapping.as_dict() for mapping in control.mappings],
            "severity": control.severity, "status": evaluation.control_status(control),
            "layers": {"declared": list(control.layers.names),
                       "checked_post_synth": sorted({layer for row in rows for layer in row.layers}),
                       "enforced_at_synth": bool(control.layers.aspect)},
            "checks": {"aspect": list(control.layers.aspect), "checkov": list(control.layers.checkov_ids),
                       "jmespath": list(control.layers.jmespath)},
            "counts": {verdict: counts.get(verdict, 0) for verdict in ("COMPLIANT", NON_COMPLIANT, EXCEPTED, ERROR)},
            "resources_by_environment": evaluation.resources_by_environment.get(control.id, {}),
            "remediation": control.remediation,
        })
    return controls


def compare(document: JsonObject, baseline: JsonObject, baseline_path: Path) -> JsonObject:
    """What changed since a previous results.json (informational: only the register suppresses findings)."""
    def failing(doc: JsonObject) -> set[tuple[str, str]]:
        return {(r["control"], (r["resource"] or {}).get("address", "")) for r in doc["results"]
                if r["verdict"] in (NON_COMPLIANT, ERROR)}

    before = {c["id"]: c["status"] for c in baseline["controls"]}
    now, then = failing(document), failing(baseline)
    return {
        "baseline": str(baseline_path), "baseline_started_at": baseline["run"]["started_at"],
        "new_failures": [{"control": c, "resource": a} for c, a in sorted(now - then)],
        "resolved": [{"control": c, "resource": a} for c, a in sorted(then - now)],
        "status_changes": [{"control": c["id"], "from": before[c["id"]], "to": c["status"]}
                           for c in document["controls"] if c["id"] in before and before[c["id"]] != c["status"]],
    }


def baseline_problems(baseline: JsonObject) -> list[str]:
    """References a schema-valid results document gets wrong (what :func:`compare` and the diff rely on)."""
    ids = [control["id"] for control in baseline["controls"]]
    known = set(ids)
    problems = [f"control {quote(c)} is listed twice" for c in sorted({c for c in ids if ids.count(c) > 1})]
    problems += [f"results[{index}] names control {quote(row['control'])}, which its controls list lacks"
                 for index, row in enumerate(baseline["results"]) if row["control"] not in known]
    return problems


def build_document(evaluation: Evaluation, *, run: JsonObject, inputs: list[JsonObject]) -> JsonObject:
    controls = _controls(evaluation)
    rows = [_row(row) for row in evaluation.rows]
    return {
        "schema_version": SCHEMA_VERSION,
        "run": run,
        "inputs": inputs,
        "summary": {
            "controls": len(controls),
            "by_status": {status: sum(c["status"] == status for c in controls)
                          for status in (PASS, FAIL, EXCEPTED, NOT_APPLICABLE)},
            "rows": len(rows),
            "by_verdict": {verdict: sum(r["verdict"] == verdict for r in rows)
                           for verdict in ("COMPLIANT", NON_COMPLIANT, EXCEPTED, ERROR)},
            "register_problems": len(evaluation.register_problems),
        },
        "requirements": evaluation.catalog.requirements.as_dict(evaluation.catalog.cited_requirements),
        "controls": controls,
        "results": rows,
        "exceptions": {
            "applied": [entry.as_dict() for entry in evaluation.applied_exceptions],
            "problems": [{"entry": p.entry.as_dict(), "problems": p.problems} for p in evaluation.register_problems],
        },
        "comparison": None,
    }


def load_schema() -> JsonObject:
    schema: JsonObject = json.loads(SCHEMA_FILE.read_text())
    return schema


def validate(document: JsonObject) -> None:
    jsonschema.validate(document, load_schema())


def _fmt(value: JsonValue) -> str:
    text = json.dumps(value, sort_keys=True) if not isinstance(value, str) else value
    return text if len(text) <= 300 else text[:297] + "..."


def render_summary(evaluation: Evaluation, document: JsonObject) -> str:
    run, summary = document["run"], document["summary"]
    synth = run["provenance"]["synth"]
    lines = [f"# PCI DSS policy gate: {run['outcome']} (exit {run['exit_code']})", "",
             *([f"**Synth {synth['state']}**: {'; '.join(synth['problems'])}.", ""]
               if synth["state"] != "verified" else []),
             f"{summary['controls']} controls: " + ", ".join(f"{n} {s}" for s, n in summary["by_status"].items()) +
             f"; {len(document['inputs'])} stacks, {summary['rows']} control x resource results "
             f"({', '.join(f'{n} {v}' for v, n in summary['by_verdict'].items())}).", ""]
    for control in evaluation.catalog.controls:
        status = evaluation.control_status(control)
        if status not in (FAIL, EXCEPTED):
            continue
        lines.append(f"## {status} {control.id} ({control.requirement_text}): {control.title}")
        for row in evaluation.rows_of(control.id):
            if row.verdict not in (NON_COMPLIANT, ERROR, EXCEPTED):
                continue
            where = f"{row.address} ({row.view['path']})" if row.view else "(the rule itself)"
            lines.append(f"- {row.verdict} {where}")
            for e in row.evidence:
                if e.verdict in (NON_COMPLIANT, ERROR):
                    observed = "" if e.observed is None else f"observed {_fmt(e.observed)}, "
                    lines.append(f"  - [{e.layer} {e.check}] {e.attribute or '-'}: {observed}expected {e.expected}"
                                 + (f" ({e.message})" if e.message not in (e.check, e.expected) else ""))
            if row.exception:
                lines.append(f"  - excepted until {row.exception.expires} by {row.exception.approver}: "
                             f"{row.exception.justification}")
        lines.append(f"  fix: {control.remediation}")
        lines.append("")
    if evaluation.register_problems:
        lines.append("## Exceptions register problems")
        for problem in evaluation.register_problems:
            entry = problem.entry
            lines.append(f"- exceptions[{entry.index}] {entry.control} {entry.resource}: {'; '.join(problem.problems)}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)

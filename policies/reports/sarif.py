"""``results.sarif``: the findings as SARIF 2.1.0, for code-scanning tools and audit evidence stores.

One rule per control (its PCI DSS v4.0.1 requirement ids in ``properties``), one result per finding:
at the level the control's severity gives (could-not-check rows always as errors), excepted rows with an
accepted external suppression that carries the register's justification, approver and expiry. A result's
location is the ``app/`` file and line of the construct call that created the resource (the synth's
source-map.json, policies/sourcemap.py), so a pull-request annotation lands on the line a developer changes;
the ``cdk.tf.json`` block (relative to the repository when the synth lies inside it, else to the synth
directory) is a related location, and the construct path a logical one. Each rule carries markdown help:
the remediation and the requirement mappings.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from policies.catalog import REPO_ROOT
from policies.jsontypes import JsonObject
from policies.model import STACK_FILE
from policies.reports.context import ReportContext
from policies.reports.posture import ERROR, EXCEPTED, FAILING, NON_COMPLIANT
from policies.reports.provenance import repository_path
from policies.sourcemap import load_source_map

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
# GitHub code scanning ranks findings by this property (0-10).
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0"}
LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note"}
SOURCE_BASE = "SRCROOT"  # the checkout of the app the synth was made from
_BLOCK = re.compile(r'^(\s*)"((?:[^"\\]|\\.)*)": \{\s*$')


def block_lines(text: str) -> dict[tuple[str, str, str], int]:
    """(resource|data, type, name) -> 1-based line where that block opens, for pretty-printed JSON."""
    lines: dict[tuple[str, str, str], int] = {}
    stack: list[tuple[int, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        match = _BLOCK.match(line)
        if not match:
            continue
        indent = len(match.group(1))
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, match.group(2)))
        if len(stack) == 3 and stack[0][1] in ("resource", "data"):
            lines.setdefault((stack[0][1], stack[1][1], stack[2][1]), number)
    return lines


def _base(synth_dir: Path) -> tuple[str, str, str]:
    """(uriBaseId, base URI, prefix of a stack file's relative URI)."""
    inside = repository_path(synth_dir)
    if inside is not None:
        root = Path(synth_dir).resolve()
        for _ in Path(inside).parts:
            root = root.parent
        return "%SRCROOT%", root.as_uri() + "/", "" if inside == "." else inside + "/"
    return "SYNTHDIR", Path(synth_dir).resolve().as_uri() + "/", ""


def _help_markdown(control: JsonObject) -> str:
    mappings = control.get("mappings") or [{"requirement": r, "strength": "", "reason": ""}
                                           for r in control["requirements"]]
    lines = [f"**{control['id']}: {control['title']}** (severity {control['severity']})", "",
             f"**Remediation**: {control['remediation']}", "", "**PCI DSS v4.0.1**:", ""]
    lines += [f"- {m['requirement']}" + (f" ({m['strength']}): {m['reason']}" if m["strength"] else "")
              for m in mappings]
    return "\n".join(lines)


def _rule(control: JsonObject) -> JsonObject:
    requirements = control["requirements"]
    return {
        "id": control["id"],
        "name": re.sub(r"[^A-Za-z0-9]", "", control["id"].title()),
        "shortDescription": {"text": control["title"]},
        "fullDescription": {"text": f"{control['title']} (PCI DSS v4.0.1 {', '.join(requirements)})."},
        "help": {"text": control["remediation"], "markdown": _help_markdown(control)},
        "defaultConfiguration": {"level": LEVEL[control["severity"]]},
        "properties": {
            "pci-dss-v4.0.1-requirements": requirements,
            "severity": control["severity"],
            "security-severity": SECURITY_SEVERITY[control["severity"]],
            "tags": ["security", "compliance", "PCI-DSS-v4.0.1", *(f"PCI-DSS-v4.0.1/{r}" for r in requirements)],
            "checks": control["checks"],
        },
    }


def render_sarif(context: ReportContext) -> JsonObject:
    posture, run = context.posture, context.posture.run
    base_id, base_uri, prefix = _base(context.synth_dir)
    artifacts: list[JsonObject] = []
    artifact_index: dict[str, int] = {}
    lines: dict[str, dict[tuple[str, str, str], int]] = {}
    for index, entry in enumerate(context.document["inputs"]):
        uri = f"{prefix}stacks/{entry['stack']}/{STACK_FILE}"
        path = context.synth_dir / "stacks" / entry["stack"] / STACK_FILE
        artifact_index[entry["stack"]] = index
        artifacts.append({"location": {"uri": uri, "uriBaseId": base_id}, "hashes": {"sha-256": entry["sha256"]},
                          "roles": ["analysisTarget"]})
        try:
            lines[entry["stack"]] = block_lines(path.read_text())
        except OSError:
            lines[entry["stack"]] = {}
    sources = load_source_map(context.synth_dir)
    source_index: dict[str, int] = {}
    rule_index = {view.id: index for index, view in enumerate(posture.controls)}
    severity = {view.id: view.control["severity"] for view in posture.controls}
    results = []
    for finding in posture.findings():
        if finding.verdict not in (*FAILING, EXCEPTED):
            continue
        resource = finding.resource
        result: JsonObject = {
            "ruleId": finding.row["control"], "ruleIndex": rule_index[finding.row["control"]],
            "kind": "fail", "message": {"text": finding.summary()},
            "level": "error" if finding.verdict == ERROR else LEVEL[severity[finding.row["control"]]],
            "properties": {"verdict": finding.verdict, "environment": finding.environment_label,
                           "requirements": finding.row["requirements"], "layers": finding.row["layers"],
                           "evidence": finding.row["evidence"]},
        }
        if resource is not None:
            kind = "data" if resource["address"].split(":", 1)[1].startswith("data.") else "resource"
            index = artifact_index[resource["stack"]]
            location: JsonObject = {"physicalLocation": {"artifactLocation": {
                **artifacts[index]["location"], "index": index}},
                "logicalLocations": [{"name": f"{resource['type']}.{resource['name']}",
                                      "fullyQualifiedName": resource["construct_path"],
                                      "decoratedName": resource["address"], "kind": "resource"}]}
            line = lines[resource["stack"]].get((kind, resource["type"], resource["name"]))
            if line is not None:
                location["physicalLocation"]["region"] = {"startLine": line}
            source = sources.get(resource["construct_path"])
            if source is not None:
                if source["file"] not in source_index:
                    source_index[source["file"]] = len(artifacts)
                    # No hash: the gate reads nothing of app/ (the synth's provenance pins the commit).
                    artifacts.append({"location": {"uri": source["file"], "uriBaseId": SOURCE_BASE},
                                      "roles": ["resultFile"]})
                index = source_index[source["file"]]
                result["locations"] = [{"physicalLocation": {
                    "artifactLocation": {**artifacts[index]["location"], "index": index},
                    "region": {"startLine": source["line"]}}, "logicalLocations": location.pop("logicalLocations")}]
                result["relatedLocations"] = [{"id": 1, **location,
                                               "message": {"text": "the synthesized block (cdk.tf.json)"}}]
            else:
                result["locations"] = [location]
            result["partialFingerprints"] = {"controlResource/v1": hashlib.sha256(
                f"{finding.row['control']}|{resource['address']}".encode()).hexdigest()}
        if finding.verdict == EXCEPTED and finding.register_entry is not None:
            entry = finding.register_entry.entry
            result["suppressions"] = [{
                "kind": "external", "status": "accepted",
                "justification": f"{entry['justification']} (approved by {entry['approver']}; expires "
                                 f"{entry['expires']})",
                "properties": {"approver": entry["approver"], "expires": entry["expires"],
                               "reference": entry["reference"], "register": "policies/exceptions.yaml"}}]
        results.append(result)
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "payments-policy-gate",
                "fullName": f"PCI DSS v4.0.1 policy gate ({run['tool']})",
                "rules": [_rule(view.control) for view in posture.controls],
                "properties": {"versions": run["versions"], "catalog": run["configuration"]["catalog"]},
            }},
            "invocations": [{"executionSuccessful": True, "exitCode": run["exit_code"],
                             "startTimeUtc": run["started_at"], "endTimeUtc": run["finished_at"],
                             **({"toolExecutionNotifications": [{"level": "error", "message": {"text": notice}}]}
                                if (notice := posture.integrity_notice()) else {})}],
            "originalUriBaseIds": {base_id: {"uri": base_uri}, SOURCE_BASE: {"uri": REPO_ROOT.as_uri() + "/"}},
            "artifacts": artifacts,
            "results": results,
            "automationDetails": {"id": f"payments-policy-gate/{run['started_at']}"},
            "columnKind": "unicodeCodePoints",
            "properties": {"outcome": run["outcome"], "gitCommit": context.revision.commit,
                           "gitDirty": context.revision.dirty, "environments": posture.environments,
                           "synthProvenance": ((run.get("provenance") or {}).get("synth") or {}).get("state"),
                           "verdicts": {v: sum(1 for f in posture.findings() if f.verdict == v)
                                        for v in (NON_COMPLIANT, ERROR, EXCEPTED)}},
        }],
    }

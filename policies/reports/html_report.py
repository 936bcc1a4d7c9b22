"""``report.html``: the auditor's report, one self-contained file.

No script, no external stylesheet, font or image: styles are inline, diagrams are inline SVG, and a
Content-Security-Policy forbids the page from loading anything, so it renders the same offline, from an
e-mail attachment or an evidence archive. Print styles lay it out on A4 landscape pages. Every value from
the results or the synth goes through ``markup.el`` and is escaped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

from policies.jsontypes import JsonObject, JsonValue
from policies.reports.context import ReportContext
from policies.reports.diagram import render_svg
from policies.reports.markup import Markup, el, join
from policies.reports.posture import (
    COMPLIANT,
    EXCEPTED,
    FAIL,
    FAILING,
    NOT_APPLICABLE,
    PASS,
    PRINCIPAL_REQUIREMENTS,
    STATUSES,
    VERDICTS,
    ControlView,
    Finding,
    requirement_sort_key,
)

OBSERVED_LIMIT = 4000
# A compliant resource's values, one line per check, inside a collapsed <details> (evidence.csv has them whole).
COMPLIANT_OBSERVED_LIMIT = 160
COMPLIANT_NAMED_RESOURCES = 12

CSS = """
:root { --pass: #15803d; --fail: #b91c1c; --excepted: #b45309; --na: #64748b; --error: #7f1d1d; --ink: #111827;
        --muted: #4b5563; --rule: #d1d5db; --head: #f1f5f9; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; color: var(--ink); background: #fff;
       font: 14px/1.45 "DejaVu Sans", "Liberation Sans", Arial, Helvetica, sans-serif; }
main { max-width: 1320px; margin: 0 auto; padding: 20px 28px 48px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 36px 0 12px; padding-bottom: 4px; border-bottom: 2px solid var(--ink); }
h3 { font-size: 16px; margin: 22px 0 8px; }
h4 { font-size: 14px; margin: 14px 0 6px; }
p { margin: 6px 0; }
.subtitle { color: var(--muted); margin: 0 0 14px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 14px; font-size: 12.5px; }
th, td { border: 1px solid var(--rule); padding: 4px 6px; text-align: left; vertical-align: top; }
th { background: var(--head); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
code, .mono { font-family: "DejaVu Sans Mono", "Liberation Mono", "Courier New", monospace; font-size: 11.5px;
              overflow-wrap: anywhere; }
pre { margin: 2px 0; white-space: pre-wrap; overflow-wrap: anywhere;
      font: 11px/1.35 "DejaVu Sans Mono", "Liberation Mono", monospace; }
.badge { display: inline-block; min-width: 56px; padding: 1px 7px; border-radius: 10px; color: #fff;
         font-size: 11px; font-weight: 700; text-align: center; white-space: nowrap; letter-spacing: .02em; }
.s-PASS, .v-COMPLIANT { background: var(--pass); }
.s-FAIL, .v-NON_COMPLIANT { background: var(--fail); }
.v-ERROR { background: var(--error); }
.s-EXCEPTED, .v-EXCEPTED { background: var(--excepted); }
.s-NOT_APPLICABLE { background: var(--na); }
.st-ACTIVE { background: var(--pass); } .st-EXPIRED, .st-INVALID { background: var(--fail); }
.outcome { display: flex; gap: 14px; align-items: center; padding: 12px 16px; border-radius: 8px; margin: 10px 0 18px;
           border: 2px solid; }
.outcome.PASS { border-color: var(--pass); background: #f0fdf4; }
.outcome.FAIL { border-color: var(--fail); background: #fef2f2; }
.outcome strong { font-size: 20px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(250px, 1fr)); gap: 12px; margin: 10px 0 16px; }
.card { border: 1px solid var(--rule); border-radius: 8px; padding: 10px 14px; }
.card h3 { margin: 0 0 6px; font-size: 15px; }
.card .counts { display: grid; grid-template-columns: repeat(4, 1fr); gap: 4px; text-align: center; }
.card .counts div { border-radius: 6px; padding: 4px 0; background: #f8fafc; }
.card .counts b { display: block; font-size: 22px; }
.warning { border-left: 5px solid var(--fail); background: #fef2f2; padding: 8px 12px; margin: 10px 0; }
.note { color: var(--muted); font-size: 12.5px; }
nav.toc { border: 1px solid var(--rule); border-radius: 8px; padding: 8px 14px; margin: 8px 0 8px; font-size: 13px; }
nav.toc ol { margin: 4px 0; padding-left: 22px; columns: 2; }
nav.filters { border: 1px solid var(--rule); border-radius: 8px; padding: 8px 14px; margin: 8px 0; font-size: 13px; }
nav.filters ul { margin: 4px 0; padding-left: 18px; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 3px 14px; margin: 6px 0 12px; }
dl.meta dt { font-weight: 600; color: var(--muted); }
dl.meta dd { margin: 0; }
.control { border-top: 1px solid var(--rule); padding-top: 4px; margin-top: 18px; }
.control h3 .badge { margin-left: 4px; }
.evidence td:nth-child(2) { width: 32%; }
.evidence td:nth-child(3) { width: 9%; }
.evidence td:nth-child(4) { width: 55%; }
.ev { margin: 0 0 4px; padding: 0 0 3px; border-bottom: 1px dotted var(--rule); }
.ev:last-child { border-bottom: 0; }
.ev.COMPLIANT { display: inline; margin: 0 12px 0 0; padding: 0; border: 0; }
.ev .mark { font-weight: 700; }
.ev.NON_COMPLIANT .mark, .ev.ERROR .mark { color: var(--fail); }
.ev.COMPLIANT .mark { color: var(--pass); }
.ev .expected { color: var(--muted); }
.exception-note { background: #fffbeb; border-left: 3px solid var(--excepted); padding: 2px 6px; margin-top: 3px; }
.exception-note.bad { background: #fef2f2; border-left-color: var(--fail); }
.bar { display: flex; height: 18px; border-radius: 4px; overflow: hidden; border: 1px solid var(--rule);
       min-width: 220px; }
.bar span { display: block; height: 100%; color: #fff; font-size: 11px; text-align: center; line-height: 18px; }
.slot-blue { background: #1d4ed8; } .slot-green { background: #15803d; } .slot-other { background: #64748b; }
figure.diagram { margin: 8px 0 20px; border: 1px solid var(--rule); border-radius: 8px; padding: 6px; }
figure.diagram svg { display: block; width: 100%; height: auto; }
figcaption { color: var(--muted); font-size: 12.5px; padding: 4px 6px; }
footer { color: var(--muted); font-size: 12px; margin-top: 40px; border-top: 1px solid var(--rule); padding-top: 8px; }
@media screen and (max-width: 800px) {
  main { padding: 8px; }
  body { overflow-wrap: anywhere; }
  table { display: block; max-width: 100%; overflow-x: auto; }
  pre, code { white-space: pre-wrap; overflow-wrap: anywhere; }
  .bar { min-width: 0; }
  figure.diagram { overflow-x: auto; }
}
@media print {
  @page { size: A4 landscape; margin: 11mm 10mm; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  body { font-size: 10.5px; }
  main { max-width: none; padding: 0; }
  nav.toc, nav.filters { display: none; }
  h2 { break-before: page; font-size: 16px; }
  h2.first { break-before: avoid; }
  h3, h4 { break-after: avoid; }
  table { font-size: 8px; }
  th, td { padding: 2px 4px; }
  pre, code, .mono { font-size: 7.5px; }
  .note, figcaption { font-size: 8.5px; }
  table .note { font-size: 7.5px; }
  thead { display: table-header-group; }
  tr, .card, .outcome, .exception-note { break-inside: avoid; }
  figure.diagram { break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
}
"""

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"


def _anchor(*parts: str) -> str:
    return "-".join(re.sub(r"[^A-Za-z0-9_.-]", "_", part) for part in parts)


def badge(status: str) -> Markup:
    label = {"NOT_APPLICABLE": "N/A", "NON_COMPLIANT": "FAIL", "COMPLIANT": "PASS"}.get(status, status)
    prefix = "v" if status in VERDICTS else "s"
    return el("span", label, class_=f"badge {prefix}-{status}", title=status)


class Td(Markup):
    """A table cell made by the caller (to span rows); ``_table`` wraps every other value in one."""


def td(*children: object, **attributes: object) -> Td:
    return Td(el("td", *children, **attributes))


def _table(headers: Sequence[object], rows: Sequence[Sequence[object]], numeric: tuple[int, ...] = (),
           class_: str | None = None, empty: str = "none") -> Markup:
    if not rows:
        return el("p", empty, class_="note")
    head = el("thead", el("tr", [el("th", h, class_="num" if i in numeric else None) for i, h in enumerate(headers)]))
    body = el("tbody", [el("tr", [cell if isinstance(cell, Td) else td(cell, class_="num" if i in numeric else None)
                                  for i, cell in enumerate(row)]) for row in rows])
    return el("table", head, body, class_=class_)


def _control_link(control_id: str) -> Markup:
    return el("a", el("code", control_id), href=f"#{_anchor('control', control_id)}")


def _requirement_link(requirement: str) -> Markup:
    return el("a", requirement, href=f"#{_anchor('req', requirement)}")


def _header(context: ReportContext) -> Markup:
    run = context.posture.run
    outcome = run["outcome"]
    failing = [v for v in context.posture.controls if v.status == FAIL]
    detail = (f"{len(failing)} control(s) failing" if failing else "every control passes or is excepted") + (
        f"; {context.posture.register_problem_count} exceptions-register problem(s)"
        if context.posture.register_problem_count else "")
    return join([
        el("h1", "PCI DSS v4.0.1 compliance report: payment platform infrastructure"),
        el("p", f"Policy gate run of {run['started_at']} on the synthesized Terraform of "
                f"{', '.join(context.posture.environments)}; report generated {context.generated_at.isoformat()}.",
           class_="subtitle"),
        el("div", badge(outcome), el("strong", f"Gate outcome: {outcome} (exit code {run['exit_code']})"),
           el("span", detail), class_=f"outcome {outcome}", id="outcome"),
        *([el("div", el("strong", notice), class_="outcome FAIL", id="integrity")]
          if (notice := context.posture.integrity_notice()) else []),
    ])


SECTIONS = (("metadata", "Run metadata and chain of custody"), ("summary", "Executive summary"),
            ("diff", "Change since the baseline"), ("requirements", "PCI DSS v4.0.1 requirement view"),
            ("exceptions", "Exceptions"), ("tags", "Tag coverage"), ("traffic", "Blue/green weights in force"),
            ("architecture", "Architecture (derived from the synth)"), ("evidence", "Evidence per control"))


def _sections(context: ReportContext) -> list[tuple[str, str]]:
    return [(key, title) for key, title in SECTIONS if key != "diff" or context.diff is not None]


def _heading(context: ReportContext, key: str) -> Markup:
    sections = _sections(context)
    number = next(index for index, (found, _) in enumerate(sections, start=1) if found == key)
    return el("h2", f"{number}. {sections[number - 1][1]}", id=key, class_="first" if number == 1 else None)


def _toc(context: ReportContext) -> Markup:
    return el("nav", el("strong", "Contents"),
              el("ol", [el("li", el("a", title, href=f"#{key}")) for key, title in _sections(context)]), class_="toc")


def _synth_provenance(synth: JsonObject) -> str:
    record = synth["provenance"] or {}
    made = (f"; synthesized at commit {record.get('commit') or 'unknown'}"
            + (" with uncommitted changes" if record.get("dirty") else "") if record else "")
    return f"{synth['state']}{made}" + (f" ({'; '.join(synth['problems'])})" if synth["problems"] else "")


def _metadata(context: ReportContext) -> Markup:
    run, document = context.posture.run, context.document
    configuration = run["configuration"]
    versions = {f"{tool} (gate)": version for tool, version in run["versions"].items()} | context.versions
    facts = [
        ("Gate run", f"{run['started_at']} to {run['finished_at']} ({run['duration_seconds']:.1f} s), "
                     f"{run['tool']}"),
        ("Report generated", context.generated_at.isoformat()),
        ("Git commit", context.revision.describe()),
        *([("Synth provenance", _synth_provenance(synth))] if (synth := (run.get("provenance") or {}).get("synth"))
          else []),
        ("Environments", ", ".join(context.posture.environments)),
        ("Synth directory", run["synth_dir"] + ("" if Path(run["synth_dir"]).resolve() == context.synth_dir.resolve()
                                                 else f" (read for this report: {context.synth_dir})")),
        ("Results schema", f"results.json, schema_version {document['schema_version']}"),
        ("Tool versions", ", ".join(f"{tool} {version}" for tool, version in sorted(versions.items()))),
        ("Timings (s)", ", ".join(f"{step} {seconds:.2f}" for step, seconds in run["timings_seconds"].items())),
    ]
    states = {"verified": "verified", "changed": "CHANGED since the gate ran", "missing": "MISSING now"}
    inputs = _table(["Stack", "Environment", "File (in the synth directory)", "Resources", "Data sources",
                     "sha256 (as scanned)", "Re-hashed for this report"],
                    [[c.stack, c.environment, el("code", c.path), c.resources, c.data_sources, el("code", c.sha256),
                      states[c.state]] for c in context.synth.inputs], numeric=(3, 4))
    policy_files = [("catalog", configuration["catalog"])] + [
        ("catalog controls", entry) for entry in configuration.get("controls", [])] + [
        ("exceptions register", configuration["register"]),
                    ("IAM wildcard allow-list", configuration["allowlist"]),
                    ("checkov checks (tree hash)", configuration["checkov_checks"])] + [
        ("JMESPath rules", entry) for entry in configuration["rules"]]
    policies = _table(["Policy input", "Path", "sha256"],
                      [[name, el("code", entry["path"]), el("code", entry["sha256"])] for name, entry in policy_files])
    siblings = el("p", "Files of this run: ", join([el("a", el("code", name), href=name) for name in context.files],
                                                  ", "), class_="note")
    return join([
        _heading(context, "metadata"),
        el("dl", [[el("dt", key), el("dd", value)] for key, value in facts], class_="meta"),
        el("h3", "Synthesized stacks scanned"),
        el("p", "Every cdk.tf.json the gate scanned, with the sha256 it recorded; each file was hashed again "
                "when this report was written, so the evidence below is tied to these exact bytes.", class_="note"),
        inputs,
        el("h3", "Policy inputs of the run"), policies, siblings,
    ])


def _summary(context: ReportContext) -> Markup:
    posture = context.posture
    cards = []
    for environment in posture.environments:
        counts = posture.counts(environment)
        verdicts = posture.verdict_counts(environment)
        outcome = FAIL if counts[FAIL] else PASS
        cards.append(el("div", el("h3", environment, " ", badge(outcome)),
                        el("div", [el("div", el("b", counts[s]), {"NOT_APPLICABLE": "n/a"}.get(s, s.lower()),
                                      class_=f"c-{s}") for s in STATUSES], class_="counts"),
                        el("p", f"{sum(verdicts.values())} control-resource results: "
                                f"{verdicts['COMPLIANT']} compliant, {verdicts['NON_COMPLIANT']} noncompliant, "
                                f"{verdicts['EXCEPTED']} excepted, {verdicts['ERROR']} could not be checked.",
                           class_="note"),
                        class_="card", id=_anchor("summary", environment)))
    overall = posture.overall_counts()
    rows = [[environment, *[posture.counts(environment)[s] for s in STATUSES],
             sum(posture.verdict_counts(environment).values())] for environment in posture.environments]
    rows.append([el("strong", "all environments"), *[overall[s] for s in STATUSES],
                 sum(posture.verdict_counts().values())])
    failing = [v for v in posture.controls if v.status in (FAIL, EXCEPTED)]
    return join([
        _heading(context, "summary"),
        el("p", f"{len(posture.controls)} automated controls, each evaluated in every environment. A control "
                "passes in an environment when every resource it checks there is compliant; it is excepted when "
                "the only noncompliant resources are covered by a valid, unexpired exception; it fails otherwise "
                "(including when a check could not run)."),
        el("div", cards, class_="cards"),
        _table(["Environment", "Controls passed", "failed", "excepted", "not applicable", "Results"], rows,
               numeric=(1, 2, 3, 4, 5)),
        el("h3", "Controls needing attention"),
        _table(["Control", "Title", "Severity", *posture.environments],
               [[_control_link(v.id), v.control["title"], v.control["severity"],
                 *[badge(v.status_by_environment[e]) for e in posture.environments]] for v in failing],
               empty="None: every control passes in every environment."),
    ])


def _diff(context: ReportContext) -> Markup:
    diff = context.diff
    if diff is None:
        return Markup("")

    def changes(items: list[JsonObject], resources: bool = False) -> Markup:
        headers = ["Control", "Title", "Environment", "Before", "Now"] + (["Failing resources"] if resources else [])
        return _table(headers,
                      [[_control_link(c["control"]), c["title"], c["environment"],
                        badge(c["before"]) if c["before"] else "absent", badge(c["after"]) if c["after"] else "absent"]
                       + ([join([el("code", r) for r in c["failing_resources"]], el("br"))] if resources else [])
                       for c in items])

    def exceptions(items: list[JsonObject]) -> Markup:
        return _table(["Control", "Resource", "Environment", "Expires", "Approver", "Justification"],
                      [[_control_link(e["control"]), el("code", e["resource"]), e["environment"], e["expires"] or "-",
                        e["approver"], e["justification"]] for e in items])

    return join([
        _heading(context, "diff"),
        el("p", f"Baseline: gate run of {diff['baseline']['started_at']} (outcome {diff['baseline']['outcome']}); "
                f"now: {diff['current']['started_at']} (outcome {diff['current']['outcome']}). "
                "Also in diff.json.", class_="note"),
        el("h3", f"Newly failing ({len(diff['newly_failing'])})"), changes(diff["newly_failing"], resources=True),
        el("h3", f"Newly passing ({len(diff['newly_passing'])})"), changes(diff["newly_passing"]),
        el("h3", f"New exceptions ({len(diff['new_exceptions'])})"), exceptions(diff["new_exceptions"]),
        el("h3", f"Expired exceptions ({len(diff['expired_exceptions'])})"), exceptions(diff["expired_exceptions"]),
        el("h3", f"Other status changes ({len(diff['other_changes'])})"), changes(diff["other_changes"]),
    ])


def _requirements(context: ReportContext) -> Markup:
    posture = context.posture
    groups: dict[int, list[tuple[str, list[ControlView]]]] = {}
    for requirement, views in posture.requirements():
        groups.setdefault(requirement_sort_key(requirement)[0], []).append((requirement, views))
    parts = [_heading(context, "requirements"),
             el("p", "Each PCI DSS v4.0.1 requirement a control maps to in full or in part, in our own paraphrase, "
                     "with those controls, the strength and reason of each mapping and their verdict per "
                     "environment. The requirement's verdict is the worst of its controls; supporting mappings give "
                     "no verdict. A PASS here means the infrastructure-as-code checks mapped to the requirement "
                     "hold; it is evidence toward the requirement, not an assessment of it as a whole.",
                class_="note")]
    for principal in sorted(groups):
        parts.append(el("h3", f"Requirement {principal}: {PRINCIPAL_REQUIREMENTS.get(principal, '')}",
                        id=_anchor("principal", str(principal))))
        rows = []
        for requirement, views in groups[principal]:
            first = True
            for view in views:
                row: list[object] = []
                if first:
                    row.append(td(el("strong", requirement), el("br"), posture.paraphrase(requirement),
                                  rowspan=len(views), id=_anchor("req", requirement)))
                    row.append(td(badge(posture.requirement_status(views)), rowspan=len(views)))
                mapping = posture.mapping(view, requirement)  # None in results before schema 1.2.0
                row += [_control_link(view.id), join([el("strong", mapping["strength"]), ": ", mapping["reason"]])
                        if mapping else view.control["title"],
                        *[badge(view.status_by_environment[e]) for e in posture.environments]]
                rows.append(row)
                first = False
        parts.append(_table(["Requirement", "Verdict", "Control", "Mapping", *posture.environments], rows))
    supporting = posture.supporting_only()
    if supporting:
        parts.append(el("h3", "Supporting evidence only (no verdict)", id="req-supporting"))
        parts.append(_table(["Requirement", "Control", "Why it only supports"],
                            [[td(el("strong", r), el("br"), posture.paraphrase(r), id=_anchor("req", r)),
                              join([_control_link(v.id) for v, _ in pairs], el("br")),
                              join([reason for _, reason in pairs], el("br"))] for r, pairs in supporting]))
    not_evidenced = posture.not_evidenced()
    if not_evidenced:
        parts.append(el("h3", "Requirements this gate cannot evidence", id="req-not-evidenced"))
        parts.append(el("p", "Processes, people and runtime behaviour: assessed by other means, never by this "
                             "gate.", class_="note"))
        parts.append(_table(["Requirement", "Kind", "Paraphrase"],
                            [[n["requirement"], n["kind"], n["paraphrase"]] for n in not_evidenced]))
    uncovered = [f"{n} ({title})" for n, title in PRINCIPAL_REQUIREMENTS.items() if n not in groups]
    if uncovered:
        parts.append(el("p", "Principal requirements no automated control of this gate addresses: "
                        + "; ".join(uncovered) + ".", class_="note"))
    return join(parts)


def _exceptions(context: ReportContext) -> Markup:
    posture = context.posture
    order = {"EXPIRED": 0, "INVALID": 1, "ACTIVE": 2}
    rows = []
    for view in sorted(posture.exceptions, key=lambda v: (order[v.state], v.entry["control"], v.entry["resource"])):
        entry = view.entry
        days = "-" if view.days_to_expiry is None else (
            f"{view.days_to_expiry}" if view.days_to_expiry >= 0 else f"expired {-view.days_to_expiry} days ago")
        state = {"ACTIVE": "in force", "EXPIRED": "EXPIRED: finding counts as failing",
                 "INVALID": "INVALID: not honoured"}[view.state]
        rows.append([_control_link(entry["control"]), el("code", entry["resource"]), view.environment,
                     el("span", state, class_=f"badge st-{view.state}"), entry["expires"] or "-", days,
                     entry["approver"] or "-", entry["justification"] or "-", entry["reference"] or "-",
                     join(view.problems, el("br")) if view.problems else "-"])
    return join([
        _heading(context, "exceptions"),
        el("p", f"Entries of the exceptions register (policies/exceptions.yaml) as of the run date "
                f"{posture.run_date.isoformat()}. An excepted finding is reported as EXCEPTED, never as passed; an "
                "expired or invalid entry is not honoured and its finding fails.", class_="note"),
        _table(["Control", "Resource", "Env", "State", "Expires", "Days to expiry", "Approver", "Justification",
                "Reference", "Problems"], rows, numeric=(5,), empty="The register is empty."),
    ])


def _synth_warning(context: ReportContext) -> Markup:
    synth = context.synth
    if synth.model is None:
        return el("p", f"The synth directory could not be read when this report was written: {synth.problem}",
                  class_="warning")
    if not synth.trustworthy:
        changed = [c.stack for c in synth.inputs if c.state != "verified"]
        return el("p", "Warning: these stacks differ from what the gate scanned (see the chain of custody), so "
                       f"this section may not describe the evaluated configuration: {', '.join(changed)}.",
                  class_="warning")
    return Markup("")


def _tags(context: ReportContext) -> Markup:
    coverage = context.synth.tag_coverage
    required = coverage[0].required if coverage else ()
    rows = [[c.environment, c.taggable, c.fully_tagged, f"{c.percent:.1f}%", *[c.per_tag[t] for t in required]]
            for c in coverage]
    missing = [[c.environment, el("code", address), el("code", path), ", ".join(tags)]
               for c in coverage for address, path, tags in c.missing]
    return join([
        _heading(context, "tags"), _synth_warning(context),
        el("p", "Resources whose type has a tags attribute in the pinned AWS provider schema, and how many carry "
                "each required tag with a non-empty value (resource tags merged over the provider's default_tags). "
                "The PciScope tag documents the cardholder-data-environment scope (PCI DSS 12.5.2).", class_="note"),
        _table(["Environment", "Taggable resources", "Fully tagged", "Coverage", *required], rows,
               numeric=tuple(range(1, 4 + len(required)))),
        el("h3", "Resources missing required tags"),
        _table(["Environment", "Resource", "Construct path", "Missing tags"], missing,
               empty="None: every taggable resource carries every required tag."),
    ])


def _traffic(context: ReportContext) -> Markup:
    rows = []
    for split in context.synth.traffic:
        bar = el("div", [el("span", f"{slot.name} {split.share(slot):.0f}%" if split.share(slot) >= 12 else "",
                            class_=f"slot-{slot.name}" if slot.name in ("blue", "green") else "slot-other",
                            style=f"width: {split.share(slot):.2f}%", title=f"{slot.name}: {slot.weight}")
                         for slot in split.slots], class_="bar")
        agreement = {None: "no weights parameter found", True: "agrees with the listener rule",
                     False: "DIFFERS from the listener rule"}[split.agrees_with_parameter]
        parameter = "-" if split.parameter is None else join([
            el("code", split.parameter), el("br"),
            ", ".join(f"{k} {v}" for k, v in sorted((split.parameter_weights or {}).items())) or "unreadable value",
            el("br"), agreement])
        for index, slot in enumerate(split.slots):
            row: list[object] = []
            if index == 0:
                span = len(split.slots)
                row += [td(split.environment, rowspan=span),
                        td(el("code", split.rule), el("br"), el("span", split.construct_path, class_="note"),
                           el("br"), "; ".join(split.conditions), rowspan=span),
                        td(bar, rowspan=span)]
            row += [slot.name, slot.kind, td(slot.weight, class_="num"), td(f"{split.share(slot):.1f}%", class_="num"),
                    join([el("code", t) for t in slot.targets], el("br")) or "-"]
            if index == 0:
                row.append(td(parameter, rowspan=len(split.slots)))
            rows.append(row)
    table = _table(["Environment", "Listener rule", "Split", "Slot", "Kind", "Weight", "Share", "Targets",
                    "SSM mirror"], rows, empty="No weighted listener rule in the synth.")
    return join([
        _heading(context, "traffic"), _synth_warning(context),
        el("p", "Read from the synthesized ALB listener rules (weighted forward to the blue and green target "
                "groups) and compared with the weights mirrored in SSM Parameter Store.", class_="note"),
        table,
    ])


def _architecture(context: ReportContext) -> Markup:
    parts = [_heading(context, "architecture"), _synth_warning(context),
             el("p", "Drawn from the synthesized resources of each environment, not from a hand-made picture: the "
                     "request path follows references from the REST API through its VPC link, the load balancers "
                     "and the weighted target groups to the Lambda functions; data access edges come from the "
                     "functions' IAM statements and database reachability from security-group rules. Hover a box "
                     "for its Terraform address.", class_="note")]
    for environment, topology in context.topologies.items():
        parts.append(el("figure", render_svg(topology, f"diagram-{environment}"),
                        el("figcaption", f"{environment}: {len(topology.nodes)} components, "
                                         f"{len(topology.edges)} connections."),
                        class_="diagram", id=_anchor("architecture", environment)))
    return join(parts)


def _observed(value: JsonValue) -> Markup:
    text = value if isinstance(value, str) else json.dumps(value, indent=1, sort_keys=True)
    if len(text) > OBSERVED_LIMIT:
        text = text[:OBSERVED_LIMIT] + f"\n… ({len(text) - OBSERVED_LIMIT} more characters in results.json)"
    return el("pre", text)


def _evidence_cell(finding: Finding, expected: dict[tuple[str, str], str]) -> Markup:
    """Each check's verdict on the resource; what it expects is in the control's Checks table, and repeated
    here only where it matters (a failing check) or differs from that table."""
    items = []
    for evidence in finding.row["evidence"]:
        restate = evidence["verdict"] != COMPLIANT or evidence["expected"] != expected[(evidence["layer"],
                                                                                       evidence["check"])]
        mark = {"COMPLIANT": "✓", "NON_COMPLIANT": "✗", "ERROR": "!"}[evidence["verdict"]]
        items.append(el("div",
                        el("span", mark, class_="mark", title=evidence["verdict"]), " ",
                        el("code", f"{evidence['layer']}:{evidence['check']}"), " · attribute ",
                        el("code", evidence["attribute"] or "-"),
                        [" · observed ", _observed(evidence["observed"])] if evidence["observed"] is not None else [],
                        el("div", "expected: ", evidence["expected"], class_="expected") if restate else None,
                        el("div", evidence["message"], class_="note") if evidence["verdict"] != COMPLIANT and evidence[
                            "message"] not in (evidence["check"], evidence["expected"]) else None,
                        class_=f"ev {evidence['verdict']}"))
    entry = finding.register_entry
    if entry is not None:
        if entry.state == "ACTIVE":
            items.append(el("div", f"Excepted until {entry.entry['expires']} ({entry.days_to_expiry} days) by "
                                   f"{entry.entry['approver']}: {entry.entry['justification']}",
                            class_="exception-note"))
        else:
            items.append(el("div", f"Exceptions-register entry not honoured ({entry.state}): "
                                   + "; ".join(entry.problems), class_="exception-note bad"))
    return td(items)


def _compliant(findings: list[Finding]) -> Markup:
    """Compliant resources, collapsed and grouped: per check, path and value observed, the resources it was
    observed on (named when few; evidence.csv lists every one with its value whole)."""
    groups: dict[tuple[str, str, str], list[Finding]] = {}
    for finding in findings:
        for evidence in finding.row["evidence"]:
            value = evidence["observed"]
            text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False)
            if len(text) > COMPLIANT_OBSERVED_LIMIT:
                text = text[:COMPLIANT_OBSERVED_LIMIT] + "…"
            groups.setdefault((evidence["check"], evidence["attribute"] or "-", text), []).append(finding)

    def resources(members: list[Finding]) -> Markup:
        by_environment = ", ".join(f"{sum(1 for f in members if f.environment_label == e)} {e}"
                                   for e in sorted({f.environment_label for f in members}))
        if len(members) > COMPLIANT_NAMED_RESOURCES:
            return join([f"{len(members)} ({by_environment}); listed in evidence.csv"])
        return join([el("code", f.address) for f in members], el("br"))

    rows = [[el("code", check), attribute, el("code", text), resources(members)]
            for (check, attribute, text), members in groups.items()]
    return el("details", el("summary", f"{len(findings)} compliant resource(s): the values observed"),
              _table(["Check", "Path", "Observed", "Resources"], rows, class_="evidence compliant"))


def _control(context: ReportContext, view: ControlView) -> Markup:
    control, posture = view.control, context.posture
    layers, checks = control["layers"], control["checks"]
    expected: dict[tuple[str, str], str] = {}
    for finding in view.findings:
        for evidence in finding.row["evidence"]:
            expected.setdefault((evidence["layer"], evidence["check"]), evidence["expected"])
    check_rows = [[layer, el("code", check), expected.get((layer, check), "no result in this run")]
                  for layer in ("checkov", "jmespath") for check in checks[layer]]
    counts = control["counts"]
    facts = [
        ("Requirements (PCI DSS v4.0.1)", join([join([_requirement_link(m["requirement"]), f" {m['strength']}: ",
                                                        m["reason"]]) for m in control.get("mappings", [])]
                                                 or [_requirement_link(r) for r in control["requirements"]], el("br"))),
        ("Severity", control["severity"]),
        ("Status", join([join([e, " ", badge(view.status_by_environment[e])]) for e in posture.environments], "  ·  ")),
        ("Enforced at synth", ("yes, aspect rules " + ", ".join(checks["aspect"])) if layers["enforced_at_synth"]
         else "no"),
        ("Checked after synth by", ", ".join(layers["checked_post_synth"]) or "nothing (no resource to check)"),
        ("Results", ", ".join(f"{counts[v]} {v.lower()}" for v in VERDICTS)),
        ("Remediation", control["remediation"]),
    ]
    attention = [f for f in view.findings if f.verdict != COMPLIANT]
    compliant = [f for f in view.findings if f.verdict == COMPLIANT]
    rows = [[f.environment_label,
             join([el("code", f.address or "(the rule could not run)"),
                   el("div", "construct ", el("code", f.resource["construct_path"]), class_="note") if f.resource
                   else None]),
             join([badge(f.verdict), el("div", "checked by ", ", ".join(f.row["layers"]), class_="note")]),
             _evidence_cell(f, expected)] for f in attention]
    return el("section",
              el("h3", f"{control['id']}: {control['title']} ", badge(view.status)),
              el("dl", [[el("dt", k), el("dd", v)] for k, v in facts], class_="meta"),
              el("h4", "Checks"), _table(["Layer", "Check", "Expected of every resource checked"], check_rows),
              el("h4", f"Resources checked ({len(view.findings)})"),
              _table(["Env", "Resource address and construct path", "Verdict and layers", "Evidence"], rows,
                     class_="evidence", empty="No resource of this control's types in the synth."
                     if not compliant else "No resource needs attention.") if attention or not compliant else None,
              _compliant(compliant) if compliant else None,
              class_=" ".join(["control", *_filter_classes(view, posture.environments)]),
              id=_anchor("control", control["id"]))


def _filter_key(*parts: str) -> str:
    """A CSS identifier for a filter (letters, digits, hyphens only: it is used in selectors unescaped)."""
    return "-".join(re.sub(r"[^A-Za-z0-9]", "_", part) for part in parts)


def _filter_classes(view: ControlView, environments: list[str]) -> list[str]:
    classes = [f"f-{_filter_key(e, view.status_by_environment[e])}" for e in environments]
    classes += [f"f-{_filter_key('req', r)}" for r in view.control["requirements"]]
    return classes


def _filters(context: ReportContext) -> tuple[Markup, Markup, str]:
    """Filters without JavaScript: each link targets an empty element placed before <main>; CSS hides the
    control sections without the matching class while that element is the :target. Returns (targets, links,
    css)."""
    posture = context.posture
    keys = [_filter_key(e, s) for e in posture.environments for s in STATUSES]
    keys += [_filter_key("req", r) for r, _ in posture.requirements()]
    targets = join([el("span", id=f"only-{key}", class_="filter-target") for key in keys])
    css = "\n".join(f"#only-{key}:target ~ main section.control:not(.f-{key}) {{ display: none; }}"
                     for key in keys)
    css += ("\n.filter-target:target ~ main > :not(#evidence):not(.filters):not(section.control):not(nav) "
            "{ display: none; }")
    environment_links = [el("li", f"{e}: ", join([el("a", s, href=f"#only-{_filter_key(e, s)}")
                                                   for s in STATUSES], " · ")) for e in posture.environments]
    requirement_links = el("li", "requirement: ", join([el("a", r, href=f"#only-{_filter_key('req', r)}")
                                                         for r, _ in posture.requirements()], " · "))
    links = el("nav", el("strong", "Filter the controls (no script needed)"),
               el("ul", environment_links, requirement_links, el("li", el("a", "show everything", href="#evidence"))),
               class_="filters")
    return targets, links, css


def _evidence(context: ReportContext) -> Markup:
    posture = context.posture
    failing = sum(1 for f in posture.findings() if f.verdict in FAILING)
    return join([
        _heading(context, "evidence"),
        el("p", f"Every resource each control checked, in catalog order; findings that need attention first "
                f"({failing} failing in total). Verdict marks: ✓ compliant, ✗ noncompliant, ! could not be "
                "checked. The full machine-readable evidence is in results.json.", class_="note"),
        [_control(context, view) for view in posture.controls],
    ])


def _page_margins(run_id: str) -> str:
    """Printed pages carry the run id and "page N of M" in their margin boxes (CSS Paged Media, which Chromium
    prints since version 131). The id is reduced to the characters of a timestamp: it lands in CSS text."""
    shown = re.sub(r"[^0-9A-Za-z:+.\- ]", "", run_id)
    return ("@media print { @page { @bottom-left { content: \"PCI DSS policy gate run " + shown + "\"; "
            "font-size: 8px; color: #4b5563; } @bottom-right { content: \"page \" counter(page) \" of \" "
            "counter(pages); font-size: 8px; color: #4b5563; } } }")


def render_html(context: ReportContext) -> str:
    targets, filter_links, filter_css = _filters(context)
    body = el("main", _header(context), _toc(context), filter_links, _metadata(context), _summary(context),
              _diff(context),
              _requirements(context), _exceptions(context), _tags(context), _traffic(context),
              _architecture(context), _evidence(context),
              el("footer", f"Generated {context.generated_at.isoformat()} by policies.reports from results.json "
                           f"(gate run {context.posture.run['started_at']}). Statuses: ",
                 join([badge(s) for s in (PASS, FAIL, EXCEPTED, NOT_APPLICABLE)], " "), "."))
    head = el("head", el("meta", charset="utf-8"), el("meta", http_equiv="Content-Security-Policy", content=CSP),
              el("meta", name="viewport", content="width=device-width, initial-scale=1"),
              el("title", f"PCI DSS compliance report: {context.posture.run['outcome']} "
                          f"({context.posture.run['started_at']})"),
              el("style", Markup(CSS)), el("style", Markup(_page_margins(context.posture.run["started_at"]))),
              el("style", Markup(filter_css)))
    return "<!DOCTYPE html>\n" + el("html", head, el("body", targets, body), lang="en") + "\n"

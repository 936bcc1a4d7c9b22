"""The auditor's view of one gate results document (``results.json``): per environment, per requirement.

Reads only fields that ``policies/results.schema.json`` documents. Environments are not a field of the
document: they come from the stack names, ``<project>-<environment>-<domain>`` (see README, "Architecture"). A
result without a resource (a rule that could not run at all) checked nothing anywhere, so it counts
against every environment: failing closed.

Verdicts are re-derived per row rather than copied, for one reason: an exception is only valid until its
expiry date. The gate already refuses an expired register entry (the row stays NON_COMPLIANT and the
entry is listed under ``exceptions.problems``); a row still marked EXCEPTED whose exception had expired by
the run date is treated the same way here, so an expired exception can never read as accepted.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass, field

from policies.jsontypes import JsonObject, JsonValue
from policies.results import EvidenceRecord, ResourceRecord, ResultRecord
from policies.scope import environment_of

COMPLIANT, NON_COMPLIANT, EXCEPTED, ERROR = "COMPLIANT", "NON_COMPLIANT", "EXCEPTED", "ERROR"
VERDICTS = (COMPLIANT, NON_COMPLIANT, EXCEPTED, ERROR)
FAILING = (NON_COMPLIANT, ERROR)
PASS, FAIL, NOT_APPLICABLE = "PASS", "FAIL", "NOT_APPLICABLE"
# Evidence tables list what needs attention first.
_VERDICT_ORDER = (ERROR, NON_COMPLIANT, EXCEPTED, COMPLIANT)
STATUSES = (PASS, FAIL, EXCEPTED, NOT_APPLICABLE)

# PCI DSS v4.0.1 principal requirements, as titled in the standard; sub-requirement wording is not quoted
# because the catalog cites ids only (see ../shared/design/pci-dss-4-mapping.md).
PRINCIPAL_REQUIREMENTS = {
    1: "Install and Maintain Network Security Controls",
    2: "Apply Secure Configurations to All System Components",
    3: "Protect Stored Account Data",
    4: "Protect Cardholder Data with Strong Cryptography During Transmission Over Open, Public Networks",
    5: "Protect All Systems and Networks from Malicious Software",
    6: "Develop and Maintain Secure Systems and Software",
    7: "Restrict Access to System Components and Cardholder Data by Business Need to Know",
    8: "Identify Users and Authenticate Access to System Components",
    9: "Restrict Physical Access to Cardholder Data",
    10: "Log and Monitor All Access to System Components and Cardholder Data",
    11: "Test Security of Systems and Networks Regularly",
    12: "Support Information Security with Organizational Policies and Programs",
}

# Promotion order first; any other environment name follows alphabetically.
_ENVIRONMENT_ORDER = ("dev", "staging", "prod")


def environment_sort_key(name: str) -> tuple[int, str]:
    return (_ENVIRONMENT_ORDER.index(name) if name in _ENVIRONMENT_ORDER else len(_ENVIRONMENT_ORDER), name)


def requirement_sort_key(requirement: str) -> tuple[int, ...]:
    return tuple(int(part) for part in requirement.split("."))


def parse_timestamp(text: str) -> dt.datetime:
    # datetime.fromisoformat accepts "Z" only from Python 3.11 on.
    return dt.datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)


def parse_date(text: str | None) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def control_status(verdicts: set[str]) -> str:
    """The gate's rule (policies/gate.py): any failing row fails, else any excepted row excepts."""
    if verdicts & set(FAILING):
        return FAIL
    if EXCEPTED in verdicts:
        return EXCEPTED
    return PASS if verdicts else NOT_APPLICABLE


def worst_status(statuses: list[str]) -> str:
    for status in (FAIL, EXCEPTED, PASS):
        if status in statuses:
            return status
    return NOT_APPLICABLE


@dataclass(frozen=True)
class ExceptionView:
    """One exceptions-register entry as the auditor sees it: applied, expired or otherwise invalid."""

    entry: JsonObject
    state: str  # ACTIVE, EXPIRED or INVALID
    problems: tuple[str, ...]
    days_to_expiry: int | None

    @property
    def key(self) -> tuple[str, str]:
        return (self.entry["control"], self.entry["resource"])

    @property
    def environment(self) -> str:
        return environment_of(self.entry["resource"].split(":", 1)[0])


@dataclass
class Finding:
    """One results row with its effective verdict and the register entry that concerns it, if any."""

    row: ResultRecord
    verdict: str
    environments: tuple[str, ...]
    register_entry: ExceptionView | None = None

    @property
    def resource(self) -> ResourceRecord | None:
        return self.row["resource"]

    @property
    def address(self) -> str:
        return self.resource["address"] if self.resource else ""

    @property
    def environment_label(self) -> str:
        return self.environments[0] if self.resource else "all"

    @property
    def failing_evidence(self) -> list[EvidenceRecord]:
        return [e for e in self.row["evidence"] if e["verdict"] in FAILING]

    def where(self) -> str:
        if not self.resource:
            return "(no resource: the rule could not run)"
        return f"{self.address} [{self.resource['construct_path']}]"

    def details(self) -> list[str]:
        """What was observed against what was expected, and the register entry that concerns the row."""
        lines = []
        for evidence in self.failing_evidence or self.row["evidence"]:
            observed = "" if evidence["observed"] is None else f"observed {compact(evidence['observed'])}; "
            note = f" ({evidence['message']})" if evidence["message"] not in (evidence["check"],
                                                                              evidence["expected"]) else ""
            lines.append(f"{evidence['layer']} {evidence['check']}: {evidence['attribute'] or '-'}: {observed}"
                         f"expected {evidence['expected']}{note}")
        if self.register_entry is not None:
            entry = self.register_entry.entry
            if self.register_entry.state == "ACTIVE":
                lines.append(f"excepted until {entry['expires']} by {entry['approver']}: {entry['justification']}")
            else:
                lines.append(f"exceptions register entry not honoured ({self.register_entry.state}): "
                             + "; ".join(self.register_entry.problems))
        return lines

    def summary(self) -> str:
        """The finding as plain text (SARIF message, JUnit failure)."""
        return "\n".join([f"{self.verdict} {self.where()}", *(f"- {line}" for line in self.details())])


def compact(value: JsonValue, limit: int = 600) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass
class ControlView:
    control: JsonObject
    findings: list[Finding] = field(default_factory=list)
    status_by_environment: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return str(self.control["id"])

    @property
    def status(self) -> str:
        return control_status({finding.verdict for finding in self.findings})

    def findings_in(self, environment: str) -> list[Finding]:
        return [f for f in self.findings if environment in f.environments]


@dataclass
class Posture:
    document: JsonObject
    run_date: dt.date
    environments: list[str]
    controls: list[ControlView]
    exceptions: list[ExceptionView]

    @property
    def run(self) -> JsonObject:
        run: JsonObject = self.document["run"]
        return run

    def control(self, control_id: str) -> ControlView:
        return next(view for view in self.controls if view.id == control_id)

    def findings(self) -> list[Finding]:
        return [finding for view in self.controls for finding in view.findings]

    def counts(self, environment: str) -> dict[str, int]:
        """Controls by status in one environment."""
        counted = Counter(view.status_by_environment[environment] for view in self.controls)
        return {status: counted.get(status, 0) for status in STATUSES}

    def overall_counts(self) -> dict[str, int]:
        counted = Counter(view.status for view in self.controls)
        return {status: counted.get(status, 0) for status in STATUSES}

    def verdict_counts(self, environment: str | None = None) -> dict[str, int]:
        counted = Counter(f.verdict for f in self.findings() if environment is None or environment in f.environments)
        return {verdict: counted.get(verdict, 0) for verdict in VERDICTS}

    def requirements(self) -> list[tuple[str, list[ControlView]]]:
        """Every PCI DSS requirement id a control's verdict counts toward (full or partial mapping), in numeric
        order, with those controls."""
        by_requirement: dict[str, list[ControlView]] = {}
        for view in self.controls:
            for requirement in view.control["requirements"]:
                by_requirement.setdefault(requirement, []).append(view)
        return sorted(by_requirement.items(), key=lambda item: requirement_sort_key(item[0]))

    def paraphrase(self, requirement: str) -> str:
        """Our paraphrase of a requirement (results before schema 1.2.0 carry none)."""
        paraphrase: str = (self.document.get("requirements") or {}).get("paraphrases", {}).get(requirement, "")
        return paraphrase

    def supporting_only(self) -> list[tuple[str, list[tuple[ControlView, str]]]]:
        """Requirements that controls map to only as supporting evidence (no verdict), with each reason."""
        verdict_bearing = {requirement for requirement, _ in self.requirements()}
        found: dict[str, list[tuple[ControlView, str]]] = {}
        for view in self.controls:
            for mapping in view.control.get("mappings", []):
                if mapping["strength"] == "supporting" and mapping["requirement"] not in verdict_bearing:
                    found.setdefault(mapping["requirement"], []).append((view, mapping["reason"]))
        return sorted(found.items(), key=lambda item: requirement_sort_key(item[0]))

    def not_evidenced(self) -> list[dict[str, str]]:
        """Requirements this gate cannot evidence (process, people, runtime), as the results list them."""
        return list((self.document.get("requirements") or {}).get("not_evidenced", []))

    def mapping(self, view: ControlView, requirement: str) -> dict[str, str] | None:
        return next((m for m in view.control.get("mappings", []) if m["requirement"] == requirement), None)

    def requirement_status(self, views: list[ControlView], environment: str | None = None) -> str:
        return worst_status([v.status if environment is None else v.status_by_environment[environment]
                             for v in views])

    def integrity_notice(self) -> str | None:
        """What every report must say when the synth scanned is not what the synth wrote (policies/integrity.py),
        or None when it is (or when the results predate provenance)."""
        synth = (self.run.get("provenance") or {}).get("synth")
        if synth is None or synth["state"] == "verified":
            return None
        problems = synth["problems"]
        shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        return (f"Synth {synth['state']}: {shown}. These results are of the files as found, not of a synth "
                "`make synth` produced.")

    @property
    def register_problem_count(self) -> int:
        return sum(1 for exception in self.exceptions if exception.state != "ACTIVE")


def _exception_views(document: JsonObject, run_date: dt.date) -> list[ExceptionView]:
    views = []

    def days(entry: JsonObject) -> int | None:
        expires = parse_date(entry["expires"])
        return None if expires is None else (expires - run_date).days

    for entry in document["exceptions"]["applied"]:
        remaining = days(entry)
        if remaining is None or remaining < 0:
            problem = "expiry date missing" if remaining is None else f"expired on {entry['expires']}"
            views.append(ExceptionView(entry, "EXPIRED", (problem,), remaining))
        else:
            views.append(ExceptionView(entry, "ACTIVE", (), remaining))
    for problem in document["exceptions"]["problems"]:
        entry, remaining = problem["entry"], days(problem["entry"])
        state = "EXPIRED" if remaining is not None and remaining < 0 else "INVALID"
        views.append(ExceptionView(entry, state, tuple(problem["problems"]), remaining))
    return views


def build_posture(document: JsonObject) -> Posture:
    run_date = parse_timestamp(document["run"]["started_at"]).date()
    environments = sorted({environment_of(entry["stack"]) for entry in document["inputs"]},
                          key=environment_sort_key)
    exceptions = _exception_views(document, run_date)
    register: dict[tuple[str, str], ExceptionView] = {}
    for exception in exceptions:  # an entry in force wins over a rejected duplicate of it
        if exception.key not in register or exception.state == "ACTIVE":
            register[exception.key] = exception
    views = {control["id"]: ControlView(control) for control in document["controls"]}
    row: ResultRecord  # schema-valid (the gate validates what it writes; a baseline is validated when read)
    for row in document["results"]:
        resource = row["resource"]
        entry = register.get((row["control"], resource["address"])) if resource else None
        verdict = row["verdict"]
        if verdict == EXCEPTED and (entry is None or entry.state != "ACTIVE"):
            verdict = NON_COMPLIANT
        scope = (environment_of(resource["stack"]),) if resource else tuple(environments)
        views[row["control"]].findings.append(Finding(row, verdict, scope, entry))
    for view in views.values():
        view.findings.sort(key=lambda f: (_VERDICT_ORDER.index(f.verdict), f.address))
        view.status_by_environment = {
            environment: control_status({f.verdict for f in view.findings_in(environment)})
            for environment in environments}
    return Posture(document=document, run_date=run_date, environments=environments,
                   controls=list(views.values()), exceptions=exceptions)

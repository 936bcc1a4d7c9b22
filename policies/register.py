"""The exceptions register (``policies/exceptions.yaml``): the only way to accept a noncompliant finding.

An entry names one control and one resource address (as the gate reports it, ``<stack>:<type>.<name>``)
and carries what an assessor asks of a compensating-control record: a justification; a named approver (a
person's name and role, never a document or a team); the approval date; an expiry at most
``max_exception_term_months`` (catalog parameter) after approval; a reference to a document in this repository
whose sha256 is recorded with the entry; and the compensating controls, catalog ids that must PASS in the
excepted resource's environment (the gate checks that). A finding it matches is reported as EXCEPTED, never as
passed. The gate fails on an entry that lacks any of these, is past its expiry, names an unknown control,
duplicates another entry or matches no noncompliant finding (stale entries are removed, not kept "just in
case"). checkov's inline suppressions are not honoured: this file is the only suppression mechanism.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from policies.catalog import POLICIES_DIR, REPO_ROOT
from policies.jsontypes import JsonObject
from policies.yamlfile import YamlFileError, load_yaml, quote

REGISTER_FILE = POLICIES_DIR / "exceptions.yaml"
ENTRY_KEYS = ("control", "resource", "justification", "approver", "approved", "expires", "reference",
              "compensating_controls")
APPROVER_KEYS = ("name", "role")
MIN_JUSTIFICATION_WORDS = 8
# A person's name: two or more words of letters (any script), with the punctuation names carry. A path, a URL,
# an e-mail address, a ticket id or a team alias is not a person.
PERSON_NAME = re.compile(r"^[^\W\d_][^\W\d_'.-]*(?:[ '.-]+[^\W\d_][^\W\d_'.-]*)+\.?$")


class RegisterError(Exception):
    """The register cannot be read as a register at all (exit 2)."""


@dataclass(frozen=True)
class ExceptionEntry:
    index: int
    control: str
    resource: str
    justification: str
    approver_name: str
    approver_role: str
    approved: dt.date | None
    expires: dt.date | None
    reference: str | None
    # sha256 of the referenced file as read now; None when the reference is missing or not a file of the repository
    reference_sha256: str | None
    compensating_controls: tuple[str, ...]

    @property
    def approver(self) -> str:
        """The approver as a reader sees it: ``name (role)``."""
        return f"{self.approver_name} ({self.approver_role})" if self.approver_role else self.approver_name

    def as_dict(self) -> JsonObject:
        return {"control": self.control, "resource": self.resource, "justification": self.justification,
                "approver": self.approver, "expires": self.expires.isoformat() if self.expires else None,
                "reference": self.reference, "approver_name": self.approver_name,
                "approver_role": self.approver_role, "approved": self.approved.isoformat() if self.approved else None,
                "reference_sha256": self.reference_sha256, "compensating_controls": list(self.compensating_controls)}


@dataclass(frozen=True)
class Register:
    entries: tuple[ExceptionEntry, ...]
    source: Path


def load_register(path: Path = REGISTER_FILE) -> Register:
    try:
        raw = load_yaml(path)
    except YamlFileError as error:
        raise RegisterError(str(error)) from None
    if not isinstance(raw, dict) or set(raw) != {"version", "exceptions"} or raw["version"] != 1 \
            or not isinstance(raw["exceptions"], list):
        raise RegisterError(f"{path}: expected `version: 1` and `exceptions:` (a list, possibly empty)")
    entries = []
    for index, item in enumerate(raw["exceptions"]):
        if not isinstance(item, dict):
            raise RegisterError(f"{path}: exceptions[{index}] is not a mapping")
        unknown = set(item) - set(ENTRY_KEYS)
        if unknown:
            names = ", ".join(sorted(quote(key) for key in unknown))
            raise RegisterError(f"{path}: exceptions[{index}]: unknown field(s) {names} "
                                f"(known: {', '.join(ENTRY_KEYS)})")
        approver = item.get("approver")
        approver = approver if isinstance(approver, dict) else {"name": approver}
        if set(approver) - set(APPROVER_KEYS):
            names = ", ".join(sorted(quote(key) for key in set(approver) - set(APPROVER_KEYS)))
            raise RegisterError(f"{path}: exceptions[{index}].approver: unknown field(s) {names} "
                                f"(known: {', '.join(APPROVER_KEYS)})")
        compensating = item.get("compensating_controls")
        reference = item.get("reference")
        entries.append(ExceptionEntry(
            index=index, control=str(item.get("control") or ""), resource=str(item.get("resource") or ""),
            justification=" ".join(str(item.get("justification") or "").split()),
            approver_name=" ".join(str(approver.get("name") or "").split()),
            approver_role=" ".join(str(approver.get("role") or "").split()),
            approved=_date(item.get("approved")), expires=_date(item.get("expires")),
            reference=str(reference) if reference else None,
            reference_sha256=reference_sha256_of(reference),
            compensating_controls=tuple(str(c) for c in compensating) if isinstance(compensating, list) else ()))
    return Register(entries=tuple(entries), source=Path(path))


def _date(value: object) -> dt.date | None:
    """A YAML date (expires: 2027-06-30) or the same written as a string; anything else is no date."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    try:
        return dt.date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def reference_file(reference: object) -> Path | None:
    """The repository file a reference names (``path`` or ``path#anchor``, relative to the repository root), or
    None when it names nothing inside the repository."""
    if not isinstance(reference, str) or not reference.strip():
        return None
    relative = reference.split("#", 1)[0]
    if not relative or relative.startswith("/") or "\\" in relative:
        return None
    path = (REPO_ROOT / relative).resolve()
    return path if path.is_relative_to(REPO_ROOT) and path.is_file() else None


def reference_sha256_of(reference: object) -> str | None:
    path = reference_file(reference)
    return hashlib.sha256(path.read_bytes()).hexdigest() if path else None


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` later (the month's last day when it has no such day: 29 Feb + 12 = 28 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


def entry_problems(entry: ExceptionEntry, known_controls: tuple[str, ...], today: dt.date,
                   max_term_months: int) -> list[str]:
    """What makes an entry invalid on its own (matching against findings and the compensating controls'
    verdicts are the gate's job)."""
    problems = []
    if entry.control not in known_controls:
        problems.append(f"control {quote(entry.control) if entry.control else '<missing>'} is not in the catalog")
    if not entry.resource:
        problems.append("resource (the address the gate reports) is missing")
    if len(entry.justification.split()) < MIN_JUSTIFICATION_WORDS:
        problems.append(f"justification is missing or shorter than {MIN_JUSTIFICATION_WORDS} words")
    if not PERSON_NAME.match(entry.approver_name):
        problems.append(f"approver.name {quote(entry.approver_name) if entry.approver_name else '<missing>'} is not "
                        "a person's name (given and family name; not a document, team, address or ticket)")
    if not entry.approver_role:
        problems.append("approver.role is missing (the approver's role, e.g. Head of Information Security)")
    if entry.approved is None:
        problems.append("approved is missing or not a date (YYYY-MM-DD): the day the approver signed")
    elif entry.approved > today:
        problems.append(f"approved {entry.approved.isoformat()} is in the future")
    if entry.expires is None:
        problems.append("expires is missing or not a date (YYYY-MM-DD)")
    elif entry.expires < today:
        problems.append(f"expired on {entry.expires.isoformat()}")
    if entry.approved is not None and entry.expires is not None:
        latest = add_months(entry.approved, max_term_months)
        if entry.expires > latest:
            problems.append(f"expires {entry.expires.isoformat()} is more than {max_term_months} months after "
                            f"approval on {entry.approved.isoformat()} (latest {latest.isoformat()}); renew the "
                            "approval instead")
        if entry.expires <= entry.approved:
            problems.append("expires on or before its approval")
    if entry.reference_sha256 is None:
        problems.append(f"reference {quote(entry.reference) if entry.reference else '<missing>'} is not a file of "
                        "this repository (path relative to the repository root, optionally #anchor)")
    if not entry.compensating_controls:
        problems.append("compensating_controls is missing: list the catalog ids of the controls that compensate")
    for control in entry.compensating_controls:
        if control not in known_controls:
            problems.append(f"compensating control {quote(control)} is not in the catalog")
        elif control == entry.control:
            problems.append(f"compensating control {control} is the excepted control itself")
    return problems

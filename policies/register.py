"""The exceptions register (``policies/exceptions.yaml``): the only way to accept a noncompliant finding.

An entry names one control and one resource address (as the gate reports it, ``<stack>:<type>.<name>``)
and carries a justification, an approver and an expiry date. A finding it matches is reported as EXCEPTED,
never as passed. The gate fails on an entry that lacks a justification or approver, is past its expiry,
names an unknown control, duplicates another entry or matches no noncompliant finding (stale entries are
removed, not kept "just in case"). checkov's inline suppressions are not honoured: this file is the only
suppression mechanism.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from policies.catalog import POLICIES_DIR
from policies.yamlfile import YamlFileError, load_yaml, quote

REGISTER_FILE = POLICIES_DIR / "exceptions.yaml"
ENTRY_KEYS = ("control", "resource", "justification", "approver", "expires")
OPTIONAL_ENTRY_KEYS = ("reference",)
MIN_JUSTIFICATION_WORDS = 8


class RegisterError(Exception):
    """The register cannot be read as a register at all (exit 2)."""


@dataclass(frozen=True)
class ExceptionEntry:
    index: int
    control: str
    resource: str
    justification: str
    approver: str
    expires: dt.date | None
    reference: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"control": self.control, "resource": self.resource, "justification": self.justification,
                "approver": self.approver, "expires": self.expires.isoformat() if self.expires else None,
                "reference": self.reference}


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
        unknown = set(item) - set(ENTRY_KEYS) - set(OPTIONAL_ENTRY_KEYS)
        if unknown:
            names = ", ".join(sorted(quote(key) for key in unknown))
            raise RegisterError(f"{path}: exceptions[{index}]: unknown field(s) {names} "
                                f"(known: {', '.join(ENTRY_KEYS + OPTIONAL_ENTRY_KEYS)})")
        entries.append(ExceptionEntry(
            index=index, control=str(item.get("control") or ""), resource=str(item.get("resource") or ""),
            justification=" ".join(str(item.get("justification") or "").split()),
            approver=str(item.get("approver") or "").strip(),
            expires=_date(item.get("expires")),
            reference=item.get("reference")))
    return Register(entries=tuple(entries), source=Path(path))


def _date(value: object) -> dt.date | None:
    """A YAML date (expires: 2027-06-30) or the same written as a string; anything else is no date."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    try:
        return dt.date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def entry_problems(entry: ExceptionEntry, known_controls: tuple[str, ...], today: dt.date) -> list[str]:
    """What makes an entry invalid on its own (matching against findings is the gate's job)."""
    problems = []
    if entry.control not in known_controls:
        problems.append(f"control {quote(entry.control) if entry.control else '<missing>'} is not in the catalog")
    if not entry.resource:
        problems.append("resource (the address the gate reports) is missing")
    if len(entry.justification.split()) < MIN_JUSTIFICATION_WORDS:
        problems.append(f"justification is missing or shorter than {MIN_JUSTIFICATION_WORDS} words")
    if not entry.approver:
        problems.append("approver is missing")
    if entry.expires is None:
        problems.append("expires is missing or not a date (YYYY-MM-DD)")
    elif entry.expires < today:
        problems.append(f"expired on {entry.expires.isoformat()}")
    return problems

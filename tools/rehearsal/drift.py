"""Drift: what a plan right after apply would still change, judged against the allow-list of emulator quirks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from policies.yamlfile import YamlFileError, load_yaml, quote

QUIRKS_FILE = Path(__file__).resolve().parent.parent / "rehearsal_quirks.yaml"


class QuirksError(ValueError):
    """The emulator-quirks allow-list cannot be used (a usage error: exit 2 before anything is applied)."""


@dataclass(frozen=True)
class Quirk:
    resource_type: str
    attribute: str
    reason: str


@dataclass(frozen=True)
class Change:
    address: str
    resource_type: str
    actions: tuple[str, ...]
    # Top-level attributes an update sets to a different known value; empty for create/delete/replace.
    attributes: tuple[str, ...]

    def describe(self) -> str:
        what = ", ".join(self.attributes) if self.attributes else "the whole resource"
        return f"{self.address}: {'/'.join(self.actions)} ({what})"


def load_quirks(path: Path | None = None) -> list[Quirk]:
    """The allow-list (default :data:`QUIRKS_FILE`), read with the bounded YAML loader; a malformed file is a
    :class:`QuirksError` naming the file and the entry."""
    path = path or QUIRKS_FILE
    try:
        document = load_yaml(path)
    except YamlFileError as error:
        raise QuirksError(str(error)) from None
    entries = document.get("quirks") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise QuirksError(f"{path}: expected a mapping with a `quirks:` list of entries; got {quote(document)}")
    quirks = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise QuirksError(f"{path}: quirks[{index}] is {quote(entry)}; expected a mapping with resource_type, "
                              "attribute and reason")
        fields = {key: entry.get(key) for key in ("resource_type", "attribute", "reason")}
        missing = [key for key, value in fields.items() if not isinstance(value, str) or not value.strip()]
        if missing:
            raise QuirksError(f"{path}: quirks[{index}] lacks {', '.join(missing)} (non-empty text): every quirk "
                              "needs all three")
        unknown = sorted(set(entry) - set(fields))
        if unknown:
            raise QuirksError(f"{path}: quirks[{index}] has unknown field(s) {', '.join(map(quote, unknown))}; "
                              "expected resource_type, attribute and reason")
        quirks.append(Quirk(fields["resource_type"], fields["attribute"], " ".join(fields["reason"].split())))
    return quirks


def _unknown(marker: object) -> bool:
    if isinstance(marker, dict):
        return any(map(_unknown, marker.values()))
    if isinstance(marker, list):
        return any(map(_unknown, marker))
    return marker is True


def _changed_attributes(change: dict) -> tuple[str, ...]:
    """Attributes that would change to a known value. An attribute that only becomes unknown ("known after
    apply": a new version number, an ARN) is the consequence of a known change, in this resource or in one it
    references, and that change is judged instead."""
    before = change.get("before") or {}
    after = change.get("after") or {}
    unknown = change.get("after_unknown") or {}
    keys = set(before) | set(after)
    return tuple(sorted(k for k in keys if before.get(k) != after.get(k) and not _unknown(unknown.get(k))))


def planned_changes(plan: dict) -> list[Change]:
    changes = []
    for entry in plan.get("resource_changes", []):
        if entry.get("mode") != "managed":
            continue
        actions = tuple(entry["change"]["actions"])
        if actions == ("no-op",):
            continue
        attributes = _changed_attributes(entry["change"]) if actions == ("update",) else ()
        changes.append(Change(entry["address"], entry["type"], actions, attributes))
    return changes


@dataclass(frozen=True)
class Verdict:
    drift: list[str]  # changes no quirk explains
    tolerated: list[str]  # "address.attribute: reason"
    quirks_used: set[Quirk]


def judge(changes: list[Change], quirks: list[Quirk]) -> Verdict:
    by_key = {(q.resource_type, q.attribute): q for q in quirks}
    drift: list[str] = []
    tolerated: list[str] = []
    used: set[Quirk] = set()
    for change in changes:
        if change.actions != ("update",):
            drift.append(change.describe())
            continue
        unexplained = [a for a in change.attributes if (change.resource_type, a) not in by_key]
        if unexplained:
            drift.append(f"{change.address}: update ({', '.join(unexplained)})")
        for attribute in change.attributes:
            quirk = by_key.get((change.resource_type, attribute))
            if quirk is not None:
                used.add(quirk)
                tolerated.append(f"{change.address}.{attribute}: {quirk.reason}")
    return Verdict(drift, tolerated, used)

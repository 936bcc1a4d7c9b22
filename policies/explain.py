"""``python -m policies explain PCI-XXX-NNN``: where every layer of one control lives.

A control's layers sit side by side in its area directory (``policies/controls/<area>/``); this prints, for
one id, the catalog entry (file:line), each aspect rule (file:line of its function), each checkov check (a
custom check's file, or the built-in it names) with the resource types it must report on, each JMESPath rule
(file:line), the fixtures, the requirement mappings, the mutations that must break it and its exceptions.
"""

from __future__ import annotations

import difflib
import inspect
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TypedDict

from policies.catalog import (
    AREA_CHECKS,
    AREA_FIXTURES,
    AREA_JMESPATH,
    CONTROL_ID,
    REPO_ROOT,
    Catalog,
    Control,
    custom_check_files,
)
from policies.register import Register
from policies.rules.registry import registered_rules
from policies.yamlfile import quote

BUILT_IN = "checkov built-in"


class UnknownControlError(Exception):
    """The id is not a control of the catalog; the message names the close matches."""


class CheckLocation(TypedDict):
    check: str
    location: str
    resource_types: list[str]


class RuleLocation(TypedDict):
    rule: str
    location: str


class RequirementLine(TypedDict):
    requirement: str
    strength: str
    reason: str


class ExceptionSummary(TypedDict):
    resource: str
    expires: str
    approver: str


class Explanation(TypedDict):
    id: str
    title: str
    severity: str
    area: str
    catalog: str
    requirements: list[RequirementLine]
    aspect: list[RuleLocation]
    checkov: list[CheckLocation]
    jmespath: list[RuleLocation]
    fixtures: list[str]
    mutations: list[str]
    exceptions: list[ExceptionSummary]


def shown(path: Path) -> str:
    """A path as printed: relative to the repository when inside it."""
    return str(path.relative_to(REPO_ROOT)) if path.is_relative_to(REPO_ROOT) else str(path)


def line_of(path: Path, pattern: str) -> str:
    """``path:line`` of the first line matching ``pattern``; the bare path when none does."""
    expression = re.compile(pattern)
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if expression.search(line):
            return f"{shown(path)}:{number}"
    return shown(path)


def find_control(catalog: Catalog, control_id: str) -> Control:
    if control_id in catalog.ids:
        return catalog.control(control_id)
    close = difflib.get_close_matches(control_id.strip().upper(), catalog.ids, n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else f"; ids look like {catalog.ids[0]}"
    shape = "" if CONTROL_ID.match(control_id) else " (not a control id)"
    raise UnknownControlError(f"{quote(control_id, 60)} is not a control of the catalog{shape}{hint} "
                              f"(all {len(catalog.ids)} ids are in policies/controls/<area>/controls.yaml)")


def explain(catalog: Catalog, register: Register, control_id: str) -> Explanation:
    control = find_control(catalog, control_id)
    area = catalog.control_files[control.id].parent
    rules = {rule.name: rule for rule in registered_rules(catalog)}
    custom = custom_check_files(area / AREA_CHECKS)
    checks: list[CheckLocation] = [
        {"check": check, "resource_types": list(control.layers.checkov_types(check)),
         "location": shown(custom[check]) if check in custom else f"{BUILT_IN} {check}"}
        for check in control.layers.checkov_ids]
    fixtures = sorted((area / AREA_FIXTURES / control.id).glob("*_*"))
    return {
        "id": control.id, "title": control.title, "severity": control.severity, "area": shown(area),
        "catalog": line_of(catalog.control_files[control.id], rf"^\s*- id: {re.escape(control.id)}\s*$"),
        "requirements": [{"requirement": m.requirement, "strength": m.strength, "reason": m.reason}
                         for m in control.mappings],
        "aspect": [{"rule": name, "location": line_of(Path(inspect.getsourcefile(rules[name].check) or "?"),
                                                      rf"^def {name}\(")} for name in control.layers.aspect],
        "checkov": checks,
        "jmespath": [{"rule": name, "location": line_of(area / AREA_JMESPATH, rf"^\s*- id: {re.escape(name)}\s*$")}
                     for name in control.layers.jmespath],
        "fixtures": [shown(path) for path in fixtures],
        "mutations": [mutation.description for mutation in control.mutations],
        "exceptions": [{"resource": entry.resource, "expires": entry.expires.isoformat() if entry.expires else "?",
                        "approver": f"{entry.approver_name}, {entry.approver_role}"}
                       for entry in register.entries if entry.control == control.id],
    }


def render(explanation: Explanation) -> str:
    e = explanation
    lines = [f"{e['id']}: {e['title']}", f"  severity      {e['severity']}", f"  area          {e['area']}",
             f"  catalog       {e['catalog']}", "  requirements"]
    lines += [f"    {m['requirement']} ({m['strength']}): {m['reason']}" for m in e["requirements"]] or ["    none"]
    sections: Sequence[tuple[str, list[str]]] = (
        ("aspect rules", [f"{r['rule']}  {r['location']}" for r in e["aspect"]]),
        ("checkov checks", [f"{c['check']}  {c['location']}  on {', '.join(c['resource_types'])}"
                            for c in e["checkov"]]),
        ("jmespath rules", [f"{r['rule']}  {r['location']}" for r in e["jmespath"]]),
        ("fixtures", e["fixtures"]),
        ("mutations", e["mutations"]),
        ("exceptions", [f"{x['resource']} until {x['expires']} (approver {x['approver']})" for x in e["exceptions"]]),
    )
    for title, items in sections:
        lines.append(f"  {title}")
        lines += [f"    {item}" for item in items] or ["    none"]
    return "\n".join(lines) + "\n"


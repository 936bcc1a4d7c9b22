"""The post-synth gate: checkov + JMESPath findings merged per control and resource, then the register.

Verdicts of a (control, resource) row: COMPLIANT, NON_COMPLIANT, EXCEPTED (noncompliant, accepted by a
valid register entry) or ERROR (a layer could not check it: a rule failed, or a checkov check declared in
the catalog produced no result for a resource it must report on). A control PASSes when every row is
COMPLIANT, is EXCEPTED when some rows are excepted and none fail, is NOT_APPLICABLE when it found nothing
to evaluate, and FAILs otherwise. The gate fails when any control fails or the register has a problem.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeAlias

from policies.catalog import Catalog, Control
from policies.checkov_layer import CheckovRecord, ToolError
from policies.engine import RuleOutcome
from policies.jsontypes import JsonObject, JsonValue
from policies.model import Model, View, string_leaves, values_at
from policies.redaction import Redactor
from policies.register import ExceptionEntry, Register, entry_problems

COMPLIANT, NON_COMPLIANT, EXCEPTED, ERROR = "COMPLIANT", "NON_COMPLIANT", "EXCEPTED", "ERROR"
PASS, FAIL, NOT_APPLICABLE = "PASS", "FAIL", "NOT_APPLICABLE"
FAILING = (NON_COMPLIANT, ERROR)


@dataclass(frozen=True)
class Evidence:
    layer: str
    check: str
    verdict: str
    attribute: str
    observed: JsonValue  # JSON-safe (see plain)
    expected: str
    message: str


@dataclass
class Row:
    control: Control
    view: View | None  # None: the rule itself failed, on no resource
    evidence: list[Evidence] = field(default_factory=list)
    exception: ExceptionEntry | None = None

    @property
    def raw_verdict(self) -> str:
        verdicts = {e.verdict for e in self.evidence}
        return ERROR if ERROR in verdicts else NON_COMPLIANT if NON_COMPLIANT in verdicts else COMPLIANT

    @property
    def verdict(self) -> str:
        return EXCEPTED if self.exception is not None else self.raw_verdict

    @property
    def layers(self) -> list[str]:
        return sorted({e.layer for e in self.evidence})

    @property
    def address(self) -> str | None:
        return self.view["address"] if self.view else None


# (control id, id(view) or None for a rule that failed on no resource) -> its row
Rows: TypeAlias = dict[tuple[str, int | None], Row]
# control id -> (selectors its JMESPath rules cover, ids of the views they found applicable)
Coverage: TypeAlias = dict[str, tuple[set[str], set[int]]]


@dataclass
class RegisterProblem:
    entry: ExceptionEntry
    problems: list[str]


@dataclass
class Evaluation:
    catalog: Catalog
    rows: list[Row]
    register_problems: list[RegisterProblem]
    applied_exceptions: list[ExceptionEntry]
    redactor: Redactor  # the evidence of the rows has passed through it; so must anything else written
    # control id -> environment -> resources (and data sources) of its types there: what NOT_APPLICABLE means
    resources_by_environment: dict[str, dict[str, int]] = field(default_factory=dict)

    def control_status(self, control: Control) -> str:
        verdicts = {row.verdict for row in self.rows if row.control.id == control.id}
        if verdicts & set(FAILING):
            return FAIL
        if EXCEPTED in verdicts:
            return EXCEPTED
        return PASS if verdicts else NOT_APPLICABLE

    @property
    def failed(self) -> bool:
        return bool(self.register_problems) or any(row.verdict in FAILING for row in self.rows)

    def rows_of(self, control_id: str) -> list[Row]:
        return [row for row in self.rows if row.control.id == control_id]


def plain(value: object, depth: int = 0) -> JsonValue:
    """A JSON-safe copy of an observed value: views become their address, edges a readable arrow."""
    if isinstance(value, dict):
        if "address" in value and "refs" in value:
            return value["address"]
        if {"via", "source", "target"} <= set(value):
            return f"{value['source']['address']}.{value['via']} -> {value['target']['address']}"
        if depth > 8:
            return "..."
        return {str(k): plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v, depth + 1) for v in value] if depth <= 8 else "..."
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _checkov_observed(view: View, keys: tuple[str, ...]) -> JsonObject:
    """``path -> value`` for each key checkov evaluated, read from the resource or, when the value lives on a
    companion resource (one that references it, like the bucket's encryption configuration, or one it
    references, like the cluster's parameter group), from that companion, named ``<type>.<name>.<key>``. A
    graph check's ``resource_type`` is answered with the types of the companions it could connect to; a key
    found nowhere is recorded as absent (None): the observation that the attribute is not set. A check that
    reports no key is answered with the resource's own attributes (the only thing it can have read)."""
    if not keys:
        return {"attributes": plain({k: v for k, v in view["attributes"].items() if k != "//"})}
    companions = _companions(view)
    observed: JsonObject = {}
    for key in keys:
        if key == "resource_type":
            observed["connected resource types"] = sorted({c["selector"] for c in companions})
            continue
        key_path = re.sub(r"\[\?\(.*?\)\]", "", key)  # a JSONPath filter selects within the attribute read
        value = _value_at(view["attributes"], key_path)
        if value is not None:
            observed[key] = plain(value)
            continue
        found = {f"{c['selector']}.{c['name']}.{key}": plain(v) for c in companions
                 if (v := _value_at(c["attributes"], key_path)) is not None}
        observed.update(found or {key: None})
    return observed


def _companions(view: View) -> list[View]:
    edges = [edge["source"] for edge in view["referenced_by"]] + [edge["target"] for edge in view["refs"]]
    unique = {id(c): c for c in edges if c["kind"] in ("resource", "data") and c is not view}
    return sorted(unique.values(), key=lambda companion: companion["address"])


def _value_at(attributes: JsonObject, key: str) -> JsonValue:
    value: JsonValue = attributes
    for segment in (s for s in key.split("/") if not re.fullmatch(r"\[?\d+\]?", s)):
        while isinstance(value, list) and len(value) == 1:
            value = value[0]
        value = value.get(segment) if isinstance(value, dict) else None
    return value


class CheckovIndex:
    """checkov records mapped to the model's views (checkov names resources without their type)."""

    def __init__(self, model: Model, records: Iterable[CheckovRecord], stack_of_file: dict[Path, str],
                 catalog: Catalog):
        self.results: dict[tuple[str, int], list[CheckovRecord]] = {}
        self._by_name: dict[tuple[str, str, str], list[View]] = {}
        for view in model.views:
            self._by_name.setdefault((view["stack"], view["kind"], view["name"]), []).append(view)
        for record in records:
            stack = stack_of_file.get(record.file)
            if stack is None:
                raise ToolError(f"checkov reported on {record.file}, which is not one of the scanned stacks")
            try:
                types = catalog.expand(catalog.control_of_check(record.check_id).layers.checkov_types(
                    record.check_id))
            except KeyError:
                continue  # a check outside the catalog: not asked for, not counted
            view = self._view(stack, record, types)
            self.results.setdefault((record.check_id, id(view)), []).append(record)

    def _view(self, stack: str, record: CheckovRecord, types: frozenset[str] | None) -> View:
        # Python checks report resource.<name> / data.<name>; graph checks <type>.<name> / data.<type>.<name>.
        kind, _, rest = record.resource.partition(".")
        if kind in ("resource", "data"):
            rtype, _, name = rest.rpartition(".")
            candidates = [v for v in self._by_name.get((stack, kind, name), []) if rtype in ("", v["type"])]
        else:  # graph checks name data sources like resources: <type>.<name>
            rtype, name = kind, rest
            candidates = [v for k in ("resource", "data") for v in self._by_name.get((stack, k, name), [])
                          if v["type"] == rtype]
        if len(candidates) > 1 and types is not None:
            candidates = [v for v in candidates if v["selector"] in types]
        if len(candidates) != 1:
            raise ToolError(f"cannot map checkov's {record.check_id} result on {record.resource} in stack {stack} "
                            f"to exactly one resource (found {len(candidates)})")
        return candidates[0]


def _unresolved(model: Model, view: View, paths: tuple[str, ...]) -> list[str]:
    """``path: ${...}`` for every reference under the given attributes that the synth cannot resolve."""
    found = []
    for attribute in paths:
        for path, value in values_at(view["attributes"], attribute):
            for leaf, _, text in string_leaves({path: value}):
                found += [f"{leaf}: {expression}" for expression in model.unresolved(view["stack"], text)]
    return found


def _jmespath_evidence(rows: Rows, outcomes: list[RuleOutcome], catalog: Catalog, model: Model) -> Coverage:
    """Adds JMESPath evidence; returns per control (selectors its rules cover, ids of applicable views)."""
    coverage: Coverage = {}
    for outcome in outcomes:
        rule = outcome.rule
        control = catalog.control(rule.control)
        selectors, applicable = coverage.setdefault(control.id, (set(), set()))
        expanded = catalog.expand(rule.resource_types)
        selectors.update(expanded if expanded is not None else {"*"})
        offenders = {id(view): observed for view, observed in outcome.offenders}
        errors: dict[int | None, tuple[View | None, str]] = {}
        for view, message in outcome.errors:
            errors.setdefault(id(view) if view else None, (view, message))
        for view in outcome.applicable:
            applicable.add(id(view))
            if id(view) in errors:
                continue
            row = rows.setdefault((control.id, id(view)), Row(control, view))
            unresolved = _unresolved(model, view, rule.resolve) if rule.resolve else []
            if unresolved:  # fail closed: a value the gate cannot know is neither compliant nor not
                row.evidence.append(Evidence("jmespath", rule.id, ERROR, rule.attribute, unresolved, rule.expected,
                                             "unresolved reference(s): the value cannot be known from the synth; "
                                             "reference a block of the synth or set a literal"))
            elif id(view) in offenders:
                row.evidence.append(Evidence("jmespath", rule.id, NON_COMPLIANT, rule.attribute,
                                             plain(offenders[id(view)]), rule.expected, rule.id))
            else:
                row.evidence.append(Evidence("jmespath", rule.id, COMPLIANT, rule.attribute,
                                             plain(outcome.observed[id(view)]), rule.expected, rule.id))
        for key, (view, message) in errors.items():
            row = rows.setdefault((control.id, key), Row(control, view))
            row.evidence.append(Evidence("jmespath", rule.id, ERROR, rule.attribute, None, rule.expected, message))
    return coverage


def _checkov_evidence(rows: Rows, index: CheckovIndex, model: Model, catalog: Catalog, coverage: Coverage) -> None:
    for control in catalog.controls:
        selectors, applicable = coverage.get(control.id, (set(), set()))
        for check_id, types in control.layers.checkov:
            for view in model.select(catalog.expand(types)):
                if view["kind"] not in ("resource", "data"):
                    continue
                judged_by_jmespath = view["selector"] in selectors or "*" in selectors
                not_applicable = judged_by_jmespath and id(view) not in applicable
                records = index.results.get((check_id, id(view)), [])
                if not records:
                    if not not_applicable:
                        rows.setdefault((control.id, id(view)), Row(control, view)).evidence.append(Evidence(
                            "checkov", check_id, ERROR, "", None, "a PASSED or FAILED result",
                            f"checkov {check_id} produced no result for this resource (check not loaded, or "
                            "the value could not be evaluated)"))
                    continue
                for record in records:
                    verdict = {"PASSED": COMPLIANT, "FAILED": NON_COMPLIANT}.get(record.result, ERROR)
                    if verdict == COMPLIANT and not_applicable:
                        continue
                    message = record.check_name if verdict != ERROR else (
                        f"checkov {record.result} {check_id}: suppressions belong in the exceptions register")
                    keys = tuple(sorted(record.evaluated_keys))  # checkov's order varies from run to run
                    rows.setdefault((control.id, id(view)), Row(control, view)).evidence.append(Evidence(
                        "checkov", check_id, verdict, ", ".join(keys) or "attributes",
                        _checkov_observed(view, keys), record.check_name, message))


def _apply_register(rows: list[Row], register: Register, catalog: Catalog,
                    today: dt.date) -> tuple[list[RegisterProblem], list[ExceptionEntry]]:
    problems: dict[int, RegisterProblem] = {}
    applied: dict[int, tuple[ExceptionEntry, Row, str]] = {}  # entry index -> (entry, its row, its environment)
    seen: set[tuple[str, str]] = set()
    by_key = {(row.control.id, row.view["address"]): (row, row.view["environment"]) for row in rows
              if row.view is not None}
    for entry in register.entries:
        found = entry_problems(entry, catalog.ids, today, int(catalog.parameter("max_exception_term_months")))
        key = (entry.control, entry.resource)
        if key in seen:
            found.append("duplicates an earlier entry for the same control and resource")
        seen.add(key)
        row, environment = by_key.get(key, (None, ""))
        if row is None or row.raw_verdict != NON_COMPLIANT:
            state = "no finding" if row is None else f"a {row.raw_verdict} finding (only NON_COMPLIANT is exceptable)"
            found.append(f"matches {state}; remove the entry")
        if found or row is None:  # (no row: found says so)
            problems[entry.index] = RegisterProblem(entry, found)
        else:
            row.exception = entry
            applied[entry.index] = (entry, row, environment)
    # A compensating control compensates only where it PASSes: in the excepted resource's environment, with at
    # least one row there and every row COMPLIANT (an excepted compensating control compensates nothing).
    # Withdrawing an exception can fail a control another entry relies on, so repeat until nothing changes.
    changed = True
    while changed:
        changed = False
        for index, (entry, row, environment) in sorted(applied.items()):
            failing = [control for control in entry.compensating_controls
                       if not _passes_in(rows, control, environment)]
            if failing:
                row.exception = None
                del applied[index]
                problems[index] = RegisterProblem(entry, [f"compensating control {control} does not PASS in "
                                                          f"{environment}" for control in failing])
                changed = True
    return ([problems[index] for index in sorted(problems)], [entry for _, (entry, _, _) in sorted(applied.items())])


def _passes_in(rows: list[Row], control_id: str, environment: str) -> bool:
    verdicts = [row.verdict for row in rows
                if row.control.id == control_id and (row.view is None or row.view["environment"] == environment)]
    return bool(verdicts) and all(verdict == COMPLIANT for verdict in verdicts)


def evaluate(catalog: Catalog, model: Model, outcomes: list[RuleOutcome], records: Iterable[CheckovRecord],
             stack_of_file: dict[Path, str], register: Register, today: dt.date) -> Evaluation:
    rows: Rows = {}
    coverage = _jmespath_evidence(rows, outcomes, catalog, model)
    _checkov_evidence(rows, CheckovIndex(model, records, stack_of_file, catalog), model, catalog, coverage)
    order = {control.id: index for index, control in enumerate(catalog.controls)}
    ordered = sorted(rows.values(), key=lambda r: (order[r.control.id], r.address or ""))
    problems, applied = _apply_register(ordered, register, catalog, today)
    redactor = Redactor.for_documents((stack.document for stack in model.stacks.values()), catalog.parameters)
    for row in ordered:
        row.evidence = [_redacted(evidence, redactor) for evidence in row.evidence]
    return Evaluation(catalog=catalog, rows=ordered, register_problems=problems, applied_exceptions=applied,
                      redactor=redactor, resources_by_environment=_resources_by_environment(catalog, model))


def _resources_by_environment(catalog: Catalog, model: Model) -> dict[str, dict[str, int]]:
    environments = sorted({view["environment"] for view in model.views})
    counts = {}
    for control in catalog.controls:
        found = Counter(view["environment"] for view in model.select(catalog.expand(control.resource_types))
                        if view["kind"] in ("resource", "data"))
        counts[control.id] = {environment: found.get(environment, 0) for environment in environments}
    return counts


def _redacted(evidence: Evidence, redactor: Redactor) -> Evidence:
    return Evidence(evidence.layer, evidence.check, evidence.verdict, redactor.text(evidence.attribute),
                    redactor.value(evidence.observed), evidence.expected, redactor.text(evidence.message))

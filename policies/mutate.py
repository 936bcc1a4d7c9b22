"""Mutation testing of the gate: every control must fail when a compliant synth is broken in its way.

For each catalog mutation whose target exists in the synth, a mutant is the synth with that mutation
applied to copies of the stacks it touches. The gate's own evaluation runs on every mutant; a mutant is
*killed* when the gate fails and names the mutated control. Runtime: the JMESPath engine runs in-process per
mutant, and checkov runs once for the whole batch — over the original stacks and every mutated stack file —
since its results for a stack depend only on that stack's file (its graph never crosses files).

A control none of whose mutations finds a target in the synth is *unexercised* (its resources do not exist
yet); the test suite lists those explicitly. A mutation that changes nothing is an error of the catalog.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import jmespath

from policies.catalog import Catalog, Control, Edit, Mutation, MutationOp
from policies.checkov_layer import CheckovRecord, run_checkov
from policies.evaluation import Policies, evaluate_stacks
from policies.functions import PolicyFunctions
from policies.gate import FAILING, NON_COMPLIANT, Evaluation
from policies.jsontypes import JsonObject, JsonValue
from policies.model import DATA_POLICY_DOCUMENT, Model, StackFile, View, is_pure_reference

PATH_SEGMENT = re.compile(r"[^.]+")


class MutationError(Exception):
    """A mutation cannot be applied as written (catalog error)."""


@dataclass
class Mutant:
    control: Control
    mutation: Mutation
    documents: dict[str, JsonObject]  # mutated stack name -> mutated document
    targets: list[str]
    files: dict[str, Path] = field(default_factory=dict)  # mutated stack name -> its mutant file


@dataclass(frozen=True)
class MutantResult:
    control: str
    description: str
    targets: tuple[str, ...]
    killed: bool
    detected_by: tuple[str, ...]  # post-synth layers with NON_COMPLIANT evidence for the control
    failing_controls: tuple[str, ...]


@dataclass
class MutationReport:
    baseline_failures: list[str]
    results: list[MutantResult]
    unexercised: dict[str, str]  # control id -> why no mutation applied

    @property
    def survivors(self) -> list[MutantResult]:
        return [r for r in self.results if not r.killed]

    @property
    def kill_rate(self) -> float:
        return sum(r.killed for r in self.results) / len(self.results) if self.results else 0.0


def _segments(path: str) -> list[str]:
    return PATH_SEGMENT.findall(path)


def _containers(value: JsonValue, segments: list[str]) -> list[JsonObject]:
    """The dicts holding the last segment, broadcasting over lists (blocks may be lists or objects)."""
    nodes = [value]
    for segment in segments[:-1]:
        following = []
        for node in nodes:
            for item in node if isinstance(node, list) else [node]:
                if isinstance(item, dict):
                    following.append(item.setdefault(segment, {}) if segment not in item or item[segment] is None
                                     else item[segment])
        nodes = following
    return [item for node in nodes for item in (node if isinstance(node, list) else [node]) if isinstance(item, dict)]


def _hcl_statement(statement: JsonObject) -> JsonObject:
    def as_list(value: JsonValue) -> list[JsonValue]:
        return value if isinstance(value, list) else [value]

    converted: JsonObject = {"effect": statement.get("Effect", "Allow"),
                             "actions": as_list(statement.get("Action", [])),
                             "resources": as_list(statement.get("Resource", []))}
    if "Sid" in statement:
        converted["sid"] = statement["Sid"]
    principal = statement.get("Principal")
    if principal == "*":
        converted["principals"] = [{"type": "*", "identifiers": ["*"]}]
    elif isinstance(principal, dict):
        converted["principals"] = [{"type": k, "identifiers": as_list(v)} for k, v in principal.items()]
    return converted


class Mutator:
    def __init__(self, catalog: Catalog, stacks: list[StackFile], model: Model):
        self.catalog = catalog
        self.stacks = {stack.name: stack for stack in stacks}
        self.model = model
        self.options = jmespath.Options(custom_functions=PolicyFunctions(catalog.parameters))

    def _targets(self, edit: Edit) -> list[View]:
        views = [v for v in self.model.by_selector.get(edit.target_type, []) if v["kind"] in ("resource", "data")]
        if edit.where:
            views = jmespath.search(edit.where, views, options=self.options) or []
        return views if edit.all else views[:1]

    def mutant(self, control: Control, mutation: Mutation) -> Mutant | None:
        documents: dict[str, JsonObject] = {}
        targets: list[str] = []
        for edit in mutation.edits:
            for view in self._targets(edit):
                targets.append(view["address"])
                for op in edit.ops:
                    self._apply(op, view, documents)
        if not targets:
            return None
        changed = {name: doc for name, doc in documents.items() if doc != self.stacks[name].document}
        if not changed:
            raise MutationError(f"{control.id}: mutation {mutation.description!r} changes nothing on {targets}")
        return Mutant(control=control, mutation=mutation, documents=changed, targets=targets)

    def _document(self, stack: str, documents: dict[str, JsonObject]) -> JsonObject:
        if stack not in documents:
            documents[stack] = copy.deepcopy(self.stacks[stack].document)
        return documents[stack]

    def _body(self, view: View, documents: dict[str, JsonObject]) -> JsonObject | None:
        block = "resource" if view["kind"] == "resource" else "data"
        body = self._document(view["stack"], documents).get(block, {}).get(view["type"], {}).get(view["name"])
        return body if isinstance(body, dict) else None  # None: deleted by an earlier edit of the mutation

    def _apply(self, op: MutationOp, view: View, documents: dict[str, JsonObject]) -> None:
        body = self._body(view, documents)
        if body is None:
            return  # deleted by an earlier edit of the same mutation
        if op.op == "delete_resource":
            block = "resource" if view["kind"] == "resource" else "data"
            by_name = self._document(view["stack"], documents)[block][view["type"]]
            del by_name[view["name"]]
            if not by_name:
                del self._document(view["stack"], documents)[block][view["type"]]
            return
        segments = _segments(op.path or "")
        if op.op == "set":
            for container in _containers(body, segments):
                container[segments[-1]] = copy.deepcopy(op.value)
        elif op.op == "delete":
            for container in _containers(body, segments):
                container.pop(segments[-1], None)
        elif op.op == "set_reference":
            spec = op.reference
            if spec is None:
                raise MutationError(f"set_reference of {op.path} on {view['address']} names no reference")
            candidates = [v for v in self.model.by_selector.get(spec.type, []) if v["stack"] == view["stack"]]
            if spec.where:
                candidates = jmespath.search(spec.where, candidates, options=self.options) or []
            if not candidates:
                raise MutationError(f"no {spec.type} in {view['stack']} to reference")
            for container in _containers(body, segments):
                container[segments[-1]] = f"${{{spec.type}.{candidates[0]['name']}.{spec.attribute}}}"
        elif op.op == "add_policy_statement":
            if op.statement is None:
                raise MutationError(f"add_policy_statement of {op.path} on {view['address']} names no statement")
            self._add_statement(body, segments[-1], dict(op.statement), view, documents)

    def _add_statement(self, body: JsonObject, attribute: str, statement: JsonObject, view: View,
                       documents: dict[str, JsonObject]) -> None:
        value = body.get(attribute)
        if isinstance(value, str) and is_pure_reference(value):
            for target, _ in self.model.resolve(view["stack"], value[2:-1]):
                if target["selector"] == DATA_POLICY_DOCUMENT:
                    data = self._body(target, documents)
                    if data is None:
                        raise MutationError(f"{view['address']}.{attribute} references {target['address']}, which an "
                                            "earlier edit of the same mutation deleted: add the statement first")
                    statements = data.get("statement")
                    data["statement"] = ([*statements] if isinstance(statements, list)
                                         else [statements] if statements else []) + [_hcl_statement(statement)]
                    return
            raise MutationError(f"{view['address']}.{attribute} references no policy document")
        document = json.loads(value) if isinstance(value, str) else {"Version": "2012-10-17", "Statement": []}
        current = document.get("Statement", [])
        document["Statement"] = ([*current] if isinstance(current, list) else [current]) + [statement]
        body[attribute] = json.dumps(document)


def run_mutations(policies: Policies, stacks: list[StackFile], workdir: Path) -> MutationReport:
    """Build every mutant, run checkov once for all of them, and evaluate each with the gate."""
    catalog = policies.catalog
    mutator = Mutator(catalog, stacks, Model(stacks))
    mutants: list[Mutant] = []
    unexercised: dict[str, str] = {}
    for control in catalog.controls:
        built = [m for mutation in control.mutations if (m := mutator.mutant(control, mutation)) is not None]
        if not built:
            unexercised[control.id] = "no target of its mutations in this synth: " + ", ".join(sorted(
                {edit.target_type for mutation in control.mutations for edit in mutation.edits}))
        mutants.extend(built)
    for index, mutant in enumerate(mutants):
        for name, document in mutant.documents.items():
            path = workdir / f"mutant-{index:03d}" / "stacks" / name / "cdk.tf.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(document))
            mutant.files[name] = path.resolve()
    checkov = run_checkov([s.path for s in stacks] + [p for m in mutants for p in m.files.values()],
                          policies.checkov_ids)
    by_file: dict[Path, list[CheckovRecord]] = {}
    for record in checkov.records:
        by_file.setdefault(record.file, []).append(record)

    baseline_records = [r for s in stacks for r in by_file.get(s.path, [])]
    baseline, _, _ = evaluate_stacks(policies, stacks, baseline_records, {s.path: s.name for s in stacks})
    baseline_failures = [f"{row.control.id} {row.address}: {row.verdict}" for row in baseline.rows
                         if row.verdict in FAILING] + [
        f"exceptions[{p.entry.index}]: {'; '.join(p.problems)}" for p in baseline.register_problems]
    results = [_evaluate_mutant(policies, stacks, mutant, by_file) for mutant in mutants]
    return MutationReport(baseline_failures=baseline_failures, results=results, unexercised=unexercised)


def _evaluate_mutant(policies: Policies, stacks: list[StackFile], mutant: Mutant,
                     by_file: dict[Path, list[CheckovRecord]]) -> MutantResult:
    mutated_stacks: list[StackFile] = []
    records: list[CheckovRecord] = []
    stack_of_file: dict[Path, str] = {}
    for stack in stacks:
        path = mutant.files.get(stack.name, stack.path)
        document = mutant.documents.get(stack.name, stack.document)
        mutated_stacks.append(StackFile(name=stack.name, path=path, sha256="", document=document))
        records.extend(by_file.get(path, []))
        stack_of_file[path] = stack.name
    evaluation: Evaluation
    evaluation, _, _ = evaluate_stacks(policies, mutated_stacks, records, stack_of_file)
    status = evaluation.control_status(mutant.control)
    detected = sorted({e.layer for row in evaluation.rows_of(mutant.control.id) for e in row.evidence
                       if e.verdict == NON_COMPLIANT})
    failing = sorted({row.control.id for row in evaluation.rows if row.verdict in FAILING})
    return MutantResult(control=mutant.control.id, description=mutant.mutation.description,
                        targets=tuple(mutant.targets), killed=evaluation.failed and status == "FAIL",
                        detected_by=tuple(detected), failing_controls=tuple(failing))


def render(report: MutationReport) -> str:
    lines = []
    for result in report.results:
        state = "killed  " if result.killed else "SURVIVED"
        lines.append(f"{state} {result.control:<12} {result.description} [{', '.join(result.detected_by) or '-'}]"
                     f" on {', '.join(result.targets)}")
    for control, why in sorted(report.unexercised.items()):
        lines.append(f"pending  {control:<12} {why}")
    killed = sum(r.killed for r in report.results)
    lines.append(f"kill rate: {killed}/{len(report.results)} mutants ({report.kill_rate:.0%}); "
                 f"{len(report.unexercised)} controls not exercised by this synth")
    return "\n".join(lines)

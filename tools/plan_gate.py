"""The gate's JMESPath rules run again over a plan: values unknown at synth time are checked before apply.

At synth time many attributes are references (``${data.terraform_remote_state.network.outputs.x}``,
``${var.y}``, ``${data.aws_iam_policy_document.z.json}``); the gate judges them by what it can see. A plan knows
most of them. For each resource of the plan (``terraform show -json``), every attribute the synth wrote as a
reference is replaced by its planned value when the plan knows it (never when it is unknown until apply, and
never when the plan marks it sensitive: secrets are not read, and would otherwise be reported). The synthesized
shape of each block is kept (Terraform JSON writes a nested block as an object, a plan always as a list), so the
rules read the attributes as they do at synth time, and so are the references between blocks (edges), which the
rules navigate. Then the same rules (policies/controls/<area>/jmespath.yaml, the same engine and catalog
parameters) run over the environment's stacks.

The synth-time gate (``make compliance``) has already judged every finding it could see, with the exceptions
register. A finding here fails the plan when the synth-time evaluation of the same stacks did not have it: a
violation, or a rule that can no longer be evaluated (fail closed), that only the planned values show.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from policies.evaluation import Policies, load_policies
from policies.gate import plain
from policies.model import Model, StackFile, read_stack_file


@dataclass(frozen=True)
class PlanFinding:
    rule: str
    control: str
    address: str
    kind: str  # "violation" or "error"
    detail: str

    def line(self) -> str:
        what = "violates" if self.kind == "violation" else "cannot be evaluated for"
        return f"{self.address} {what} {self.control} ({self.rule}): {self.detail}"


def _at(marks: Any, key: str | int) -> Any:
    """after_unknown / after_sensitive below a key: true marks a whole subtree, false or absent marks nothing."""
    if marks is True:
        return True
    if isinstance(marks, dict) and isinstance(key, str):
        return marks.get(key, False)
    if isinstance(marks, list) and isinstance(key, int) and key < len(marks):
        return marks[key]
    return False


def _literals(block: dict) -> dict:
    return {key: value for key, value in block.items()
            if isinstance(value, (int, float, bool)) or (isinstance(value, str) and "${" not in value)}


def overlay(synth: Any, planned: Any, unknown: Any = False, sensitive: Any = False) -> Any:
    """The synthesized value with each reference replaced by its known, non-sensitive planned value."""
    if unknown is True or sensitive is True or planned is None:
        return synth
    if isinstance(synth, str):
        return planned if "${" in synth else synth
    if isinstance(synth, dict):
        if isinstance(planned, list) and len(planned) == 1:  # a block written as an object
            planned, unknown, sensitive = planned[0], _at(unknown, 0), _at(sensitive, 0)
        if not isinstance(planned, dict):
            return synth
        return {key: overlay(value, planned.get(key), _at(unknown, key), _at(sensitive, key)) if key in planned
                else value for key, value in synth.items()}
    if isinstance(synth, list) and isinstance(planned, list):
        return _overlay_list(synth, planned, unknown, sensitive)
    return synth


def _overlay_list(synth: list, planned: list, unknown: Any, sensitive: Any) -> list:
    """Terraform may reorder set elements, so elements are matched by content, never by position alone: a block
    takes the one planned block that agrees with all of its literal values; references among scalars take the
    planned values that no literal of the synth accounts for."""
    if all(isinstance(item, dict) for item in synth):
        result = []
        for item in synth:
            literals = _literals(item)
            matches = [i for i, candidate in enumerate(planned) if isinstance(candidate, dict)
                       and all(candidate.get(k) == v for k, v in literals.items())]
            result.append(overlay(item, planned[matches[0]], _at(unknown, matches[0]), _at(sensitive, matches[0]))
                          if len(matches) == 1 else item)
        return result
    if any(isinstance(item, (dict, list)) for item in synth) or len(synth) != len(planned):
        return synth
    if any(_at(unknown, i) is not False or _at(sensitive, i) is not False for i in range(len(planned))):
        return synth
    literals = [item for item in synth if not (isinstance(item, str) and "${" in item)]
    remaining = list(planned)
    for item in literals:
        if item not in remaining:
            return synth
        remaining.remove(item)
    return literals + remaining


def apply_planned_values(model: Model, stack: str, plan: dict) -> int:
    """Overlay the plan of one stack on the model's views of that stack; returns how many views changed."""
    changed = 0
    for change in plan.get("resource_changes", []):
        if change.get("module_address") or "index" in change:
            continue  # cdktf writes neither modules nor count/for_each
        prefix = "data." if change.get("mode") == "data" else ""
        view = model.by_address.get(f"{stack}:{prefix}{change['type']}.{change['name']}")
        values = change.get("change", {})
        if view is None or values.get("after") is None:
            continue
        attributes = overlay(view["attributes"], values["after"], values.get("after_unknown", False),
                             values.get("after_sensitive", False))
        if attributes != view["attributes"]:
            model.set_attributes(view, attributes)
            changed += 1
    return changed


class PlanGate:
    """The rules of one environment's stacks, evaluated on the synth once and then on each stack's plan."""

    def __init__(self, stack_files: list[Path], policies: Policies | None = None):
        self.policies = policies or load_policies()
        self.stacks: list[StackFile] = [read_stack_file(path) for path in stack_files]
        self.baseline = self._findings(Model(self.stacks), None)

    def _findings(self, model: Model, stack: str | None) -> dict[tuple[str, str, str], PlanFinding]:
        found = {}
        for outcome in self.policies.engine.evaluate(model):
            rule = outcome.rule
            for view, observed in outcome.offenders:
                if stack is None or view["stack"] == stack:
                    found[(rule.id, view["address"], "violation")] = PlanFinding(
                        rule.id, rule.control, view["address"], "violation",
                        f"expected {rule.expected}; planned {str(plain(observed))[:200]}")
            for view, message in outcome.errors:
                if view is None or stack is None or view["stack"] == stack:
                    address = view["address"] if view else "(whole rule)"
                    found[(rule.id, address, "error")] = PlanFinding(rule.id, rule.control, address, "error", message)
        return found

    def check(self, stack: str, plan: dict) -> list[PlanFinding]:
        """Findings in the plan of ``stack`` that the synth-time evaluation did not have."""
        if stack not in {s.name for s in self.stacks}:
            raise ValueError(f"{stack} is not one of the gated stacks")
        model = Model(self.stacks)
        apply_planned_values(model, stack, plan)
        findings = self._findings(model, stack)
        return [finding for key, finding in sorted(findings.items()) if key not in self.baseline]

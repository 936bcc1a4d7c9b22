"""Facts the reports read from the synthesized stacks themselves: the chain of custody of every scanned
``cdk.tf.json``, tag coverage and the blue/green weights in force.

The gate's results say which controls hold; these sections show the auditor the configuration they hold
on. They are read through the gate's own model (``policies.model``), so cross-stack references resolve
exactly as the rules saw them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from policies.blocks import block_list, canonical_path, first_block
from policies.catalog import default_catalog
from policies.jsontypes import JsonObject, JsonValue
from policies.model import STACK_FILE, InputError, Model, View, interpolations, load_synth
from policies.redaction import Redactor
from policies.reports.posture import environment_sort_key
from policies.scope import environment_of

# The runbook mirrors the weights in SSM at /payments/<env>/traffic/weights (README, "Blue/green").
WEIGHTS_PARAMETER = re.compile(r"/traffic/weights$")


@dataclass(frozen=True)
class InputCheck:
    """One scanned stack file, re-hashed when the reports were written."""

    stack: str
    environment: str
    path: str
    sha256: str
    resources: int
    data_sources: int
    state: str  # "verified", "changed" or "missing"


@dataclass
class TagCoverage:
    environment: str
    required: tuple[str, ...]
    taggable: int = 0
    fully_tagged: int = 0
    per_tag: dict[str, int] = field(default_factory=dict)
    missing: list[tuple[str, str, tuple[str, ...]]] = field(default_factory=list)  # address, path, tags

    @property
    def percent(self) -> float:
        return 100.0 if not self.taggable else 100.0 * self.fully_tagged / self.taggable


@dataclass(frozen=True)
class Slot:
    name: str
    kind: str
    target_group: str
    weight: int
    targets: tuple[str, ...]


@dataclass(frozen=True)
class TrafficSplit:
    environment: str
    rule: str
    construct_path: str
    conditions: tuple[str, ...]
    slots: tuple[Slot, ...]
    parameter: str | None
    parameter_weights: dict[str, int] | None

    @property
    def total(self) -> int:
        return sum(slot.weight for slot in self.slots)

    def share(self, slot: Slot) -> float:
        return 100.0 * slot.weight / self.total if self.total else 0.0

    @property
    def agrees_with_parameter(self) -> bool | None:
        if self.parameter_weights is None:
            return None
        return self.parameter_weights == {slot.name: slot.weight for slot in self.slots}


@dataclass
class SynthFacts:
    inputs: list[InputCheck]
    model: Model | None
    problem: str | None
    tag_coverage: list[TagCoverage]
    traffic: list[TrafficSplit]
    redactor: Redactor  # every value the reports show passes through it (policies/redaction.py)

    @property
    def trustworthy(self) -> bool:
        """The synth read now is byte for byte the one the gate scanned."""
        return self.model is not None and all(check.state == "verified" for check in self.inputs)


def shown(value: JsonValue) -> str:
    """A configuration value for display: unresolved ``${...}`` expressions become an ellipsis."""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    for expression in set(interpolations(text)):
        text = text.replace("${" + expression + "}", "${…}")
    return text


def refs(view: View, via: str | None = None, types: tuple[str, ...] | None = None) -> Iterator[View]:
    """The blocks a view references (optionally through one attribute path, or of some types)."""
    for edge in view["refs"]:
        if via is not None and edge["via_root"] != via and canonical_path(edge["via"]) != canonical_path(via):
            continue
        if types is None or edge["target"]["type"] in types:
            yield edge["target"]


def referrers(view: View, types: tuple[str, ...], via: str | None = None) -> Iterator[View]:
    """The blocks of some types that reference a view (optionally through one attribute)."""
    for edge in view["referenced_by"]:
        if edge["source"]["type"] in types and edge["source"]["kind"] == "resource" and (
                via is None or edge["via_root"] == via):
            yield edge["source"]


def tags_of(view: View) -> JsonObject:
    tags = view["attributes"].get("tags")
    return tags if isinstance(tags, dict) else {}


def _check_inputs(document: JsonObject, synth_dir: Path) -> list[InputCheck]:
    checks = []
    for entry in document["inputs"]:
        path = synth_dir / "stacks" / entry["stack"] / STACK_FILE
        try:
            state = "verified" if hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"] else "changed"
        except OSError:
            state = "missing"
        checks.append(InputCheck(stack=entry["stack"], environment=environment_of(entry["stack"]),
                                 path=f"stacks/{entry['stack']}/{STACK_FILE}", sha256=entry["sha256"],
                                 resources=entry["resources"], data_sources=entry["data_sources"], state=state))
    return checks


def _default_tags(model: Model, stack: str) -> JsonObject:
    for view in model.by_selector.get("provider", ()):
        attributes = view["attributes"]
        if view["stack"] == stack and view["type"] == "aws" and "alias" not in attributes:
            tags = first_block(attributes.get("default_tags")).get("tags")
            if isinstance(tags, dict):
                return tags
    return {}


def tag_coverage(model: Model, environments: list[str]) -> list[TagCoverage]:
    catalog = default_catalog()
    required = tuple(catalog.parameter("required_tags"))
    coverage = {env: TagCoverage(env, required, per_tag=dict.fromkeys(required, 0)) for env in environments}
    defaults = {stack: _default_tags(model, stack) for stack in model.stacks}
    for view in model.views:
        if view["kind"] != "resource" or view["type"] not in catalog.taggable_types:
            continue
        entry = coverage.setdefault(environment_of(view["stack"]),
                                    TagCoverage(environment_of(view["stack"]), required,
                                                per_tag=dict.fromkeys(required, 0)))
        tags = {**defaults[view["stack"]], **tags_of(view)}
        missing = tuple(tag for tag in required if not (isinstance(tags.get(tag), str) and tags[tag].strip()))
        entry.taggable += 1
        for tag in required:
            entry.per_tag[tag] += tag not in missing
        if missing:
            entry.missing.append((view["address"], view["path"], missing))
        else:
            entry.fully_tagged += 1
    return sorted(coverage.values(), key=lambda c: environment_sort_key(c.environment))


def _target_description(attachment: View) -> str:
    attributes = attachment["attributes"]
    for target in refs(attachment, via="target_id"):
        if target["type"] == "aws_lambda_alias":
            functions = list(refs(target, via="function_name", types=("aws_lambda_function",)))
            function = shown(functions[0]["attributes"].get("function_name", functions[0]["name"])) if (
                functions) else shown(target["attributes"].get("function_name", ""))
            return f"Lambda alias {shown(target['attributes'].get('name', target['name']))} of {function}"
        if target["type"] == "aws_lambda_function":
            return f"Lambda {shown(target['attributes'].get('function_name', target['name']))}"
        return f"{target['type']} {shown(target['attributes'].get('name', target['name']))}"
    port = attributes.get("port")
    return shown(attributes.get("target_id", "?")) + (f":{port}" if port is not None else "")


def _weights_parameter(model: Model, environment: str) -> tuple[str | None, dict[str, int] | None]:
    for view in model.by_selector.get("aws_ssm_parameter", ()):
        name = view["attributes"].get("name")
        if environment_of(view["stack"]) != environment or not isinstance(name, str) or \
                not WEIGHTS_PARAMETER.search(name):
            continue
        text = view["attributes"].get("value") or view["attributes"].get("insecure_value")
        if not isinstance(text, str):
            return name, None
        try:
            value = json.loads(text)
            weights = {str(slot): int(spec["weight"]) for slot, spec in value.items()}
        except (TypeError, ValueError, KeyError, AttributeError):
            return name, None
        return name, weights
    return None, None


def slot_name(target_group: View) -> str:
    """The slot a target group serves: its ``Slot`` tag, else its name."""
    return str(tags_of(target_group).get("Slot") or shown(target_group["attributes"].get("name",
                                                                                          target_group["name"])))


def weighted_forwards(rule: View) -> list[list[tuple[View, int]]]:
    """Per forward action of a listener rule with several target groups: (target group, weight) pairs."""
    forwards = []
    for index, action in enumerate(block_list(rule["attributes"].get("action"))):
        groups = block_list(first_block(action.get("forward")).get("target_group")) if isinstance(action, dict) \
            else []
        pairs = []
        for position, group in enumerate(groups):
            via = f"action[{index}].forward.target_group[{position}].arn"
            target = next((t for t in refs(rule, via=via) if t["type"] in ("aws_lb_target_group",
                                                                             "aws_alb_target_group")), None)
            weight = group.get("weight", 1) if isinstance(group, dict) else None
            if target is not None and isinstance(weight, int):
                pairs.append((target, weight))
        if len(pairs) > 1:
            forwards.append(pairs)
    return forwards


def traffic_splits(model: Model) -> list[TrafficSplit]:
    splits = []
    for rule in model.by_selector.get("aws_lb_listener_rule", []) + model.by_selector.get("aws_alb_listener_rule", []):
        environment = environment_of(rule["stack"])
        parameter, parameter_weights = _weights_parameter(model, environment)
        conditions = tuple(
            f"{kind}: {', '.join(shown(v) for v in (spec or {}).get('values', []))}"
            for condition in block_list(rule["attributes"].get("condition")) if isinstance(condition, dict)
            for kind, spec in ((kind, first_block(spec)) for kind, spec in condition.items()) if spec)
        for pairs in weighted_forwards(rule):
            slots = tuple(Slot(
                name=slot_name(group),
                kind=str(tags_of(group).get("SlotKind") or group["attributes"].get("target_type", "instance")),
                target_group=group["address"], weight=weight,
                targets=tuple(_target_description(a) for a in referrers(
                    group, ("aws_lb_target_group_attachment", "aws_alb_target_group_attachment"),
                    via="target_group_arn"))) for group, weight in pairs)
            splits.append(TrafficSplit(environment=environment, rule=rule["address"], construct_path=rule["path"],
                                       conditions=conditions, slots=slots, parameter=parameter,
                                       parameter_weights=parameter_weights))
    return sorted(splits, key=lambda s: (environment_sort_key(s.environment), s.rule))


def read_synth(document: JsonObject, synth_dir: Path, environments: list[str]) -> SynthFacts:
    """The synth as the reports show it: read through the redactor of its secrets, like the gate's evidence."""
    inputs = _check_inputs(document, synth_dir)
    parameters = default_catalog().parameters
    try:
        stacks = load_synth(synth_dir)
    except InputError as error:
        return SynthFacts(inputs=inputs, model=None, problem=str(error), tag_coverage=[], traffic=[],
                          redactor=Redactor.for_documents((), parameters))
    redactor = Redactor.for_documents((stack.document for stack in stacks), parameters)
    model = Model([dataclasses.replace(stack, document=redactor.value(stack.document)) for stack in stacks])
    return SynthFacts(inputs=inputs, model=model, problem=None, tag_coverage=tag_coverage(model, environments),
                      traffic=traffic_splits(model), redactor=redactor)

"""The control catalog: the single source of truth for every PCI DSS control.

``policies/catalog.yaml`` holds the thresholds (``parameters``) and the ordered list of ``areas``; each area is
a directory ``policies/controls/<area>/`` named by the control-id prefix (PCI-ENC-* in ``enc/``) that holds every
layer of its controls side by side: ``controls.yaml`` (the catalog entries), ``rules.py`` (aspect rules),
``checks/`` (custom checkov checks), ``jmespath.yaml`` (JMESPath rules) and ``fixtures/<control id>/``.

Each control maps to the PCI DSS v4.0.1 requirements it evidences, each mapping with a strength (``full``,
``partial`` or ``supporting``; only the first two count toward a requirement's verdict) and a one-line reason;
names the resource types it evaluates and the enforcement layers that implement it under the same id:
synth-time aspect rules, checkov checks (custom ones and curated built-ins) and JMESPath rules.
It also lists the mutations that must break it (``python -m policies mutate``).

Loading validates everything and reports every problem at once; a catalog that does not validate stops
the gate with exit code 2 (and fails synth, which reads the same catalog).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from policies.problems import Problems, ProblemsError
from policies.yamlfile import YamlFileError, load_yaml

POLICIES_DIR = Path(__file__).resolve().parent
REPO_ROOT = POLICIES_DIR.parent
CATALOG_FILE = POLICIES_DIR / "catalog.yaml"
CONTROLS_DIR = POLICIES_DIR / "controls"
# The files of an area directory (README "One home per control").
AREA_CONTROLS, AREA_RULES, AREA_CHECKS, AREA_JMESPATH, AREA_FIXTURES = (
    "controls.yaml", "rules.py", "checks", "jmespath.yaml", "fixtures")
REQUIREMENTS_FILE = POLICIES_DIR / "requirements.yaml"
PCI_DSS_VERSION = "4.0.1"
CATALOG_VERSION = 1

LAYERS = ("aspect", "checkov", "jmespath")
POST_SYNTH_LAYERS = ("checkov", "jmespath")
SEVERITIES = ("critical", "high", "medium", "low")
# How much of a requirement a control's check shows. A requirement's verdict derives only from VERDICT_STRENGTHS.
STRENGTHS = ("full", "partial", "supporting")
VERDICT_STRENGTHS = ("full", "partial")
NOT_EVIDENCED_KINDS = ("process", "people", "runtime")
# Selectors with a meaning beyond one resource type.
EVERY_BLOCK = "*"
TAGGABLE = "@taggable"

CONTROL_ID = re.compile(r"^PCI-[A-Z][A-Z0-9]{1,3}-\d{3}$")
REQUIREMENT_ID = re.compile(r"^\d{1,2}(\.\d{1,2}){1,3}$")
CHECKOV_ID = re.compile(r"^CKV2?_[A-Z0-9]+_\d+$")
ASPECT_RULE = re.compile(r"^[a-z][a-z0-9_]*$")
JMESPATH_RULE = re.compile(r"^[a-z][a-z0-9-]*$")
SELECTOR = re.compile(r"^(\*|@taggable|(data\.)?aws_[a-z0-9_]+)$")
AREA = re.compile(r"^[a-z][a-z0-9]{1,3}$")
# How a custom checkov check names its id: the Python check's first constructor argument, the YAML check's
# metadata.id.
CUSTOM_CHECK_ID = re.compile(r'(?:super\(\)\.__init__\(\s*|^  id: )"?(CKV2?_PCI_\d+)"?', re.MULTILINE)
MUTATION_OPS = ("set", "delete", "delete_resource", "add_policy_statement", "set_reference")


class CatalogError(ProblemsError):
    """The catalog, its areas or the requirement paraphrases are malformed (exit 2)."""


@dataclass(frozen=True)
class ReferenceSpec:
    """Another resource of the mutated stack, referenced as ``${type.name.attribute}``."""

    type: str
    where: str | None
    attribute: str


@dataclass(frozen=True)
class MutationOp:
    op: str
    path: str | None = None
    value: Any = None
    statement: Mapping[str, Any] | None = None
    reference: ReferenceSpec | None = None


@dataclass(frozen=True)
class Edit:
    """Operations on the first resource of a type (every such resource with ``all``), optionally filtered."""

    target_type: str
    where: str | None
    all: bool
    ops: tuple[MutationOp, ...]


@dataclass(frozen=True)
class Mutation:
    description: str
    edits: tuple[Edit, ...]


@dataclass(frozen=True)
class Layers:
    aspect: tuple[str, ...]
    # checkov check id -> the resource types the check must report on (verified by the gate)
    checkov: tuple[tuple[str, tuple[str, ...]], ...]
    jmespath: tuple[str, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(layer for layer in LAYERS if getattr(self, layer))

    @property
    def checkov_ids(self) -> tuple[str, ...]:
        return tuple(check for check, _ in self.checkov)

    def checkov_types(self, check_id: str) -> tuple[str, ...]:
        return dict(self.checkov)[check_id]


@dataclass(frozen=True)
class RequirementMapping:
    requirement: str
    strength: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"requirement": self.requirement, "strength": self.strength, "reason": self.reason}


@dataclass(frozen=True)
class NotEvidenced:
    requirement: str
    kind: str
    paraphrase: str


@dataclass(frozen=True)
class Requirements:
    """``policies/requirements.yaml``: our paraphrase of each mapped requirement, and what the gate cannot show."""

    version: str
    paraphrases: Mapping[str, str]
    not_evidenced: tuple[NotEvidenced, ...]

    def paraphrase(self, requirement: str) -> str:
        if requirement in self.paraphrases:
            return self.paraphrases[requirement]
        return next(n.paraphrase for n in self.not_evidenced if n.requirement == requirement)

    def as_dict(self, cited: tuple[str, ...]) -> dict[str, Any]:
        return {"version": self.version, "paraphrases": {r: self.paraphrase(r) for r in cited},
                "not_evidenced": [{"requirement": n.requirement, "kind": n.kind, "paraphrase": n.paraphrase}
                                  for n in self.not_evidenced]}


@dataclass(frozen=True)
class Control:
    id: str
    title: str
    mappings: tuple[RequirementMapping, ...]
    severity: str
    rationale: str
    resource_types: tuple[str, ...]
    remediation: str
    layers: Layers
    mutations: tuple[Mutation, ...]

    @property
    def requirements(self) -> tuple[str, ...]:
        """The requirements this control's verdict counts toward (full or partial mappings)."""
        return tuple(m.requirement for m in self.mappings if m.strength in VERDICT_STRENGTHS)

    @property
    def requirement_text(self) -> str:
        return f"PCI DSS v{PCI_DSS_VERSION} " + (", ".join(self.requirements) or "(supporting evidence only)")


def area_of(control_id: str) -> str:
    """The area directory of a control: its id prefix in lower case (PCI-ENC-001 -> enc)."""
    return control_id.split("-")[1].lower()


def custom_check_files(checks_dir: Path) -> dict[str, Path]:
    """check id -> the file defining it, for the custom checkov checks of one area's ``checks/`` directory."""
    found: dict[str, Path] = {}
    for path in sorted(checks_dir.glob("pci_*.*")) if checks_dir.is_dir() else []:
        match = CUSTOM_CHECK_ID.search(path.read_text(encoding="utf-8"))
        found[match.group(1) if match else f"<no check id in {path.name}>"] = path
    return found


@dataclass(frozen=True)
class Catalog:
    version: int
    parameters: Mapping[str, Any]
    controls: tuple[Control, ...]
    taggable_types: frozenset[str]
    source: Path
    requirements: Requirements
    # The area directories in report order, and the controls.yaml of each control (empty for a catalog parsed
    # from one document, as the tests do).
    areas: tuple[str, ...] = ()
    control_files: Mapping[str, Path] = field(default_factory=dict)

    @property
    def cited_requirements(self) -> tuple[str, ...]:
        cited = {m.requirement for control in self.controls for m in control.mappings}
        return tuple(sorted(cited, key=lambda r: tuple(int(p) for p in r.split("."))))

    def control(self, control_id: str) -> Control:
        for control in self.controls:
            if control.id == control_id:
                return control
        raise KeyError(control_id)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(control.id for control in self.controls)

    def parameter(self, name: str) -> Any:
        return self.parameters[name]

    def control_of_check(self, check_id: str) -> Control:
        for control in self.controls:
            if check_id in control.layers.checkov_ids:
                return control
        raise KeyError(check_id)

    def expand(self, selectors: tuple[str, ...]) -> frozenset[str] | None:
        """Concrete resource types for selectors; None means every block of every kind."""
        if EVERY_BLOCK in selectors:
            return None
        types = set(selectors) - {TAGGABLE}
        if TAGGABLE in selectors:
            types |= self.taggable_types
        return frozenset(types)


def _text(problems: Problems, data: Mapping[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        problems.add(f"{where}.{key}", f"{value!r} is not allowed; expected a non-empty string")
        return ""
    return " ".join(value.split())


def _string_list(problems: Problems, value: Any, where: str, pattern: re.Pattern[str] | None = None,
                 allow_empty: bool = False) -> tuple[str, ...]:
    if not isinstance(value, list) or (not value and not allow_empty):
        problems.add(where, f"{value!r} is not allowed; expected a{'' if allow_empty else ' non-empty'} list")
        return ()
    items = []
    for index, item in enumerate(value):
        if not isinstance(item, str) or (pattern is not None and not pattern.match(item)):
            expected = f"a string matching {pattern.pattern}" if pattern else "a string"
            problems.add(f"{where}[{index}]", f"{item!r} is not allowed; expected {expected}")
            continue
        items.append(item)
    if len(set(items)) != len(items):
        problems.add(where, f"{value!r} lists an item twice")
    return tuple(items)


def _known_keys(problems: Problems, data: Mapping[str, Any], where: str, required: tuple[str, ...],
                optional: tuple[str, ...] = ()) -> None:
    for key in data:
        if key not in required and key not in optional:
            problems.add(f"{where}.{key}", f"no such field (known: {', '.join(required + optional)})")
    for key in required:
        if key not in data:
            problems.add(f"{where}.{key}", "missing; this field is required")


def _layers(problems: Problems, raw: Any, where: str) -> Layers:
    if not isinstance(raw, dict) or not raw:
        problems.add(where, f"{raw!r} is not allowed; expected a mapping with some of {', '.join(LAYERS)}")
        return Layers((), (), ())
    _known_keys(problems, raw, where, (), LAYERS)
    if not any(layer in raw for layer in POST_SYNTH_LAYERS):
        problems.add(where, "no post-synth layer: the gate could not check this control (add checkov or jmespath)")
    aspect = _string_list(problems, raw["aspect"], f"{where}.aspect", ASPECT_RULE) if "aspect" in raw else ()
    jmespath = _string_list(problems, raw["jmespath"], f"{where}.jmespath", JMESPATH_RULE) if "jmespath" in raw else ()
    checkov: list[tuple[str, tuple[str, ...]]] = []
    if "checkov" in raw:
        if not isinstance(raw["checkov"], dict) or not raw["checkov"]:
            problems.add(f"{where}.checkov", "expected a mapping of check id -> list of resource types it reports on")
        else:
            for check_id, types in raw["checkov"].items():
                if not isinstance(check_id, str) or not CHECKOV_ID.match(check_id):
                    problems.add(f"{where}.checkov", f"{check_id!r} is not a checkov check id")
                    continue
                checkov.append((check_id, _string_list(problems, types, f"{where}.checkov.{check_id}", SELECTOR)))
    return Layers(aspect=aspect, checkov=tuple(checkov), jmespath=jmespath)


def _reference(problems: Problems, raw: Any, where: str) -> ReferenceSpec | None:
    if not isinstance(raw, dict):
        problems.add(where, "expected a mapping with type, attribute and optionally where")
        return None
    _known_keys(problems, raw, where, ("type", "attribute"), ("where",))
    return ReferenceSpec(type=str(raw.get("type")), where=raw.get("where"), attribute=str(raw.get("attribute")))


def _mutation_op(problems: Problems, raw: Any, where: str) -> MutationOp | None:
    if not isinstance(raw, dict) or raw.get("op") not in MUTATION_OPS:
        problems.add(where, f"{raw!r} is not allowed; expected a mapping whose op is one of {', '.join(MUTATION_OPS)}")
        return None
    op = raw["op"]
    needs = {"set": ("path", "value"), "delete": ("path",), "delete_resource": (),
             "add_policy_statement": ("path", "statement"), "set_reference": ("path", "reference")}[op]
    _known_keys(problems, raw, where, ("op", *needs))
    if "path" in needs and not isinstance(raw.get("path"), str):
        problems.add(f"{where}.path", "expected an attribute path such as point_in_time_recovery.enabled")
    if op == "add_policy_statement" and not isinstance(raw.get("statement"), dict):
        problems.add(f"{where}.statement", "expected an IAM policy statement (a mapping)")
    reference = _reference(problems, raw.get("reference"), f"{where}.reference") if op == "set_reference" else None
    return MutationOp(op=op, path=raw.get("path"), value=raw.get("value"), statement=raw.get("statement"),
                      reference=reference)


def _edit(problems: Problems, raw: Any, where: str) -> Edit | None:
    if not isinstance(raw, dict):
        problems.add(where, "expected a mapping with target and ops")
        return None
    _known_keys(problems, raw, where, ("target", "ops"))
    target = raw.get("target")
    if not isinstance(target, dict) or not isinstance(target.get("type"), str) or not SELECTOR.match(target["type"]):
        problems.add(f"{where}.target", "expected a mapping with type (a resource type), optionally where and all")
        return None
    _known_keys(problems, target, f"{where}.target", ("type",), ("where", "all"))
    ops_raw = raw.get("ops")
    if not isinstance(ops_raw, list) or not ops_raw:
        problems.add(f"{where}.ops", "expected a non-empty list of operations")
        return None
    ops = tuple(op for i, op_raw in enumerate(ops_raw) if (op := _mutation_op(problems, op_raw, f"{where}.ops[{i}]")))
    return Edit(target_type=target["type"], where=target.get("where"), all=target.get("all") is True, ops=ops)


def _mutations(problems: Problems, raw: Any, where: str) -> tuple[Mutation, ...]:
    if not isinstance(raw, list) or not raw:
        problems.add(where, "expected a non-empty list: every control needs a mutation that proves it can fail")
        return ()
    mutations = []
    for index, item in enumerate(raw):
        at = f"{where}[{index}]"
        if not isinstance(item, dict):
            problems.add(at, "expected a mapping with description and edits")
            continue
        _known_keys(problems, item, at, ("description", "edits"))
        edits_raw = item.get("edits")
        if not isinstance(edits_raw, list) or not edits_raw:
            problems.add(f"{at}.edits", "expected a non-empty list of edits")
            continue
        edits = tuple(e for i, e_raw in enumerate(edits_raw) if (e := _edit(problems, e_raw, f"{at}.edits[{i}]")))
        mutations.append(Mutation(description=_text(problems, item, "description", at), edits=edits))
    return tuple(mutations)


MAPPING_KEYS = ("id", "strength", "reason")
MAPPING_EXAMPLE = "{id: '3.5.1', strength: partial, reason: <one line: what the check shows of it>}"


def _mappings(problems: Problems, raw: Any, where: str) -> tuple[RequirementMapping, ...]:
    """A list (possibly empty, for an operational control) of requirement mappings, each with a strength and
    a reason; a bare id (the format before v4.0.1 mappings) is refused with the shape to write instead."""
    if not isinstance(raw, list):
        problems.add(where, f"{raw!r} is not allowed; expected a list of {MAPPING_EXAMPLE}")
        return ()
    mappings = []
    for index, item in enumerate(raw):
        at = f"{where}[{index}]"
        if not isinstance(item, dict):
            problems.add(at, f"{item!r} needs a strength and a reason; write {MAPPING_EXAMPLE} "
                             f"(strength: {' | '.join(STRENGTHS)})")
            continue
        _known_keys(problems, item, at, MAPPING_KEYS)
        requirement, strength = item.get("id"), item.get("strength")
        if not isinstance(requirement, str) or not REQUIREMENT_ID.match(requirement):
            problems.add(f"{at}.id", f"{requirement!r} is not allowed; expected a PCI DSS v4.0.1 id such as '3.5.1'")
            continue
        if strength not in STRENGTHS:
            problems.add(f"{at}.strength", f"{strength!r} is not allowed; expected one of {', '.join(STRENGTHS)}")
        reason = _text(problems, item, "reason", at)
        if "\n" in str(item.get("reason", "")).strip():
            problems.add(f"{at}.reason", "expected one line")
        mappings.append(RequirementMapping(requirement, str(strength), reason))
    ids = [m.requirement for m in mappings]
    problems.items += [f"{problems.source}: {where}: requirement {r} is mapped twice"
                       for r in sorted({r for r in ids if ids.count(r) > 1})]
    return tuple(mappings)


def load_requirements(path: Path = REQUIREMENTS_FILE) -> Requirements:
    problems = Problems(Path(path))
    try:
        raw = load_yaml(path)
    except YamlFileError as error:
        raise CatalogError([str(error)]) from None
    if not isinstance(raw, dict):
        raise CatalogError([f"{path}: expected a mapping with version, paraphrases and not_evidenced"])
    _known_keys(problems, raw, "<document>", ("version", "paraphrases", "not_evidenced"))
    if raw.get("version") != PCI_DSS_VERSION:
        problems.add("version", f"{raw.get('version')!r} is not allowed; the catalog maps PCI DSS {PCI_DSS_VERSION}")
    paraphrases: dict[str, str] = {}
    raw_paraphrases = raw.get("paraphrases")
    if not isinstance(raw_paraphrases, dict):
        problems.add("paraphrases", "expected a mapping of requirement id -> paraphrase")
        raw_paraphrases = {}
    for requirement, text in raw_paraphrases.items():
        if not isinstance(requirement, str) or not REQUIREMENT_ID.match(requirement) \
                or not isinstance(text, str) or not text.strip():
            problems.add(f"paraphrases.{requirement}", "expected a quoted id such as \"3.5.1\" and a non-empty text")
            continue
        paraphrases[requirement] = " ".join(text.split())
    not_evidenced = []
    raw_not = raw.get("not_evidenced")
    if not isinstance(raw_not, list):
        problems.add("not_evidenced", "expected a list of {id, kind, paraphrase}")
        raw_not = []
    for index, item in enumerate(raw_not):
        at = f"not_evidenced[{index}]"
        if not isinstance(item, dict):
            problems.add(at, "expected a mapping with id, kind and paraphrase")
            continue
        _known_keys(problems, item, at, ("id", "kind", "paraphrase"))
        requirement = item.get("id")
        if not isinstance(requirement, str) or not REQUIREMENT_ID.match(requirement) or requirement in paraphrases:
            problems.add(f"{at}.id", f"{requirement!r}: expected a requirement id not also under paraphrases")
        if item.get("kind") not in NOT_EVIDENCED_KINDS:
            problems.add(f"{at}.kind", f"{item.get('kind')!r}: expected one of {', '.join(NOT_EVIDENCED_KINDS)}")
        not_evidenced.append(NotEvidenced(str(requirement), str(item.get("kind")), _text(problems, item, "paraphrase",
                                                                                          at)))
    if problems.items:
        raise CatalogError(problems.items)
    return Requirements(PCI_DSS_VERSION, paraphrases, tuple(not_evidenced))


def _check_mapped(problems: Problems, controls: tuple[Control, ...], requirements: Requirements) -> None:
    """Every mapped id has a paraphrase; one the gate cannot evidence is mapped only as supporting."""
    cannot = {n.requirement for n in requirements.not_evidenced}
    for control in controls:
        for mapping in control.mappings:
            if mapping.requirement in cannot and mapping.strength != "supporting":
                problems.add(f"{control.id}.requirements.{mapping.requirement}",
                             f"{mapping.strength} is not allowed: {REQUIREMENTS_FILE.name} lists it as not evidenced "
                             "by this gate; map it as supporting or remove it")
            elif mapping.requirement not in cannot and mapping.requirement not in requirements.paraphrases:
                problems.add(f"{control.id}.requirements.{mapping.requirement}",
                             f"no paraphrase of {mapping.requirement} in {REQUIREMENTS_FILE.name}; add one")


CONTROL_KEYS = ("id", "title", "requirements", "severity", "rationale", "resource_types", "remediation", "layers",
                "mutations")


def _control(problems: Problems, raw: Any, index: int) -> Control | None:
    where = f"controls[{index}]"
    if not isinstance(raw, dict):
        problems.add(where, "expected a mapping")
        return None
    _known_keys(problems, raw, where, CONTROL_KEYS)
    control_id = raw.get("id")
    if not isinstance(control_id, str) or not CONTROL_ID.match(control_id):
        problems.add(f"{where}.id", f"{control_id!r} is not allowed; expected an id like PCI-KMS-001")
        control_id = str(control_id)
    where = f"controls[{index}] ({control_id})"
    severity = raw.get("severity")
    if severity not in SEVERITIES:
        problems.add(f"{where}.severity", f"{severity!r} is not allowed; expected one of {', '.join(SEVERITIES)}")
    return Control(
        id=control_id, title=_text(problems, raw, "title", where),
        mappings=_mappings(problems, raw.get("requirements"), f"{where}.requirements"),
        severity=str(severity), rationale=_text(problems, raw, "rationale", where),
        resource_types=_string_list(problems, raw.get("resource_types"), f"{where}.resource_types", SELECTOR),
        remediation=_text(problems, raw, "remediation", where),
        layers=_layers(problems, raw.get("layers"), f"{where}.layers"),
        mutations=_mutations(problems, raw.get("mutations"), f"{where}.mutations"))


def parse_catalog(raw: Any, source: Path, requirements: Requirements | None = None,
                  layout: AreaLayout | None = None) -> Catalog:
    """A catalog from one document with version, parameters and controls; ``layout`` says where its controls
    came from when :func:`load_catalog` assembled it from the area directories (its problems join the rest)."""
    requirements = requirements if requirements is not None else load_requirements()
    problems = Problems(source)
    if not isinstance(raw, dict):
        raise CatalogError([f"{source}: expected a mapping with version, parameters and controls"])
    _known_keys(problems, raw, "<document>", ("version", "parameters", "controls"), ("areas",))
    if raw.get("version") != CATALOG_VERSION:
        problems.add("version", f"{raw.get('version')!r} is not allowed; this gate reads version {CATALOG_VERSION}")
    parameters = raw.get("parameters")
    if not isinstance(parameters, dict):
        problems.add("parameters", "expected a mapping of parameter name -> value")
        parameters = {}
    taggable: frozenset[str] = frozenset()
    taggable_file = parameters.get("taggable_resource_types_file")
    if not isinstance(taggable_file, str):
        problems.add("parameters.taggable_resource_types_file", "expected a path relative to the repository root")
    else:
        try:
            taggable = frozenset(json.loads((REPO_ROOT / taggable_file).read_text())["resource_types"])
        except (OSError, ValueError, KeyError, TypeError) as error:
            problems.add("parameters.taggable_resource_types_file", f"cannot read the taggable types: {error}")
    controls_raw = raw.get("controls")
    if not isinstance(controls_raw, list) or not controls_raw:
        problems.add("controls", "expected a non-empty list of controls")
        controls_raw = []
    controls = tuple(c for i, item in enumerate(controls_raw) if (c := _control(problems, item, i)))
    _check_unique(problems, controls)
    _check_mapped(problems, controls, requirements)
    areas = layout.areas if layout else tuple(dict.fromkeys(area_of(c.id) for c in controls))
    files = layout.control_files if layout else {}
    problems.items[:0] = layout.problems if layout else []
    if problems.items:
        raise CatalogError(problems.items)
    return Catalog(version=CATALOG_VERSION, parameters=parameters, controls=controls, taggable_types=taggable,
                   source=source, requirements=requirements, areas=areas, control_files=files)


def _check_unique(problems: Problems, controls: tuple[Control, ...]) -> None:
    owners: dict[tuple[str, str], str] = {}
    for control in controls:
        keys = [("control", control.id)]
        keys += [("checkov check", check) for check in control.layers.checkov_ids]
        keys += [("jmespath rule", rule) for rule in control.layers.jmespath]
        keys += [("aspect rule", rule) for rule in control.layers.aspect]
        for key in keys:
            if key in owners:
                problems.add(control.id, f"{key[0]} {key[1]} is already used by {owners[key]}")
            owners[key] = control.id


@dataclass(frozen=True)
class AreaLayout:
    """Where the controls of an assembled catalog came from, and what is wrong with that layout."""

    directory: Path
    areas: tuple[str, ...]
    control_files: Mapping[str, Path]
    problems: list[str]


def _area_controls(path: Path, area: str, problems: list[str]) -> list[Any]:
    try:
        raw = load_yaml(path)
    except YamlFileError as error:
        problems.append(str(error))
        return []
    if not isinstance(raw, dict) or set(raw) != {"controls"} or not isinstance(raw["controls"], list):
        problems.append(f"{path}: expected a mapping with one key, controls (a list of the PCI-{area.upper()}-* "
                        "controls)")
        return []
    controls: list[Any] = raw["controls"]
    for index, control in enumerate(controls):
        control_id = control.get("id") if isinstance(control, dict) else None
        if isinstance(control_id, str) and CONTROL_ID.match(control_id) and area_of(control_id) != area:
            problems.append(f"{path}: controls[{index}] ({control_id}): a PCI-{area.upper()}-* area holds only "
                            f"its own controls; move it to {path.parent.parent / area_of(control_id) / AREA_CONTROLS}")
    return controls


def assemble(raw: Any, source: Path, directory: Path = CONTROLS_DIR) -> tuple[Any, AreaLayout]:
    """The catalog document with the controls of every listed area (in the listed order) under ``controls``."""
    problems: list[str] = []
    if not isinstance(raw, dict):
        return raw, AreaLayout(directory, (), {}, problems)
    listed = raw.get("areas")
    if not isinstance(listed, list) or not listed or not all(isinstance(a, str) and AREA.match(a) for a in listed):
        problems.append(f"{source}: areas: {listed!r} is not allowed; expected a list of area directory names under "
                        f"{directory} (lower-case control-id prefixes such as enc)")
        listed = []
    if len(set(listed)) != len(listed):
        problems.append(f"{source}: areas: {listed!r} lists an area twice")
    present = sorted(p.name for p in directory.iterdir() if p.is_dir() and p.name != "__pycache__") \
        if directory.is_dir() else []
    problems += [f"{directory / name}: an area directory not listed under areas in {source.name}; add it or remove "
                 "the directory" for name in present if name not in listed]
    controls: list[Any] = []
    files: dict[str, Path] = {}
    for area in dict.fromkeys(listed):
        path = directory / area / AREA_CONTROLS
        if not path.is_file():
            problems.append(f"{source}: areas: {area} is listed but {path} does not exist")
            continue
        for control in _area_controls(path, area, problems):
            controls.append(control)
            if isinstance(control, dict) and isinstance(control.get("id"), str):
                files.setdefault(control["id"], path)
    document = {key: value for key, value in raw.items() if key != "controls"}
    if "controls" in raw:
        problems.append(f"{source}: controls: not allowed here; each control lives in "
                        f"{directory}/<area>/{AREA_CONTROLS}")
    document["controls"] = controls
    return document, AreaLayout(directory, tuple(dict.fromkeys(listed)), files, problems)


def check_file_problems(catalog: Catalog, directory: Path = CONTROLS_DIR) -> list[str]:
    """Every custom checkov check file of an area defines a check of one of that area's controls. Read by the
    gate only (the synth never reads the checks, so that editing one re-runs checkov, not the synth)."""
    owner = {check: control for control in catalog.controls for check in control.layers.checkov_ids}
    problems = []
    for area in catalog.areas:
        for check_id, path in custom_check_files(directory / area / AREA_CHECKS).items():
            control = owner.get(check_id)
            if control is None:
                problems.append(f"{path}: {check_id} is in no control's layers.checkov; list it or remove the file")
            elif area_of(control.id) != area:
                problems.append(f"{path}: {check_id} belongs to {control.id}; move the file to "
                                f"{directory / area_of(control.id) / AREA_CHECKS}")
    return problems


def load_catalog(path: Path = CATALOG_FILE, directory: Path = CONTROLS_DIR) -> Catalog:
    """The catalog of ``path`` (parameters, areas) with the controls of every area directory under ``directory``."""
    try:
        raw = load_yaml(path)
    except YamlFileError as error:
        raise CatalogError([str(error)]) from None
    document, layout = assemble(raw, Path(path), directory)
    return parse_catalog(document, Path(path), layout=layout)


@lru_cache(maxsize=1)
def default_catalog() -> Catalog:
    """The committed catalog, loaded once per process (synth-time aspects and checkov checks share it)."""
    return load_catalog(CATALOG_FILE)

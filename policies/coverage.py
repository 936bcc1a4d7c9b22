"""The coverage matrix (``policies/coverage.yaml``): every rule of the AWS Config conformance pack "Operational
Best Practices for PCI DSS v4.0" (``policies/aws_config_pci_dss_v4_pack.tsv``) with exactly one disposition:

- ``enforced``: catalog controls check the same property in the synth (and the rule is deployed at runtime, so
  drift after deploy is flagged under the same control ids and requirements);
- ``runtime-only``: only observable on a live account; deployed as an AWS Config rule;
- ``not-applicable``: the platform uses no resource the rule evaluates (or a stated compensating control).

Runtime rules are AWS managed Config rules; their input parameters are the pack's defaults, overridden per rule:
a value ``"@name"`` is the catalog parameter ``name`` (one threshold for synth and runtime), ``"$name"`` a value
only known at deploy time that the audit stack supplies (e.g. ``$vpc_id``), ``null`` drops a default.

Loading validates everything and reports every problem at once (:class:`CoverageError`); the gate stops with
exit code 2 when the matrix misses a pack rule, lists a rule the pack does not have, or names an unknown control.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from policies.catalog import POLICIES_DIR, REQUIREMENT_ID, Catalog
from policies.jsontypes import JsonValue
from policies.problems import ProblemsError
from policies.yamlfile import YamlFileError, load_yaml

COVERAGE_FILE = POLICIES_DIR / "coverage.yaml"
PACK_FILE = POLICIES_DIR / "aws_config_pci_dss_v4_pack.tsv"
DISPOSITIONS = ("enforced", "runtime-only", "not-applicable")
DEPLOYED = ("enforced", "runtime-only")
# Resources a runtime rule can be scoped to (ConfigRule Scope.ComplianceResourceId), supplied by the audit stack.
SCOPES = ("audit_bucket",)
_SOURCE_IDENTIFIER = re.compile(r"^[A-Z0-9_]+$")
_RUNTIME_VALUE = re.compile(r"^\$[a-z_]+$")


class CoverageError(ProblemsError):
    """The coverage matrix is malformed or disagrees with the pack or the catalog (exit 2)."""


@dataclass(frozen=True)
class PackRule:
    source_identifier: str
    config_rule_name: str
    resource_types: tuple[str, ...]
    default_parameters: Mapping[str, str]


@dataclass(frozen=True)
class Disposition:
    rule: PackRule
    disposition: str
    controls: tuple[str, ...]
    requirements: tuple[str, ...]
    reason: str
    parameters: Mapping[str, JsonValue]  # overrides of the pack defaults (see module docstring)
    scope: str | None

    @property
    def deployed(self) -> bool:
        return self.disposition in DEPLOYED


@dataclass(frozen=True)
class Coverage:
    rules: tuple[Disposition, ...]

    def counts(self) -> dict[str, int]:
        return {name: sum(1 for rule in self.rules if rule.disposition == name) for name in DISPOSITIONS}

    def deployed(self) -> tuple[Disposition, ...]:
        return tuple(rule for rule in self.rules if rule.deployed)

    def of_control(self, control_id: str) -> tuple[Disposition, ...]:
        return tuple(rule for rule in self.rules if control_id in rule.controls)


def _parameters(text: str) -> dict[str, str]:
    """The pack's ``a=1;b=x, y`` parameter cell (values may contain commas, never semicolons)."""
    found = {}
    for part in filter(None, (piece.strip() for piece in text.split(";"))):
        name, separator, value = part.partition("=")
        if not separator:
            raise ValueError(f"parameter {part!r} has no '='")
        found[name.strip()] = value.strip()
    return found


def load_pack(path: Path = PACK_FILE) -> tuple[PackRule, ...]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise CoverageError([f"{path}: cannot read: {error.strerror or error}"]) from None
    rows = list(csv.reader(text.splitlines(), delimiter="\t"))
    problems, rules = [], []
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != 4 or not _SOURCE_IDENTIFIER.match(row[0]):
            problems.append(f"{path}:{number}: expected 4 tab-separated fields starting with a rule identifier")
            continue
        try:
            defaults = _parameters(row[3])
        except ValueError as error:
            problems.append(f"{path}:{number}: {error}")
            continue
        types = () if row[2].startswith("(") else tuple(t.strip() for t in row[2].split(","))
        rules.append(PackRule(row[0], row[1], types, defaults))
    if problems:
        raise CoverageError(problems)
    return tuple(rules)


def parse_coverage(raw: JsonValue, source: Path, pack: tuple[PackRule, ...], catalog: Catalog) -> Coverage:
    problems: list[str] = []

    def problem(where: str, message: str) -> None:
        problems.append(f"{source}: {where}: {message}")

    if not isinstance(raw, Mapping) or raw.get("version") != 1 or not isinstance(raw.get("rules"), Mapping):
        raise CoverageError([f"{source}: expected a mapping with version: 1 and rules: {{<pack rule>: ...}}"])
    entries = raw["rules"]
    by_id = {rule.source_identifier: rule for rule in pack}
    for missing in sorted(set(by_id) - set(entries)):
        problem(missing, f"pack rule missing from the matrix: give it one of {', '.join(DISPOSITIONS)}")
    found = []
    for name, entry in entries.items():
        where = str(name)
        if name not in by_id:
            problem(where, "not a rule of the conformance pack (policies/aws_config_pci_dss_v4_pack.tsv)")
            continue
        if not isinstance(entry, Mapping):
            problem(where, "expected a mapping with disposition and its fields")
            continue
        disposition = entry.get("disposition")
        allowed = {
            "enforced": {"disposition", "controls", "parameters", "scope"},
            "runtime-only": {"disposition", "requirements", "reason", "parameters", "scope"},
            "not-applicable": {"disposition", "reason"},
        }.get(disposition) if isinstance(disposition, str) else None  # a list or mapping is no key
        if allowed is None or not isinstance(disposition, str):
            problem(where, f"disposition {disposition!r} is not one of {', '.join(DISPOSITIONS)}")
            continue
        for key in sorted(set(entry) - allowed):
            problem(where, f"{key} is not a field of a {disposition} rule (known: {', '.join(sorted(allowed))})")
        controls = tuple(entry.get("controls") or ())
        if disposition == "enforced":
            if not controls:
                problem(where, "an enforced rule names the catalog controls that enforce it")
            for control_id in controls:
                if control_id not in catalog.ids:
                    problem(where, f"unknown control {control_id!r} (not in {catalog.source.name})")
        requirements = tuple(str(r) for r in entry.get("requirements") or ())
        if disposition == "runtime-only" and not (requirements and all(map(REQUIREMENT_ID.match, requirements))):
            problem(where, "a runtime-only rule names the PCI DSS requirements it supports, e.g. ['8.3.9']")
        reason = entry.get("reason") or ""
        if disposition != "enforced" and not (isinstance(reason, str) and reason.strip()):
            problem(where, f"a {disposition} rule says why (reason)")
        parameters = entry.get("parameters") or {}
        if not isinstance(parameters, Mapping):
            problem(where, "parameters is a mapping of the managed rule's input parameters")
            parameters = {}
        for key, value in parameters.items():
            if isinstance(value, str) and value.startswith("@") and value[1:] not in catalog.parameters:
                problem(where, f"parameters.{key}: {value!r} names no catalog parameter")
            elif isinstance(value, str) and value.startswith("$") and not _RUNTIME_VALUE.match(value):
                problem(where, f"parameters.{key}: {value!r} is not a $name deploy-time value")
        scope = entry.get("scope")
        if scope is not None and scope not in SCOPES:
            problem(where, f"scope {scope!r} is not one of {', '.join(SCOPES)}")
        found.append(Disposition(by_id[name], disposition, controls, requirements, reason, dict(parameters), scope))
    if problems:
        raise CoverageError(problems)
    order = {rule.source_identifier: index for index, rule in enumerate(pack)}
    return Coverage(tuple(sorted(found, key=lambda d: order[d.rule.source_identifier])))


def load_coverage(catalog: Catalog, path: Path = COVERAGE_FILE, pack_path: Path = PACK_FILE) -> Coverage:
    try:
        raw = load_yaml(path)
    except YamlFileError as error:
        raise CoverageError([str(error)]) from None
    return parse_coverage(raw, Path(path), load_pack(pack_path), catalog)


def input_parameters(rule: Disposition, catalog: Catalog, runtime_values: Mapping[str, str]) -> dict[str, str]:
    """The managed rule's input parameters: pack defaults, then the matrix's overrides resolved."""
    resolved: dict[str, str] = dict(rule.rule.default_parameters)
    for key, value in rule.parameters.items():
        if value is None:
            resolved.pop(key, None)
        elif isinstance(value, str) and value.startswith("@"):
            resolved[key] = _as_text(catalog.parameter(value[1:]))
        elif isinstance(value, str) and value.startswith("$"):
            resolved[key] = runtime_values[value[1:]]
        else:
            resolved[key] = _as_text(value)
    return resolved


def _as_text(value: JsonValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    return str(value) if not isinstance(value, Mapping) else json.dumps(value)


def rule_description(rule: Disposition, catalog: Catalog) -> str:
    """What a runtime finding means, under the same control ids and requirements as the gate's."""
    if rule.disposition == "enforced":
        controls = [catalog.control(c) for c in rule.controls]
        requirements = sorted({r for control in controls for r in control.requirements})
        titles = "; ".join(f"{control.id} {control.title}" for control in controls)
        return f"{titles} (PCI DSS {', '.join(requirements)})"[:256]
    return f"runtime-only (PCI DSS {', '.join(rule.requirements)}): {rule.reason}"[:256]


COVERAGE_REPORT = "coverage.md"
# The worst verdict of a control's rows in an environment decides its cell.
_VERDICT_ORDER = ("NON_COMPLIANT", "ERROR", "EXCEPTED", "COMPLIANT")
_ENVIRONMENT = re.compile(r"^payments-([a-z0-9]+)-")


def _environment(stack: str) -> str:
    match = _ENVIRONMENT.match(stack)
    return match.group(1) if match else stack


def render_matrix(coverage: Coverage, document: Mapping[str, JsonValue]) -> str:
    """Markdown: every pack rule -> disposition -> controls -> the gate's verdict per environment."""
    verdicts: dict[tuple[str, str], set[str]] = {}
    environments: list[str] = []
    for row in document.get("results", []):
        environment = _environment(row["resource"]["stack"])
        if environment not in environments:
            environments.append(environment)
        verdicts.setdefault((row["control"], environment), set()).add(row["verdict"])

    def cell(controls: tuple[str, ...], environment: str) -> str:
        found = set().union(*(verdicts.get((c, environment), set()) for c in controls))
        return next((v for v in _VERDICT_ORDER if v in found), "no resource")

    counts = coverage.counts()
    lines = [
        "# AWS Config PCI DSS v4.0 conformance pack: coverage",
        "",
        f"{len(coverage.rules)} rules: {counts['enforced']} enforced, {counts['runtime-only']} runtime-only, "
        f"{counts['not-applicable']} not applicable (policies/coverage.yaml). Enforced and runtime-only rules are "
        "deployed as AWS Config rules payments-<env>-<rule> by the account owner's audit stack.",
        "",
        "| pack rule | disposition | controls / reason | " + " | ".join(environments) + " |",
        "|---|---|---|" + "---|" * len(environments),
    ]
    for rule in coverage.rules:
        if rule.disposition == "enforced":
            detail = ", ".join(rule.controls)
            cells = [cell(rule.controls, environment) for environment in environments]
        else:
            detail = rule.reason.replace("|", "/")
            if rule.disposition == "runtime-only":
                detail = f"PCI DSS {', '.join(rule.requirements)}: {detail}"
            cells = ["runtime" if rule.deployed else "-" for _ in environments]
        lines.append(f"| {rule.rule.source_identifier} | {rule.disposition} | {detail} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"

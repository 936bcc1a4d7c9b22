"""IAM policy statements as every layer sees them, and the one wildcard allow-list.

Policies reach the synth in two shapes: JSON strings (``aws_iam_role_policy.policy``, ``assume_role_policy``,
bucket/topic/key policies; possibly holding ``${...}`` interpolations inside string values) and
``data.aws_iam_policy_document`` blocks. Both are normalized to one statement shape::

    {sid, effect, actions, not_actions, resources, not_resources, principals, not_principals, conditions, kind}

and annotated with facts about wildcards and which allow-list entries (``iam_wildcard_allowlist.yaml``)
cover them. The verdict is made by each layer (the JMESPath rule ``iam-least-privilege``, the synth-time
aspect through :func:`violations`); the facts are shared so both read the allow-list the same way.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import lru_cache
from pathlib import Path
from typing import TypedDict

from policies.blocks import block_list
from policies.jsontypes import JsonObject, JsonValue
from policies.yamlfile import YamlFileError, load_yaml, quote

ALLOWLIST_FILE = Path(__file__).resolve().parent / "iam_wildcard_allowlist.yaml"
# identity: attached to a principal; trust: who may assume a role; resource: attached to a resource (bucket,
# topic, queue, secret, API); key: a KMS key policy, where "Resource": "*" means the key itself.
POLICY_KINDS = ("identity", "trust", "resource", "key")


class Principal(TypedDict):
    type: str | None  # AWS, Service, Federated, CanonicalUser or *; None when a policy document block omits it
    identifiers: list[str]


class Condition(TypedDict):
    test: str | None  # None when a policy document block omits it
    variable: str | None
    values: list[str]


class Statement(TypedDict):
    """A policy statement in the normalized shape of the module docstring (both sources read the same)."""

    sid: str | None
    effect: str
    actions: list[str]
    not_actions: list[str]
    resources: list[str]
    not_resources: list[str]
    principals: list[Principal]
    not_principals: list[Principal]
    conditions: list[Condition]


class AnnotatedStatement(Statement):
    """A statement with its policy kind and the wildcard facts every layer decides on (:func:`annotate`)."""

    kind: str
    wildcard_actions: list[str]
    wildcard_actions_allowed_by: list[str]
    resource_wildcard: bool
    resource_wildcard_allowed_by: list[str]
    wildcard_principal: bool


class PolicyError(Exception):
    """A policy document that cannot be read, so cannot be shown to be least-privilege."""


class AllowlistError(Exception):
    pass


@dataclass(frozen=True)
class AllowlistEntry:
    name: str
    policy_kinds: tuple[str, ...]
    actions: tuple[str, ...]  # glob patterns every action of the statement must match
    wildcard_actions: tuple[str, ...]  # service-wide actions the entry permits verbatim, e.g. kms:*
    principal_patterns: tuple[re.Pattern[str], ...]  # when set, every principal must match one
    reason: str

    def covers_principals(self, statement: Statement) -> bool:
        if not self.principal_patterns:
            return True
        identifiers = [(p["type"], i) for p in statement["principals"] for i in p["identifiers"]]
        return bool(identifiers) and all(
            kind == "AWS" and any(pattern.match(identifier) for pattern in self.principal_patterns)
            for kind, identifier in identifiers)


@dataclass(frozen=True)
class Allowlist:
    entries: tuple[AllowlistEntry, ...]
    aws_managed_policies: Mapping[str, str]  # AWS-managed policy name -> why it is acceptable
    source: Path

    def resource_wildcard_allowed_by(self, statement: Statement, kind: str) -> list[str]:
        actions = statement["actions"]
        return [entry.name for entry in self.entries
                if kind in entry.policy_kinds and actions and entry.covers_principals(statement)
                and all(any(fnmatchcase(action, pattern) for pattern in entry.actions) for action in actions)]

    def wildcard_actions_allowed_by(self, statement: Statement, kind: str, wildcards: list[str]) -> list[str]:
        return [entry.name for entry in self.entries
                if wildcards and kind in entry.policy_kinds and entry.covers_principals(statement)
                and all(action in entry.wildcard_actions for action in wildcards)]


def _entry(raw: JsonValue, index: int, source: Path) -> AllowlistEntry:
    where = f"{source}: statements[{index}]"
    known = {"name", "policy_kinds", "actions", "wildcard_actions", "principals", "reason"}
    if not isinstance(raw, dict) or set(raw) - known or not {"name", "policy_kinds", "actions", "reason"} <= set(raw):
        raise AllowlistError(f"{where}: expected name, policy_kinds, actions, reason and optionally "
                             f"wildcard_actions, principals; got {raw!r}")
    if not isinstance(raw["reason"], str) or len(raw["reason"].split()) < 5:
        raise AllowlistError(f"{where} ({raw['name']}): the reason must explain why AWS needs the wildcard")
    kinds = tuple(raw["policy_kinds"])
    if not kinds or set(kinds) - set(POLICY_KINDS):
        raise AllowlistError(f"{where}: policy_kinds must be a subset of {', '.join(POLICY_KINDS)}")
    try:
        patterns = tuple(re.compile(p) for p in raw.get("principals", []))
    except re.error as error:
        raise AllowlistError(f"{where}: invalid principal pattern: {error}") from None
    return AllowlistEntry(name=str(raw["name"]), policy_kinds=kinds, actions=tuple(raw["actions"]),
                          wildcard_actions=tuple(raw.get("wildcard_actions", ())), principal_patterns=patterns,
                          reason=" ".join(raw["reason"].split()))


def load_allowlist(path: Path = ALLOWLIST_FILE) -> Allowlist:
    try:
        raw = load_yaml(path)
    except YamlFileError as error:
        raise AllowlistError(str(error)) from None
    if not isinstance(raw, dict) or set(raw) != {"version", "statements", "aws_managed_policies"} \
            or raw["version"] != 1:
        raise AllowlistError(f"{path}: expected version: 1, statements and aws_managed_policies")
    if not isinstance(raw["statements"], list) or not isinstance(raw["aws_managed_policies"], dict):
        raise AllowlistError(f"{path}: statements must be a list and aws_managed_policies a mapping")
    entries = tuple(_entry(item, index, Path(path)) for index, item in enumerate(raw["statements"]))
    if len({e.name for e in entries}) != len(entries):
        raise AllowlistError(f"{path}: statement names must be unique")
    return Allowlist(entries=entries, aws_managed_policies=dict(raw["aws_managed_policies"]), source=Path(path))


@lru_cache(maxsize=1)
def default_allowlist() -> Allowlist:
    return load_allowlist(ALLOWLIST_FILE)


def _strings(value: JsonValue) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise PolicyError(f"expected a string or a list of strings, got {value!r}")


def _json_principals(value: JsonValue) -> list[Principal]:
    if value is None:
        return []
    if value == "*":
        return [{"type": "*", "identifiers": ["*"]}]
    if not isinstance(value, dict):
        raise PolicyError(f"unexpected Principal {value!r}")
    return [{"type": kind, "identifiers": _strings(ids)} for kind, ids in sorted(value.items())]


def _json_conditions(value: JsonValue) -> list[Condition]:
    if value is None:
        return []
    if not isinstance(value, dict):
        raise PolicyError(f"unexpected Condition {value!r}")
    conditions: list[Condition] = []
    for test, by_key in value.items():
        if not isinstance(by_key, dict):
            raise PolicyError(f"unexpected Condition operator block {test}: {by_key!r}")
        conditions.extend({"test": test, "variable": key, "values": _condition_values(v)}
                          for key, v in by_key.items())
    return conditions


def _condition_values(value: JsonValue) -> list[str]:
    # JSON conditions may hold booleans and numbers; compare them as the strings IAM evaluates.
    return [str(v).lower() if isinstance(v, bool) else str(v) for v in (value if isinstance(value, list) else [value])]


def statements_from_json(document: JsonValue) -> list[Statement]:
    """Statements of a parsed JSON policy document, in the normalized shape (without kind and facts)."""
    if not isinstance(document, dict):
        raise PolicyError(f"a policy document must be a JSON object, got {type(document).__name__}")
    raw = document.get("Statement", [])
    raw = [raw] if isinstance(raw, dict) else raw
    if not isinstance(raw, list):
        raise PolicyError("Statement must be an object or a list of objects")
    statements: list[Statement] = []
    for item in raw:
        if not isinstance(item, dict):
            raise PolicyError(f"a statement must be an object, got {item!r}")
        statements.append({
            "sid": item.get("Sid"), "effect": item.get("Effect", "Allow"),
            "actions": _strings(item.get("Action")), "not_actions": _strings(item.get("NotAction")),
            "resources": _strings(item.get("Resource")), "not_resources": _strings(item.get("NotResource")),
            "principals": _json_principals(item.get("Principal")),
            "not_principals": _json_principals(item.get("NotPrincipal")),
            "conditions": _json_conditions(item.get("Condition"))})
    return statements


def parse_policy_json(text: str) -> list[Statement]:
    try:
        document = json.loads(text)
    except ValueError as error:
        raise PolicyError(f"not a JSON policy document ({error.__class__.__name__}: {error})") from None
    return statements_from_json(document)


def _blocks(value: JsonValue) -> list[JsonObject]:
    blocks = block_list(value)
    if not all(isinstance(block, dict) for block in blocks):
        raise PolicyError(f"expected blocks, got {quote(value)}")
    return blocks


def statements_from_policy_document_data(body: Mapping[str, JsonValue]) -> list[Statement]:
    """Statements of a ``data.aws_iam_policy_document`` block (HCL attribute names, blocks as lists)."""
    statements: list[Statement] = []
    for item in _blocks(body.get("statement")):
        statements.append({
            "sid": item.get("sid"), "effect": item.get("effect", "Allow"),
            "actions": _strings(item.get("actions")), "not_actions": _strings(item.get("not_actions")),
            "resources": _strings(item.get("resources")), "not_resources": _strings(item.get("not_resources")),
            "principals": [{"type": p.get("type"), "identifiers": _strings(p.get("identifiers"))}
                           for p in _blocks(item.get("principals"))],
            "not_principals": [{"type": p.get("type"), "identifiers": _strings(p.get("identifiers"))}
                               for p in _blocks(item.get("not_principals"))],
            "conditions": [{"test": c.get("test"), "variable": c.get("variable"), "values": _strings(c.get("values"))}
                           for c in _blocks(item.get("condition"))]})
    return statements


def is_wildcard_action(action: str) -> bool:
    """``*``, ``service:*`` or a wildcard service: grants every action of one or all services."""
    service, _, name = action.partition(":")
    return "*" in service or name == "*"


def annotate(statement: Statement, kind: str, allowlist: Allowlist) -> AnnotatedStatement:
    """The statement with its policy kind and the wildcard facts the layers decide on."""
    wildcards = [action for action in statement["actions"] if is_wildcard_action(action)]
    resource_wildcard = "*" in statement["resources"]
    return {**statement, "kind": kind, "wildcard_actions": wildcards,
            "wildcard_actions_allowed_by": allowlist.wildcard_actions_allowed_by(statement, kind, wildcards),
            "resource_wildcard": resource_wildcard,
            "resource_wildcard_allowed_by": (
                allowlist.resource_wildcard_allowed_by(statement, kind) if resource_wildcard else []),
            "wildcard_principal": any(p["type"] == "*" or "*" in p["identifiers"] for p in statement["principals"])}


def violations(statement: AnnotatedStatement, *, include_principals: bool = True) -> list[str]:
    """Why an annotated statement is not least-privilege; empty when it is (Deny statements always are)."""
    if statement["effect"] != "Allow":
        return []
    found = []
    if statement["wildcard_actions"] and not statement["wildcard_actions_allowed_by"]:
        found.append(f"wildcard action(s) {', '.join(statement['wildcard_actions'])}")
    if statement["not_actions"]:
        found.append("NotAction in an Allow statement grants every other action")
    if statement["resource_wildcard"] and not statement["resource_wildcard_allowed_by"]:
        found.append(f'"Resource": "*" for {", ".join(statement["actions"]) or "no action"} '
                     f"(not in {ALLOWLIST_FILE.name})")
    if statement["not_resources"]:
        found.append("NotResource in an Allow statement grants every other resource")
    if include_principals and statement["wildcard_principal"]:
        found.append('wildcard principal ("*") in an Allow statement')
    return found

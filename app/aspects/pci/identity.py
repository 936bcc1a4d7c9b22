"""Secrets (PCI-SEC-*), IAM least privilege (PCI-IAM-001) and inventory tags (PCI-TAG-001)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from app.aspects.pci.pack import rule
from app.aspects.pci.values import block, is_number, is_pure_token, is_token, param
from app.aspects.pci.verdict import Verdict, non_compliant, require
from policies import iam
from policies.functions import leaves
from policies.model import AWS_MANAGED_POLICY, MANAGED_POLICY_ATTRIBUTES, POLICY_ATTRIBUTES, values_at
from policies.predicates import rotation_days


@rule("PCI-SEC-001", "aws_secretsmanager_secret_rotation")
def secret_rotation_within_30_days(attributes: Mapping[str, Any]) -> Verdict:
    rules = block(attributes, "rotation_rules")
    days = rotation_days(rules.get("automatically_after_days"), rules.get("schedule_expression"))
    maximum = param("max_secret_rotation_days")
    return require(is_number(days) and days <= maximum, "rotation_rules", rules or None,
                   f"automatically_after_days <= {maximum} or schedule_expression rate(N days), N <= {maximum}")


@rule("PCI-SEC-002", "*")
def no_secret_values_in_attributes(attributes: Mapping[str, Any]) -> Verdict:
    names, shapes = re.compile(param("secret_attribute_pattern")), re.compile(param("secret_value_pattern"))
    found = [path for path, key, value in leaves(attributes) if isinstance(value, str) and (
        (key and names.search(key) and value.strip() and not is_token(value)) or shapes.search(value))]
    # Paths only: the message must not repeat the secret.
    return require(not found, ", ".join(found), "<redacted>", "references to secrets, never their values")


def _document_kind(statements: list[dict]) -> str:
    """Synth-time guess of what a policy document is for (its consumer is not known yet)."""
    if not any(s["principals"] for s in statements):
        return "identity"
    all_kms = all(a.startswith("kms:") for s in statements for a in s["actions"])
    return "key" if all_kms else "resource"


def _statement_problems(statements: list[dict], kind: str, include_principals: bool) -> list[str]:
    allowlist = iam.default_allowlist()
    problems = []
    for index, statement in enumerate(statements):
        annotated = iam.annotate(statement, kind, allowlist)
        for problem in iam.violations(annotated, include_principals=include_principals):
            problems.append(f"statement {statement.get('sid') or index}: {problem}")
    return problems


def _policy_problems(attributes: Mapping[str, Any], resource_type: str) -> list[str]:
    if resource_type == "aws_iam_policy_document":
        statements = iam.statements_from_policy_document_data(attributes)
        return _statement_problems(statements, _document_kind(statements), include_principals=True)
    problems = []
    for attribute, kind in POLICY_ATTRIBUTES.get(resource_type, ()):
        for path, value in values_at(dict(attributes), attribute):
            if is_pure_token(value):
                continue  # a policy document construct, checked where it is defined
            try:
                statements = iam.parse_policy_json(value) if isinstance(value, str) else iam.statements_from_json(value)
            except iam.PolicyError as error:
                problems.append(f"{path}: {error}")
                continue
            found = _statement_problems(statements, kind, include_principals=kind != "key")
            problems += [f"{path}: {problem}" for problem in found]
    managed = attributes.get(MANAGED_POLICY_ATTRIBUTES.get(resource_type, ""))
    for arn in managed if isinstance(managed, list) else [managed] if managed else []:
        if not isinstance(arn, str) or is_pure_token(arn):
            continue  # a policy construct of the synth, checked where it is defined
        match = AWS_MANAGED_POLICY.match(arn)
        if match is None or match.group(1) not in iam.default_allowlist().aws_managed_policies:
            problems.append(f"managed policy {arn} cannot be inspected (not in the allow-list)")
    return problems


@rule("PCI-IAM-001", *POLICY_ATTRIBUTES, *MANAGED_POLICY_ATTRIBUTES, "data.aws_iam_policy_document", typed=True)
def iam_statements_least_privilege(attributes: Mapping[str, Any], resource_type: str) -> Verdict:
    problems = _policy_problems(attributes, resource_type)
    return require(not problems, "policy", problems, "least-privilege statements (see iam_wildcard_allowlist.yaml)")


@rule("PCI-TAG-001", "@taggable")
def required_tags_present(attributes: Mapping[str, Any]) -> Verdict:
    tags = attributes.get("tags")
    if not isinstance(tags, Mapping):
        return non_compliant("tags", tags, "a literal map of the required tags")
    missing = [key for key in param("required_tags") if tags.get(key) in (None, "")]
    if missing:
        return non_compliant("tags", {"missing": missing}, f"all of {', '.join(param('required_tags'))}")
    invalid = {key: tags[key] for key, allowed in param("tag_values").items() if tags.get(key) not in allowed}
    return require(not invalid, "tags", invalid, "values from the catalog's tag_values")


@rule("PCI-TAG-002", "@taggable", scoped=True)
def environment_tag_matches_stack(attributes: Mapping[str, Any], *, environment: str) -> Verdict:
    tags = attributes.get("tags")
    claimed = tags.get("Environment") if isinstance(tags, Mapping) else None
    return require(claimed in (None, environment), "tags.Environment", claimed,
                   f"{environment} (the environment of its stack), or no Environment tag (PCI-TAG-001 requires one)")

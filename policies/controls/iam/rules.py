"""IAM least privilege (PCI-IAM-*): the synth-time aspect rules (pure functions)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies import iam
from policies.model import AWS_MANAGED_POLICY, MANAGED_POLICY_ATTRIBUTES, POLICY_ATTRIBUTES, values_at
from policies.rules.registry import rule
from policies.rules.values import is_pure_token
from policies.rules.verdict import Verdict, require


def _document_kind(statements: list[iam.Statement]) -> str:
    """Synth-time guess of what a policy document is for (its consumer is not known yet)."""
    if not any(s["principals"] for s in statements):
        return "identity"
    all_kms = all(a.startswith("kms:") for s in statements for a in s["actions"])
    return "key" if all_kms else "resource"


def _statement_problems(statements: list[iam.Statement], kind: str, include_principals: bool) -> list[str]:
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

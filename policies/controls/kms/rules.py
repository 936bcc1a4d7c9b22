"""Key management (PCI-KMS-*): the synth-time aspect rules (pure functions)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies import iam
from policies.rules.registry import rule
from policies.rules.values import (
    is_number,
    is_pure_token,
    param,
)
from policies.rules.verdict import COMPLIANT, Verdict, non_compliant, require


@rule("PCI-KMS-001", "aws_kms_key")
def kms_key_rotation_enabled(attributes: Mapping[str, Any]) -> Verdict:
    if attributes.get("enable_key_rotation") is not True:
        return non_compliant("enable_key_rotation", attributes.get("enable_key_rotation"), "true")
    period = attributes.get("rotation_period_in_days")
    maximum = param("max_key_rotation_days")
    return require(
        period is None or (is_number(period) and period <= maximum),
        "rotation_period_in_days",
        period,
        f"unset (365) or <= {maximum}",
    )


@rule("PCI-KMS-002", "aws_kms_key")
def kms_key_policy_explicit_without_wildcard_principal(attributes: Mapping[str, Any]) -> Verdict:
    policy = attributes.get("policy")
    if not isinstance(policy, str) or not policy.strip():
        return non_compliant("policy", policy, "an explicit key policy")
    if is_pure_token(policy):
        return COMPLIANT  # a policy document construct: its statements are checked where it is defined
    try:
        statements = iam.parse_policy_json(policy)
    except iam.PolicyError as error:
        return non_compliant("policy", str(error), "a JSON key policy")
    wildcard = [
        s.get("sid") or "(no sid)"
        for s in statements
        if s["effect"] == "Allow" and any(p["type"] == "*" or "*" in p["identifiers"] for p in s["principals"])
    ]
    return require(not wildcard, "policy", {"statements_with_wildcard_principal": wildcard}, 'no "*" principal')

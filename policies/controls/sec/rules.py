"""Secrets (PCI-SEC-*): the synth-time aspect rules (pure functions)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from policies.functions import leaves
from policies.predicates import rotation_days
from policies.rules.registry import rule
from policies.rules.values import block, is_number, is_token, param
from policies.rules.verdict import Verdict, require


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

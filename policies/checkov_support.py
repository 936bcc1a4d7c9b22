"""Shared by the custom checkov checks (``policies/controls/<area>/checks``): names from the catalog, values from
checkov's configuration shape (every scalar wrapped in a one-element list, every block a list of dicts, and checkov's
own line-number keys such as ``__startline__`` added to every block, which map-valued attributes skip).

A custom check answers PASSED or FAILED for every resource it supports, never UNKNOWN: an unknown result
would be dropped from checkov's report, and the gate counts a missing result as an ERROR. A ``${...}``
value counts as set, never as a literal that satisfies a comparison.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.common.util.consts import LINE_FIELD_NAMES
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

from policies import iam, predicates
from policies.blocks import block_list
from policies.catalog import default_catalog
from policies.model import is_pure_reference
from policies.predicates import (
    NLB_PROTOCOLS,
    OPEN_IPV4,
    OPEN_IPV6,
    is_application_load_balancer_type,
    is_audit_bucket_name,
    is_customer_managed_key,
    is_number,
    parameter,
)
from policies.scope import environment_of_stack_file

# Judgements on values live in policies/predicates.py, shared with the aspect rules; the checks import
# them from here with the readers of checkov's shape below.
__all__ = [
    "FAILED",
    "NLB_PROTOCOLS",
    "PASSED",
    "PciCheck",
    "blocks",
    "environment_variables",
    "inline_policy_statements",
    "is_application_load_balancer",
    "is_audit_bucket",
    "is_customer_managed_key",
    "is_number",
    "is_open",
    "is_reference",
    "parameter",
    "rotation_period",
    "stack_environment",
    "strings",
    "value",
    "verdict",
]

PASSED, FAILED = CheckResult.PASSED, CheckResult.FAILED


def value(conf: dict[str, Any], key: str) -> Any:
    """The attribute as synthesized: checkov wraps scalars (and lists of scalars) in a one-element list."""
    found = conf.get(key)
    return found[0] if isinstance(found, list) and len(found) == 1 and not isinstance(found[0], dict) else found


def blocks(conf: dict[str, Any], key: str) -> list[dict[str, Any]]:
    return [block for block in block_list(conf.get(key)) if isinstance(block, dict)]


def strings(conf: dict[str, Any], key: str) -> list[str]:
    found = value(conf, key)
    found = found if isinstance(found, list) else [] if found is None else [found]
    return [item for item in found if isinstance(item, str)]


def is_reference(candidate: Any) -> bool:
    return is_pure_reference(candidate)


def stack_environment(check: BaseResourceCheck) -> str:
    """The environment of the stack whose file checkov is scanning (checkov sets ``entity_path`` to
    ``<file>:<type>:<name>`` before it calls the check): the scope of a control, see policies/scope.py."""
    return environment_of_stack_file(check.entity_path.rsplit(":", 2)[0])


def verdict(compliant: bool) -> CheckResult:
    return PASSED if compliant else FAILED


class PciCheck(BaseResourceCheck):
    """A custom check named after its catalog control, so checkov's report and the gate agree."""

    def __init__(self, check_id: str, resources: Iterable[str], category: CheckCategories, evaluated: list[str]):
        control = default_catalog().control_of_check(check_id)
        self.evaluated = evaluated
        super().__init__(name=f"{control.id}: {control.title}", id=check_id, categories=(category,),
                         supported_resources=tuple(resources), guideline=control.remediation)

    def get_evaluated_keys(self) -> list[str]:
        return self.evaluated


class KeyAttributeIsCmk(PciCheck):
    """A resource type whose one key attribute must name a customer-managed KMS key (not alias/aws/*)."""

    def __init__(self, check_id: str, resource_type: str, key_attribute: str):
        self.key_attribute = key_attribute
        super().__init__(check_id, [resource_type], CheckCategories.ENCRYPTION, evaluated=[key_attribute])

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        return verdict(is_customer_managed_key(value(conf, self.key_attribute)))


def environment_variables(conf: dict[str, Any]) -> list[str] | None:
    """Names of a function's environment variables; None when they are a ${...} expression (unknown)."""
    environment = blocks(conf, "environment")
    raw = environment[0].get("variables") if environment else None
    if raw is None:
        return []
    variables = blocks(environment[0], "variables")
    if not variables and raw:
        return None
    return [name for block in variables for name in block if name not in LINE_FIELD_NAMES]


def inline_policy_statements(text: str) -> list[iam.Statement] | None:
    try:
        return iam.parse_policy_json(text)
    except iam.PolicyError:
        return None


def is_audit_bucket(conf: dict[str, Any]) -> bool:
    return is_audit_bucket_name(value(conf, "bucket") or value(conf, "bucket_prefix") or "")


def is_open(conf: dict[str, Any], ipv4_key: str, ipv6_key: str) -> bool:
    return OPEN_IPV4 in strings(conf, ipv4_key) or OPEN_IPV6 in strings(conf, ipv6_key)


def is_application_load_balancer(conf: dict[str, Any]) -> bool:
    return is_application_load_balancer_type(value(conf, "load_balancer_type"))


def rotation_period(rules: dict[str, Any]) -> int | float | None:
    return predicates.rotation_days(value(rules, "automatically_after_days"), value(rules, "schedule_expression"))

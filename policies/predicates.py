"""Judgements on attribute values, shared by every layer that evaluates a resource in Python: the synth-time
aspect rules (``policies/controls/<area>/rules.py``, over ``to_terraform()`` attributes) and the custom checkov
checks (``policies/controls/<area>/checks``, over checkov's configuration shape). Each layer only extracts a
value from its own shape and asks here, so the two cannot drift apart; thresholds come from the catalog's
parameters.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, TypeGuard

from policies.catalog import default_catalog

RATE_IN_DAYS = re.compile(r"rate\((\d+) days?\)")
# Listener protocols only network load balancers use; every other listener belongs to an application one.
NLB_PROTOCOLS = ("TCP", "TLS", "UDP", "TCP_UDP")
# The CIDR blocks that mean "anywhere".
OPEN_IPV4, OPEN_IPV6 = "0.0.0.0/0", "::/0"


def parameter(name: str) -> Any:
    return default_catalog().parameter(name)


def is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def at_least(value: Any, minimum: float) -> bool:
    return is_number(value) and value >= minimum


def is_customer_managed_key(value: Any) -> bool:
    """A KMS key reference that is not an AWS-managed key (alias/aws/<service>)."""
    return isinstance(value, str) and bool(value.strip()) and not re.search(parameter("aws_managed_key_pattern"), value)


def is_audit_bucket_name(name: Any) -> bool:
    """A bucket name (or name prefix) that marks the audit-log archive."""
    return isinstance(name, str) and re.search(parameter("audit_bucket_pattern"), name) is not None


def is_application_load_balancer_type(load_balancer_type: Any) -> bool:
    """An aws_lb's load_balancer_type that means an application load balancer (unset is the default, application)."""
    return load_balancer_type in (None, "application")


def rotation_days(after_days: Any, schedule_expression: Any) -> int | float | None:
    """Days between rotations: automatically_after_days, else a schedule rate(N days); None if unverifiable."""
    if is_number(after_days):
        return after_days
    match = RATE_IN_DAYS.fullmatch(schedule_expression) if isinstance(schedule_expression, str) else None
    return int(match.group(1)) if match else None


def disallowed_environment_variables(names: Iterable[str]) -> list[str]:
    """The names a Lambda function may not carry: configuration comes from SSM, only the path and Powertools
    settings are environment variables."""
    allowed, prefix = parameter("lambda_environment_allowed_keys"), parameter("lambda_environment_allowed_prefix")
    return [name for name in names if name not in allowed and not name.startswith(prefix)]

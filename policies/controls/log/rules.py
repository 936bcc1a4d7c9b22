"""Log retention (PCI-LOG-*): the synth-time aspect rules (pure functions)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.rules.registry import rule
from policies.rules.values import is_number, param
from policies.rules.verdict import COMPLIANT, Verdict, non_compliant


@rule("PCI-LOG-001", "aws_cloudwatch_log_group")
def log_group_retention_at_least_a_year(attributes: Mapping[str, Any]) -> Verdict:
    minimum = param("min_log_retention_days")
    retention = attributes.get("retention_in_days")
    if is_number(retention) and retention >= minimum:
        return COMPLIANT
    return non_compliant("retention_in_days", retention, f">= {minimum} (unset keeps logs without a defined retention)")

"""DynamoDB tables (PCI-DDB-*): the synth-time aspect rules.

Pure functions of a construct's synthesized attributes, registered under their control ids
(policies/rules/registry.py) and run on every construct by app/aspects/pci."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.rules.registry import rule
from policies.rules.values import block
from policies.rules.verdict import Verdict, require


@rule("PCI-DDB-001", "aws_dynamodb_table")
def dynamodb_point_in_time_recovery_enabled(attributes: Mapping[str, Any]) -> Verdict:
    enabled = block(attributes, "point_in_time_recovery").get("enabled")
    return require(enabled is True, "point_in_time_recovery.enabled", enabled, "true")

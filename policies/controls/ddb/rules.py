"""DynamoDB tables (PCI-DDB-*): the synth-time aspect rules (pure functions)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.rules.registry import rule
from policies.rules.verdict import Verdict, require_block_field


@rule("PCI-DDB-001", "aws_dynamodb_table")
def dynamodb_point_in_time_recovery_enabled(attributes: Mapping[str, Any]) -> Verdict:
    return require_block_field(attributes, "point_in_time_recovery", "enabled", True)

"""Alarms (PCI-MON-*): the synth-time aspect rules (pure functions)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.rules.registry import rule
from policies.rules.values import is_set
from policies.rules.verdict import Verdict, require


@rule("PCI-MON-002", "aws_cloudwatch_metric_alarm")
def alarm_has_actions(attributes: Mapping[str, Any]) -> Verdict:
    return require(attributes.get("actions_enabled") is not False and is_set(attributes.get("alarm_actions")),
                   "alarm_actions", attributes.get("alarm_actions"), "an SNS topic ARN, with actions enabled")

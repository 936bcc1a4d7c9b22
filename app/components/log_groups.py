"""CloudWatch Logs log groups as every component creates them: encrypted with the environment's logs key and
kept for the configured number of days (PCI DSS 10.5.1: a year, three months of it immediately available)."""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from constructs import Construct


@dataclass(frozen=True)
class LogRetention:
    key_arn: str  # the customer-managed "logs" key
    retention_days: int


def encrypted_log_group(scope: Construct, id_: str, *, name: str, retention: LogRetention) -> CloudwatchLogGroup:
    return CloudwatchLogGroup(
        scope, id_, name=name, retention_in_days=retention.retention_days, kms_key_id=retention.key_arn
    )

"""PCI-LOG-001: CloudWatch log groups retain logs for at least 365 days"""

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult

from policies.checkov_support import PciCheck, is_number, parameter, value, verdict


class LogGroupRetentionAtLeastAYear(PciCheck):
    def __init__(self) -> None:
        super().__init__("CKV_PCI_022", ["aws_cloudwatch_log_group"], CheckCategories.LOGGING,
                         evaluated=["retention_in_days"])

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        retention = value(conf, "retention_in_days")
        return verdict(is_number(retention) and retention >= parameter("min_log_retention_days"))


check = LogGroupRetentionAtLeastAYear()

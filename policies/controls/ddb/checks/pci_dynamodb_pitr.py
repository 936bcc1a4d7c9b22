"""PCI-DDB-001: DynamoDB tables have point-in-time recovery"""

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult

from policies.checkov_support import PciCheck, blocks, value, verdict


class DynamodbPointInTimeRecovery(PciCheck):
    def __init__(self) -> None:
        super().__init__("CKV_PCI_016", ["aws_dynamodb_table"], CheckCategories.BACKUP_AND_RECOVERY,
                         evaluated=["point_in_time_recovery/[0]/enabled"])

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        recovery = blocks(conf, "point_in_time_recovery")
        return verdict(bool(recovery) and value(recovery[0], "enabled") is True)


check = DynamodbPointInTimeRecovery()

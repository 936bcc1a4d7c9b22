"""PCI-SEC-001: Secrets rotate automatically at least every 30 days"""

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult

from policies.checkov_support import PciCheck, blocks, parameter, rotation_period, verdict


class SecretRotationWithin30Days(PciCheck):
    def __init__(self) -> None:
        super().__init__("CKV_PCI_038", ["aws_secretsmanager_secret_rotation"], CheckCategories.GENERAL_SECURITY,
                         evaluated=["rotation_rules"])

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        rules = blocks(conf, "rotation_rules")
        days = rotation_period(rules[0]) if rules else None
        return verdict(days is not None and days <= parameter("max_secret_rotation_days"))


check = SecretRotationWithin30Days()

"""PCI-KMS-001: KMS keys rotate automatically at least yearly"""

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult

from policies.checkov_support import PciCheck, is_number, parameter, value, verdict


class KmsKeyRotationEnabled(PciCheck):
    def __init__(self) -> None:
        super().__init__("CKV_PCI_010", ["aws_kms_key"], CheckCategories.ENCRYPTION,
                         evaluated=["enable_key_rotation", "rotation_period_in_days"])

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        period = value(conf, "rotation_period_in_days")
        return verdict(value(conf, "enable_key_rotation") is True
                       and (period is None or (is_number(period) and period <= parameter("max_key_rotation_days"))))


check = KmsKeyRotationEnabled()

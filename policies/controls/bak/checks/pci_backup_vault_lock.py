"""PCI-BAK-001: AWS Backup vaults are locked in compliance mode"""

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult

from policies.checkov_support import PciCheck, is_number, parameter, value, verdict


class BackupVaultLockComplianceMode(PciCheck):
    def __init__(self) -> None:
        super().__init__("CKV_PCI_044", ["aws_backup_vault_lock_configuration"], CheckCategories.BACKUP_AND_RECOVERY,
                         evaluated=["changeable_for_days", "min_retention_days"])

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        minimum = value(conf, "min_retention_days")
        return verdict(value(conf, "changeable_for_days") is not None and is_number(minimum)
                       and minimum >= parameter("min_backup_retention_days"))


check = BackupVaultLockComplianceMode()

"""PCI-RDS-001: Aurora clusters keep automated backups for at least 7 days"""

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult

from policies.checkov_support import PciCheck, is_number, parameter, value, verdict


class RdsClusterBackupsRetained(PciCheck):
    def __init__(self) -> None:
        super().__init__("CKV_PCI_017", ["aws_rds_cluster"], CheckCategories.BACKUP_AND_RECOVERY,
                         evaluated=["backup_retention_period"])

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        period = value(conf, "backup_retention_period")
        return verdict(is_number(period) and period >= parameter("min_backup_retention_days"))


check = RdsClusterBackupsRetained()

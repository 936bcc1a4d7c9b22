"""PCI-RDS-004: Aurora clusters export PostgreSQL logs to CloudWatch"""

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult

from policies.checkov_support import PciCheck, strings, verdict


class RdsClusterExportsPostgresqlLogs(PciCheck):
    def __init__(self) -> None:
        super().__init__("CKV_PCI_020", ["aws_rds_cluster"], CheckCategories.LOGGING,
                         evaluated=["enabled_cloudwatch_logs_exports"])

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        return verdict("postgresql" in strings(conf, "enabled_cloudwatch_logs_exports"))


check = RdsClusterExportsPostgresqlLogs()

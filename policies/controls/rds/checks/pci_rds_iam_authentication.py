"""PCI-RDS-003: Aurora clusters use IAM database authentication"""

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult

from policies.checkov_support import PciCheck, value, verdict


class RdsClusterIamAuthentication(PciCheck):
    def __init__(self) -> None:
        super().__init__("CKV_PCI_019", ["aws_rds_cluster"], CheckCategories.IAM,
                         evaluated=["iam_database_authentication_enabled"])

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        return verdict(value(conf, "iam_database_authentication_enabled") is True)


check = RdsClusterIamAuthentication()

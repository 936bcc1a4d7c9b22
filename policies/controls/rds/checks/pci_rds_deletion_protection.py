"""PCI-RDS-002: Production Aurora clusters have deletion protection"""

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult

from policies.checkov_support import PASSED, PciCheck, parameter, stack_environment, value, verdict


class ProductionRdsClusterDeletionProtected(PciCheck):
    def __init__(self) -> None:
        super().__init__("CKV_PCI_018", ["aws_rds_cluster"], CheckCategories.BACKUP_AND_RECOVERY,
                         evaluated=["deletion_protection"])

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        # Scope is the stack's environment, never the cluster's own Environment tag (PCI-TAG-002 checks that).
        if stack_environment(self) in parameter("non_production_environments"):
            return PASSED
        return verdict(value(conf, "deletion_protection") is True)


check = ProductionRdsClusterDeletionProtected()

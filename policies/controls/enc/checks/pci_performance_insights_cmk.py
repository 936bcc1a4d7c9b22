"""PCI-ENC-002: Performance Insights data is encrypted with a customer-managed KMS key"""

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult

from policies.checkov_support import PASSED, PciCheck, is_customer_managed_key, value, verdict


class PerformanceInsightsEncryptedWithCmk(PciCheck):
    def __init__(self) -> None:
        super().__init__("CKV_PCI_002", ["aws_rds_cluster", "aws_rds_cluster_instance"], CheckCategories.ENCRYPTION,
                         evaluated=["performance_insights_enabled", "performance_insights_kms_key_id"])

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        if value(conf, "performance_insights_enabled") in (None, False):
            return PASSED
        return verdict(is_customer_managed_key(value(conf, "performance_insights_kms_key_id")))


check = PerformanceInsightsEncryptedWithCmk()

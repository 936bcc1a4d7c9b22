"""PCI-ENC-001: Aurora cluster storage is encrypted with a customer-managed KMS key"""

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult

from policies.checkov_support import PciCheck, is_customer_managed_key, value, verdict


class RdsClusterStorageEncryptedWithCmk(PciCheck):
    def __init__(self) -> None:
        super().__init__("CKV_PCI_001", ["aws_rds_cluster"], CheckCategories.ENCRYPTION,
                         evaluated=["storage_encrypted", "kms_key_id"])

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        return verdict(value(conf, "storage_encrypted") is True and is_customer_managed_key(value(conf, "kms_key_id")))


check = RdsClusterStorageEncryptedWithCmk()

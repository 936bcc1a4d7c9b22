"""PCI-ENC-009: SSM SecureString parameters are encrypted with a customer-managed KMS key"""

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult

from policies.checkov_support import PASSED, PciCheck, is_customer_managed_key, value, verdict


class SsmSecureStringEncryptedWithCmk(PciCheck):
    def __init__(self) -> None:
        super().__init__("CKV_PCI_008", ["aws_ssm_parameter"], CheckCategories.ENCRYPTION,
                         evaluated=["type", "key_id"])

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        if value(conf, "type") in ("String", "StringList"):
            return PASSED
        return verdict(is_customer_managed_key(value(conf, "key_id")))


check = SsmSecureStringEncryptedWithCmk()

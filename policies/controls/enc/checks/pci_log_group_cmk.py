"""PCI-ENC-007: CloudWatch log groups are encrypted with a customer-managed KMS key"""

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult

from policies.checkov_support import PciCheck, is_customer_managed_key, value, verdict


class LogGroupEncryptedWithCmk(PciCheck):
    def __init__(self) -> None:
        super().__init__("CKV_PCI_006", ["aws_cloudwatch_log_group"], CheckCategories.ENCRYPTION,
                         evaluated=["kms_key_id"])

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        return verdict(is_customer_managed_key(value(conf, "kms_key_id")))


check = LogGroupEncryptedWithCmk()

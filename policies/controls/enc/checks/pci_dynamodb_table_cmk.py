"""PCI-ENC-003: DynamoDB tables are encrypted with a customer-managed KMS key"""

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult

from policies.checkov_support import PciCheck, blocks, is_customer_managed_key, value, verdict


class DynamodbTableEncryptedWithCmk(PciCheck):
    def __init__(self) -> None:
        super().__init__("CKV_PCI_003", ["aws_dynamodb_table"], CheckCategories.ENCRYPTION,
                         evaluated=["server_side_encryption"])

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        encryption = blocks(conf, "server_side_encryption")
        return verdict(bool(encryption) and value(encryption[0], "enabled") is True
                       and is_customer_managed_key(value(encryption[0], "kms_key_arn")))


check = DynamodbTableEncryptedWithCmk()

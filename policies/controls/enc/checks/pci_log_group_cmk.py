"""PCI-ENC-007: CloudWatch log groups are encrypted with a customer-managed KMS key"""

from policies.checkov_support import KeyAttributeIsCmk


class LogGroupEncryptedWithCmk(KeyAttributeIsCmk):
    def __init__(self) -> None:
        super().__init__("CKV_PCI_006", "aws_cloudwatch_log_group", "kms_key_id")


check = LogGroupEncryptedWithCmk()

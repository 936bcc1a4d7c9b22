"""PCI-ENC-005: SNS topics are encrypted with a customer-managed KMS key"""

from policies.checkov_support import KeyAttributeIsCmk


class SnsTopicEncryptedWithCmk(KeyAttributeIsCmk):
    def __init__(self) -> None:
        super().__init__("CKV_PCI_004", "aws_sns_topic", "kms_master_key_id")


check = SnsTopicEncryptedWithCmk()

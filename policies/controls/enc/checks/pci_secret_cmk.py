"""PCI-ENC-008: Secrets Manager secrets are encrypted with a customer-managed KMS key"""

from policies.checkov_support import KeyAttributeIsCmk


class SecretEncryptedWithCmk(KeyAttributeIsCmk):
    def __init__(self) -> None:
        super().__init__("CKV_PCI_007", "aws_secretsmanager_secret", "kms_key_id")


check = SecretEncryptedWithCmk()

"""PCI-ENC-006: SQS queues are encrypted with a customer-managed KMS key"""

from policies.checkov_support import KeyAttributeIsCmk


class SqsQueueEncryptedWithCmk(KeyAttributeIsCmk):
    def __init__(self) -> None:
        super().__init__("CKV_PCI_005", "aws_sqs_queue", "kms_master_key_id")


check = SqsQueueEncryptedWithCmk()

"""PCI-ENC-010: Lambda environment variables are encrypted with a customer-managed KMS key"""

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult

from policies.checkov_support import PASSED, PciCheck, environment_variables, is_customer_managed_key, value, verdict


class LambdaEnvironmentEncryptedWithCmk(PciCheck):
    def __init__(self) -> None:
        super().__init__("CKV_PCI_009", ["aws_lambda_function"], CheckCategories.ENCRYPTION,
                         evaluated=["environment", "kms_key_arn"])

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        if environment_variables(conf) == []:
            return PASSED
        return verdict(is_customer_managed_key(value(conf, "kms_key_arn")))


check = LambdaEnvironmentEncryptedWithCmk()

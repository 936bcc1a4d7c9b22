"""PCI-LAM-002: Lambda functions have reserved concurrency"""

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult

from policies.checkov_support import PciCheck, is_number, value, verdict


class LambdaReservedConcurrency(PciCheck):
    def __init__(self) -> None:
        super().__init__("CKV_PCI_028", ["aws_lambda_function"], CheckCategories.GENERAL_SECURITY,
                         evaluated=["reserved_concurrent_executions"])

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        reserved = value(conf, "reserved_concurrent_executions")
        return verdict(is_number(reserved) and reserved >= 1)


check = LambdaReservedConcurrency()

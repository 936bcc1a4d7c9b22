"""PCI-LAM-005: Lambda functions use a supported runtime"""

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult

from policies.checkov_support import PciCheck, parameter, value, verdict


class LambdaRuntimeSupported(PciCheck):
    def __init__(self) -> None:
        super().__init__("CKV_PCI_043", ["aws_lambda_function"], CheckCategories.GENERAL_SECURITY,
                         evaluated=["runtime"])

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        return verdict(value(conf, "runtime") in parameter("lambda_runtimes"))


check = LambdaRuntimeSupported()

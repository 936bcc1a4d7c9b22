"""PCI-LAM-003: Lambda functions have active X-Ray tracing"""

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult

from policies.checkov_support import PciCheck, blocks, value, verdict


class LambdaActiveTracing(PciCheck):
    def __init__(self) -> None:
        super().__init__("CKV_PCI_029", ["aws_lambda_function"], CheckCategories.LOGGING,
                         evaluated=["tracing_config/[0]/mode"])

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        tracing = blocks(conf, "tracing_config")
        return verdict(bool(tracing) and value(tracing[0], "mode") == "Active")


check = LambdaActiveTracing()

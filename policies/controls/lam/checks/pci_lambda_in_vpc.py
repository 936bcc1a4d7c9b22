"""PCI-LAM-001: Lambda functions run inside the VPC"""

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult

from policies.checkov_support import PciCheck, blocks, value, verdict


class LambdaRunsInVpc(PciCheck):
    def __init__(self) -> None:
        super().__init__("CKV_PCI_027", ["aws_lambda_function"], CheckCategories.NETWORKING,
                         evaluated=["vpc_config"])

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        vpc = blocks(conf, "vpc_config")
        return verdict(bool(vpc) and bool(value(vpc[0], "subnet_ids")) and bool(value(vpc[0], "security_group_ids")))


check = LambdaRunsInVpc()

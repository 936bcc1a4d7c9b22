"""PCI-LAM-004: Lambda configuration comes from SSM, not environment variables"""

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult

from policies.checkov_support import PciCheck, environment_variables, verdict
from policies.predicates import disallowed_environment_variables


class LambdaConfigurationFromSsm(PciCheck):
    def __init__(self) -> None:
        super().__init__("CKV_PCI_030", ["aws_lambda_function"], CheckCategories.GENERAL_SECURITY,
                         evaluated=["environment"])

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        names = environment_variables(conf)
        return verdict(names is not None and not disallowed_environment_variables(names))


check = LambdaConfigurationFromSsm()

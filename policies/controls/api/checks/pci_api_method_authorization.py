"""PCI-API-004: API methods require authorization"""

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult

from policies.checkov_support import PciCheck, parameter, value, verdict


class ApiMethodAuthorized(PciCheck):
    def __init__(self) -> None:
        super().__init__("CKV_PCI_033", ["aws_api_gateway_method"], CheckCategories.IAM,
                         evaluated=["authorization"])

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        return verdict(value(conf, "authorization") in parameter("api_method_authorizations"))


check = ApiMethodAuthorized()

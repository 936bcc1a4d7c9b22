"""PCI-API-003: API methods validate requests"""

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult

from policies.checkov_support import PciCheck, value, verdict


class ApiMethodRequestValidated(PciCheck):
    def __init__(self) -> None:
        super().__init__("CKV_PCI_032", ["aws_api_gateway_method"], CheckCategories.GENERAL_SECURITY,
                         evaluated=["request_validator_id"])

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        validator = value(conf, "request_validator_id")
        return verdict(isinstance(validator, str) and bool(validator.strip()))


check = ApiMethodRequestValidated()

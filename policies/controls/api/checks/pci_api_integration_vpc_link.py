"""PCI-API-005: The API reaches the ALB only through a VPC link and an internal NLB"""

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult

from policies.checkov_support import PASSED, PciCheck, value, verdict


class ApiIntegrationUsesVpcLink(PciCheck):
    def __init__(self) -> None:
        super().__init__("CKV_PCI_034", ["aws_api_gateway_integration"], CheckCategories.NETWORKING,
                         evaluated=["type", "connection_type", "connection_id"])

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        if value(conf, "type") == "MOCK":
            return PASSED
        return verdict(value(conf, "connection_type") == "VPC_LINK" and bool(value(conf, "connection_id")))


check = ApiIntegrationUsesVpcLink()

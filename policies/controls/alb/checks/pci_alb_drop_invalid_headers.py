"""PCI-ALB-002: ALBs drop invalid HTTP header fields"""

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult

from policies.checkov_support import PASSED, PciCheck, is_application_load_balancer, value, verdict


class AlbDropsInvalidHeaders(PciCheck):
    def __init__(self) -> None:
        super().__init__("CKV_PCI_036", ["aws_lb"], CheckCategories.NETWORKING,
                         evaluated=["load_balancer_type", "drop_invalid_header_fields"])

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        if not is_application_load_balancer(conf):
            return PASSED
        return verdict(value(conf, "drop_invalid_header_fields") is True)


check = AlbDropsInvalidHeaders()

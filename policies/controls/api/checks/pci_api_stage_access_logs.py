"""PCI-API-001: API stages write access logs"""

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult

from policies.checkov_support import PciCheck, blocks, value, verdict


class ApiStageAccessLogging(PciCheck):
    def __init__(self) -> None:
        super().__init__("CKV_PCI_031", ["aws_api_gateway_stage"], CheckCategories.LOGGING,
                         evaluated=["access_log_settings"])

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        settings = blocks(conf, "access_log_settings")
        return verdict(bool(settings) and bool(value(settings[0], "destination_arn"))
                       and bool(value(settings[0], "format")))


check = ApiStageAccessLogging()

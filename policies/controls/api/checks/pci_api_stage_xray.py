"""PCI-API-006: API stages have X-Ray tracing"""

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult

from policies.checkov_support import PciCheck, value, verdict


class ApiStageXrayTracing(PciCheck):
    def __init__(self) -> None:
        super().__init__("CKV_PCI_040", ["aws_api_gateway_stage"], CheckCategories.LOGGING,
                         evaluated=["xray_tracing_enabled"])

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        return verdict(value(conf, "xray_tracing_enabled") is True)


check = ApiStageXrayTracing()

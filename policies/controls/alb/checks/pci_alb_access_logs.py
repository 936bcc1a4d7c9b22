"""PCI-ALB-004: ALBs write access logs"""

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult

from policies.checkov_support import PASSED, PciCheck, blocks, is_application_load_balancer, value, verdict


class AlbAccessLogsEnabled(PciCheck):
    def __init__(self) -> None:
        super().__init__("CKV_PCI_037", ["aws_lb"], CheckCategories.LOGGING,
                         evaluated=["access_logs"])

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        if not is_application_load_balancer(conf):
            return PASSED
        logs = blocks(conf, "access_logs")
        return verdict(bool(logs) and value(logs[0], "enabled") is True and bool(value(logs[0], "bucket")))


check = AlbAccessLogsEnabled()

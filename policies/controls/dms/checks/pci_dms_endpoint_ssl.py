"""PCI-DMS-001: DMS endpoints encrypt their connections"""

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult

from policies.checkov_support import PciCheck, parameter, value, verdict


class DmsEndpointSsl(PciCheck):
    def __init__(self) -> None:
        super().__init__("CKV_PCI_042", ["aws_dms_endpoint"], CheckCategories.ENCRYPTION, evaluated=["ssl_mode"])

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        return verdict(value(conf, "ssl_mode") in parameter("dms_ssl_modes"))


check = DmsEndpointSsl()

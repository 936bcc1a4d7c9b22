"""PCI-WAF-001: WAFv2 web ACLs have rules"""

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult

from policies.checkov_support import PciCheck, blocks, verdict


class WebAclHasRules(PciCheck):
    def __init__(self) -> None:
        super().__init__("CKV_PCI_041", ["aws_wafv2_web_acl"], CheckCategories.NETWORKING, evaluated=["rule"])

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        return verdict(bool(blocks(conf, "rule")))


check = WebAclHasRules()

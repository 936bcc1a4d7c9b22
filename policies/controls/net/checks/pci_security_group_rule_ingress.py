"""PCI-NET-002: No security group or network ACL admits ingress from anywhere"""

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult

from policies.checkov_support import PASSED, PciCheck, is_open, value, verdict


class SecurityGroupRuleIngressNotOpen(PciCheck):
    def __init__(self) -> None:
        super().__init__(
            "CKV_PCI_025", ["aws_security_group_rule", "aws_vpc_security_group_ingress_rule"],
            CheckCategories.NETWORKING,
            evaluated=["type", "cidr_blocks", "ipv6_cidr_blocks", "cidr_ipv4", "cidr_ipv6"])

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        if self.entity_type == "aws_vpc_security_group_ingress_rule":
            return verdict(not is_open(conf, "cidr_ipv4", "cidr_ipv6"))
        if value(conf, "type") != "ingress":
            return PASSED
        return verdict(not is_open(conf, "cidr_blocks", "ipv6_cidr_blocks"))


check = SecurityGroupRuleIngressNotOpen()

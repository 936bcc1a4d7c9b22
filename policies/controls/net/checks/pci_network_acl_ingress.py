"""PCI-NET-002: No security group or network ACL admits ingress from anywhere"""

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult

from policies.checkov_support import PASSED, PciCheck, blocks, is_open, value, verdict


class NetworkAclIngressNotOpen(PciCheck):
    def __init__(self) -> None:
        super().__init__("CKV_PCI_026", ["aws_network_acl", "aws_network_acl_rule"], CheckCategories.NETWORKING,
                         evaluated=["ingress", "egress", "rule_action", "cidr_block", "ipv6_cidr_block"])

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        if self.entity_type == "aws_network_acl":
            return verdict(not any(value(b, "action") == "allow" and is_open(b, "cidr_block", "ipv6_cidr_block")
                                   for b in blocks(conf, "ingress")))
        if value(conf, "egress") is True or value(conf, "rule_action") != "allow":
            return PASSED
        return verdict(not is_open(conf, "cidr_block", "ipv6_cidr_block"))


check = NetworkAclIngressNotOpen()

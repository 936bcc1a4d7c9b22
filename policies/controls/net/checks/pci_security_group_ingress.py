"""PCI-NET-002: No security group or network ACL admits ingress from anywhere"""

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult

from policies.checkov_support import PciCheck, blocks, is_open, verdict


class SecurityGroupIngressNotOpen(PciCheck):
    def __init__(self) -> None:
        super().__init__(
            "CKV_PCI_024", ["aws_security_group", "aws_default_security_group"], CheckCategories.NETWORKING,
            evaluated=["ingress"])

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        return verdict(not any(is_open(block, "cidr_blocks", "ipv6_cidr_blocks") for block in blocks(conf, "ingress")))


check = SecurityGroupIngressNotOpen()

"""PCI-ALB-001: ALB listeners are HTTPS-only with a TLS 1.2+ policy"""

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult

from policies.checkov_support import NLB_PROTOCOLS, PASSED, PciCheck, parameter, value, verdict


class AlbListenerHttpsWithModernTls(PciCheck):
    def __init__(self) -> None:
        super().__init__("CKV_PCI_035", ["aws_lb_listener"], CheckCategories.ENCRYPTION,
                         evaluated=["protocol", "ssl_policy"])

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        protocol = value(conf, "protocol")
        if protocol in NLB_PROTOCOLS:
            return PASSED  # a network load balancer's listener
        return verdict(protocol == "HTTPS" and value(conf, "ssl_policy") in parameter("alb_tls_policies"))


check = AlbListenerHttpsWithModernTls()

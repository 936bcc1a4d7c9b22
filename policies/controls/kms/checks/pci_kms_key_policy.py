"""PCI-KMS-002: KMS keys have an explicit key policy with no wildcard principal"""

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult

from policies.checkov_support import FAILED, PASSED, PciCheck, inline_policy_statements, is_reference, value, verdict


class KmsKeyPolicyExplicitWithoutWildcardPrincipal(PciCheck):
    def __init__(self) -> None:
        super().__init__("CKV_PCI_011", ["aws_kms_key"], CheckCategories.IAM,
                         evaluated=["policy"])

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        policy = value(conf, "policy")
        if not isinstance(policy, str) or not policy.strip():
            return FAILED
        if is_reference(policy):
            return PASSED  # a policy document of the synth: its statements are the JMESPath rule's to judge
        statements = inline_policy_statements(policy)
        return verdict(statements is not None and not any(
            s["effect"] == "Allow" and any(p["type"] == "*" or "*" in p["identifiers"] for p in s["principals"])
            for s in statements))


check = KmsKeyPolicyExplicitWithoutWildcardPrincipal()

"""PCI-S3-003: S3 buckets block every form of public access"""

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult

from policies.checkov_support import PciCheck, value, verdict


class S3PublicAccessFullyBlocked(PciCheck):
    def __init__(self) -> None:
        super().__init__(
            "CKV_PCI_014", ["aws_s3_bucket_public_access_block"], CheckCategories.NETWORKING,
            evaluated=["block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"])

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        return verdict(all(value(conf, key) is True for key in self.evaluated))


check = S3PublicAccessFullyBlocked()

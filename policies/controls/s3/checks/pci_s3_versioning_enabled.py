"""PCI-S3-001: S3 buckets have versioning enabled"""

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult

from policies.checkov_support import PciCheck, blocks, value, verdict


class S3VersioningEnabled(PciCheck):
    def __init__(self) -> None:
        super().__init__("CKV_PCI_012", ["aws_s3_bucket_versioning"], CheckCategories.BACKUP_AND_RECOVERY,
                         evaluated=["versioning_configuration/[0]/status"])

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        configuration = blocks(conf, "versioning_configuration")
        return verdict(bool(configuration) and value(configuration[0], "status") == "Enabled")


check = S3VersioningEnabled()

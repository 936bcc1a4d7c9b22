"""PCI-S3-005: Audit buckets have Object Lock with a default retention of at least a year"""

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult

from policies.checkov_support import PASSED, PciCheck, is_audit_bucket, value, verdict


class AuditBucketObjectLockEnabled(PciCheck):
    def __init__(self) -> None:
        super().__init__("CKV_PCI_015", ["aws_s3_bucket"], CheckCategories.BACKUP_AND_RECOVERY,
                         evaluated=["bucket", "bucket_prefix", "object_lock_enabled"])

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        if not is_audit_bucket(conf):
            return PASSED
        return verdict(value(conf, "object_lock_enabled") is True)


check = AuditBucketObjectLockEnabled()

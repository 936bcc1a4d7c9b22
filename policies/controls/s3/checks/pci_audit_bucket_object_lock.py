"""PCI-S3-005: Audit buckets have Object Lock with a default retention of at least a year"""

from checkov.common.models.enums import CheckCategories

from policies.checkov_support import PASSED, PciCheck, is_audit_bucket, value, verdict


class AuditBucketObjectLockEnabled(PciCheck):
    def __init__(self):
        super().__init__("CKV_PCI_015", ["aws_s3_bucket"], CheckCategories.BACKUP_AND_RECOVERY,
                         evaluated=["bucket", "bucket_prefix", "object_lock_enabled"])

    def scan_resource_conf(self, conf):
        if not is_audit_bucket(conf):
            return PASSED
        return verdict(value(conf, "object_lock_enabled") is True)


check = AuditBucketObjectLockEnabled()

"""PCI-S3-002: S3 lifecycle keeps objects hot for three months and deletes nothing younger than a year"""

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult

from policies.checkov_support import PciCheck, blocks, is_number, parameter, value, verdict


class S3LifecycleKeepsAuditHistory(PciCheck):
    def __init__(self) -> None:
        super().__init__("CKV_PCI_013", ["aws_s3_bucket_lifecycle_configuration"], CheckCategories.LOGGING,
                         evaluated=["rule"])

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        enabled = [rule for rule in blocks(conf, "rule") if value(rule, "status") == "Enabled"]
        archive = [t for rule in enabled for t in blocks(rule, "transition")
                   if value(t, "storage_class") in parameter("archive_storage_classes")]
        hot_enough = all(is_number(value(t, "days")) and value(t, "days") >= parameter("min_hot_tier_days")
                         for t in archive)
        expirations = [e for rule in enabled for e in blocks(rule, "expiration")]
        late_enough = all(value(e, "date") is None and (value(e, "days") is None or (
            is_number(value(e, "days")) and value(e, "days") >= parameter("min_current_object_expiration_days")))
            for e in expirations)
        return verdict(bool(archive) and hot_enough and late_enough)


check = S3LifecycleKeepsAuditHistory()

"""PCI-TRL-001: CloudTrail trails record every Region's management events, validated and encrypted with a CMK"""

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult

from policies.checkov_support import PciCheck, blocks, is_customer_managed_key, strings, value, verdict


def _management_events_recorded(conf: dict[str, Any]) -> bool:
    basic, advanced = blocks(conf, "event_selector"), blocks(conf, "advanced_event_selector")
    if not basic and not advanced:
        return True
    if any(value(s, "include_management_events") is not False and value(s, "read_write_type") in (None, "All")
           for s in basic):
        return True
    for selector in advanced:
        fields = blocks(selector, "field_selector")
        if [value(f, "field") for f in fields] == ["eventCategory"] and "Management" in strings(fields[0], "equals"):
            return True
    return False


class CloudTrailEveryRegionValidatedEncrypted(PciCheck):
    def __init__(self) -> None:
        super().__init__("CKV_PCI_039", ["aws_cloudtrail"], CheckCategories.LOGGING,
                         evaluated=["is_multi_region_trail", "enable_log_file_validation", "kms_key_id",
                                    "advanced_event_selector", "event_selector"])

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        return verdict(
            value(conf, "is_multi_region_trail") is True
            and value(conf, "enable_log_file_validation") is True
            and is_customer_managed_key(value(conf, "kms_key_id"))
            and _management_events_recorded(conf)
        )


check = CloudTrailEveryRegionValidatedEncrypted()

"""The audit trail (PCI-TRL-*): the synth-time aspect rules (pure functions)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.rules.registry import rule
from policies.rules.values import blocks, is_customer_managed_key
from policies.rules.verdict import Verdict, non_compliant, require


def records_all_management_events(attributes: Mapping[str, Any]) -> bool:
    """No selector (CloudTrail's default: every management event), a basic selector including management events
    of both kinds, or an advanced selector on eventCategory Management that filters nothing else."""
    basic = blocks(attributes.get("event_selector"))
    advanced = blocks(attributes.get("advanced_event_selector"))
    if not basic and not advanced:
        return True
    if any(s.get("include_management_events") is not False and s.get("read_write_type") in (None, "All")
           for s in basic):
        return True
    for selector in advanced:
        fields = blocks(selector.get("field_selector"))
        if [f.get("field") for f in fields] == ["eventCategory"] and "Management" in (fields[0].get("equals") or []):
            return True
    return False


@rule("PCI-TRL-001", "aws_cloudtrail")
def cloudtrail_records_every_region_validated_and_encrypted(attributes: Mapping[str, Any]) -> Verdict:
    if attributes.get("is_multi_region_trail") is not True:
        return non_compliant("is_multi_region_trail", attributes.get("is_multi_region_trail"), "true")
    if attributes.get("enable_log_file_validation") is not True:
        return non_compliant("enable_log_file_validation", attributes.get("enable_log_file_validation"), "true")
    if not is_customer_managed_key(attributes.get("kms_key_id")):
        return non_compliant("kms_key_id", attributes.get("kms_key_id"), "a customer-managed KMS key")
    return require(
        records_all_management_events(attributes),
        "advanced_event_selector",
        attributes.get("advanced_event_selector") or attributes.get("event_selector"),
        "every management event, read and write (no readOnly or other filter on the Management selector)",
    )

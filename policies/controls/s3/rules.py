"""The S3 audit archive (PCI-S3-*): the synth-time aspect rules (pure functions)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.rules.registry import rule
from policies.rules.values import at_least, blocks, is_audit_bucket, param
from policies.rules.verdict import NOT_APPLICABLE, Verdict, non_compliant, require, require_block_field, require_true


@rule("PCI-S3-001", "aws_s3_bucket_versioning")
def s3_versioning_enabled(attributes: Mapping[str, Any]) -> Verdict:
    return require_block_field(attributes, "versioning_configuration", "status", "Enabled")


@rule("PCI-S3-002", "aws_s3_bucket_lifecycle_configuration")
def s3_lifecycle_keeps_audit_history(attributes: Mapping[str, Any]) -> Verdict:
    enabled = [r for r in blocks(attributes.get("rule")) if r.get("status") == "Enabled"]
    archive_classes, hot_days = param("archive_storage_classes"), param("min_hot_tier_days")
    archive = [t for r in enabled for t in blocks(r.get("transition")) if t.get("storage_class") in archive_classes]
    if not archive:
        return non_compliant("rule[].transition", [r.get("transition") for r in enabled],
                             f"an Enabled rule transitioning to {' or '.join(archive_classes)}")
    early = [t for t in archive if not at_least(t.get("days"), hot_days)]
    if early:
        return non_compliant("rule[].transition[].days", early, f">= {hot_days} days (never a date)")
    minimum = param("min_current_object_expiration_days")
    expirations = [e for r in enabled for e in blocks(r.get("expiration"))]
    too_soon = [e for e in expirations if e.get("date") is not None
                or (e.get("days") is not None and not at_least(e.get("days"), minimum))]
    return require(not too_soon, "rule[].expiration", too_soon, f"none before {minimum} days (never a date)")


@rule("PCI-S3-003", "aws_s3_bucket_public_access_block")
def s3_public_access_fully_blocked(attributes: Mapping[str, Any]) -> Verdict:
    settings = ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")
    off = {key: attributes.get(key) for key in settings if attributes.get(key) is not True}
    return require(not off, ", ".join(off) or "", off, "all four settings true")


@rule("PCI-S3-005", "aws_s3_bucket")
def audit_bucket_object_lock_enabled(attributes: Mapping[str, Any]) -> Verdict:
    if not is_audit_bucket(attributes):
        return NOT_APPLICABLE
    return require_true(attributes, "object_lock_enabled", "true on an audit bucket")

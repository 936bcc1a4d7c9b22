"""S3 (PCI-S3-*), DynamoDB (PCI-DDB-*), Aurora (PCI-RDS-*) and log retention (PCI-LOG-001)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.aspects.pci.pack import rule
from app.aspects.pci.values import at_least, block, blocks, is_audit_bucket, is_number, param
from app.aspects.pci.verdict import COMPLIANT, NOT_APPLICABLE, Verdict, non_compliant, require


@rule("PCI-S3-001", "aws_s3_bucket_versioning")
def s3_versioning_enabled(attributes: Mapping[str, Any]) -> Verdict:
    status = block(attributes, "versioning_configuration").get("status")
    return require(status == "Enabled", "versioning_configuration.status", status, "Enabled")


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
    return require(attributes.get("object_lock_enabled") is True, "object_lock_enabled",
                   attributes.get("object_lock_enabled"), "true on an audit bucket")


@rule("PCI-DDB-001", "aws_dynamodb_table")
def dynamodb_point_in_time_recovery_enabled(attributes: Mapping[str, Any]) -> Verdict:
    enabled = block(attributes, "point_in_time_recovery").get("enabled")
    return require(enabled is True, "point_in_time_recovery.enabled", enabled, "true")


@rule("PCI-RDS-001", "aws_rds_cluster")
def rds_cluster_backups_retained(attributes: Mapping[str, Any]) -> Verdict:
    minimum = param("min_backup_retention_days")
    period = attributes.get("backup_retention_period")
    return require(at_least(period, minimum), "backup_retention_period", period, f">= {minimum}")


@rule("PCI-RDS-002", "aws_rds_cluster", scoped=True)
def production_rds_cluster_deletion_protected(attributes: Mapping[str, Any], *, environment: str) -> Verdict:
    # The stack's environment, never the cluster's own Environment tag (which PCI-TAG-002 checks against it).
    if environment in param("non_production_environments"):
        return NOT_APPLICABLE
    return require(attributes.get("deletion_protection") is True, "deletion_protection",
                   attributes.get("deletion_protection"), "true outside non-production environments")


@rule("PCI-RDS-003", "aws_rds_cluster")
def rds_cluster_iam_authentication_enabled(attributes: Mapping[str, Any]) -> Verdict:
    enabled = attributes.get("iam_database_authentication_enabled")
    return require(enabled is True, "iam_database_authentication_enabled", enabled, "true")


@rule("PCI-RDS-004", "aws_rds_cluster")
def rds_cluster_exports_postgresql_logs(attributes: Mapping[str, Any]) -> Verdict:
    exports = attributes.get("enabled_cloudwatch_logs_exports")
    return require(isinstance(exports, list) and "postgresql" in exports, "enabled_cloudwatch_logs_exports", exports,
                   'a list containing "postgresql"')


@rule("PCI-RDS-005", "aws_rds_cluster_parameter_group")
def cluster_parameter_group_forces_ssl(attributes: Mapping[str, Any]) -> Verdict:
    family = attributes.get("family")
    if isinstance(family, str) and "TfToken[" not in family and not family.startswith("aurora-postgresql"):
        return NOT_APPLICABLE  # other engines enforce TLS through other parameters
    parameters = blocks(attributes.get("parameter"))
    forced = any(p.get("name") == "rds.force_ssl" and str(p.get("value")) == "1" for p in parameters)
    return require(forced, "parameter", parameters, '{name = "rds.force_ssl", value = "1"}')


@rule("PCI-LOG-001", "aws_cloudwatch_log_group")
def log_group_retention_at_least_a_year(attributes: Mapping[str, Any]) -> Verdict:
    minimum = param("min_log_retention_days")
    retention = attributes.get("retention_in_days")
    if is_number(retention) and retention >= minimum:
        return COMPLIANT
    return non_compliant("retention_in_days", retention, f">= {minimum} (unset keeps logs without a defined retention)")

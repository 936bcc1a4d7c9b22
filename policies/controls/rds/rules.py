"""Aurora PostgreSQL (PCI-RDS-*): the synth-time aspect rules (pure functions)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.rules.registry import rule
from policies.rules.values import at_least, blocks, param
from policies.rules.verdict import NOT_APPLICABLE, Verdict, require, require_true


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
    return require_true(attributes, "deletion_protection", "true outside non-production environments")


@rule("PCI-RDS-003", "aws_rds_cluster")
def rds_cluster_iam_authentication_enabled(attributes: Mapping[str, Any]) -> Verdict:
    return require_true(attributes, "iam_database_authentication_enabled")


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

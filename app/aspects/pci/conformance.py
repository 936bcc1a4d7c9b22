"""Rules added to cover rules of the AWS Config PCI DSS conformance pack (policies/coverage.yaml) that the
platform's resources are subject to: API stage tracing (PCI-API-006), non-empty web ACLs (PCI-WAF-001), encrypted
DMS endpoint connections (PCI-DMS-001), supported Lambda runtimes (PCI-LAM-005) and compliance-mode Vault Locks
(PCI-BAK-001; that every vault has one is checked after synth)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.aspects.pci.pack import rule
from app.aspects.pci.values import at_least, blocks, param
from app.aspects.pci.verdict import Verdict, non_compliant, require


@rule("PCI-API-006", "aws_api_gateway_stage")
def api_stage_xray_tracing(attributes: Mapping[str, Any]) -> Verdict:
    enabled = attributes.get("xray_tracing_enabled")
    return require(enabled is True, "xray_tracing_enabled", enabled, "true")


@rule("PCI-WAF-001", "aws_wafv2_web_acl")
def web_acl_has_rules(attributes: Mapping[str, Any]) -> Verdict:
    rules = blocks(attributes.get("rule"))
    # A web ACL without rules only applies its default action.
    return require(bool(rules), "rule", attributes.get("rule"), "at least one rule")


@rule("PCI-DMS-001", "aws_dms_endpoint")
def dms_endpoint_encrypts_connections(attributes: Mapping[str, Any]) -> Verdict:
    mode = attributes.get("ssl_mode")
    allowed = param("dms_ssl_modes")
    return require(mode in allowed, "ssl_mode", mode, "one of " + ", ".join(allowed))


@rule("PCI-LAM-005", "aws_lambda_function")
def lambda_runtime_supported(attributes: Mapping[str, Any]) -> Verdict:
    runtime = attributes.get("runtime")
    allowed = param("lambda_runtimes")
    return require(runtime in allowed, "runtime", runtime, "one of " + ", ".join(allowed))


@rule("PCI-BAK-001", "aws_backup_vault_lock_configuration")
def backup_vault_lock_in_compliance_mode(attributes: Mapping[str, Any]) -> Verdict:
    # changeable_for_days is what makes a Vault Lock a compliance-mode lock (immutable once it has passed).
    if attributes.get("changeable_for_days") is None:
        return non_compliant("changeable_for_days", None, "set: a compliance-mode lock")
    minimum = attributes.get("min_retention_days")
    return require(at_least(minimum, param("min_backup_retention_days")), "min_retention_days", minimum,
                   f">= {param('min_backup_retention_days')} days")

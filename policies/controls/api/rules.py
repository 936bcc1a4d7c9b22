"""The REST API edge (PCI-API-*): the synth-time aspect rules (pure functions)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.rules.registry import rule
from policies.rules.values import block, is_set, param
from policies.rules.verdict import NOT_APPLICABLE, Verdict, require, require_true


@rule("PCI-API-001", "aws_api_gateway_stage")
def api_stage_access_logging(attributes: Mapping[str, Any]) -> Verdict:
    settings = block(attributes, "access_log_settings")
    return require(is_set(settings.get("destination_arn")) and is_set(settings.get("format")), "access_log_settings",
                   settings or None, "destination_arn and format")


@rule("PCI-API-003", "aws_api_gateway_method")
def api_method_request_validated(attributes: Mapping[str, Any]) -> Verdict:
    return require(is_set(attributes.get("request_validator_id")), "request_validator_id",
                   attributes.get("request_validator_id"), "a request validator")


@rule("PCI-API-004", "aws_api_gateway_method")
def api_method_authorized(attributes: Mapping[str, Any]) -> Verdict:
    allowed = param("api_method_authorizations")
    return require(attributes.get("authorization") in allowed, "authorization", attributes.get("authorization"),
                   " or ".join(allowed))


@rule("PCI-API-005", "aws_api_gateway_integration")
def api_integration_uses_vpc_link(attributes: Mapping[str, Any]) -> Verdict:
    if attributes.get("type") == "MOCK":
        return NOT_APPLICABLE
    return require(attributes.get("connection_type") == "VPC_LINK" and is_set(attributes.get("connection_id")),
                   "connection_type", attributes.get("connection_type"), "VPC_LINK with connection_id = the VPC link")


@rule("PCI-API-006", "aws_api_gateway_stage")
def api_stage_xray_tracing(attributes: Mapping[str, Any]) -> Verdict:
    return require_true(attributes, "xray_tracing_enabled")

"""Lambda functions (PCI-LAM-*), the API edge (PCI-API-*) and load balancers (PCI-ALB-*)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.aspects.pci.pack import rule
from app.aspects.pci.values import block, environment_variable_names, is_number, is_set, param
from app.aspects.pci.verdict import NOT_APPLICABLE, Verdict, require
from policies.predicates import disallowed_environment_variables

# Listener protocols of network load balancers; every other listener belongs to an application one.
NLB_PROTOCOLS = ("TCP", "TLS", "UDP", "TCP_UDP")


@rule("PCI-LAM-001", "aws_lambda_function")
def lambda_runs_in_vpc(attributes: Mapping[str, Any]) -> Verdict:
    vpc = block(attributes, "vpc_config")
    return require(is_set(vpc.get("subnet_ids")) and is_set(vpc.get("security_group_ids")), "vpc_config", vpc or None,
                   "subnet_ids and security_group_ids")


@rule("PCI-LAM-002", "aws_lambda_function")
def lambda_reserved_concurrency_set(attributes: Mapping[str, Any]) -> Verdict:
    reserved = attributes.get("reserved_concurrent_executions")
    return require(is_number(reserved) and reserved >= 1, "reserved_concurrent_executions", reserved, ">= 1")


@rule("PCI-LAM-003", "aws_lambda_function")
def lambda_active_tracing(attributes: Mapping[str, Any]) -> Verdict:
    mode = block(attributes, "tracing_config").get("mode")
    return require(mode == "Active", "tracing_config.mode", mode, "Active")


@rule("PCI-LAM-004", "aws_lambda_function")
def lambda_configuration_from_ssm(attributes: Mapping[str, Any]) -> Verdict:
    names = environment_variable_names(attributes)
    allowed, prefix = param("lambda_environment_allowed_keys"), param("lambda_environment_allowed_prefix")
    extra = ["<a token: unknown variables>"] if names is None else disallowed_environment_variables(names)
    return require(not extra, "environment.variables", extra, f"only {', '.join(allowed)} and {prefix}*")


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


@rule("PCI-ALB-001", "aws_lb_listener")
def alb_listener_https_with_modern_tls(attributes: Mapping[str, Any]) -> Verdict:
    protocol = attributes.get("protocol")
    if protocol in NLB_PROTOCOLS:
        return NOT_APPLICABLE
    policies = param("alb_tls_policies")
    return require(protocol == "HTTPS" and attributes.get("ssl_policy") in policies, "protocol, ssl_policy",
                   {"protocol": protocol, "ssl_policy": attributes.get("ssl_policy")},
                   f"HTTPS with one of {', '.join(policies)}")


def _is_application_load_balancer(attributes: Mapping[str, Any]) -> bool:
    return attributes.get("load_balancer_type") in (None, "application")


@rule("PCI-ALB-002", "aws_lb")
def alb_drops_invalid_headers(attributes: Mapping[str, Any]) -> Verdict:
    if not _is_application_load_balancer(attributes):
        return NOT_APPLICABLE
    return require(attributes.get("drop_invalid_header_fields") is True, "drop_invalid_header_fields",
                   attributes.get("drop_invalid_header_fields"), "true")


@rule("PCI-ALB-004", "aws_lb")
def alb_access_logs_enabled(attributes: Mapping[str, Any]) -> Verdict:
    if not _is_application_load_balancer(attributes):
        return NOT_APPLICABLE
    logs = block(attributes, "access_logs")
    return require(logs.get("enabled") is True and is_set(logs.get("bucket")), "access_logs", logs or None,
                   "enabled = true with a bucket")

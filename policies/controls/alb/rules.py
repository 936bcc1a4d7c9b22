"""Application load balancers (PCI-ALB-*): the synth-time aspect rules (pure functions)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.predicates import NLB_PROTOCOLS, is_application_load_balancer_type
from policies.rules.registry import rule
from policies.rules.values import block, is_set, param
from policies.rules.verdict import NOT_APPLICABLE, Verdict, require, require_true


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
    return is_application_load_balancer_type(attributes.get("load_balancer_type"))


@rule("PCI-ALB-002", "aws_lb")
def alb_drops_invalid_headers(attributes: Mapping[str, Any]) -> Verdict:
    if not _is_application_load_balancer(attributes):
        return NOT_APPLICABLE
    return require_true(attributes, "drop_invalid_header_fields")


@rule("PCI-ALB-004", "aws_lb")
def alb_access_logs_enabled(attributes: Mapping[str, Any]) -> Verdict:
    if not _is_application_load_balancer(attributes):
        return NOT_APPLICABLE
    logs = block(attributes, "access_logs")
    return require(logs.get("enabled") is True and is_set(logs.get("bucket")), "access_logs", logs or None,
                   "enabled = true with a bucket")

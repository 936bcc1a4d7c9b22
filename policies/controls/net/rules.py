"""Ingress from anywhere (PCI-NET-*): the synth-time aspect rules (pure functions)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.predicates import OPEN_IPV4, OPEN_IPV6
from policies.rules.registry import rule
from policies.rules.values import blocks
from policies.rules.verdict import COMPLIANT, Verdict, require

NO_OPEN_INGRESS = "no ingress from 0.0.0.0/0 or ::/0"


def _lists_open(block: Mapping[str, Any], ipv4: str, ipv6: str) -> bool:
    return OPEN_IPV4 in (block.get(ipv4) or []) or OPEN_IPV6 in (block.get(ipv6) or [])


def _is_open(block: Mapping[str, Any], ipv4: str, ipv6: str) -> bool:
    return block.get(ipv4) == OPEN_IPV4 or block.get(ipv6) == OPEN_IPV6


@rule("PCI-NET-002", "aws_security_group", "aws_default_security_group", "aws_security_group_rule",
      "aws_vpc_security_group_ingress_rule", "aws_network_acl", "aws_network_acl_rule", typed=True)
def ingress_not_open_to_the_internet(attributes: Mapping[str, Any], resource_type: str) -> Verdict:
    if resource_type in ("aws_security_group", "aws_default_security_group"):
        open_rules = [b for b in blocks(attributes.get("ingress")) if _lists_open(b, "cidr_blocks", "ipv6_cidr_blocks")]
        return require(not open_rules, "ingress", open_rules, NO_OPEN_INGRESS)
    if resource_type == "aws_security_group_rule":
        if attributes.get("type") != "ingress":
            return COMPLIANT
        return require(not _lists_open(attributes, "cidr_blocks", "ipv6_cidr_blocks"), "cidr_blocks",
                       attributes.get("cidr_blocks") or attributes.get("ipv6_cidr_blocks"), NO_OPEN_INGRESS)
    if resource_type == "aws_vpc_security_group_ingress_rule":
        return require(not _is_open(attributes, "cidr_ipv4", "cidr_ipv6"), "cidr_ipv4",
                       attributes.get("cidr_ipv4") or attributes.get("cidr_ipv6"), NO_OPEN_INGRESS)
    if resource_type == "aws_network_acl":
        open_rules = [b for b in blocks(attributes.get("ingress"))
                      if b.get("action") == "allow" and _is_open(b, "cidr_block", "ipv6_cidr_block")]
        return require(not open_rules, "ingress", open_rules, NO_OPEN_INGRESS)
    if attributes.get("egress") is True or attributes.get("rule_action") != "allow":
        return COMPLIANT
    return require(not _is_open(attributes, "cidr_block", "ipv6_cidr_block"), "cidr_block",
                   attributes.get("cidr_block") or attributes.get("ipv6_cidr_block"), NO_OPEN_INGRESS)

"""The web application firewall (PCI-WAF-*): the synth-time aspect rules (pure functions)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.rules.registry import rule
from policies.rules.values import blocks
from policies.rules.verdict import Verdict, require


@rule("PCI-WAF-001", "aws_wafv2_web_acl")
def web_acl_has_rules(attributes: Mapping[str, Any]) -> Verdict:
    rules = blocks(attributes.get("rule"))
    # A web ACL without rules only applies its default action.
    return require(bool(rules), "rule", attributes.get("rule"), "at least one rule")

"""Database migration endpoints (PCI-DMS-*): the synth-time aspect rules (pure functions)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.rules.registry import rule
from policies.rules.values import param
from policies.rules.verdict import Verdict, require


@rule("PCI-DMS-001", "aws_dms_endpoint")
def dms_endpoint_encrypts_connections(attributes: Mapping[str, Any]) -> Verdict:
    mode = attributes.get("ssl_mode")
    allowed = param("dms_ssl_modes")
    return require(mode in allowed, "ssl_mode", mode, "one of " + ", ".join(allowed))

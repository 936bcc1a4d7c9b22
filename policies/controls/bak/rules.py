"""Backup Vault Locks (PCI-BAK-*): the synth-time aspect rules (pure functions)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.rules.registry import rule
from policies.rules.values import at_least, param
from policies.rules.verdict import Verdict, non_compliant, require


@rule("PCI-BAK-001", "aws_backup_vault_lock_configuration")
def backup_vault_lock_in_compliance_mode(attributes: Mapping[str, Any]) -> Verdict:
    # changeable_for_days is what makes a Vault Lock a compliance-mode lock (immutable once it has passed).
    if attributes.get("changeable_for_days") is None:
        return non_compliant("changeable_for_days", None, "set: a compliance-mode lock")
    minimum = attributes.get("min_retention_days")
    return require(at_least(minimum, param("min_backup_retention_days")), "min_retention_days", minimum,
                   f">= {param('min_backup_retention_days')} days")

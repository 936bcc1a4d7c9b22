"""The ``baseline`` section: the security baseline stack (account-wide services owner, AWS Backup retention)."""

from __future__ import annotations

from typing import Any

from app.config.model import BackupConfig, BaselineConfig
from app.config.reader import FieldReader, int_between, is_bool

# AWS Backup: PCI DSS 12.10.1 restore capability; prod keeps 35 daily recovery points (as Aurora's own backups),
# other environments the catalog's min_backup_retention_days, and every environment keeps monthly recovery points
# a year. AWS Backup Vault Lock's grace period is at least 3 days.
MIN_PROD_DAILY_BACKUP_DAYS = 35
MIN_MONTHLY_BACKUP_DAYS = 365
MIN_VAULT_LOCK_CHANGEABLE_DAYS = 3


def validate_baseline(reader: FieldReader, raw: Any, environment: Any) -> BaselineConfig | None:
    data = reader.mapping(raw, "baseline", ("account_owner", "backup"))
    owner = reader.value(data, "baseline", "account_owner", is_bool, "true or false")
    field = "baseline.backup"
    backup = reader.mapping(
        data.get("backup", {}),
        field,
        ("daily_retention_days", "monthly_retention_days", "vault_lock_changeable_for_days"),
    )
    minimum_daily = MIN_PROD_DAILY_BACKUP_DAYS if environment == "prod" else reader.pci.min_backup_retention_days
    daily = reader.value(
        backup,
        field,
        "daily_retention_days",
        int_between(minimum_daily, 36500),
        f"at least {minimum_daily} days" + (" in prod" if environment == "prod" else ""),
    )
    monthly = reader.value(
        backup,
        field,
        "monthly_retention_days",
        int_between(MIN_MONTHLY_BACKUP_DAYS, 36500),
        f"at least {MIN_MONTHLY_BACKUP_DAYS} days: monthly recovery points are kept a year",
    )
    changeable = reader.value(
        backup,
        field,
        "vault_lock_changeable_for_days",
        int_between(MIN_VAULT_LOCK_CHANGEABLE_DAYS, 36500),
        f"at least {MIN_VAULT_LOCK_CHANGEABLE_DAYS} days (the AWS Backup Vault Lock grace period)",
    )
    if daily is not None and monthly is not None and monthly < daily:
        reader.problem(f"{field}.monthly_retention_days", monthly, f"at least daily_retention_days ({daily})")
        monthly = None
    if None in (owner, daily, monthly, changeable):
        return None
    return BaselineConfig(
        account_owner=owner,
        backup=BackupConfig(
            daily_retention_days=daily, monthly_retention_days=monthly, vault_lock_changeable_for_days=changeable
        ),
    )

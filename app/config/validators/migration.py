"""``data.migration``: AWS DMS full load + CDC from the on-prem database while enabled."""

from __future__ import annotations

import re
from typing import Any

from app.config.model import MigrationConfig, MigrationSourceConfig
from app.config.reader import FieldReader, arn_of, int_between, is_bool, is_cidr_list, is_text, matches, one_of

ACCOUNT_ROLE_OWNERSHIP = ("create", "existing")
DMS_INSTANCE_CLASS_RE = re.compile(r"^dms\.[a-z0-9]+\.[a-z0-9]+$")


def validate_migration(reader: FieldReader, raw: Any) -> MigrationConfig | None:
    field = "data.migration"
    data = reader.mapping(
        raw,
        field,
        ("enabled", "replication_instance_class", "allocated_storage_gb", "multi_az", "table_mappings"),
        optional=("source", "account_dms_roles"),
    )
    enabled = reader.value(data, field, "enabled", is_bool, "true or false")
    account_roles = None
    if enabled and "account_dms_roles" not in data:
        reader.missing(
            f"{field}.account_dms_roles",
            "required when migration is enabled "
            "(create: this environment owns the account's dms-vpc-role and dms-cloudwatch-logs-role; "
            "existing: another environment of the same account does)",
        )
    elif "account_dms_roles" in data:
        account_roles = reader.value(
            data,
            field,
            "account_dms_roles",
            *one_of(ACCOUNT_ROLE_OWNERSHIP),
        )
    instance = reader.value(
        data,
        field,
        "replication_instance_class",
        matches(DMS_INSTANCE_CLASS_RE),
        "a DMS instance class such as dms.r6i.large",
    )
    storage = reader.value(data, field, "allocated_storage_gb", int_between(20, 6144), "20 to 6144 GB")
    multi_az = reader.value(data, field, "multi_az", is_bool, "true or false")
    mappings: Any = data.get("table_mappings")
    if "table_mappings" in data and not (
        isinstance(mappings, list)
        and mappings
        and all(
            isinstance(m, dict) and set(m) == {"schema", "table"} and all(is_text(v) for v in m.values())
            for m in mappings
        )
    ):
        reader.problem(f"{field}.table_mappings", mappings, "a non-empty list of {schema, table} (% is a wildcard)")
        mappings = None
    source = None
    if enabled and "source" not in data:
        reader.missing(f"{field}.source", "required when migration is enabled")
    elif "source" in data:
        source = _source(reader, data["source"], f"{field}.source")
    if None in (enabled, instance, storage, multi_az, mappings) or (enabled and None in (source, account_roles)):
        return None
    return MigrationConfig(
        enabled=enabled,
        replication_instance_class=instance,
        allocated_storage_gb=storage,
        multi_az=multi_az,
        source=source,
        table_mappings=tuple(mappings),
        account_dms_roles=account_roles,
    )


def _source(reader: FieldReader, raw: Any, field: str) -> MigrationSourceConfig | None:
    data = reader.mapping(
        raw, field, ("host", "port", "database_name", "credentials_secret_arn", "ca_certificate_arn", "cidrs")
    )
    checks = {
        "host": (is_text, "the on-prem database host name"),
        "port": (int_between(1, 65535), "a TCP port"),
        "database_name": (is_text, "the on-prem database name"),
        "credentials_secret_arn": arn_of("secretsmanager", "a Secrets Manager secret holding the source credentials"),
        "ca_certificate_arn": arn_of("dms", "the DMS certificate of the on-prem CA (ssl_mode verify-full)"),
    }
    values = reader.values(data, field, checks)
    cidrs: Any = data.get("cidrs")
    valid_cidrs = is_cidr_list(cidrs)
    if "cidrs" in data and not valid_cidrs:
        reader.problem(f"{field}.cidrs", cidrs, "a non-empty list of on-prem IPv4 CIDRs (never 0.0.0.0/0)")
    elif valid_cidrs and "0.0.0.0/0" in cidrs:
        reader.problem(f"{field}.cidrs", cidrs, "specific on-prem CIDRs, not 0.0.0.0/0")
        valid_cidrs = False
    if any(value is None for value in values.values()) or not valid_cidrs:
        return None
    return MigrationSourceConfig(cidrs=tuple(cidrs), **values)

"""The ``data`` section: Aurora, DynamoDB, the audit archive, secret rotation and the DMS migration."""

from __future__ import annotations

from typing import Any

from app.config.model import DataConfig, DynamoDbConfig
from app.config.reader import FieldReader, deletion_protection, int_between, one_of
from app.config.validators.audit_archive import validate_audit_archive
from app.config.validators.aurora import validate_aurora
from app.config.validators.migration import validate_migration

BILLING_MODES = ("PAY_PER_REQUEST", "PROVISIONED")


def validate_data(reader: FieldReader, raw: Any, environment: Any) -> DataConfig | None:
    data = reader.mapping(raw, "data", ("aurora", "dynamodb", "audit_archive", "secret_rotation_days", "migration"))
    aurora = validate_aurora(reader, data.get("aurora", {}), environment)
    dynamo = reader.mapping(data.get("dynamodb", {}), "data.dynamodb", ("billing_mode", "deletion_protection"))
    billing = reader.value(dynamo, "data.dynamodb", "billing_mode", *one_of(BILLING_MODES))
    dynamo_protection = reader.value(
        dynamo,
        "data.dynamodb",
        "deletion_protection",
        *deletion_protection(environment),
    )
    archive = validate_audit_archive(reader, data.get("audit_archive", {}))
    rotation = reader.value(
        data,
        "data",
        "secret_rotation_days",
        int_between(1, reader.pci.max_secret_rotation_days),
        f"1 to {reader.pci.max_secret_rotation_days} days (PCI DSS 8.3.9 / 8.6.3)",
    )
    migration = validate_migration(reader, data.get("migration", {}))
    if aurora is None or archive is None or migration is None or None in (billing, dynamo_protection, rotation):
        return None
    return DataConfig(
        aurora=aurora,
        dynamodb=DynamoDbConfig(billing_mode=billing, deletion_protection=dynamo_protection),
        audit_archive=archive,
        secret_rotation_days=rotation,
        migration=migration,
    )

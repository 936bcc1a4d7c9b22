"""Log retention: the ``logging`` section (every log group but the VPC flow logs) and the check every
retention_days field shares (a CloudWatch value at or above the catalog's min_log_retention_days)."""

from __future__ import annotations

from typing import Any

from app.config.model import LoggingConfig
from app.config.reader import Check, FieldReader, is_int


def log_retention(reader: FieldReader) -> tuple[Check, str]:
    allowed = reader.pci.log_retention_days
    return (
        lambda v: is_int(v) and v in allowed,
        f"a CloudWatch retention of at least {reader.pci.min_log_retention_days} days: " + ", ".join(map(str, allowed)),
    )


def validate_logging(reader: FieldReader, raw: Any) -> LoggingConfig | None:
    data = reader.mapping(raw, "logging", ("retention_days",))
    retention = reader.value(data, "logging", "retention_days", *log_retention(reader))
    return None if retention is None else LoggingConfig(retention_days=retention)

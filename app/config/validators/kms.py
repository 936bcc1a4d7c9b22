"""The ``kms`` section: how long a scheduled key deletion can still be cancelled."""

from __future__ import annotations

from typing import Any

from app.config.model import KmsConfig
from app.config.reader import FieldReader, int_between


def validate_kms(reader: FieldReader, raw: Any) -> KmsConfig | None:
    data = reader.mapping(raw, "kms", ("deletion_window_days",))
    window = reader.value(data, "kms", "deletion_window_days", int_between(7, 30), "an integer from 7 to 30 (days)")
    return None if window is None else KmsConfig(deletion_window_days=window)

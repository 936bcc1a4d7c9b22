"""The ``backend`` section: where Terraform state lives (local for dev only; S3 encrypted and locked elsewhere)."""

from __future__ import annotations

from typing import Any

from app.config.model import BackendConfig, S3BackendConfig
from app.config.reader import FieldReader, is_text, one_of

BACKEND_TYPES = ("local", "s3")
# Only dev may keep Terraform state on the machine that ran the apply.
LOCAL_STATE_ENVIRONMENTS = ("dev",)
S3_LOCKING = ("lockfile", "dynamodb")


def validate_backend(reader: FieldReader, raw: Any) -> BackendConfig | None:
    data = reader.mapping(raw, "backend", ("type",), optional=("s3",))
    kind = reader.value(data, "backend", "type", *one_of(BACKEND_TYPES))
    if kind is None:
        return None
    if kind == "local":
        if "s3" in data:
            reader.problem("backend.s3", data["s3"], "no s3 settings when backend.type is local")
            return None
        return BackendConfig(type="local", s3=None)
    if "s3" not in data:
        reader.missing("backend.s3", "required when backend.type is s3")
        return None
    s3 = reader.mapping(
        data["s3"],
        "backend.s3",
        ("bucket", "key_prefix", "region", "kms_key_id", "locking"),
        optional=("dynamodb_table",),
    )
    values = {
        key: reader.value(s3, "backend.s3", key, is_text, "a non-empty string")
        for key in ("bucket", "key_prefix", "region", "kms_key_id")
    }
    locking = reader.value(s3, "backend.s3", "locking", *one_of(S3_LOCKING))
    table = s3.get("dynamodb_table")
    if locking == "dynamodb" and not is_text(table):
        reader.problem("backend.s3.dynamodb_table", table, "a table name when backend.s3.locking is dynamodb")
        return None
    if locking == "lockfile" and table is not None:
        reader.problem("backend.s3.dynamodb_table", table, "nothing when backend.s3.locking is lockfile")
        return None
    if locking is None or any(v is None for v in values.values()):
        return None
    return BackendConfig(type="s3", s3=S3BackendConfig(locking=locking, dynamodb_table=table, **values))

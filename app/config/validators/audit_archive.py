"""``data.audit_archive``: the Object Lock audit-log bucket; retention floors come from the catalog (PCI DSS 10.5.1)."""

from __future__ import annotations

from typing import Any

from app.config.model import AuditArchiveConfig, StorageTransition
from app.config.reader import FieldReader, int_between, one_of

OBJECT_LOCK_MODES = ("COMPLIANCE", "GOVERNANCE")
# The classes an audit-archive transition may move to; whatever the class, the first transition waits the
# catalog's min_hot_tier_days (its archive_storage_classes are only the classes the gate must check).
TRANSITION_STORAGE_CLASSES = ("GLACIER_IR", "GLACIER", "DEEP_ARCHIVE")


def validate_audit_archive(reader: FieldReader, raw: Any) -> AuditArchiveConfig | None:
    field = "data.audit_archive"
    data = reader.mapping(
        raw,
        field,
        (
            "object_lock_mode",
            "object_lock_retention_days",
            "transitions",
            "expiration_days",
            "noncurrent_version_expiration_days",
        ),
    )
    mode = reader.value(data, field, "object_lock_mode", *one_of(OBJECT_LOCK_MODES))
    min_lock, min_expiration = reader.pci.min_object_lock_retention_days, reader.pci.min_current_object_expiration_days
    min_hot = reader.pci.min_hot_tier_days
    lock_days = reader.value(
        data,
        field,
        "object_lock_retention_days",
        int_between(min_lock, 36500),
        f"at least {min_lock} days (PCI DSS 10.5.1)",
    )
    expiration = reader.value(
        data,
        field,
        "expiration_days",
        int_between(min_expiration, 36500),
        f"at least {min_expiration} days: audit logs are kept a year or longer",
    )
    # A noncurrent version is audit history too: kept as long as a current object.
    noncurrent = reader.value(
        data,
        field,
        "noncurrent_version_expiration_days",
        int_between(min_expiration, 36500),
        f"at least {min_expiration} days",
    )
    transitions: list[StorageTransition] = []
    raw_transitions = data.get("transitions")
    if "transitions" in data and (not isinstance(raw_transitions, list) or not raw_transitions):
        reader.problem(f"{field}.transitions", raw_transitions, "a non-empty list of {days, storage_class}")
    elif isinstance(raw_transitions, list):
        previous = 0
        entries = reader.entries(raw_transitions, f"{field}.transitions", ("days", "storage_class"))
        for index, (name, entry) in enumerate(entries):
            days = reader.value(
                entry,
                name,
                "days",
                int_between(min_hot if index == 0 else previous + 1, 36500),
                f"at least {min_hot} days in STANDARD before the first transition (PCI DSS "
                f"10.5.1: three months immediately available)"
                if index == 0
                else f"more days than the previous transition ({previous})",
            )
            storage = reader.value(
                entry,
                name,
                "storage_class",
                *one_of(TRANSITION_STORAGE_CLASSES),
            )
            if days is not None and storage is not None:
                transitions.append(StorageTransition(days=days, storage_class=storage))
                previous = days
        if expiration is not None and transitions and expiration <= transitions[-1].days:
            reader.problem(
                f"{field}.expiration_days", expiration, f"more days than the last transition ({transitions[-1].days})"
            )
            expiration = None
    if lock_days is not None and expiration is not None and expiration < lock_days:
        reader.problem(f"{field}.expiration_days", expiration, f"at least the Object Lock retention ({lock_days} days)")
        expiration = None
    if (
        None in (mode, lock_days, expiration, noncurrent)
        or not transitions
        or (isinstance(raw_transitions, list) and len(transitions) != len(raw_transitions))
    ):
        return None
    return AuditArchiveConfig(
        object_lock_mode=mode,
        object_lock_retention_days=lock_days,
        transitions=tuple(transitions),
        expiration_days=expiration,
        noncurrent_version_expiration_days=noncurrent,
    )

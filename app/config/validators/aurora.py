"""``data.aurora``: the Aurora PostgreSQL cluster (version, readers and their autoscaling, backups, windows,
users, monitoring)."""

from __future__ import annotations

import re
from typing import Any

from app.config.model import AuroraConfig
from app.config.reader import FieldReader, deletion_protection, int_between, is_int, matches

_WINDOW_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$")
_WEEKLY_WINDOW_RE = re.compile(
    r"^(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):[0-5]\d-(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):[0-5]\d$"
)
_IDENTIFIER_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
AURORA_INSTANCE_CLASS_RE = re.compile(r"^db\.[a-z0-9]+\.[a-z0-9]+$")
PERFORMANCE_INSIGHTS_RETENTION = (7, 731, *tuple(31 * months for months in range(1, 24)))
MONITORING_INTERVALS = (1, 5, 10, 15, 30, 60)


def validate_aurora(reader: FieldReader, raw: Any, environment: Any) -> AuroraConfig | None:
    field = "data.aurora"
    keys = (
        "engine_version",
        "instance_class",
        "readers",
        "reader_autoscaling",
        "backup_retention_days",
        "backup_window",
        "maintenance_window",
        "deletion_protection",
        "database_name",
        "master_username",
        "app_username",
        "performance_insights_retention_days",
        "monitoring_interval_seconds",
        "ca_bundle_file",
    )
    data = reader.mapping(raw, field, keys)
    minimum_readers = 2 if environment == "prod" else 1
    checks = {
        "engine_version": (
            lambda v: isinstance(v, str) and re.fullmatch(r"1[5-7]\.\d+", v) is not None,
            'an Aurora PostgreSQL 15-17 version string such as "15.10"',
        ),
        "instance_class": (matches(AURORA_INSTANCE_CLASS_RE), "an RDS instance class such as db.r6g.large"),
        "readers": (
            int_between(minimum_readers, 15),
            f"{minimum_readers} to 15 reader instances"
            + (" (prod keeps at least two, in other AZs than the writer)" if minimum_readers == 2 else ""),
        ),
        "backup_retention_days": (
            int_between(35, 35) if environment == "prod" else int_between(7, 35),
            "35 days in prod" if environment == "prod" else "7 to 35 days",
        ),
        "backup_window": (matches(_WINDOW_RE), "a daily UTC window hh:mm-hh:mm, e.g. 03:00-04:00"),
        "maintenance_window": (
            matches(_WEEKLY_WINDOW_RE),
            "a weekly UTC window ddd:hh:mm-ddd:hh:mm, e.g. sun:04:30-sun:05:30",
        ),
        "deletion_protection": deletion_protection(environment),
        "database_name": (matches(_IDENTIFIER_RE), "a lower-case PostgreSQL identifier"),
        "master_username": (
            lambda v: (
                isinstance(v, str) and bool(_IDENTIFIER_RE.match(v)) and v not in ("postgres", "rdsadmin", "admin")
            ),
            "a lower-case PostgreSQL identifier other than postgres, rdsadmin, admin",
        ),
        "app_username": (
            lambda v: isinstance(v, str) and bool(_IDENTIFIER_RE.match(v)) and len(v) <= 56,
            "a lower-case PostgreSQL identifier of at most 56 characters (room for _clone)",
        ),
        "performance_insights_retention_days": (
            lambda v: is_int(v) and v in PERFORMANCE_INSIGHTS_RETENTION,
            "7, 731 or a multiple of 31 up to 713",
        ),
        "monitoring_interval_seconds": (
            lambda v: is_int(v) and v in MONITORING_INTERVALS,
            "one of " + ", ".join(map(str, MONITORING_INTERVALS)) + " (enhanced monitoring stays on)",
        ),
        "ca_bundle_file": (
            lambda v: isinstance(v, str) and v.endswith(".pem") and not v.startswith("/") and ".." not in v.split("/"),
            "a .pem path relative to the repository root (the RDS CA bundle of the region)",
        ),
    }
    values = reader.values(data, field, checks)
    scaling = reader.mapping(
        data.get("reader_autoscaling", {}), f"{field}.reader_autoscaling", ("min", "max", "target_cpu_percent")
    )
    low = reader.value(scaling, f"{field}.reader_autoscaling", "min", int_between(1, 15), "1 to 15 readers")
    high = reader.value(scaling, f"{field}.reader_autoscaling", "max", int_between(1, 15), "1 to 15 readers")
    cpu = reader.value(
        scaling,
        f"{field}.reader_autoscaling",
        "target_cpu_percent",
        int_between(10, 90),
        "a CPU target from 10 to 90 percent",
    )
    if values["readers"] is not None and low is not None and low != values["readers"]:
        reader.problem(f"{field}.reader_autoscaling.min", low, f"the provisioned reader count ({values['readers']})")
        low = None
    if low is not None and high is not None and high < low:
        reader.problem(f"{field}.reader_autoscaling.max", high, f"at least reader_autoscaling.min ({low})")
        high = None
    if any(v is None for v in values.values()) or None in (low, high, cpu):
        return None
    return AuroraConfig(
        reader_autoscaling_min=low, reader_autoscaling_max=high, reader_target_cpu_percent=cpu, **values
    )

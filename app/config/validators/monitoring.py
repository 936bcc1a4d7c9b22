"""The ``monitoring`` section: alarm thresholds and who receives the alerts."""

from __future__ import annotations

import re
from typing import Any

from app.config.model import MonitoringConfig, Subscription
from app.config.reader import FieldReader, arn_of, int_between, is_int, matches, one_of

SUBSCRIPTION_PROTOCOLS = ("email", "https", "sqs")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$")


def validate_subscriptions(reader: FieldReader, raw: Any, field: str) -> tuple[Subscription, ...] | None:
    if not isinstance(raw, list) or not raw:
        reader.problem(field, raw, "a non-empty list of {protocol, endpoint}: someone must receive the alerts")
        return None
    found = []
    for name, entry in reader.entries(raw, field, ("protocol", "endpoint")):
        protocol = reader.value(
            entry,
            name,
            "protocol",
            *one_of(SUBSCRIPTION_PROTOCOLS),
        )
        checks = {
            "email": (matches(_EMAIL_RE), "an e-mail address"),
            "https": (lambda v: isinstance(v, str) and v.startswith("https://"), "an https:// URL"),
            "sqs": arn_of("sqs", "an SQS queue"),
        }
        endpoint = reader.value(entry, name, "endpoint", *checks[protocol]) if protocol else None
        if protocol is None or endpoint is None:
            return None
        found.append(Subscription(protocol=protocol, endpoint=endpoint))
    return tuple(found)


def validate_monitoring(reader: FieldReader, raw: Any) -> MonitoringConfig | None:
    numbers = {
        "period_seconds": (lambda v: is_int(v) and v in (10, 30, 60, 300), "10, 30, 60 or 300 seconds"),
        "evaluation_periods": (int_between(1, 60), "1 to 60"),
        "datapoints_to_alarm": (int_between(1, 60), "1 to 60, at most evaluation_periods"),
        "api_latency_p99_ms": (int_between(50, 29000), "50 to 29000 ms"),
        "api_integration_latency_p99_ms": (int_between(50, 29000), "50 to 29000 ms"),
        "api_5xx_rate_percent": (lambda v: isinstance(v, (int, float)) and 0 < v <= 100, "a percentage above 0"),
        "api_4xx_rate_percent": (lambda v: isinstance(v, (int, float)) and 0 < v <= 100, "a percentage above 0"),
        "target_5xx_count": (int_between(1, 100000), "1 or more errors per period"),
        "lambda_duration_p99_ratio": (
            lambda v: isinstance(v, (int, float)) and 0 < v <= 1,
            "a fraction of the function timeout, e.g. 0.8",
        ),
        "aurora_cpu_percent": (int_between(1, 100), "1 to 100 percent"),
        "aurora_max_connections": (int_between(1, 100000), "a connection count"),
        "aurora_replica_lag_ms": (int_between(1, 3600000), "milliseconds"),
        "aurora_min_freeable_memory_mb": (int_between(1, 1000000), "megabytes"),
        "failed_transactions_per_period": (int_between(1, 100000), "1 or more failed payments per period"),
        "green_5xx_rate_percent": (lambda v: isinstance(v, (int, float)) and 0 < v <= 100, "a percentage above 0"),
        "green_p99_ms": (int_between(50, 29000), "50 to 29000 ms"),
    }
    data = reader.mapping(raw, "monitoring", ("subscriptions", *numbers))
    values = reader.values(data, "monitoring", numbers)
    if (
        None not in (values["evaluation_periods"], values["datapoints_to_alarm"])
        and values["datapoints_to_alarm"] > values["evaluation_periods"]
    ):
        reader.problem(
            "monitoring.datapoints_to_alarm",
            values["datapoints_to_alarm"],
            f"at most evaluation_periods ({values['evaluation_periods']})",
        )
        values["datapoints_to_alarm"] = None
    subscriptions = reader.mapping(
        data.get("subscriptions", {}), "monitoring.subscriptions", ("failed_transactions", "system_errors")
    )
    failed = validate_subscriptions(
        reader, subscriptions.get("failed_transactions"), "monitoring.subscriptions.failed_transactions"
    )
    errors = validate_subscriptions(
        reader, subscriptions.get("system_errors"), "monitoring.subscriptions.system_errors"
    )
    if failed is None or errors is None or any(v is None for v in values.values()):
        return None
    return MonitoringConfig(failed_transactions_subscriptions=failed, system_errors_subscriptions=errors, **values)

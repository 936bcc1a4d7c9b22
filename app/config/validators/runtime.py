"""The ``runtime`` section: values the Lambdas read from SSM at run time."""

from __future__ import annotations

import re
from typing import Any

from app.config.model import RuntimeConfig
from app.config.reader import FieldReader, int_between

_AMOUNT_RE = re.compile(r"^\d+(\.\d+)?$")
_CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
FRAUD_THRESHOLD_KEYS = (
    "review_score",
    "decline_score",
    "velocity_window_seconds",
    "max_card_transactions_in_window",
    "max_customer_transactions_in_window",
    "high_amount_ratio",
    "risky_merchant_categories",
)


def validate_runtime(reader: FieldReader, raw: Any) -> RuntimeConfig | None:
    data = reader.mapping(raw, "runtime", ("powertools_layer_version", "validation_max_amount", "fraud_thresholds"))
    layer = reader.value(
        data,
        "runtime",
        "powertools_layer_version",
        int_between(1, 1000),
        "the version number of the AWS-managed Powertools for AWS Lambda (Python) v3 layer",
    )
    limits = data.get("validation_max_amount")
    if "validation_max_amount" in data and not (
        isinstance(limits, dict)
        and limits
        and all(
            isinstance(k, str) and _CURRENCY_RE.match(k) and isinstance(v, str) and _AMOUNT_RE.match(v)
            for k, v in limits.items()
        )
    ):
        reader.problem(
            "runtime.validation_max_amount",
            limits,
            'a mapping of ISO 4217 currency code to maximum amount as a decimal string, e.g. USD: "25000.00"',
        )
        limits = None
    thresholds = reader.mapping(data.get("fraud_thresholds", {}), "runtime.fraud_thresholds", FRAUD_THRESHOLD_KEYS)
    checks = {
        "review_score": (int_between(1, 100), "a score from 1 to 100"),
        "decline_score": (int_between(1, 100), "a score from 1 to 100, above review_score"),
        "velocity_window_seconds": (int_between(60, 86400), "60 to 86400 seconds"),
        "max_card_transactions_in_window": (int_between(1, 1000), "1 to 1000"),
        "max_customer_transactions_in_window": (int_between(1, 1000), "1 to 1000"),
        "high_amount_ratio": (
            lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and v > 1,
            "a number greater than 1",
        ),
        "risky_merchant_categories": (
            lambda v: isinstance(v, list) and all(isinstance(c, str) and re.fullmatch(r"\d{4}", c) for c in v),
            "a list of 4-digit merchant category codes",
        ),
    }
    values = reader.values(thresholds, "runtime.fraud_thresholds", checks)
    if (
        values["review_score"] is not None
        and values["decline_score"] is not None
        and values["decline_score"] <= values["review_score"]
    ):
        reader.problem(
            "runtime.fraud_thresholds.decline_score",
            values["decline_score"],
            f"a score above review_score ({values['review_score']})",
        )
        values["decline_score"] = None
    if layer is None or limits is None or any(v is None for v in values.values()):
        return None
    return RuntimeConfig(powertools_layer_version=layer, validation_max_amount=dict(limits), fraud_thresholds=values)

"""Configuration comes only from SSM Parameter Store, below the path in `CONFIG_PATH` (e.g. `/payments/dev`).

Values are cached per container for `PARAMETER_MAX_AGE_SECONDS`, so a changed parameter takes effect within
five minutes without a deployment and a warm function does not call SSM on every request.
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools.utilities import parameters

PARAMETER_MAX_AGE_SECONDS = 300

TRANSACTIONS_TABLE = "dynamodb/transactions-table"
IDEMPOTENCY_TABLE = "dynamodb/idempotency-table"
FAILED_TRANSACTIONS_TOPIC_ARN = "sns/failed-transactions-topic-arn"
PAYMENT_VALIDATION_FUNCTION = "functions/payment-validation-name"
FRAUD_DETECTION_FUNCTION = "functions/fraud-detection-name"
VALIDATION_LIMITS = "validation/limits"
FRAUD_THRESHOLDS = "fraud/thresholds"
CARD_TOKEN_KEY = "secure/card-token-key"


def parameter_name(relative_name: str) -> str:
    """The full SSM name of a parameter, e.g. `dynamodb/transactions-table` -> `/payments/dev/dynamodb/...`."""
    return f"{os.environ['CONFIG_PATH'].rstrip('/')}/{relative_name}"


def read_text(relative_name: str) -> str:
    return parameters.get_parameter(parameter_name(relative_name), max_age=PARAMETER_MAX_AGE_SECONDS)


def read_json(relative_name: str) -> Any:
    return parameters.get_parameter(parameter_name(relative_name), transform="json", max_age=PARAMETER_MAX_AGE_SECONDS)


def read_secure_text(relative_name: str) -> str:
    """A SecureString parameter, decrypted (needs kms:Decrypt on the parameter's key)."""
    return parameters.get_parameter(parameter_name(relative_name), decrypt=True, max_age=PARAMETER_MAX_AGE_SECONDS)

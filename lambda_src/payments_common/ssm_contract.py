"""The runtime-configuration contract in SSM Parameter Store: every parameter the stacks publish below
``/payments/<env>/``, its SSM type, the shape of its value and the functions that read it.

The stacks write exactly these parameters (``app/components/parameters.py`` refuses a type or shape that
disagrees), the compute stack grants each function ``ssm:GetParameter`` on exactly the ones it reads here,
and the functions read them through ``payments_common.settings``. It lives in ``payments_common`` because
the functions' zips ship that package and nothing else of the repository; ``app/`` imports it from here.
Standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass

ROOT = "/payments"

STRING = "String"
SECURE_STRING = "SecureString"
TEXT = "text"
JSON = "json"  # a JSON document, written with sorted keys


@dataclass(frozen=True)
class Parameter:
    name: str  # below the environment's path, e.g. dynamodb/transactions-table
    type: str  # the SSM parameter type: String or SecureString (encrypted with the parameters key)
    value_format: str  # text or json
    readers: tuple[str, ...] = ()  # functions (directories of lambda_src/) that read it at run time

    def __post_init__(self) -> None:
        if self.type not in (STRING, SECURE_STRING) or self.value_format not in (TEXT, JSON):
            raise ValueError(f"parameter {self.name}: type {self.type!r} / format {self.value_format!r} is unknown")


def parameter_path(environment: str) -> str:
    """The prefix of an environment's parameters, e.g. /payments/dev (the functions get it as CONFIG_PATH)."""
    return f"{ROOT}/{environment}"


TRANSACTIONS_TABLE = Parameter(
    "dynamodb/transactions-table", STRING, TEXT, readers=("fraud_detection", "transaction_processing")
)
IDEMPOTENCY_TABLE = Parameter(
    "dynamodb/idempotency-table", STRING, TEXT, readers=("fraud_detection", "transaction_processing")
)
AURORA_WRITER_ENDPOINT = Parameter("aurora/writer-endpoint", STRING, TEXT)
AURORA_READER_ENDPOINT = Parameter("aurora/reader-endpoint", STRING, TEXT)
AURORA_PORT = Parameter("aurora/port", STRING, TEXT)
AURORA_APP_SECRET_ARN = Parameter("aurora/app-secret-arn", STRING, TEXT)
AUDIT_BUCKET = Parameter("s3/audit-bucket", STRING, TEXT)
VALIDATION_LIMITS = Parameter("validation/limits", STRING, JSON, readers=("payment_validation",))
FRAUD_THRESHOLDS = Parameter("fraud/thresholds", STRING, JSON, readers=("fraud_detection",))
CARD_TOKEN_KEY = Parameter("secure/card-token-key", SECURE_STRING, TEXT, readers=("payment_validation",))
PAYMENT_VALIDATION_FUNCTION = Parameter(
    "functions/payment-validation-name", STRING, TEXT, readers=("transaction_processing",)
)
FRAUD_DETECTION_FUNCTION = Parameter(
    "functions/fraud-detection-name", STRING, TEXT, readers=("transaction_processing",)
)
FAILED_TRANSACTIONS_TOPIC_ARN = Parameter(
    "sns/failed-transactions-topic-arn", STRING, TEXT, readers=("transaction_processing",)
)
TRAFFIC_WEIGHTS = Parameter("traffic/weights", STRING, JSON)

PARAMETERS = (
    TRANSACTIONS_TABLE,
    IDEMPOTENCY_TABLE,
    AURORA_WRITER_ENDPOINT,
    AURORA_READER_ENDPOINT,
    AURORA_PORT,
    AURORA_APP_SECRET_ARN,
    AUDIT_BUCKET,
    VALIDATION_LIMITS,
    FRAUD_THRESHOLDS,
    CARD_TOKEN_KEY,
    PAYMENT_VALIDATION_FUNCTION,
    FRAUD_DETECTION_FUNCTION,
    FAILED_TRANSACTIONS_TOPIC_ARN,
    TRAFFIC_WEIGHTS,
)


def read_by(function: str) -> tuple[Parameter, ...]:
    """The parameters a function reads: the only ones its role may get."""
    return tuple(parameter for parameter in PARAMETERS if function in parameter.readers)

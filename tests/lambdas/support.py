"""The payment functions' test platform: their code loaded as Lambda loads it, AWS emulated by moto.

Lambda puts a function's zip root on sys.path, so `handler.py` is a top-level module and `payments_common`
a top-level package next to it. `load_handler` reproduces that: `lambda_src/` goes on sys.path (for
`payments_common`) and each `handler.py` is imported from its file under its own module name, because the
three functions' modules are all called `handler`. Loading the same function under a second name gives an
independent copy, like a second Lambda container.

payment_validation and fraud_detection are reached through transaction_processing's `invoke_function`
seam. moto's Lambda needs Docker, so `InProcessLambda` runs their real handlers in this process instead,
with the invoke API's contract: JSON in, JSON out, an exception becomes `FunctionError: Unhandled`.
"""

from __future__ import annotations

import importlib.util
import io
import json
import logging
import os
import random
import re
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import wraps
from pathlib import Path
from types import ModuleType
from typing import Any, Callable
from unittest.mock import patch

import boto3
from aws_lambda_powertools.utilities import parameters
from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.dynamodb.models import DynamoDBBackend

from lambda_src.payments_common import ssm_contract

LAMBDA_SRC = Path(__file__).resolve().parents[2] / "lambda_src"
FUNCTIONS = ("payment_validation", "fraud_detection", "transaction_processing")

CONFIG_PATH = ssm_contract.parameter_path("test")
TRANSACTIONS_TABLE = "payments-test-transactions"
IDEMPOTENCY_TABLE = "payments-test-idempotency"
PAYMENT_VALIDATION_FUNCTION = "payments-test-payment-validation:live"
# transaction_processing's idempotency record ids: fixed, so that every release (blue and green) shares them.
SETTLEMENT_RECORDS = "transaction_processing.settle_payment#"
FRAUD_DETECTION_FUNCTION = "payments-test-fraud-detection:live"
CARD_TOKEN_KEY = "test-only-card-token-key-0123456789abcdef"
LIMITS = {"max_amount": {"USD": "25000.00", "EUR": "25000.00", "GBP": "20000.00", "JPY": "3000000", "CAD": "30000.00"}}
THRESHOLDS = {
    "review_score": 40,
    "decline_score": 70,
    "velocity_window_seconds": 600,
    "max_card_transactions_in_window": 5,
    "max_customer_transactions_in_window": 10,
    "high_amount_ratio": 5.0,
    "risky_merchant_categories": ["7995", "5967", "4829"],
}
TARGET_GROUP_ARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/payments-green/0123456789abcdef"
TRANSACTION_INDEXES = {
    "by-customer": "customer_id",
    "by-merchant": "merchant_id",
    "by-status": "status",
    "by-card-token": "card_token",
}
ENVIRONMENT = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "CONFIG_PATH": CONFIG_PATH,
    "POWERTOOLS_METRICS_NAMESPACE": "Payments",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
    "POWERTOOLS_LOGGER_LOG_EVENT": "false",
    # DEBUG, so that a card number leaking into a debug line fails the tests too.
    "POWERTOOLS_LOG_LEVEL": "DEBUG",
}


def load_handler(function: str, module_name: str | None = None) -> ModuleType:
    if str(LAMBDA_SRC) not in sys.path:
        sys.path.insert(0, str(LAMBDA_SRC))
    name = module_name or f"{function}_handler"
    spec = importlib.util.spec_from_file_location(name, LAMBDA_SRC / function / "handler.py")
    module = importlib.util.module_from_spec(spec)
    # pydantic resolves the modules' postponed annotations through sys.modules.
    sys.modules[name] = module
    # Without the root logger's handlers: on import the functions install their redaction filter on them (in
    # Lambda, the runtime's handler), and here they are pytest's, shared with every other test.
    with patch.dict(os.environ, {"POWERTOOLS_SERVICE_NAME": function}), patch.object(logging.root, "handlers", []):
        spec.loader.exec_module(module)
    return module


@dataclass
class FakeLambdaContext:
    function_name: str
    timeout_ms: int = 28_000
    memory_limit_in_mb: int = 512
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_ms / 1000

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class InProcessLambda:
    """transaction_processing's `invoke_function`, running the target's handler in this process."""

    def __init__(self, processing: ModuleType, handlers: dict[str, Callable[[Any, Any], Any]]) -> None:
        self._result = processing.InvocationResult
        self.handlers = dict(handlers)

    def __call__(self, function_name: str, payload: bytes) -> Any:
        handler = self.handlers.get(function_name)
        if handler is None:
            raise ClientError(
                {"Error": {"Code": "ResourceNotFoundException", "Message": "Function not found"}}, "Invoke"
            )
        try:
            answer = handler(json.loads(payload), FakeLambdaContext(function_name.split(":")[0]))
        except Exception as error:
            failure = {"errorMessage": str(error), "errorType": type(error).__name__, "stackTrace": []}
            return self._result(json.dumps(failure).encode(), "Unhandled")
        return self._result(json.dumps(answer).encode(), None)


@contextmanager
def atomic_moto_dynamodb() -> Iterator[None]:
    """DynamoDB checks a write's condition and applies the write atomically; moto does it in two steps, so
    two threads can both pass one `attribute_not_exists`. Serializing moto's item operations restores the
    service's guarantee, which the idempotency design (and Powertools idempotency) rely on."""
    lock = threading.RLock()

    def locked(operation: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(operation)
        def run(*args: Any, **kwargs: Any) -> Any:
            with lock:
                return operation(*args, **kwargs)

        return run

    with ExitStack() as stack:
        for name in ("get_item", "put_item", "update_item", "delete_item", "transact_write_items"):
            stack.enter_context(patch.object(DynamoDBBackend, name, locked(getattr(DynamoDBBackend, name))))
        yield


@dataclass
class Platform:
    validation: ModuleType
    fraud: ModuleType
    processing: ModuleType
    invoker: InProcessLambda
    dynamodb: Any
    ssm: Any
    sqs: Any
    failed_queue_url: str

    def _scan(self, table: str) -> list[dict[str, Any]]:
        deserializer = TypeDeserializer()
        items: list[dict[str, Any]] = []
        for page in self.dynamodb.get_paginator("scan").paginate(TableName=table):
            items.extend({k: deserializer.deserialize(v) for k, v in item.items()} for item in page["Items"])
        return items

    def transactions(self) -> list[dict[str, Any]]:
        return self._scan(TRANSACTIONS_TABLE)

    def idempotency_records(self, prefix: str = "") -> dict[str, dict[str, Any]]:
        """Powertools' records (status, expiration, data, validation) by id, of every function or of the ids
        that start with `prefix`."""
        return {item["id"]: item for item in self._scan(IDEMPOTENCY_TABLE) if item["id"].startswith(prefix)}

    def expire_idempotency_record(self, record_id: str, attribute: str) -> None:
        """Moves a record's `expiration` (epoch seconds) or `in_progress_expiration` (epoch ms) into the past."""
        self.dynamodb.update_item(
            TableName=IDEMPOTENCY_TABLE,
            Key={"id": {"S": record_id}},
            UpdateExpression="SET #moment = :past",
            ExpressionAttributeNames={"#moment": attribute},
            ExpressionAttributeValues={":past": {"N": "1"}},
        )

    def transaction(self, transaction_id: str) -> dict[str, Any] | None:
        return next((item for item in self.transactions() if item["transaction_id"] == transaction_id), None)

    def record_transaction(
        self,
        *,
        customer_id: str,
        card_token: str,
        age_seconds: float = 60,
        status: str = "AUTHORIZED",
        amount: str = "100.00",
        currency: str = "USD",
        transaction_id: str | None = None,
    ) -> None:
        """A transaction recorded `age_seconds` ago, as transaction_processing records them."""
        created_at = datetime.now(timezone.utc) - timedelta(seconds=age_seconds)
        self.dynamodb.put_item(
            TableName=TRANSACTIONS_TABLE,
            Item={
                "transaction_id": {"S": transaction_id or str(uuid.uuid4())},
                "status": {"S": status},
                "merchant_id": {"S": "merchant_001"},
                "customer_id": {"S": customer_id},
                "card_token": {"S": card_token},
                "amount": {"N": amount},
                "currency": {"S": currency},
                "created_at": {"S": created_at.isoformat(timespec="milliseconds").replace("+00:00", "Z")},
            },
        )

    def failure_notices(self) -> list[dict[str, Any]]:
        """Drains the SQS queue subscribed to the failed-transactions topic."""
        notices = []
        while True:
            messages = self.sqs.receive_message(QueueUrl=self.failed_queue_url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not messages:
                return notices
            for message in messages:
                notices.append(json.loads(json.loads(message["Body"])["Message"]))
                self.sqs.delete_message(QueueUrl=self.failed_queue_url, ReceiptHandle=message["ReceiptHandle"])

    @contextmanager
    def parameter_replaced(self, relative_name: str, value: str) -> Iterator[None]:
        """The parameter holds `value` (the functions' parameter cache is cleared) until the block ends."""
        assert relative_name in {p.name for p in ssm_contract.PARAMETERS}, f"{relative_name} is not in the SSM contract"
        name = f"{CONFIG_PATH}/{relative_name}"
        original = self.ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]
        self.ssm.put_parameter(Name=name, Value=value, Type=original["Type"], Overwrite=True)
        parameters.clear_caches()
        try:
            yield
        finally:
            self.ssm.put_parameter(Name=name, Value=original["Value"], Type=original["Type"], Overwrite=True)
            parameters.clear_caches()

    def call_processing(self, event: dict[str, Any]) -> dict[str, Any]:
        return self.processing.lambda_handler(event, FakeLambdaContext("payments-test-transaction-processing"))

    def call_validation(self, event: Any) -> dict[str, Any]:
        return self.validation.lambda_handler(event, FakeLambdaContext("payments-test-payment-validation"))

    def call_fraud(self, event: Any) -> dict[str, Any]:
        return self.fraud.lambda_handler(event, FakeLambdaContext("payments-test-fraud-detection"))


def _create_aws_resources() -> tuple[Any, Any, Any, str]:
    dynamodb = boto3.client("dynamodb")
    dynamodb.create_table(
        TableName=TRANSACTIONS_TABLE,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "transaction_id", "AttributeType": "S"},
            {"AttributeName": "created_at", "AttributeType": "S"},
            *({"AttributeName": key, "AttributeType": "S"} for key in TRANSACTION_INDEXES.values()),
        ],
        KeySchema=[{"AttributeName": "transaction_id", "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": index,
                "KeySchema": [
                    {"AttributeName": key, "KeyType": "HASH"},
                    {"AttributeName": "created_at", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
            for index, key in TRANSACTION_INDEXES.items()
        ],
    )
    dynamodb.create_table(
        TableName=IDEMPOTENCY_TABLE,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )
    dynamodb.update_time_to_live(
        TableName=IDEMPOTENCY_TABLE, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiration"}
    )

    topic_arn = boto3.client("sns").create_topic(Name="payments-test-failed-transactions")["TopicArn"]
    sqs = boto3.client("sqs")
    queue_url = sqs.create_queue(QueueName="payments-test-failed-transactions-audit")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    boto3.client("sns").subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)

    ssm = boto3.client("ssm")
    values = {
        ssm_contract.TRANSACTIONS_TABLE: TRANSACTIONS_TABLE,
        ssm_contract.IDEMPOTENCY_TABLE: IDEMPOTENCY_TABLE,
        ssm_contract.FAILED_TRANSACTIONS_TOPIC_ARN: topic_arn,
        ssm_contract.PAYMENT_VALIDATION_FUNCTION: PAYMENT_VALIDATION_FUNCTION,
        ssm_contract.FRAUD_DETECTION_FUNCTION: FRAUD_DETECTION_FUNCTION,
        ssm_contract.VALIDATION_LIMITS: json.dumps(LIMITS),
        ssm_contract.FRAUD_THRESHOLDS: json.dumps(THRESHOLDS),
        ssm_contract.CARD_TOKEN_KEY: CARD_TOKEN_KEY,
    }
    # Exactly what the functions read, with the contract's types: a parameter they start reading without a
    # value here fails every test instead of reading a missing parameter.
    read = {parameter for function in FUNCTIONS for parameter in ssm_contract.read_by(function)}
    assert set(values) == read, sorted(p.name for p in read ^ set(values))
    for parameter, value in values.items():
        ssm.put_parameter(Name=f"{CONFIG_PATH}/{parameter.name}", Value=value, Type=parameter.type)
    return dynamodb, ssm, sqs, queue_url


@contextmanager
def payments_platform() -> Iterator[Platform]:
    """The three functions wired together over an emulated AWS account, with the production parameters."""
    with ExitStack() as stack:
        stack.enter_context(patch.dict(os.environ, ENVIRONMENT))
        stack.enter_context(mock_aws())
        stack.enter_context(atomic_moto_dynamodb())
        stack.callback(parameters.clear_caches)
        parameters.clear_caches()
        dynamodb, ssm, sqs, queue_url = _create_aws_resources()
        validation, fraud, processing = (load_handler(function) for function in FUNCTIONS)
        invoker = InProcessLambda(
            processing,
            {
                PAYMENT_VALIDATION_FUNCTION: validation.lambda_handler,
                FRAUD_DETECTION_FUNCTION: fraud.lambda_handler,
            },
        )
        processing.invoke_function = invoker
        yield Platform(validation, fraud, processing, invoker, dynamodb, ssm, sqs, queue_url)


class CapturedLogs:
    """Everything the functions log: their Powertools loggers' output and, through the root logger, what
    libraries log (at INFO and above, or at `level`), with the redaction filter the functions install on
    Lambda's root handler."""

    def __init__(self) -> None:
        self._buffer = io.StringIO()
        self._lock = threading.Lock()

    def text(self) -> str:
        with self._lock:
            return self._buffer.getvalue()

    def clear(self) -> None:
        with self._lock:
            self._buffer.seek(0)
            self._buffer.truncate()

    def write(self, text: str) -> int:
        with self._lock:
            return self._buffer.write(text)

    def flush(self) -> None:
        """Streams must flush; the buffer has nothing to flush."""


@contextmanager
def capture_logs(platform: Platform, level: int = logging.INFO) -> Iterator[CapturedLogs]:
    logs = CapturedLogs()
    root = logging.getLogger()
    root_handler = logging.StreamHandler(logs)
    root_handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    previous_level = root.level
    service_handlers = [logging.getLogger(function).powertools_handler for function in FUNCTIONS]
    previous_streams = [handler.stream for handler in service_handlers]
    for handler in service_handlers:
        handler.setStream(logs)
    # Importable only once load_handler has put lambda_src on sys.path, as the platform has.
    from payments_common.redaction import CardDataRedactionFilter

    # Where Lambda's own handler would be, with the filter the functions install on it.
    root_handler.addFilter(CardDataRedactionFilter())
    root.addHandler(root_handler)
    root.setLevel(level)
    # Loggers that keep their records from the root (Powertools' package logger) are captured too.
    private_loggers = [
        candidate
        for name, candidate in logging.root.manager.loggerDict.items()
        if isinstance(candidate, logging.Logger) and not candidate.propagate and name not in FUNCTIONS
    ]
    private_levels = [candidate.level for candidate in private_loggers]
    for candidate in private_loggers:
        candidate.addHandler(root_handler)
        candidate.setLevel(level)
    # A library logger some module raised stays capturable at `level`: the rotation function sets botocore to INFO
    # when imported, harmless in Lambda (one function per process) but not in one test process shared by all.
    raised_loggers = [
        candidate
        for name, candidate in logging.root.manager.loggerDict.items()
        if isinstance(candidate, logging.Logger) and candidate.propagate and name not in FUNCTIONS
        and candidate.level > level
    ]
    raised_levels = [candidate.level for candidate in raised_loggers]
    for candidate in raised_loggers:
        candidate.setLevel(level)
    # pytest's own handlers on the root logger would format and keep every DEBUG record (botocore writes
    # dozens per call); below INFO they are left out, which keeps a fuzz run's time and memory bounded.
    pytest_handlers = [handler for handler in root.handlers if type(handler).__module__.startswith("_pytest")]
    pytest_levels = [handler.level for handler in pytest_handlers]
    for handler in pytest_handlers:
        handler.setLevel(max(handler.level, logging.INFO))
    try:
        yield logs
    finally:
        for candidate, candidate_level in zip(raised_loggers, raised_levels):
            candidate.setLevel(candidate_level)
        for handler, handler_level in zip(pytest_handlers, pytest_levels):
            handler.setLevel(handler_level)
        for candidate, candidate_level in zip(private_loggers, private_levels):
            candidate.removeHandler(root_handler)
            candidate.setLevel(candidate_level)
        root.removeHandler(root_handler)
        root.setLevel(previous_level)
        for handler, stream in zip(service_handlers, previous_streams):
            handler.setStream(stream)


def luhn_complete(partial: str) -> str:
    """`partial` plus the check digit that makes it pass the Luhn check (computed independently here)."""
    total = 0
    for position, digit in enumerate(reversed(partial)):
        value = int(digit) * (2 if position % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return partial + str((10 - total % 10) % 10)


def card_number(prefix: str = "4", length: int = 16, rng: random.Random | None = None) -> str:
    rng = rng or random.Random()
    body = prefix + "".join(rng.choice("0123456789") for _ in range(length - len(prefix) - 1))
    return luhn_complete(body)


def unique_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def payment_request(**overrides: Any) -> dict[str, Any]:
    """A valid request for a fresh customer and card, so tests do not see each other's history."""
    request: dict[str, Any] = {
        "amount": "49.99",
        "currency": "USD",
        "merchant_id": "merchant_001",
        "customer_id": unique_id("customer"),
        "merchant_category_code": "5411",
        "billing_country": "US",
        "ip_country": "US",
        "card": {"number": card_number(), "expiry_month": 12, "expiry_year": time.gmtime().tm_year + 3, "cvv": "123"},
    }
    card_overrides = overrides.pop("card", {})
    request.update(overrides)
    request["card"] = {**request["card"], **card_overrides}
    return request


def alb_event(
    method: str = "POST",
    path: str = "/v1/payments",
    body: Any = None,
    *,
    idempotency_key: str | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    event_headers = {"content-type": "application/json", "host": "payments.internal", **(headers or {})}
    if idempotency_key is not None:
        event_headers["idempotency-key"] = idempotency_key
    return {
        "requestContext": {"elb": {"targetGroupArn": TARGET_GROUP_ARN}},
        "httpMethod": method,
        "path": path,
        "queryStringParameters": {},
        "headers": event_headers,
        "body": body if body is None or isinstance(body, str) else json.dumps(body),
        "isBase64Encoded": False,
    }


def response_json(response: dict[str, Any]) -> Any:
    assert response["headers"]["content-type"] == "application/json"
    assert response["isBase64Encoded"] is False
    assert response["statusDescription"].startswith(f"{response['statusCode']} ")
    return json.loads(response["body"])


# What the card-data tests look for, written independently of payments_common: a "full PAN" is 13 to 19
# consecutive digits passing the Luhn check inside a run of digits that only non-alphanumeric characters
# separate (spaces, dashes, dots, slashes, quotes, repeated); an escape sequence (\u00a0, \xa0, \n, with any
# number of backslashes) counts as one separator.
_ESCAPED = re.compile(r"\\+(?:u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|x[0-9a-fA-F]{2}|[abfnrtv])")
VERIFICATION_CODE_TEXT = re.compile(
    r"(?i)(?<![a-z])(?:cvv2?|cvc2?|cvn|cid|security.?code)[^0-9a-z]{0,20}[0-9]{3,4}(?![0-9])"
)
EXCEPTION_TEXT = re.compile(r"Traceback|File \"|\b[A-Z][A-Za-z]*(?:Error|Exception)\b")


def luhn_valid(digits: str) -> bool:
    return luhn_complete(digits[:-1]) == digits


def full_pans_in(text: str) -> list[str]:
    """Each Luhn-valid 13-19 digit stretch in `text` (see above), as digits. A stretch of letter-free text
    is one run; its digits are checked window by window (runs of more than 60 digits are reported whole)."""
    found: list[str] = []
    for chunk in re.findall(r"[^A-Za-z]{13,}", _ESCAPED.sub(" ", text)):
        run = re.sub(r"[^0-9]", "", chunk)
        if len(run) > 60:
            found.append(run)
            continue
        found.extend(
            run[start : start + length]
            for length in range(13, 20)
            for start in range(len(run) - length + 1)
            if luhn_valid(run[start : start + length])
        )
    return found

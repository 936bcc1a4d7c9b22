"""transaction_processing: the payments API, a Lambda target of the internal ALB.

Routes: `POST /v1/payments` (header `idempotency-key`, 8 to 128 visible ASCII characters; body: the payment
request described in payment_validation) and `GET /v1/payments/{transaction_id}`. Other paths answer 404,
other methods on these paths 405 with an `allow` header.

A POST:

1. invokes payment_validation, which checks the request and replaces the card with a token. A rejection
   answers 400 with the field errors and records nothing, so a corrected request may reuse the key;
2. hands the validated payment to `settle_payment`, made idempotent by Powertools (`DynamoDBPersistenceLayer`
   on the idempotency table, the one idempotency mechanism of the functions). The key is the pair
   (merchant_id, idempotency-key), so keys of different merchants never collide; the payload checked against
   a reused key is payment_validation's normalized answer (amount, currency, parties, countries, card token),
   so "10.5" and "10.50", or a card number typed with or without spaces, are the same request, and a
   different payment under a used key is a 409 `idempotency_key_reused`. Verification code and expiry date are
   not part of it: they are never stored in any form. The key's prefix is fixed (`IDEMPOTENCY_KEY_PREFIX`), not
   derived from module and function names, so that the blue and the green slot, which may run different
   releases, share every key;
3. exactly one request per key is let in at a time: Powertools' conditional put of the INPROGRESS record.
   It names the transaction `uuid5(TRANSACTION_NAMESPACE, "<merchant_id>:<idempotency-key>")` and creates
   the PENDING record with a conditional put (`attribute_not_exists`), invokes fraud_detection and records
   the outcome in one update conditional on the record still being PENDING; its return value, the response
   (status code and body, which show brand and last four digits of the card and nothing more), is what
   Powertools stores and replays;
4. a request that finds the key in progress waits (polling with back-off) until the response is stored and
   returns it verbatim. All callers thus get identical responses, and only the first emits metrics and
   notifications. No caller is told "in progress" unless its own Lambda time is about to run out (503);
5. the INPROGRESS record expires at the Lambda deadline of the request holding it (the lambda context is
   registered), so only once that invocation is certainly over is another request let in. If that one finds
   the transaction PENDING, the first attempt died (timeout, crash) or failed before answering: it marks the
   transaction FAILED, conditional on it still being PENDING, and does not process the payment again,
   because it cannot know how far the dead attempt got;
6. a response is replayed for `REPLAY_WINDOW_SECONDS` (24 h). Afterwards the key is spent: a request with it
   finds the transaction recorded and answers 409 `idempotency_key_expired` with its transaction_id (to read
   it with GET), without processing anything.

Outcomes: fraud "approve" -> AUTHORIZED, 201; "review" -> AUTHORIZED with `review_required: true`, 201 (the
rules that only raise doubt must not cost the sale; the flag on the record and the PaymentFlaggedForReview
metric feed the analysts' review); "decline" -> DECLINED, 402. fraud_detection failing (function error,
invoke error, or an answer that breaks the contract) -> FAILED, 502; an unexpected error once the record
exists -> FAILED, 500. FAILED transactions are published to the failed-transactions SNS topic (no card data).
payment_validation failing -> 502, nothing recorded and a notification without transaction; the request may
be retried with the same key.

Card data: a card number may be sent in the body's `card.number` only. Before anything else, a request with one
in the path (other than a well-formed transaction id), a query parameter, a header (other than those the load
balancer sets) or any other body field, name or value, is refused with 400 `card_data_not_allowed`, naming the
places and quoting none (see payments_common.card_data). The body is read only if it is at most 32 KiB, nested
at most 16 deep and has finite numbers (payments_common.alb); otherwise 400 `invalid_json`.

Bodies: 201 and GET answer the transaction (`transaction_view`); every other status answers
`{"error": <code>, "message": <text>}`, plus `transaction` for 402 and recorded FAILED outcomes and `errors`
(field, message) for validation errors. Clients see risk rule names only; the details, with thresholds and
the customer's averages, stay on the record for analysts. Other statuses: 400 for a malformed request, body or
idempotency-key and for validation errors; 404 for an unknown route or transaction; 409 for a reused or expired key;
500 (generic message) for anything unexpected.

Timing: the function timeout should exceed validation (at most 8 s) plus the worst case of step 3 (see the
clients' timeouts): 28 s fits, just below API Gateway's 29 s integration timeout.

Metrics: PaymentApproved, PaymentDeclined, PaymentFailed, PaymentFlaggedForReview (Count) and PaymentLatency
(Milliseconds, request start to recorded outcome), once per transaction.
"""

from __future__ import annotations

import functools
import json
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from http import HTTPStatus
from typing import Any, Callable, NamedTuple

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from payments_common import settings, ssm_contract
from payments_common.alb import (
    AlbRequest,
    HttpError,
    card_data_outside_body,
    json_response,
    parse_alb_event,
    parse_json_object,
)
from payments_common.card_data import CARD_NUMBER_FIELD, card_data_errors
from payments_common.clock import iso_timestamp, utc_now
from payments_common.contracts import RiskAssessment, ValidatedPayment, ValidationRejection
from payments_common.currencies import format_amount
from payments_common.dynamodb import from_attribute_values, to_attribute_values
from payments_common.redaction import CardDataRedactingFormatter, protect_log_handlers
from pydantic import ValidationError

logger = Logger(logger_formatter=CardDataRedactingFormatter())
tracer = Tracer()
# EphemeralMetrics keeps its metric set to this module: Powertools' Metrics shares one set per process.
metrics = EphemeralMetrics()
protect_log_handlers()

# Bounded so that validation (2 x 4 s) and the worst case of settling (fraud invoke 2 x 4 s, then the DynamoDB
# update 3 x 2 s) fit the 28 s function timeout: a request answers before Lambda ends it.
lambda_client = boto3.client(
    "lambda", config=Config(connect_timeout=1, read_timeout=4, retries={"total_max_attempts": 2, "mode": "standard"})
)
_AWS_CONFIG = Config(connect_timeout=1, read_timeout=2, retries={"total_max_attempts": 3, "mode": "standard"})
dynamodb = boto3.client("dynamodb", config=_AWS_CONFIG)
sns = boto3.client("sns", config=_AWS_CONFIG)

# Changing either would give every idempotency key a new transaction id or idempotency record, i.e. let a
# retry across the change process the payment again.
TRANSACTION_NAMESPACE = uuid.UUID("6f1c7a52-3f5e-4b8e-9a57-0c2d9e41b7d3")
IDEMPOTENCY_KEY_PREFIX = "transaction_processing.settle_payment"
# How long a key's response is replayed; clients retry within minutes, and the transaction stays readable.
REPLAY_WINDOW_SECONDS = 24 * 60 * 60
idempotency_config = IdempotencyConfig(
    event_key_jmespath="[merchant_id, idempotency_key]",
    payload_validation_jmespath="payment",
    raise_on_no_idempotency_key=True,
    expires_after_seconds=REPLAY_WINDOW_SECONDS,
)
FIRST_POLL_DELAY_S = 0.05
LONGEST_POLL_DELAY_S = 0.5
# Kept back from the function's remaining time so that a waiting request can still answer 503.
ANSWER_RESERVE_MS = 1_000

PAYMENTS_PATH = "/v1/payments"
_PAYMENT_PATH = re.compile(r"/v1/payments/([^/]+)")
_TRANSACTION_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{8,128}")
_ERROR_TYPE = re.compile(r"[A-Za-z_][A-Za-z0-9_.]{0,99}")

PENDING, AUTHORIZED, DECLINED, FAILED = "PENDING", "AUTHORIZED", "DECLINED", "FAILED"
_OUTCOME_ERRORS = {
    (DECLINED, HTTPStatus.PAYMENT_REQUIRED): ("payment_declined", "The payment was declined"),
    (FAILED, HTTPStatus.BAD_GATEWAY): ("payment_failed", "A payment service failed; the payment was not authorized"),
    (FAILED, HTTPStatus.INTERNAL_SERVER_ERROR): (
        "payment_failed",
        "An unexpected error occurred; the payment was not authorized",
    ),
}


class InvocationResult(NamedTuple):
    payload: bytes
    function_error: str | None


def invoke_lambda(function_name: str, payload: bytes) -> InvocationResult:
    response = lambda_client.invoke(FunctionName=function_name, InvocationType="RequestResponse", Payload=payload)
    return InvocationResult(payload=response["Payload"].read(), function_error=response.get("FunctionError"))


# How payment_validation and fraud_detection are reached; tests swap in a transport that runs their
# handlers in this process (moto's Lambda needs Docker).
invoke_function: Callable[[str, bytes], InvocationResult] = invoke_lambda


@dataclass(frozen=True)
class ProcessingConfig:
    transactions_table: str
    failed_transactions_topic_arn: str
    payment_validation_function: str
    fraud_detection_function: str

    def for_slot_of(self, invoked_function_arn: str) -> ProcessingConfig:
        """Invoked through an alias (the ALB's blue or green slot), call the downstream functions' alias of the same
        name; invoked unqualified or by version number, or with a configured name that already has a qualifier,
        the names are kept as they are."""
        parts = invoked_function_arn.split(":")
        alias = parts[7] if len(parts) == 8 else ""
        if not alias or alias.isdigit() or alias == "$LATEST":
            return self

        def same_slot(name: str) -> str:
            return name if ":" in name else f"{name}:{alias}"

        return replace(
            self,
            payment_validation_function=same_slot(self.payment_validation_function),
            fraud_detection_function=same_slot(self.fraud_detection_function),
        )

    @classmethod
    def load(cls) -> ProcessingConfig:
        return cls(
            transactions_table=settings.read(ssm_contract.TRANSACTIONS_TABLE),
            failed_transactions_topic_arn=settings.read(ssm_contract.FAILED_TRANSACTIONS_TOPIC_ARN),
            payment_validation_function=settings.read(ssm_contract.PAYMENT_VALIDATION_FUNCTION),
            fraud_detection_function=settings.read(ssm_contract.FRAUD_DETECTION_FUNCTION),
        )


class DownstreamFailure(Exception):
    def __init__(self, stage: str, reason: str) -> None:
        super().__init__(f"{stage}: {reason}")
        self.stage = stage
        self.reason = reason


@dataclass(frozen=True)
class Outcome:
    status: str
    http_status: HTTPStatus
    risk: RiskAssessment | None = None
    failure_stage: str | None = None
    failure_reason: str | None = None

    @property
    def review_required(self) -> bool:
        return self.risk is not None and self.risk.decision == "review"


def _failed(http_status: HTTPStatus, stage: str, reason: str) -> Outcome:
    return Outcome(status=FAILED, http_status=http_status, failure_stage=stage, failure_reason=reason)


def _error_type(payload: bytes) -> str:
    # Only the type: errorMessage is free text from the failed function and could repeat request data.
    try:
        error_type = json.loads(payload).get("errorType")
    except (ValueError, AttributeError):
        return "unknown error"
    return error_type if isinstance(error_type, str) and _ERROR_TYPE.fullmatch(error_type) else "unknown error"


def _call(stage: str, function_name: str, payload: dict[str, Any]) -> Any:
    try:
        result = invoke_function(function_name, json.dumps(payload, allow_nan=False).encode())
    except (BotoCoreError, ClientError) as error:
        raise DownstreamFailure(stage, f"invoke failed with {type(error).__name__}") from error
    if result.function_error:
        raise DownstreamFailure(stage, f"function error ({result.function_error}): {_error_type(result.payload)}")
    try:
        return json.loads(result.payload)
    except ValueError:
        raise DownstreamFailure(stage, "the answer is not JSON") from None


# Traced methods return expected outcomes instead of raising them: the tracer logs every exception it sees
# with a stack trace, which would turn each rejected request into an error log.
@tracer.capture_method(capture_response=False)
def validate_payment(config: ProcessingConfig, request_body: dict[str, Any]) -> ValidatedPayment | ValidationRejection:
    answer = _call("payment_validation", config.payment_validation_function, request_body)
    try:
        if isinstance(answer, dict) and answer.get("valid") is False:
            return ValidationRejection.model_validate(answer)
        return ValidatedPayment.model_validate(answer)
    except ValidationError:
        raise DownstreamFailure("payment_validation", "the answer does not match the contract") from None


def _fraud_detection_answer(
    config: ProcessingConfig, validated: ValidatedPayment, transaction_id: str
) -> RiskAssessment:
    request = {**validated.model_dump(mode="json"), "transaction_id": transaction_id}
    answer = _call("fraud_detection", config.fraud_detection_function, request)
    try:
        return RiskAssessment.model_validate(answer)
    except ValidationError:
        raise DownstreamFailure("fraud_detection", "the answer does not match the contract") from None


@tracer.capture_method(capture_response=False)
def assess_risk(config: ProcessingConfig, validated: ValidatedPayment, transaction_id: str) -> Outcome:
    try:
        risk = _fraud_detection_answer(config, validated, transaction_id)
    except DownstreamFailure as failure:
        logger.error("fraud detection failed", extra={"reason": failure.reason})
        return _failed(HTTPStatus.BAD_GATEWAY, failure.stage, failure.reason)
    if risk.decision == "decline":
        return Outcome(status=DECLINED, http_status=HTTPStatus.PAYMENT_REQUIRED, risk=risk)
    return Outcome(status=AUTHORIZED, http_status=HTTPStatus.CREATED, risk=risk)


def pending_record(transaction_id: str, idempotency_key: str, validated: ValidatedPayment) -> dict[str, Any]:
    payment, card = validated.payment, validated.card
    now = iso_timestamp(utc_now())
    return {
        "transaction_id": transaction_id,
        "idempotency_key": idempotency_key,
        "status": PENDING,
        "merchant_id": payment.merchant_id,
        "customer_id": payment.customer_id,
        "merchant_category_code": payment.merchant_category_code,
        "amount": Decimal(payment.amount),
        "currency": payment.currency,
        "billing_country": payment.billing_country,
        "ip_country": payment.ip_country,
        "card_token": card.token,
        "card_last4": card.last4,
        "card_brand": card.brand,
        "created_at": now,
        "updated_at": now,
    }


def transaction_view(record: dict[str, Any]) -> dict[str, Any]:
    """What clients see of a transaction (201/402 bodies and GET)."""
    view: dict[str, Any] = {
        "transaction_id": record["transaction_id"],
        "status": record["status"],
        "amount": format_amount(record["amount"], record["currency"]),
        "currency": record["currency"],
        "merchant_id": record["merchant_id"],
        "customer_id": record["customer_id"],
        "merchant_category_code": record["merchant_category_code"],
        "card": {"brand": record["card_brand"], "last4": record["card_last4"]},
        "review_required": bool(record.get("review_required", False)),
        "created_at": record["created_at"],
        "updated_at": record["updated_at"],
    }
    if "fraud_decision" in record:
        view["risk"] = {
            "score": int(record["fraud_score"]),
            "decision": record["fraud_decision"],
            "rules": [reason["rule"] for reason in record["fraud_reasons"]],
        }
    if "failure_stage" in record:
        view["failure_stage"] = record["failure_stage"]
    return view


def _outcome_attributes(outcome: Outcome) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "status": outcome.status,
        "updated_at": iso_timestamp(utc_now()),
        "review_required": outcome.review_required,
        "failure_stage": outcome.failure_stage,
        "failure_reason": outcome.failure_reason,
    }
    if outcome.risk is not None:
        attributes.update(
            fraud_score=outcome.risk.score,
            fraud_decision=outcome.risk.decision,
            fraud_reasons=[reason.model_dump() for reason in outcome.risk.reasons],
        )
    # The status code stays on the record: it is what tells a FAILED 502 (a downstream function) from a 500.
    attributes["response_status"] = int(outcome.http_status)
    return {name: value for name, value in attributes.items() if value is not None}


def outcome_response(record: dict[str, Any]) -> dict[str, Any]:
    """The answer to the request that recorded a transaction's outcome, which Powertools replays."""
    status = HTTPStatus(int(record["response_status"]))
    view = transaction_view(record)
    if record["status"] == AUTHORIZED:
        return json_response(status, view)
    error, message = _OUTCOME_ERRORS[(record["status"], status)]
    return json_response(status, {"error": error, "message": message, "transaction": view})


def read_record(table: str, transaction_id: str) -> dict[str, Any] | None:
    item = dynamodb.get_item(TableName=table, Key={"transaction_id": {"S": transaction_id}}, ConsistentRead=True).get(
        "Item"
    )
    return from_attribute_values(item) if item else None


@tracer.capture_method(capture_response=False)
def claim(table: str, record: dict[str, Any]) -> bool:
    """Creates the PENDING record; False if the transaction already exists."""
    try:
        dynamodb.put_item(
            TableName=table,
            Item=to_attribute_values(record),
            ConditionExpression="attribute_not_exists(#transaction_id)",
            ExpressionAttributeNames={"#transaction_id": "transaction_id"},
        )
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False
        raise
    return True


def record_outcome(table: str, record: dict[str, Any], outcome: Outcome) -> dict[str, Any] | None:
    """Stores the outcome on a PENDING record and returns the finished record; None if the record was not
    PENDING any more."""
    attributes = _outcome_attributes(outcome)
    try:
        dynamodb.update_item(
            TableName=table,
            Key={"transaction_id": {"S": record["transaction_id"]}},
            UpdateExpression=f"SET {', '.join(f'#{name} = :{name}' for name in attributes)}",
            ConditionExpression="#status = :pending",
            ExpressionAttributeNames={f"#{name}": name for name in attributes},
            ExpressionAttributeValues=to_attribute_values(
                {**{f":{name}": value for name, value in attributes.items()}, ":pending": PENDING}
            ),
        )
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return None
        raise
    return {**record, **attributes}


def notify_failure(
    config: ProcessingConfig, stage: str | None, reason: str | None, record: dict[str, Any] | None = None
) -> None:
    notice: dict[str, Any] = {"event": "PaymentFailed", "stage": stage, "reason": reason}
    if record is not None:
        notice.update(
            transaction_id=record["transaction_id"],
            merchant_id=record["merchant_id"],
            customer_id=record["customer_id"],
            amount=format_amount(record["amount"], record["currency"]),
            currency=record["currency"],
            created_at=record["created_at"],
        )
    notice["failed_at"] = iso_timestamp(utc_now())
    try:
        sns.publish(
            TopicArn=config.failed_transactions_topic_arn,
            Subject="Payment failed",
            Message=json.dumps(notice),
            MessageAttributes={"event": {"DataType": "String", "StringValue": "PaymentFailed"}},
        )
    except (BotoCoreError, ClientError):
        # The FAILED record is the source of truth and the answer stands; the alert is what is lost.
        logger.exception("could not publish the failed-payment notification", extra={"stage": stage})


def report(config: ProcessingConfig, record: dict[str, Any], outcome: Outcome, started: float | None) -> None:
    """Metrics, log line and (for FAILED) notification of an outcome this request recorded."""
    if outcome.status == FAILED:
        metrics.add_metric(name="PaymentFailed", unit=MetricUnit.Count, value=1)
        notify_failure(config, outcome.failure_stage, outcome.failure_reason, record)
    elif outcome.status == DECLINED:
        metrics.add_metric(name="PaymentDeclined", unit=MetricUnit.Count, value=1)
    else:
        metrics.add_metric(name="PaymentApproved", unit=MetricUnit.Count, value=1)
        if outcome.review_required:
            metrics.add_metric(name="PaymentFlaggedForReview", unit=MetricUnit.Count, value=1)
    if started is not None:
        metrics.add_metric(
            name="PaymentLatency", unit=MetricUnit.Milliseconds, value=(time.monotonic() - started) * 1000
        )
    logger.info(
        "payment recorded",
        extra={
            "status": outcome.status,
            "review_required": outcome.review_required,
            "risk_score": outcome.risk.score if outcome.risk else None,
            "failure_stage": outcome.failure_stage,
        },
    )


def process(
    config: ProcessingConfig, record: dict[str, Any], validated: ValidatedPayment, started: float
) -> dict[str, Any]:
    """Finishes a transaction this request created."""
    try:
        outcome = assess_risk(config, validated, record["transaction_id"])
    except Exception:
        logger.exception("payment processing failed unexpectedly")
        outcome = _failed(HTTPStatus.INTERNAL_SERVER_ERROR, "transaction_processing", "unexpected error")
    return finish(config, record, outcome, started)


def finish(config: ProcessingConfig, record: dict[str, Any], outcome: Outcome, started: float | None) -> dict[str, Any]:
    """Records the outcome on the PENDING record, reports it and answers it; if another request recorded one
    first (a dead attempt's last write landing late), answers that one instead."""
    finished = record_outcome(config.transactions_table, record, outcome)
    if finished is None:
        logger.warning("the transaction was finished meanwhile; answering the recorded outcome")
        return outcome_response(read_record(config.transactions_table, record["transaction_id"]))
    report(config, finished, outcome, started)
    return outcome_response(finished)


def transaction_id_of(merchant_id: str, idempotency_key: str) -> str:
    """A merchant's retries with one key always name the same transaction; other merchants' keys never do."""
    return str(uuid.uuid5(TRANSACTION_NAMESPACE, f"{merchant_id}:{idempotency_key}"))


def settle_payment(
    attempt: dict[str, Any], config: ProcessingConfig, validated: ValidatedPayment, started: float
) -> dict[str, Any]:
    """Records and answers the payment of an idempotency key. Powertools runs it for one request of a key at a
    time (see `_idempotent_settle_payment`); `attempt` is what it keys and checks: merchant_id,
    idempotency_key and the validated payment."""
    transaction_id = transaction_id_of(attempt["merchant_id"], attempt["idempotency_key"])
    record = pending_record(transaction_id, attempt["idempotency_key"], validated)
    if claim(config.transactions_table, record):
        return process(config, record, validated, started)
    existing = read_record(config.transactions_table, transaction_id)
    if existing is None:
        raise RuntimeError("a transaction record that exists cannot be read")
    if existing["status"] == PENDING:
        # Powertools let this request in, so the attempt that created the record is over without an answer.
        logger.warning("took over a transaction whose first attempt did not finish")
        outcome = _failed(
            HTTPStatus.INTERNAL_SERVER_ERROR, "transaction_processing", "processing did not finish in time"
        )
        return finish(config, existing, outcome, started=None)
    raise HttpError(
        HTTPStatus.CONFLICT,
        "idempotency_key_expired",
        "This idempotency-key was used for a payment whose answer is no longer kept; read it with GET "
        "/v1/payments/{transaction_id}, or send a new payment with a new idempotency-key",
        transaction_id=transaction_id,
    )


@functools.lru_cache(maxsize=1)
def _idempotent_settle_payment(idempotency_table: str) -> Callable[..., dict[str, Any]]:
    # The table name is configuration read at run time, so the idempotent wrapper is built on first use.
    persistence = DynamoDBPersistenceLayer(table_name=idempotency_table, boto3_client=dynamodb)
    return idempotent_function(
        data_keyword_argument="attempt",
        persistence_store=persistence,
        config=idempotency_config,
        key_prefix=IDEMPOTENCY_KEY_PREFIX,
    )(settle_payment)


def settle_once(
    config: ProcessingConfig, idempotency_key: str, validated: ValidatedPayment, context: LambdaContext, started: float
) -> dict[str, Any]:
    """The response of the key's payment: settled by this request, or by the one that holds the key, once that
    one has answered."""
    attempt = {
        "merchant_id": validated.payment.merchant_id,
        "idempotency_key": idempotency_key,
        "payment": validated.model_dump(mode="json"),
    }
    settle = _idempotent_settle_payment(settings.read(ssm_contract.IDEMPOTENCY_TABLE))
    # The INPROGRESS record then expires at this invocation's deadline, when Lambda has certainly ended it.
    idempotency_config.register_lambda_context(context)
    delay = FIRST_POLL_DELAY_S
    with logger.append_context_keys(transaction_id=transaction_id_of(attempt["merchant_id"], idempotency_key)):
        while True:
            try:
                return settle(attempt=attempt, config=config, validated=validated, started=started)
            except IdempotencyValidationError:
                raise HttpError(
                    HTTPStatus.CONFLICT,
                    "idempotency_key_reused",
                    "This idempotency-key was already used for a different payment request",
                ) from None
            except IdempotencyAlreadyInProgressError:
                if context.get_remaining_time_in_millis() < ANSWER_RESERVE_MS + delay * 1000:
                    raise HttpError(
                        HTTPStatus.SERVICE_UNAVAILABLE,
                        "payment_in_progress",
                        "This payment is still being processed; retry with the same idempotency-key",
                        headers={"retry-after": "1"},
                    ) from None
            time.sleep(delay)
            delay = min(delay * 2, LONGEST_POLL_DELAY_S)


def _idempotency_key(headers: Mapping[str, str]) -> str:
    key = headers.get("idempotency-key")
    if key is None or not _IDEMPOTENCY_KEY.fullmatch(key):
        raise HttpError(
            HTTPStatus.BAD_REQUEST,
            "invalid_idempotency_key",
            "The idempotency-key header is required: 8 to 128 visible ASCII characters",
        )
    return key


def _refuse_card_data(errors: list[dict[str, str]]) -> None:
    if errors:
        logger.info("request with misplaced card data refused", extra={"rejected_fields": [e["field"] for e in errors]})
        raise HttpError(
            HTTPStatus.BAD_REQUEST,
            "card_data_not_allowed",
            "A card number may be sent in card.number only; remove it from the places listed in errors",
            errors=errors,
        )


def create_payment(request: AlbRequest, context: LambdaContext, started: float) -> dict[str, Any]:
    idempotency_key = _idempotency_key(request.headers)
    body = parse_json_object(request.body)
    _refuse_card_data(card_data_errors(body, permitted={CARD_NUMBER_FIELD: None}))
    config = ProcessingConfig.load().for_slot_of(context.invoked_function_arn)
    try:
        validation = validate_payment(config, body)
    except DownstreamFailure as failure:
        logger.error("payment validation failed", extra={"reason": failure.reason})
        metrics.add_metric(name="PaymentFailed", unit=MetricUnit.Count, value=1)
        notify_failure(config, failure.stage, failure.reason)
        raise HttpError(
            HTTPStatus.BAD_GATEWAY,
            "validation_unavailable",
            "Payment validation is unavailable; nothing was recorded, so the request may be retried with the "
            "same idempotency-key",
        ) from None
    if isinstance(validation, ValidationRejection):
        raise HttpError(
            HTTPStatus.BAD_REQUEST,
            "validation_failed",
            "The payment request is invalid",
            errors=[error.model_dump() for error in validation.errors],
        )
    return settle_once(config, idempotency_key, validation, context, started)


def get_payment(transaction_id: str) -> dict[str, Any]:
    record = None
    if _TRANSACTION_ID.fullmatch(transaction_id):
        record = read_record(ProcessingConfig.load().transactions_table, transaction_id)
    if record is None:
        raise HttpError(HTTPStatus.NOT_FOUND, "not_found", "There is no payment with this transaction_id")
    return json_response(HTTPStatus.OK, transaction_view(record))


def _allow_only(request: AlbRequest, method: str) -> None:
    if request.method != method:
        raise HttpError(
            HTTPStatus.METHOD_NOT_ALLOWED,
            "method_not_allowed",
            f"This resource accepts {method} only",
            headers={"allow": method},
        )


def route(request: AlbRequest, context: LambdaContext, started: float) -> dict[str, Any]:
    match = _PAYMENT_PATH.fullmatch(request.path)
    transaction_path = bool(match and _TRANSACTION_ID.fullmatch(match.group(1)))
    _refuse_card_data(card_data_outside_body(request, check_path=not transaction_path))
    if request.path == PAYMENTS_PATH:
        _allow_only(request, "POST")
        return create_payment(request, context, started)
    if match:
        _allow_only(request, "GET")
        return get_payment(match.group(1))
    raise HttpError(HTTPStatus.NOT_FOUND, "not_found", "There is no such resource")


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    started = time.monotonic()
    try:
        return route(parse_alb_event(event), context, started)
    except HttpError as error:
        return error.response()
    except Exception:
        logger.exception("unexpected error")
        return HttpError(HTTPStatus.INTERNAL_SERVER_ERROR, "internal_error", "An unexpected error occurred").response()

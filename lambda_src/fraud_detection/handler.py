"""fraud_detection: explainable, rule-based risk scoring of a validated payment.

Invoked synchronously by transaction_processing with payment_validation's answer plus the id under which the
transaction is being recorded: `{"valid": true, "payment": {...}, "card": {...}, "transaction_id": "<uuid>"}`.
It answers `{"score": 0-100, "decision": "approve" | "review" | "decline", "reasons": [{"rule", "points",
"detail"}]}`: every rule that fires adds its points and one reason, the score is their sum capped at 100, and
the decision is "decline" from `decline_score`, "review" from `review_score`, else "approve".

Rules (thresholds and points come from the `fraud/thresholds` parameter, see `FraudThresholds`):

- card_velocity / customer_velocity: with this one, more than `max_card_transactions_in_window` attempts with
  the card (`max_customer_transactions_in_window` by the customer) in the last `velocity_window_seconds`.
  Every recorded attempt counts whatever its outcome, because a burst of declined attempts is exactly what
  card testing looks like; the transaction being scored is excluded (it is already recorded as PENDING).
- high_amount_vs_history: the amount exceeds `high_amount_ratio` times the average of the customer's most
  recent AUTHORIZED payments in the same currency (at least `min_history_transactions` of them, at most
  `history_sample_size`); without enough history the rule stays silent rather than guess.
- risky_merchant_category: the merchant category code is in `risky_merchant_categories`.
- country_mismatch: billing country and IP country are both known and differ.

Scoring a transaction is idempotent (Powertools idempotency on `transaction_id`, in the idempotency table): a
retried invocation returns the first decision, although the counts behind it have since moved on.

A card number anywhere in the request (field names included; see payments_common.card_data) makes it
malformed: only the card token and the transaction id, in their own formats, may hold long digit runs.
A malformed request is answered with `{"error": "invalid_request", "errors": [{"field", "message"}]}`; only
a broken configuration or a failing AWS call makes the invocation fail.
"""

from __future__ import annotations

import functools
import re
from datetime import timedelta
from decimal import Decimal
from typing import Annotated, Any, Callable

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config
from payments_common import settings, ssm_contract
from payments_common.card_data import card_data_errors
from payments_common.clock import iso_timestamp, utc_now
from payments_common.contracts import TOKEN_PATTERN, RiskAssessment, RiskReason, ValidatedPayment, field_errors
from payments_common.redaction import CardDataRedactingFormatter, protect_log_handlers
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

logger = Logger(logger_formatter=CardDataRedactingFormatter())
tracer = Tracer()
protect_log_handlers()

# Scoring sits on the synchronous payment path: fail fast rather than hold the caller.
dynamodb = boto3.client(
    "dynamodb", config=Config(connect_timeout=1, read_timeout=2, retries={"total_max_attempts": 3, "mode": "standard"})
)
idempotency_config = IdempotencyConfig(event_key_jmespath="transaction_id")

# The history query filters on status and currency after reading; a customer with many non-matching
# attempts must not make one scoring read without bound.
HISTORY_PAGE_SIZE = 100
HISTORY_MAX_PAGES = 3

UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


class RulePoints(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    card_velocity: int = Field(default=40, ge=0, le=100)
    customer_velocity: int = Field(default=30, ge=0, le=100)
    high_amount_vs_history: int = Field(default=30, ge=0, le=100)
    risky_merchant_category: int = Field(default=25, ge=0, le=100)
    country_mismatch: int = Field(default=20, ge=0, le=100)


class FraudThresholds(BaseModel):
    """The `fraud/thresholds` parameter; the fields with defaults may be left out of it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    review_score: int = Field(ge=1, le=100)
    decline_score: int = Field(ge=1, le=100)
    velocity_window_seconds: int = Field(gt=0)
    max_card_transactions_in_window: int = Field(ge=1)
    max_customer_transactions_in_window: int = Field(ge=1)
    high_amount_ratio: float = Field(gt=1)
    risky_merchant_categories: list[Annotated[str, Field(pattern=r"^[0-9]{4}$")]]
    history_sample_size: int = Field(default=20, ge=1, le=HISTORY_PAGE_SIZE)
    min_history_transactions: int = Field(default=3, ge=1)
    points: RulePoints = RulePoints()

    @model_validator(mode="after")
    def _consistent(self) -> FraudThresholds:
        if self.review_score >= self.decline_score:
            raise ValueError("review_score must be lower than decline_score")
        if self.min_history_transactions > self.history_sample_size:
            raise ValueError("min_history_transactions must not exceed history_sample_size")
        return self


class FraudRequest(ValidatedPayment):
    transaction_id: str = Field(pattern=UUID_PATTERN)


# Hex digits of an HMAC or a UUID contain a Luhn-valid stretch now and then; in these formats they are ours.
GENERATED_IDENTIFIERS = {("card", "token"): re.compile(TOKEN_PATTERN), ("transaction_id",): re.compile(UUID_PATTERN)}


def _count_attempts_since(
    table: str, index: str, key_name: str, key_value: str, since: str, scored_transaction_id: str
) -> int:
    paginator = dynamodb.get_paginator("query")
    pages = paginator.paginate(
        TableName=table,
        IndexName=index,
        Select="COUNT",
        KeyConditionExpression="#key = :key AND #created_at >= :since",
        FilterExpression="#transaction_id <> :scored",
        ExpressionAttributeNames={"#key": key_name, "#created_at": "created_at", "#transaction_id": "transaction_id"},
        ExpressionAttributeValues={
            ":key": {"S": key_value},
            ":since": {"S": since},
            ":scored": {"S": scored_transaction_id},
        },
    )
    return sum(page["Count"] for page in pages)


def _recent_authorized_amounts(table: str, customer_id: str, currency: str, sample_size: int) -> list[Decimal]:
    paginator = dynamodb.get_paginator("query")
    pages = paginator.paginate(
        TableName=table,
        IndexName="by-customer",
        KeyConditionExpression="#customer_id = :customer_id",
        FilterExpression="#status = :authorized AND #currency = :currency",
        ProjectionExpression="#amount",
        ExpressionAttributeNames={
            "#customer_id": "customer_id",
            "#status": "status",
            "#currency": "currency",
            "#amount": "amount",
        },
        ExpressionAttributeValues={
            ":customer_id": {"S": customer_id},
            ":authorized": {"S": "AUTHORIZED"},
            ":currency": {"S": currency},
        },
        ScanIndexForward=False,
        PaginationConfig={"PageSize": HISTORY_PAGE_SIZE},
    )
    amounts: list[Decimal] = []
    for page_number, page in enumerate(pages, start=1):
        amounts.extend(Decimal(item["amount"]["N"]) for item in page["Items"])
        if len(amounts) >= sample_size or page_number >= HISTORY_MAX_PAGES:
            break
    return amounts[:sample_size]


def _velocity_reason(
    rule: str, subject: str, attempts: int, limit: int, window_seconds: int, points: int
) -> RiskReason | None:
    if attempts <= limit:
        return None
    return RiskReason(
        rule=rule,
        points=points,
        detail=f"{attempts} attempts with this {subject} in the last {window_seconds} s; the limit is {limit}",
    )


def _high_amount_reason(request: FraudRequest, thresholds: FraudThresholds, table: str) -> RiskReason | None:
    payment = request.payment
    history = _recent_authorized_amounts(table, payment.customer_id, payment.currency, thresholds.history_sample_size)
    if len(history) < thresholds.min_history_transactions:
        return None
    average = sum(history) / len(history)
    amount = Decimal(payment.amount)
    if amount <= Decimal(str(thresholds.high_amount_ratio)) * average:
        return None
    return RiskReason(
        rule="high_amount_vs_history",
        points=thresholds.points.high_amount_vs_history,
        detail=(
            f"amount {payment.amount} {payment.currency} is {(amount / average).quantize(Decimal('0.1'))}x the "
            f"average of the customer's last {len(history)} authorized payments "
            f"({average.quantize(Decimal('0.01'))} {payment.currency}); the limit is {thresholds.high_amount_ratio}x"
        ),
    )


def _risky_merchant_category_reason(request: FraudRequest, thresholds: FraudThresholds) -> RiskReason | None:
    category = request.payment.merchant_category_code
    if category not in thresholds.risky_merchant_categories:
        return None
    return RiskReason(
        rule="risky_merchant_category",
        points=thresholds.points.risky_merchant_category,
        detail=f"merchant category {category} is on the high-risk list",
    )


def _country_mismatch_reason(request: FraudRequest, thresholds: FraudThresholds) -> RiskReason | None:
    billing, ip = request.payment.billing_country, request.payment.ip_country
    if not billing or not ip or billing == ip:
        return None
    return RiskReason(
        rule="country_mismatch",
        points=thresholds.points.country_mismatch,
        detail=f"billing country {billing} differs from IP country {ip}",
    )


def _decision(score: int, thresholds: FraudThresholds) -> str:
    if score >= thresholds.decline_score:
        return "decline"
    if score >= thresholds.review_score:
        return "review"
    return "approve"


@tracer.capture_method(capture_response=False)
def assess_risk(request: FraudRequest) -> dict[str, Any]:
    thresholds = FraudThresholds.model_validate(settings.read(ssm_contract.FRAUD_THRESHOLDS))
    table = settings.read(ssm_contract.TRANSACTIONS_TABLE)
    window = thresholds.velocity_window_seconds
    since = iso_timestamp(utc_now() - timedelta(seconds=window))
    card_attempts = 1 + _count_attempts_since(
        table, "by-card-token", "card_token", request.card.token, since, request.transaction_id
    )
    customer_attempts = 1 + _count_attempts_since(
        table, "by-customer", "customer_id", request.payment.customer_id, since, request.transaction_id
    )
    candidates = (
        _velocity_reason(
            "card_velocity",
            "card",
            card_attempts,
            thresholds.max_card_transactions_in_window,
            window,
            thresholds.points.card_velocity,
        ),
        _velocity_reason(
            "customer_velocity",
            "customer",
            customer_attempts,
            thresholds.max_customer_transactions_in_window,
            window,
            thresholds.points.customer_velocity,
        ),
        _high_amount_reason(request, thresholds, table),
        _risky_merchant_category_reason(request, thresholds),
        _country_mismatch_reason(request, thresholds),
    )
    reasons = [reason for reason in candidates if reason is not None]
    score = min(100, sum(reason.points for reason in reasons))
    decision = _decision(score, thresholds)
    logger.info("payment scored", extra={"score": score, "decision": decision, "rules": [r.rule for r in reasons]})
    return RiskAssessment(score=score, decision=decision, reasons=reasons).model_dump(mode="json")


@functools.lru_cache(maxsize=1)
def _idempotent_assess_risk(idempotency_table: str) -> Callable[..., dict[str, Any]]:
    # The table name is configuration read at run time, so the idempotent wrapper is built on first use.
    persistence = DynamoDBPersistenceLayer(table_name=idempotency_table, boto3_client=dynamodb)
    return idempotent_function(
        data_keyword_argument="request", persistence_store=persistence, config=idempotency_config
    )(assess_risk)


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    errors = card_data_errors(event, permitted=GENERATED_IDENTIFIERS)
    if not errors:
        try:
            request = FraudRequest.model_validate(event)
        except ValidationError as error:
            errors = field_errors(error)
    if errors:
        logger.warning("fraud request rejected", extra={"rejected_fields": [item["field"] for item in errors]})
        return {"error": "invalid_request", "errors": errors}
    with logger.append_context_keys(transaction_id=request.transaction_id):
        idempotency_config.register_lambda_context(context)
        return _idempotent_assess_risk(settings.read(ssm_contract.IDEMPOTENCY_TABLE))(request=request)

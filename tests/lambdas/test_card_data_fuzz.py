"""Hostile clients against the three payment functions, through both entry shapes: ALB events to
transaction_processing, direct invocations of payment_validation and fraud_detection.

More than 2,000 generated requests per run (a fixed derandomized seed, so every run sends the same ones)
mix well-formed payments, near misses, card numbers hidden anywhere but `card.number` (any punctuation,
any place a client controls) and arbitrary JSON; now and then a dependency failure is injected. Everything
that leaves the system is captured: every log record at DEBUG from every logger (the functions' Powertools
loggers and, through the root logger, botocore, urllib3, Powertools utilities, moto), every response and
direct answer, and after the run every DynamoDB item and every SNS notification. Across all of it:

- no full PAN (`support.full_pans_in`: 13-19 digits passing Luhn, however separated) and no verification
  code next to its name (`support.VERIFICATION_CODE_TEXT`);
- no status of 500 or more unless a dependency failure was injected;
- no traceback, source line or exception class name in any answer;
- a card number outside `card.number` is always refused.

The lambda invoke payloads also pass through the real botocore Lambda client (against moto, where the
functions do not exist), so botocore's DEBUG lines of the request body, card number included, are
captured as in Lambda.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.lambdas import strategies
from tests.lambdas.support import (
    EXCEPTION_TEXT,
    IDEMPOTENCY_TABLE,
    PAYMENT_VALIDATION_FUNCTION,
    TRANSACTIONS_TABLE,
    VERIFICATION_CODE_TEXT,
    CapturedLogs,
    Platform,
    capture_logs,
    full_pans_in,
)

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")

EXAMPLES = 2_100
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
HEX_DIGEST = re.compile(r"[0-9a-f]{64}")
MD5_DIGEST = re.compile(r"[0-9a-f]{32}")
# Idempotency records expire within a day (transaction_processing replays a key's answer for 24 h).
LONGEST_EXPIRY_SECONDS = 86_400
IDEMPOTENCY_RECORD_ID = re.compile(r"[A-Za-z0-9_.-]+#[0-9a-f]{32}")
INJECTED_FAILURES = ("validation invoke error", "validation crash", "fraud invoke error", "fraud crash")


@pytest.fixture(scope="module")
def logs(platform: Platform) -> Iterator[CapturedLogs]:
    with capture_logs(platform, logging.DEBUG) as captured:
        yield captured


class BotocoreLoggedTransport:
    """transaction_processing's invoke seam: the payload first goes through the real botocore Lambda client
    (moto answers "no such function"), so that botocore logs the request body exactly as it would in Lambda;
    then the target's handler runs in this process. `failure` injects a dependency failure."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.failure: str | None = None

    def __call__(self, function_name: str, payload: bytes) -> Any:
        with contextlib.suppress(ClientError):
            self.platform.processing.invoke_lambda(f"{function_name.split(':')[0]}-not-deployed", payload)
        stage = "validation" if function_name == PAYMENT_VALIDATION_FUNCTION else "fraud"
        if self.failure == f"{stage} invoke error":
            raise ClientError({"Error": {"Code": "TooManyRequestsException", "Message": "Rate exceeded"}}, "Invoke")
        if self.failure == f"{stage} crash":
            return self.platform.processing.InvocationResult(
                json.dumps({"errorMessage": "boom", "errorType": "KeyError", "stackTrace": ["File x"]}).encode(),
                "Unhandled",
            )
        return self.platform.invoker(function_name, payload)


@dataclass
class Case:
    target: str  # "alb", "validation" or "fraud"
    event: Any
    misplaced_pan: bool = False
    failure: str | None = None


@st.composite
def failing_dependency_posts(draw: st.DrawFn) -> Case:
    """A payment (valid or nearly) under a fresh key while payment_validation or fraud_detection fails."""
    request, _ = draw(strategies.payment_requests())
    key = "fuzz-failure-" + draw(st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=10, max_size=10))
    event = {
        "httpMethod": "POST",
        "path": "/v1/payments",
        "headers": {"idempotency-key": key},
        "body": json.dumps(request),
        "isBase64Encoded": False,
    }
    return Case("alb", event, failure=draw(st.sampled_from(INJECTED_FAILURES)))


@st.composite
def misplaced_pan_fraud_requests(draw: st.DrawFn) -> dict[str, Any]:
    """A scoring request with a card number in the payment, where none may be at all."""
    request, _ = draw(strategies.fraud_requests())
    payment = request.get("payment") if isinstance(request.get("payment"), dict) else {}
    place = draw(st.sampled_from(["note", "merchant_id", "customer_id"]))
    return {**request, "payment": {**payment, place: draw(strategies.disguised_pans())}}


def fuzz_cases() -> st.SearchStrategy[Case]:
    alb = st.one_of(
        strategies.alb_events().map(lambda case: Case("alb", case[0])),
        strategies.misplaced_pan_alb_events().map(lambda event: Case("alb", event, misplaced_pan=True)),
        failing_dependency_posts(),
    )
    validation = st.one_of(
        strategies.validation_events().map(lambda case: Case("validation", case[0])),
        strategies.misplaced_pan_requests().map(lambda case: Case("validation", case[0], misplaced_pan=True)),
    )
    fraud = st.one_of(
        strategies.fraud_events().map(lambda case: Case("fraud", case[0])),
        misplaced_pan_fraud_requests().map(lambda event: Case("fraud", event, misplaced_pan=True)),
    )
    return st.one_of(alb, alb, validation, fraud)


def generated_identifiers(value: Any) -> set[str]:
    """Values the platform generates in pinned formats (transaction ids, card tokens, digests, idempotency
    record ids and their timestamps), found by key at any depth and checked against their format. Their hex
    or decimal digits may pass the Luhn check by chance, so the PAN oracle skips exactly these values."""
    found: set[str] = set()
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str) and item[:1] in "{[":
            with contextlib.suppress(ValueError):
                pending.append(json.loads(item))
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, dict):
            for key, child in item.items():
                if key == "transaction_id" and isinstance(child, str) and UUID.fullmatch(child):
                    found.add(child)
                elif key in ("token", "card_token") and isinstance(child, str):
                    assert HEX_DIGEST.fullmatch(child), (key, child)
                    found.add(child)
                elif key == "validation" and isinstance(child, str):
                    # The payload hash Powertools keeps of a transaction_processing request (md5).
                    assert MD5_DIGEST.fullmatch(child), (key, child)
                    found.add(child)
                elif key == "id" and isinstance(child, str) and IDEMPOTENCY_RECORD_ID.fullmatch(child):
                    found.add(child)
                elif key in ("expiration", "in_progress_expiration"):
                    seconds_away = int(child) / (1000 if key == "in_progress_expiration" else 1) - time.time()
                    assert abs(seconds_away) <= LONGEST_EXPIRY_SECONDS, (key, child)
                    found.add(str(child))
                else:
                    pending.append(child)
    return found


def assert_no_card_data(text: str, where: str, identifiers: set[str] = frozenset()) -> None:
    for identifier in sorted(identifiers, key=len, reverse=True):
        text = text.replace(identifier, "<generated id>")
    assert full_pans_in(text) == [], f"card number in {where}: {text[:2000]}"
    assert VERIFICATION_CODE_TEXT.search(text) is None, f"verification code in {where}: {text[:2000]}"


def answer_of(platform: Platform, transport: BotocoreLoggedTransport, case: Case) -> tuple[int, Any]:
    """(HTTP status or 200 for a direct answer, the answer as JSON-ready data)."""
    if case.target == "validation":
        return 200, platform.call_validation(case.event)
    if case.target == "fraud":
        return 200, platform.call_fraud(case.event)
    transport.failure = case.failure
    try:
        response = platform.call_processing(case.event)
    finally:
        transport.failure = None
    assert response["headers"]["content-type"] == "application/json"
    return response["statusCode"], json.loads(response["body"])


def assert_refused(case: Case, status: int, answer: Any) -> None:
    if case.target == "alb":
        assert status == 400, answer
    elif case.target == "validation":
        assert answer["valid"] is False, answer
    else:
        assert answer["error"] == "invalid_request", answer


def test_fuzz_no_card_data_leaves_and_client_input_never_fails(platform, logs):
    transport = BotocoreLoggedTransport(platform)
    platform.processing.invoke_function = transport
    platform.failure_notices()
    sent: Counter[str] = Counter()

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=fuzz_cases())
    def send(case: Case) -> None:
        logs.clear()
        status, answer = answer_of(platform, transport, case)
        sent[case.target] += 1
        sent["misplaced"] += case.misplaced_pan
        sent["injected"] += case.failure is not None
        text = json.dumps(answer)

        assert status < 500 or case.failure is not None, text
        assert EXCEPTION_TEXT.search(text) is None, text
        assert_no_card_data(text, f"{case.target} answer", generated_identifiers(answer))
        if case.misplaced_pan:
            assert_refused(case, status, answer)
        log_text = logs.text()
        assert_no_card_data(log_text, f"{case.target} logs")
        sent["with botocore DEBUG lines"] += "botocore.endpoint DEBUG" in log_text
        sent["with Powertools package lines"] += "aws_lambda_powertools." in log_text

    try:
        send()
    finally:
        platform.processing.invoke_function = platform.invoker

    for table in (TRANSACTIONS_TABLE, IDEMPOTENCY_TABLE):
        items = scan(platform, table)
        text = json.dumps(items, default=str)
        assert_no_card_data(text, table, generated_identifiers(items))
    notices = platform.failure_notices()
    assert_no_card_data(json.dumps(notices), "SNS notifications", generated_identifiers(notices))

    # The run did what it claims: enough requests, through both entry shapes, down every path.
    total = sent["alb"] + sent["validation"] + sent["fraud"]
    assert total >= 2_000, sent
    assert min(sent["alb"], sent["validation"], sent["fraud"]) >= 300, sent
    assert sent["misplaced"] >= 300 and sent["injected"] >= 50, sent
    assert len(scan(platform, TRANSACTIONS_TABLE)) >= 30
    assert len(notices) >= 20
    # Every logger's records reached the capture (through the root, the functions' streams, or the capture
    # handler on loggers that do not propagate): Powertools' package logger was heard from too. Only requests
    # that get as far as an AWS call log botocore lines (refused ones do not; SSM reads are cached): ~500 of 2,100.
    assert sent["with botocore DEBUG lines"] >= 300 and sent["with Powertools package lines"] >= 500, sent
    print(f"fuzz: {dict(sent)}")


def scan(platform: Platform, table: str) -> list[dict[str, Any]]:
    deserializer = TypeDeserializer()
    items: list[dict[str, Any]] = []
    for page in platform.dynamodb.get_paginator("scan").paginate(TableName=table):
        items.extend({name: deserializer.deserialize(value) for name, value in item.items()} for item in page["Items"])
    return items

"""transaction_processing's idempotency (Powertools, on the idempotency table): what a retry, a reused key and
an expired key answer, what is recorded, and that the idempotency records and the DEBUG logs hold no card data.
Concurrent duplicates: test_idempotency_concurrency.py; an abandoned first attempt: test_transaction_processing.py.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.lambdas.support import (
    FRAUD_DETECTION_FUNCTION,
    SETTLEMENT_RECORDS,
    THRESHOLDS,
    VERIFICATION_CODE_TEXT,
    FakeLambdaContext,
    Platform,
    alb_event,
    capture_logs,
    card_number,
    load_handler,
    payment_request,
    response_json,
    unique_id,
)

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")


@contextmanager
def fraud_scorings(platform: Platform, container=None) -> Iterator[list[str]]:
    """The fraud_detection invocations transaction_processing makes while the block runs."""
    container = container or platform.processing
    calls: list[str] = []

    def counting(function_name, payload):
        if function_name == FRAUD_DETECTION_FUNCTION:
            calls.append(json.loads(payload)["transaction_id"])
        return platform.invoker(function_name, payload)

    previous = container.invoke_function
    container.invoke_function = counting
    try:
        yield calls
    finally:
        container.invoke_function = previous


def send(platform: Platform, request: dict, key: str, container=None) -> dict:
    handler = (container or platform.processing).lambda_handler
    event = alb_event(body=request, idempotency_key=key)
    return handler(event, FakeLambdaContext("payments-test-transaction-processing"))


def records_of(platform: Platform, key: str) -> list[dict]:
    return [item for item in platform.transactions() if item["idempotency_key"] == key]


def test_retries_replay_the_stored_response_with_one_record_and_one_scoring(platform):
    request, key = payment_request(), unique_id("retry")
    before = set(platform.idempotency_records(SETTLEMENT_RECORDS))

    with fraud_scorings(platform) as scorings:
        responses = [send(platform, request, key) for _ in range(4)]

    assert responses[0]["statusCode"] == 201
    assert all(response == responses[0] for response in responses)
    [record] = records_of(platform, key)
    assert scorings == [record["transaction_id"]]
    records = platform.idempotency_records(SETTLEMENT_RECORDS)
    [record_id] = set(records) - before
    stored = records[record_id]
    assert stored["status"] == "COMPLETED"
    assert json.loads(stored["data"]) == responses[0]


def test_a_retry_served_by_the_other_slots_release_replays_the_same_response(platform):
    """Blue and green may run different releases, and the ALB routes each retry anew: both share every key."""
    other_release = load_handler("transaction_processing", "transaction_processing_other_release")
    other_release.invoke_function = platform.invoker
    request, key = payment_request(), unique_id("slots")

    first = send(platform, request, key)
    with fraud_scorings(platform, other_release) as scorings:
        second = send(platform, request, key, container=other_release)

    assert first["statusCode"] == 201
    assert second == first
    assert scorings == []
    assert len(records_of(platform, key)) == 1


# Each way a second request under a used key can differ from the first in what the payment is.
CHANGES = st.one_of(
    st.sampled_from(["0.01", "49.98", "50.00", "1000", "24999.99"]).map(lambda amount: {"amount": amount}),
    st.sampled_from(["EUR", "GBP", "CAD"]).map(lambda currency: {"currency": currency}),
    st.just({"customer_id": "customer_other"}),
    st.sampled_from(["5812", "7995"]).map(lambda code: {"merchant_category_code": code}),
    st.sampled_from(["DE", "NG"]).map(lambda country: {"billing_country": country}),
    st.sampled_from(["DE", "NG"]).map(lambda country: {"ip_country": country}),
    st.integers(0, 2**32).map(lambda seed: {"card": {"number": card_number(rng=random.Random(seed))}}),
)


@settings(
    max_examples=15,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(change=CHANGES)
def test_a_used_key_with_a_different_payment_is_409_and_records_nothing(platform, change):
    key = unique_id("reused")
    request = payment_request()
    first = send(platform, request, key)
    assert first["statusCode"] == 201
    [original] = records_of(platform, key)
    idempotency_before = platform.idempotency_records(SETTLEMENT_RECORDS)
    changed = {**request, **change}
    if "card" in change:
        changed["card"] = {**request["card"], **change["card"]}

    with fraud_scorings(platform) as scorings:
        response = send(platform, changed, key)

    assert response["statusCode"] == 409
    assert response_json(response)["error"] == "idempotency_key_reused"
    assert records_of(platform, key) == [original]
    assert platform.idempotency_records(SETTLEMENT_RECORDS) == idempotency_before
    assert scorings == []
    assert send(platform, request, key) == first


def test_a_key_whose_answer_expired_is_spent_and_the_payment_not_processed_again(platform):
    request, key = payment_request(), unique_id("expired")
    before = set(platform.idempotency_records(SETTLEMENT_RECORDS))
    first = send(platform, request, key)
    [record_id] = set(platform.idempotency_records(SETTLEMENT_RECORDS)) - before
    [original] = records_of(platform, key)
    platform.expire_idempotency_record(record_id, "expiration")

    with fraud_scorings(platform) as scorings:
        same = send(platform, request, key)
        different = send(platform, {**request, "amount": "1.00"}, key)

    for response in (same, different):
        assert response["statusCode"] == 409
        body = response_json(response)
        assert body["error"] == "idempotency_key_expired"
        assert body["transaction_id"] == original["transaction_id"]
    assert scorings == []
    assert records_of(platform, key) == [original]
    found = platform.call_processing(alb_event("GET", f"/v1/payments/{original['transaction_id']}"))
    assert response_json(found) == response_json(first)


def test_no_card_data_reaches_the_idempotency_table_or_the_debug_logs(platform):
    """A case of each answer the idempotency store keeps (201, 201 flagged for review, 502) and of those it does
    not (400, 409), with every log record at DEBUG; then every idempotency record is read. (Generated hostile
    requests: test_card_data_fuzz.py, which reads this table too.)"""
    requests = {
        "authorized": payment_request(),
        "flagged": payment_request(merchant_category_code="7995", ip_country="NG", amount="24999.99"),
        "failed": payment_request(),
        "rejected": payment_request(card={"cvv": "12"}),
    }
    statuses = {}
    with capture_logs(platform, logging.DEBUG) as logs:
        for name, request in requests.items():
            if name == "failed":
                broken = json.dumps({**THRESHOLDS, "decline_score": 10})
                with platform.parameter_replaced("fraud/thresholds", broken):
                    statuses[name] = send(platform, request, unique_id(name))["statusCode"]
            else:
                statuses[name] = send(platform, request, unique_id(name))["statusCode"]
        reused = unique_id("reused")
        send(platform, requests["authorized"], reused)
        statuses["reused"] = send(platform, {**requests["authorized"], "amount": "1.00"}, reused)["statusCode"]
        log_text = logs.text()
    customers = {request["customer_id"] for request in requests.values()}
    tokens = [item["card_token"] for item in platform.transactions() if item["customer_id"] in customers]

    assert statuses == {"authorized": 201, "flagged": 201, "failed": 502, "rejected": 400, "reused": 409}
    assert len(tokens) == 4, "authorized, flagged, failed and reused were recorded"
    assert "aws_lambda_powertools.utilities.idempotency" in log_text, "Powertools' DEBUG lines were captured"
    stored = [json.dumps(record, default=str) for record in platform.idempotency_records().values()]
    table_text = "\n".join(stored)
    assert sum(customer in record for record in stored for customer in customers) == 4
    for text in (table_text, log_text):
        for request in requests.values():
            pan = request["card"]["number"]
            assert pan not in text
            assert f"{pan[:4]} {pan[4:8]}" not in text
        assert VERIFICATION_CODE_TEXT.search(text) is None
    for token in tokens:
        assert token not in table_text


def test_a_failure_after_creating_the_transaction_is_not_processed_again_by_the_retry(platform, monkeypatch):
    """Powertools deletes its record when the settling raises, so the retry is let in at once: it must find the
    transaction PENDING and record it FAILED instead of scoring and recording the payment a second time."""
    platform.failure_notices()
    request, key = payment_request(), unique_id("outage")
    before = set(platform.idempotency_records(SETTLEMENT_RECORDS))

    def outage(**kwargs):
        raise ClientError({"Error": {"Code": "InternalServerError", "Message": "injected"}}, "UpdateItem")

    with fraud_scorings(platform) as scorings:
        with monkeypatch.context() as patched:
            patched.setattr(platform.processing.dynamodb, "update_item", outage)
            first = send(platform, request, key)
        assert set(platform.idempotency_records(SETTLEMENT_RECORDS)) == before
        retry = send(platform, request, key)
        again = send(platform, request, key)

    assert (first["statusCode"], response_json(first)["error"]) == (500, "internal_error")
    [record] = records_of(platform, key)
    assert scorings == [record["transaction_id"]]
    assert record["status"] == "FAILED"
    assert record["failure_reason"] == "processing did not finish in time"
    body = response_json(retry)
    assert (retry["statusCode"], body["transaction"]["status"]) == (500, "FAILED")
    assert again == retry
    assert [notice["transaction_id"] for notice in platform.failure_notices()] == [record["transaction_id"]]

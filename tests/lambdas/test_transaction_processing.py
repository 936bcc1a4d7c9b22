"""transaction_processing end to end: ALB event -> payment_validation -> fraud_detection -> DynamoDB/SNS."""

from __future__ import annotations

import base64
import json
import uuid

import pytest
from hypothesis import HealthCheck, event, given, settings

from tests.lambdas import strategies
from tests.lambdas.support import (
    FRAUD_DETECTION_FUNCTION,
    SETTLEMENT_RECORDS,
    THRESHOLDS,
    FakeLambdaContext,
    alb_event,
    card_number,
    payment_request,
    response_json,
    unique_id,
)

# Powertools warns whenever an invocation emits no metric; answers other than a recorded outcome emit none.
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")


def post(platform, request, key: str | None = None, **event_options) -> tuple[int, dict]:
    response = platform.call_processing(
        alb_event(body=request, idempotency_key=key or unique_id("key"), **event_options)
    )
    return response["statusCode"], response_json(response)


class SimulatedCrash(BaseException):
    """Ends an invocation the way a Lambda timeout does: no handler code runs afterwards."""


def test_payment_is_authorized_recorded_and_readable(platform, capsys):
    request = payment_request(amount="120.5", currency="EUR")
    pan = request["card"]["number"]

    status, body = post(platform, request, key="order-4711-attempt-1")

    assert status == 201
    assert body["status"] == "AUTHORIZED"
    assert body["amount"] == "120.50"
    assert body["currency"] == "EUR"
    assert body["card"] == {"brand": "visa", "last4": pan[-4:]}
    assert body["review_required"] is False
    assert body["risk"] == {"score": 0, "decision": "approve", "rules": []}
    record = platform.transaction(body["transaction_id"])
    assert record["status"] == "AUTHORIZED"
    assert record["idempotency_key"] == "order-4711-attempt-1"
    assert record["card_last4"] == pan[-4:]
    assert len(record["card_token"]) == 64
    assert pan not in json.dumps(record, default=str)
    assert "cvv" not in json.dumps(record, default=str)

    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    metric_names = {metric["Name"] for blob in emitted for metric in blob["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert {"PaymentApproved", "PaymentLatency"} <= metric_names
    assert all(blob["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Payments" for blob in emitted)

    found = platform.call_processing(alb_event("GET", f"/v1/payments/{body['transaction_id']}"))
    assert found["statusCode"] == 200
    assert response_json(found) == body


def test_retry_with_the_same_key_replays_the_response(platform):
    request = payment_request(amount="49.90")
    first = platform.call_processing(alb_event(body=request, idempotency_key="replay-key-0001"))
    # The same payment written differently: amount without its trailing zero, card number in groups.
    pan = request["card"]["number"]
    retyped = {**request, "amount": "49.9", "card": {**request["card"], "number": f"{pan[:4]} {pan[4:8]}-{pan[8:]}"}}
    second = platform.call_processing(alb_event(body=retyped, idempotency_key="replay-key-0001"))

    assert first["statusCode"] == 201
    assert second == first
    assert [item["idempotency_key"] for item in platform.transactions()].count("replay-key-0001") == 1


def test_same_key_for_a_different_payment_is_a_conflict(platform):
    request = payment_request()
    post(platform, request, key="conflict-key-01")

    status, body = post(platform, {**request, "amount": "50.00"}, key="conflict-key-01")

    assert status == 409
    assert body["error"] == "idempotency_key_reused"
    [record] = [item for item in platform.transactions() if item["idempotency_key"] == "conflict-key-01"]
    assert str(record["amount"]) == "49.99"


def test_keys_are_scoped_to_the_merchant(platform):
    first_status, first = post(platform, payment_request(merchant_id="merchant_a"), key="shared-key-0001")
    second_status, second = post(platform, payment_request(merchant_id="merchant_b"), key="shared-key-0001")
    assert (first_status, second_status) == (201, 201)
    assert first["transaction_id"] != second["transaction_id"]


REJECTED = {
    "bad Luhn": ({"card": {"number": "4111111111111112"}}, "card.number"),
    "wrong length for the brand": ({"card": {"number": card_number("37", 16)}}, "card.number"),
    "unknown brand": ({"card": {"number": card_number("9", 16)}}, "card.number"),
    "expired card": ({"card": {"expiry_month": 1, "expiry_year": 2020}}, "card.expiry_year"),
    "bad CVV": ({"card": {"cvv": "12"}}, "card.cvv"),
    "too many decimals": ({"amount": "10.005"}, "amount"),
    "over the maximum": ({"amount": "25000.01"}, "amount"),
    "unsupported currency": ({"currency": "CHF"}, "currency"),
    "missing field": ({"customer_id": None}, "customer_id"),
}


@pytest.mark.parametrize(("overrides", "field"), REJECTED.values(), ids=REJECTED.keys())
def test_invalid_payment_is_rejected_with_field_errors_and_not_recorded(platform, overrides, field):
    request = payment_request(**overrides)
    if request["customer_id"] is None:
        del request["customer_id"]
    key = unique_id("rejected")

    status, body = post(platform, request, key=key)

    assert status == 400
    assert body["error"] == "validation_failed"
    assert field in {error["field"] for error in body["errors"]}
    assert request["card"]["number"] not in json.dumps(body)
    assert key not in {item["idempotency_key"] for item in platform.transactions()}


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("{", "invalid_json"),
        ('{"amount": NaN}', "invalid_json"),
        ("[1, 2]", "invalid_json"),
        ("", "invalid_json"),
        (None, "invalid_json"),
        ("1" * 5000, "invalid_json"),
    ],
    ids=["truncated", "NaN", "array", "empty", "no body", "huge integer"],
)
def test_malformed_body_is_a_bad_request(platform, body, error):
    status, answer = post(platform, body)
    assert status == 400
    assert answer["error"] == error


@pytest.mark.parametrize("key", [None, "short", "x" * 129, "has space in it", "caf\u00e9-order-1"])
def test_missing_or_invalid_idempotency_key_is_a_bad_request(platform, key):
    event = alb_event(body=payment_request(), idempotency_key=key)
    response = platform.call_processing(event)
    assert response["statusCode"] == 400
    assert response_json(response)["error"] == "invalid_idempotency_key"


def test_base64_encoded_body_is_accepted(platform):
    event = alb_event(body=payment_request(), idempotency_key=unique_id("key"))
    event["body"] = base64.b64encode(event["body"].encode()).decode()
    event["isBase64Encoded"] = True
    assert platform.call_processing(event)["statusCode"] == 201

    event["body"] = "not base64!"
    assert platform.call_processing(event)["statusCode"] == 400


def test_fraud_decline_answers_402_with_the_rules(platform):
    request = payment_request(merchant_category_code="7995", billing_country="US", ip_country="NG")
    for amount in ["100.00", "100.00", "100.00"]:
        assert (
            post(platform, {**request, "amount": amount, "merchant_category_code": "5411", "ip_country": "US"})[0]
            == 201
        )

    status, body = post(platform, {**request, "amount": "900.00"})

    assert status == 402
    assert (body["error"], body["message"]) == ("payment_declined", "The payment was declined")
    transaction = body["transaction"]
    assert transaction["status"] == "DECLINED"
    assert transaction["risk"] == {
        "score": 75,
        "decision": "decline",
        "rules": ["high_amount_vs_history", "risky_merchant_category", "country_mismatch"],
    }
    record = platform.transaction(transaction["transaction_id"])
    assert record["status"] == "DECLINED"
    assert [reason["rule"] for reason in record["fraud_reasons"]] == transaction["risk"]["rules"]
    assert "detail" not in json.dumps(body)  # thresholds and the customer's averages stay on the record
    assert "9.0x" in record["fraud_reasons"][0]["detail"]


def test_card_velocity_flags_the_sixth_attempt_for_review(platform):
    request = payment_request()
    answers = [post(platform, request) for _ in range(THRESHOLDS["max_card_transactions_in_window"] + 1)]

    assert [status for status, _ in answers] == [201] * 6
    assert [body["review_required"] for _, body in answers] == [False] * 5 + [True]
    assert answers[-1][1]["risk"]["rules"] == ["card_velocity"]
    assert platform.transaction(answers[-1][1]["transaction_id"])["review_required"] is True


def test_fraud_detection_failure_records_failed_and_notifies(platform):
    platform.failure_notices()
    request = payment_request()
    pan = request["card"]["number"]

    with platform.parameter_replaced("fraud/thresholds", json.dumps({**THRESHOLDS, "decline_score": 10})):
        status, body = post(platform, request, key="fails-in-fraud-1")

    assert status == 502
    assert (body["error"], body["message"]) == (
        "payment_failed",
        "A payment service failed; the payment was not authorized",
    )
    assert body["transaction"]["status"] == "FAILED"
    assert body["transaction"]["failure_stage"] == "fraud_detection"
    record = platform.transaction(body["transaction"]["transaction_id"])
    assert record["status"] == "FAILED"
    assert record["failure_stage"] == "fraud_detection"
    assert record["failure_reason"] == "function error (Unhandled): ValidationError"
    [notice] = platform.failure_notices()
    assert notice["transaction_id"] == record["transaction_id"]
    assert notice["stage"] == "fraud_detection"
    assert notice["reason"] == "function error (Unhandled): ValidationError"
    assert notice["amount"] == "49.99"
    text = json.dumps(notice)
    assert pan not in text
    assert pan[-4:] not in text
    assert record["card_token"] not in text

    assert post(platform, request, key="fails-in-fraud-1") == (status, body)
    assert platform.failure_notices() == []


def test_validation_failure_answers_502_records_nothing_and_notifies(platform):
    platform.failure_notices()
    with platform.parameter_replaced("secure/card-token-key", "too-short"):
        status, body = post(platform, payment_request(), key="fails-in-validation")

    assert status == 502
    assert body["error"] == "validation_unavailable"
    assert "fails-in-validation" not in {item["idempotency_key"] for item in platform.transactions()}
    [notice] = platform.failure_notices()
    assert notice["stage"] == "payment_validation"
    assert notice["reason"] == "function error (Unhandled): ConfigurationError"
    assert "transaction_id" not in notice
    assert post(platform, payment_request(), key="fails-in-validation")[0] == 201


def test_unexpected_error_after_recording_is_a_generic_500_and_failed(platform, monkeypatch):
    platform.failure_notices()

    def broken_transport(function_name, payload):
        if function_name == FRAUD_DETECTION_FUNCTION:
            raise KeyError("surprise")
        return platform.invoker(function_name, payload)

    monkeypatch.setattr(platform.processing, "invoke_function", broken_transport)
    status, body = post(platform, payment_request())

    assert status == 500
    assert body["message"] == "An unexpected error occurred; the payment was not authorized"
    assert "surprise" not in json.dumps(body) and "Traceback" not in json.dumps(body)
    assert platform.transaction(body["transaction"]["transaction_id"])["failure_stage"] == "transaction_processing"
    assert [notice["stage"] for notice in platform.failure_notices()] == ["transaction_processing"]


def test_unexpected_error_before_recording_is_a_generic_500(platform):
    with platform.parameter_replaced("dynamodb/transactions-table", "no-such-table"):
        response = platform.call_processing(alb_event(body=payment_request(), idempotency_key=unique_id("key")))
    assert response["statusCode"] == 500
    assert response_json(response) == {"error": "internal_error", "message": "An unexpected error occurred"}


def _crash_in_fraud_detection(platform, monkeypatch, request, key) -> tuple[str, str]:
    """(transaction id, idempotency record id) of a request that died while fraud detection ran."""
    def crashing_transport(function_name, payload):
        if function_name == FRAUD_DETECTION_FUNCTION:
            raise SimulatedCrash
        return platform.invoker(function_name, payload)

    before = set(platform.idempotency_records(SETTLEMENT_RECORDS))
    with monkeypatch.context() as patched:
        patched.setattr(platform.processing, "invoke_function", crashing_transport)
        with pytest.raises(SimulatedCrash):
            platform.call_processing(alb_event(body=request, idempotency_key=key))
    [record] = [item for item in platform.transactions() if item["idempotency_key"] == key]
    assert record["status"] == "PENDING"
    records = platform.idempotency_records(SETTLEMENT_RECORDS)
    [record_id] = set(records) - before
    assert records[record_id]["status"] == "INPROGRESS"
    return record["transaction_id"], record_id


def test_abandoned_transaction_is_failed_once_its_first_attempt_is_over(platform, monkeypatch):
    platform.failure_notices()
    request, key = payment_request(), unique_id("crash")
    transaction_id, record_id = _crash_in_fraud_detection(platform, monkeypatch, request, key)
    # Powertools sets the expiry to the crashed invocation's deadline; here that deadline has passed.
    platform.expire_idempotency_record(record_id, "in_progress_expiration")

    status, body = post(platform, request, key=key)

    assert (status, body["transaction"]["status"], body["transaction"]["transaction_id"]) == (
        500,
        "FAILED",
        transaction_id,
    )
    assert platform.transaction(transaction_id)["failure_reason"] == "processing did not finish in time"
    assert [notice["transaction_id"] for notice in platform.failure_notices()] == [transaction_id]
    # The takeover's answer is the key's answer from now on; the payment is not processed again.
    assert post(platform, request, key=key) == (status, body)
    assert platform.idempotency_records(SETTLEMENT_RECORDS)[record_id]["status"] == "COMPLETED"
    assert platform.failure_notices() == []


def test_waiting_duplicate_answers_503_before_its_own_timeout(platform, monkeypatch):
    request, key = payment_request(), unique_id("stuck")
    transaction_id, _ = _crash_in_fraud_detection(platform, monkeypatch, request, key)

    response = platform.processing.lambda_handler(
        alb_event(body=request, idempotency_key=key), FakeLambdaContext("transaction-processing", timeout_ms=1_400)
    )

    assert response["statusCode"] == 503
    assert response["headers"]["retry-after"] == "1"
    assert response_json(response)["error"] == "payment_in_progress"
    assert platform.transaction(transaction_id)["status"] == "PENDING"


def test_unknown_transaction_is_404(platform):
    for transaction_id in [str(uuid.uuid4()), "not-a-uuid", "x" * 3000, str(uuid.uuid4()).upper()]:
        response = platform.call_processing(alb_event("GET", f"/v1/payments/{transaction_id}"))
        assert response["statusCode"] == 404
        assert response_json(response)["error"] == "not_found"


@pytest.mark.parametrize(
    ("method", "path", "status", "allow"),
    [
        ("GET", "/v1/payments", 405, "POST"),
        ("PUT", "/v1/payments", 405, "POST"),
        # Fixed ids: parametrized ids must be the same in every collection (pytest-xdist workers compare them).
        ("POST", "/v1/payments/1d393653-5008-4900-a7d0-95fa8ce5f6db", 405, "GET"),
        ("DELETE", "/v1/payments/8cd5a2fe-7913-43d5-95ae-9bb6a6d25926", 405, "GET"),
        ("POST", "/v1/payments/", 404, None),
        ("POST", "/v1/refunds", 404, None),
        ("GET", "/", 404, None),
        ("GET", "/v1/payments/a/b", 404, None),
    ],
)
def test_routing(platform, method, path, status, allow):
    response = platform.call_processing(alb_event(method, path, body=payment_request(), idempotency_key=unique_id("k")))
    assert response["statusCode"] == status
    assert response["headers"].get("allow") == allow
    assert set(response_json(response)) == {"error", "message"}


@settings(  # max_examples: the tier's fuzz budget (tests/conftest.py)
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
@given(case=strategies.alb_events())
def test_fuzz_any_event_gets_a_json_answer_below_500_without_card_data(platform, logs, case):
    alb, pan = case
    logs.clear()

    response = platform.call_processing(alb)

    event(f"HTTP {response['statusCode']}")
    assert response["statusCode"] < 500, response["body"]
    body = response_json(response)
    if response["statusCode"] >= 400:
        assert isinstance(body["error"], str) and isinstance(body["message"], str)
    if pan:
        assert pan not in response["body"]
        assert pan not in logs.text()

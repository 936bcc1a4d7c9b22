"""The card-data rule (issue 13): a card number may be sent in `card.number` only, never comes back out, and
no log line at any level carries one; client input never makes a function answer 500.

Each test below failed on the code before the rule: PAN-shaped identifiers and idempotency keys were stored,
echoed and published, a PAN used as a field name came back in the error, doubled separators slipped past
redaction, and overflowing or deeply nested JSON answered 500.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from jsonschema import Draft4Validator

from tests.lambdas.support import (
    THRESHOLDS,
    VERIFICATION_CODE_TEXT,
    CapturedLogs,
    Platform,
    alb_event,
    capture_logs,
    full_pans_in,
    payment_request,
    response_json,
    unique_id,
)

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")

PAN = "4111111111111111"
# As a hostile client types it: every separator the old redaction let through.
TYPED = {
    "plain": PAN,
    "doubled dashes": "4111--1111--1111--1111",
    "doubled spaces": "4111  1111  1111  1111",
    "dots and slashes": "4111.1111/1111.1111",
    "tabs and newlines": "4111\t1111\n1111\r\n1111",
    "non-breaking spaces": "4111\u00a01111\u00a01111\u00a01111",
    "inside text": "order 4111 - 1111 - 1111 - 1111 ok",
}
SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "app/api_models/payment_request.json").read_text())


@pytest.fixture(scope="module")
def logs(platform: Platform) -> Iterator[CapturedLogs]:
    """Every logger at DEBUG: botocore writes request bodies at that level."""
    with capture_logs(platform, logging.DEBUG) as captured:
        yield captured


def post(platform: Platform, body, key: str | None = None, **options) -> tuple[int, dict]:
    response = platform.call_processing(alb_event(body=body, idempotency_key=key or unique_id("key"), **options))
    return response["statusCode"], response_json(response)


def stored_text(platform: Platform) -> str:
    return json.dumps(platform.transactions(), default=str)


@pytest.mark.parametrize("typed", TYPED.values(), ids=TYPED.keys())
@pytest.mark.parametrize("field", ["merchant_id", "customer_id"])
def test_an_identifier_holding_a_card_number_is_refused_and_goes_nowhere(platform, logs, field, typed):
    platform.failure_notices()
    logs.clear()
    key = unique_id("pan-identifier")
    # Fraud scoring fails, as in the report: the identifier used to reach the failure notification too.
    with platform.parameter_replaced("fraud/thresholds", json.dumps({**THRESHOLDS, "decline_score": 10})):
        status, body = post(platform, payment_request(**{field: typed}), key=key)

    assert status == 400
    assert body["error"] == "card_data_not_allowed"
    assert body["errors"] == [
        {
            "field": field,
            "message": f"{field} must not contain a card number "
            "(13 to 19 digits that pass the Luhn check, however separated)",
        }
    ]
    assert full_pans_in(json.dumps(body)) == []
    assert key not in {item["idempotency_key"] for item in platform.transactions()}
    assert PAN not in full_pans_in(stored_text(platform))
    assert platform.failure_notices() == []
    assert PAN not in full_pans_in(logs.text())


@pytest.mark.parametrize("typed", TYPED.values(), ids=TYPED.keys())
def test_validation_refuses_a_card_number_outside_the_card_field(platform, typed):
    answer = platform.call_validation(payment_request(customer_id=typed, metadata={"note": typed}))
    assert answer["valid"] is False
    assert [error["field"] for error in answer["errors"]] == ["customer_id", "metadata.note"]
    assert full_pans_in(json.dumps(answer)) == []


@pytest.mark.parametrize("typed", TYPED.values(), ids=TYPED.keys())
def test_an_idempotency_key_holding_a_card_number_is_refused_and_not_recorded(platform, typed):
    key = f"key-{typed}".replace("\n", " ")
    status, body = post(platform, payment_request(), key=key)
    assert (status, body["error"]) == (400, "card_data_not_allowed")
    assert [error["field"] for error in body["errors"]] == ["header idempotency-key"]
    assert key not in {item["idempotency_key"] for item in platform.transactions()}
    assert full_pans_in(json.dumps(body)) == []


@pytest.mark.parametrize("name", [PAN, "4111--1111--1111--1111", "card 4111 1111 1111 1111"])
def test_a_card_number_as_a_field_name_is_never_echoed(platform, logs, name):
    logs.clear()
    request = {**payment_request(), name: 1}
    status, body = post(platform, request)
    validation = platform.call_validation(request)
    fraud = platform.call_fraud({"transaction_id": str(uuid.uuid4()), "payment": {name: 1}})

    assert (status, body["error"]) == (400, "card_data_not_allowed")
    assert body["errors"] == [{"field": "request", "message": "request has a field name that contains a card number"}]
    assert validation["errors"] == body["errors"]
    assert fraud["errors"] == [{"field": "payment", "message": "payment has a field name that contains a card number"}]
    for answer in (body, validation, fraud):
        assert full_pans_in(json.dumps(answer)) == []
    # payment_validation logs the rejected field names at INFO.
    assert "payment request rejected" in logs.text()
    assert full_pans_in(logs.text()) == []


def test_a_field_name_of_digits_is_masked_when_the_model_reports_it(platform):
    from payments_common.contracts import field_path

    assert field_path(("payment", PAN), "request") == 'payment["************1111"]'
    assert field_path(("payment", "merchant_id"), "request") == "payment.merchant_id"


@pytest.mark.parametrize(
    "typed", ["4111  1111  1111  1111", "4111--1111--1111--1111", "4111\u00a01111\u00a01111\u00a01111"]
)
def test_botocore_debug_lines_of_an_invoke_body_carry_no_card_data(platform, logs, typed):
    """The real Lambda client (against moto, where the function does not exist): botocore logs the request
    body at DEBUG before it is sent, i.e. before payment_validation has seen the card."""
    from botocore.exceptions import ClientError

    logs.clear()
    payload = json.dumps(payment_request(card={"number": typed, "cvv": "987"})).encode()
    with pytest.raises(ClientError):
        platform.processing.invoke_lambda("payments-test-no-such-function", payload)

    text = logs.text()
    assert "Making request for OperationModel(name=Invoke)" in text  # the body line is there, masked
    assert "************1111" in text
    assert full_pans_in(text) == []
    assert VERIFICATION_CODE_TEXT.search(text) is None


@pytest.mark.parametrize(
    "body",
    [
        '{"amount": 1e309}',
        '{"amount": -1e309}',
        '{"card": {"expiry_year": 1E400}}',
        '{"anything": [1, 2, 9.9e999]}',
    ],
)
def test_an_overflowing_number_is_a_400_not_a_500(platform, body):
    status, answer = post(platform, body)
    assert (status, answer["error"]) == (400, "invalid_json")
    assert "too large" in answer["message"]


@pytest.mark.parametrize("depth", [17, 980, 5_000])
def test_deep_nesting_is_a_400_not_a_500(platform, depth):
    status, answer = post(platform, '{"a":' * depth + "1" + "}" * depth)
    assert (status, answer["error"]) == (400, "invalid_json")
    assert "nested more than 16" in answer["message"]


def test_brackets_inside_strings_are_not_nesting(platform):
    status, answer = post(platform, payment_request(merchant_id="m" + "[" * 40, customer_id='c\\"' + "{" * 40))
    assert (status, answer["error"]) == (400, "validation_failed")
    assert {error["field"] for error in answer["errors"]} == {"merchant_id", "customer_id"}


def test_an_oversized_body_is_a_400(platform):
    status, answer = post(platform, {**payment_request(), "padding": "x" * 40_000})
    assert (status, answer["error"]) == (400, "invalid_json")
    assert "larger than 32768 bytes" in answer["message"]


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"headers": {"x-order-note": "4111 1111 1111 1111"}}, "header x-order-note"),
        ({"headers": {"x-4111111111111111": "1"}}, "a header name"),
        ({"path": "/v1/payments/4111-1111-1111-1111"}, "path"),
        ({"path": "/v1/payments/4111%201111%201111%201111"}, "path"),
    ],
    ids=["header value", "header name", "path", "percent-encoded path"],
)
def test_headers_and_path_holding_a_card_number_are_refused(platform, options, field):
    status, body = post(platform, payment_request(), **options)
    assert (status, body["error"]) == (400, "card_data_not_allowed")
    assert [error["field"] for error in body["errors"]] == [field]
    assert full_pans_in(json.dumps(body)) == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"queryStringParameters": {"note": "4111+1111+1111+1111"}}, "query parameter note"),
        ({"multiValueQueryStringParameters": {"n": ["1", "4111%2D1111%2D1111%2D1111"]}}, "query parameter n"),
        ({"queryStringParameters": {"4111111111111111": ""}}, "a query parameter name"),
    ],
)
def test_query_parameters_holding_a_card_number_are_refused(platform, query, field):
    event = {**alb_event(body=payment_request(), idempotency_key=unique_id("key")), **query}
    response = platform.call_processing(event)
    assert response["statusCode"] == 400
    assert [error["field"] for error in response_json(response)["errors"]] == [field]


def test_load_balancer_headers_are_not_mistaken_for_card_numbers(platform):
    # 18 digits separated by dots and commas, one Luhn-valid stretch among them: set by the ALB, never stored.
    headers = {
        "x-forwarded-for": "203.0.113.195, 10.0.12.134",
        "x-amzn-trace-id": "Root=1-67891233-123456789012345678901234",
    }
    assert full_pans_in(", ".join(headers.values()))
    assert post(platform, payment_request(), headers=headers)[0] == 201


def test_a_transaction_id_whose_digits_pass_luhn_is_looked_up_not_refused(platform):
    transaction_id = "41111111-1111-4111-8111-111111111111"
    assert full_pans_in(transaction_id)
    response = platform.call_processing(alb_event("GET", f"/v1/payments/{transaction_id}"))
    assert (response["statusCode"], response_json(response)["error"]) == (404, "not_found")


def test_fraud_detection_accepts_our_own_hex_identifiers_even_when_their_digits_pass_luhn(platform):
    token = PAN + "0" * 48
    request = {
        "valid": True,
        "payment": {
            "amount": "10.00",
            "currency": "USD",
            "merchant_id": "merchant_001",
            "customer_id": unique_id("customer"),
            "merchant_category_code": "5411",
            "billing_country": "US",
            "ip_country": "US",
        },
        "card": {"token": token, "last4": "1111", "brand": "visa"},
        "transaction_id": "41111111-1111-4111-8111-111111111111",
    }
    assert platform.call_fraud(request)["decision"] == "approve"
    refused = platform.call_fraud({**request, "card": {**request["card"], "last4": PAN}})
    assert [error["field"] for error in refused["errors"]] == ["card.last4"]


def test_identifier_format_is_documented_once_and_refuses_card_numbers():
    from payments_common.contracts import IDENTIFIER_LENGTHS, IDENTIFIER_PATTERN

    for name in ("merchant_id", "customer_id"):
        schema = SCHEMA["properties"][name]
        assert (schema["pattern"], schema["minLength"], schema["maxLength"]) == (
            IDENTIFIER_PATTERN,
            *IDENTIFIER_LENGTHS,
        )
    validator = Draft4Validator(SCHEMA)
    for typed in [*TYPED.values(), "m-4111-1111-1111-1111", "1234567890123"]:
        assert list(validator.iter_errors(payment_request(merchant_id=typed))), typed
    for fine in ["merchant_001", "m123456789012x123456789012", "order-2026-12-01"]:
        assert list(validator.iter_errors(payment_request(merchant_id=fine))) == [], fine

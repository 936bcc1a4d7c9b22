"""The REST API's request model (JSON schema, draft 4) and the validation function's pydantic model agree:
the gateway never rejects a request the function would accept, and rejects what is malformed in shape."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from jsonschema import Draft4Validator
from pydantic import ValidationError

from tests.lambdas.strategies import payment_requests
from tests.lambdas.support import load_handler, payment_request

SCHEMA = json.loads((Path(__file__).resolve().parent.parent / "app/api_models/payment_request.json").read_text())
VALIDATOR = Draft4Validator(SCHEMA)
VALIDATION = load_handler("payment_validation", "api_model_validation_handler")
LIMITS = VALIDATION.ValidationLimits(
    max_amount={"USD": "25000.00", "EUR": "25000.00", "GBP": "20000.00", "JPY": "3000000", "CAD": "30000.00"}
)


def accepted_by_the_function(request) -> bool:
    try:
        VALIDATION.PaymentRequest.model_validate(request, context={"limits": LIMITS, "today": date.today()})
    except ValidationError:
        return False
    return True


def test_schema_is_valid_draft4():
    Draft4Validator.check_schema(SCHEMA)


@settings(max_examples=500, deadline=None)
@given(payment_requests())
def test_the_gateway_never_rejects_a_request_the_function_accepts(generated):
    request, _ = generated
    if accepted_by_the_function(request):
        assert [e.message for e in VALIDATOR.iter_errors(request)] == []


def test_the_generated_requests_include_accepted_ones():
    assert accepted_by_the_function(payment_request())


def test_the_canonical_request_passes():
    assert list(VALIDATOR.iter_errors(payment_request())) == []


@pytest.mark.parametrize(
    "change",
    [
        {"extra": "field"},
        {"amount": 10},
        {"card": "4111111111111111"},
        {"currency": "US"},
        {"merchant_id": "x"},
        {"card": {"number": "4111111111111111"}},
    ],
)
def test_malformed_shapes_are_stopped_at_the_gateway(change):
    assert list(VALIDATOR.iter_errors({**payment_request(), **change}))


def test_missing_required_field_is_stopped_at_the_gateway():
    request = payment_request()
    del request["card"]
    assert list(VALIDATOR.iter_errors(request))

"""payment_validation: what it accepts, how it rejects, and that card data never leaves it."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings

from tests.lambdas import strategies
from tests.lambdas.support import CARD_TOKEN_KEY, LIMITS, card_number, luhn_complete, payment_request

NOW = datetime.now(timezone.utc)
LAST_MONTH = (NOW.year, NOW.month - 1) if NOW.month > 1 else (NOW.year - 1, 12)


def _errors_by_field(answer: dict) -> dict[str, str]:
    assert answer["valid"] is False, answer
    return {error["field"]: error["message"] for error in answer["errors"]}


def test_valid_request_is_normalized_and_tokenized(platform):
    # A fixed card: its token is fixed too, so what the answer may contain does not change from run to run.
    pan = card_number("4", 16, rng=random.Random(13))
    spaced = " ".join(pan[i : i + 4] for i in range(0, 16, 4))
    request = payment_request(
        amount="10.5", currency="usd", billing_country="gb", ip_country="GB", card={"number": spaced, "cvv": "007"}
    )

    answer = platform.call_validation(request)

    assert answer == {
        "valid": True,
        "payment": {
            "amount": "10.50",
            "currency": "USD",
            "merchant_id": "merchant_001",
            "customer_id": request["customer_id"],
            "merchant_category_code": "5411",
            "billing_country": "GB",
            "ip_country": "GB",
        },
        "card": {
            "token": hmac.new(CARD_TOKEN_KEY.encode(), pan.encode(), hashlib.sha256).hexdigest(),
            "last4": pan[-4:],
            "brand": "visa",
        },
    }
    # The token is hex and may contain any digits; everything else must not carry the number or the code.
    # (Checking the token's text for "007" failed for ~2% of random cards without meaning anything.)
    without_token = json.dumps({**answer, "card": {**answer["card"], "token": "<checked above>"}})
    assert pan not in without_token
    assert "007" not in without_token
    assert "cvv" not in without_token


def test_token_does_not_depend_on_how_the_number_is_typed(platform):
    pan = card_number("51", 16)
    typed = [pan, " ".join(pan[i : i + 4] for i in range(0, 16, 4)), "-".join(pan[i : i + 4] for i in range(0, 16, 4))]
    tokens = {platform.call_validation(payment_request(card={"number": text}))["card"]["token"] for text in typed}
    assert len(tokens) == 1


@pytest.mark.parametrize(
    ("prefix", "length", "cvv", "brand"),
    [
        ("4", 13, "123", "visa"),
        ("4", 19, "123", "visa"),
        ("51", 16, "123", "mastercard"),
        ("2221", 16, "123", "mastercard"),
        ("2720", 16, "123", "mastercard"),
        ("34", 15, "1234", "amex"),
        ("37", 15, "1234", "amex"),
        ("6011", 16, "123", "discover"),
        ("65", 19, "123", "discover"),
        ("644", 16, "123", "discover"),
        ("649", 16, "123", "discover"),
    ],
)
def test_every_supported_brand_and_length_is_accepted(platform, prefix, length, cvv, brand):
    answer = platform.call_validation(payment_request(card={"number": card_number(prefix, length), "cvv": cvv}))
    assert answer["valid"] is True, answer
    assert answer["card"]["brand"] == brand


@pytest.mark.parametrize(
    ("amount", "currency", "normalized"),
    [("25000.00", "USD", "25000.00"), ("0.01", "EUR", "0.01"), ("3000000", "JPY", "3000000"), ("7", "GBP", "7.00")],
)
def test_amounts_up_to_the_maximum_are_accepted(platform, amount, currency, normalized):
    answer = platform.call_validation(payment_request(amount=amount, currency=currency))
    assert answer["payment"]["amount"] == normalized


def test_card_expiring_this_month_is_still_valid(platform):
    answer = platform.call_validation(payment_request(card={"expiry_month": NOW.month, "expiry_year": NOW.year}))
    assert answer["valid"] is True


REJECTIONS = {
    "bad Luhn": ({"card": {"number": "4111111111111112"}}, "card.number", "check digit"),
    "non-digits": ({"card": {"number": "4111-1111-1111-111O"}}, "card.number", "only digits"),
    "Visa of 15 digits": (
        {"card": {"number": luhn_complete("4" + "1" * 13)}},
        "card.number",
        "has 15 digits, but Visa card numbers have 13, 16 or 19",
    ),
    "Amex of 16 digits": (
        {"card": {"number": luhn_complete("37" + "1" * 13), "cvv": "1234"}},
        "card.number",
        "American Express card numbers have 15",
    ),
    "Mastercard of 19 digits": (
        {"card": {"number": luhn_complete("2221" + "0" * 14)}},
        "card.number",
        "Mastercard card numbers have 16",
    ),
    "unknown brand": ({"card": {"number": luhn_complete("9" + "1" * 14)}}, "card.number", "supported card brand"),
    "Diners Club": ({"card": {"number": "30569309025904"}}, "card.number", "supported card brand"),
    "Mastercard 2721": ({"card": {"number": luhn_complete("2721" + "0" * 11)}}, "card.number", "supported card brand"),
    "expired card": (
        {"card": {"expiry_month": LAST_MONTH[1], "expiry_year": LAST_MONTH[0]}},
        "card.expiry_year",
        f"expired at the end of {LAST_MONTH[1]:02d}/{LAST_MONTH[0]}",
    ),
    "month 13": ({"card": {"expiry_month": 13}}, "card.expiry_month", "from 1 to 12"),
    "expiry as text": ({"card": {"expiry_month": "12"}}, "card.expiry_month", "must be an integer"),
    "two-digit year": ({"card": {"expiry_year": 30}}, "card.expiry_year", "four-digit year"),
    "CVV of 2 digits": ({"card": {"cvv": "12"}}, "card.cvv", "must be 3 digits for Visa"),
    "CVV of 4 digits on Visa": ({"card": {"cvv": "1234"}}, "card.cvv", "must be 3 digits for Visa"),
    "CVV of 3 digits on Amex": (
        {"card": {"number": card_number("34", 15), "cvv": "123"}},
        "card.cvv",
        "must be 4 digits for American Express",
    ),
    "CVV as a number": ({"card": {"cvv": 123}}, "card.cvv", "must be a string"),
    "three decimals in USD": ({"amount": "10.005"}, "amount", "has 3 decimal places, but USD allows at most 2"),
    "decimals in JPY": ({"amount": "1000.5", "currency": "JPY"}, "amount", "whole number for JPY"),
    "zero decimals written in JPY": ({"amount": "1000.0", "currency": "JPY"}, "amount", "whole number for JPY"),
    "over the USD maximum": ({"amount": "25000.01"}, "amount", "exceeds the maximum of 25000.00 USD"),
    "over the JPY maximum": ({"amount": "3000001", "currency": "JPY"}, "amount", "maximum of 3000000 JPY"),
    "zero amount": ({"amount": "0.00"}, "amount", "greater than zero"),
    "negative amount": ({"amount": "-5.00"}, "amount", "decimal number written as a string"),
    "amount as a number": ({"amount": 10.5}, "amount", "must be a string"),
    "exponent amount": ({"amount": "1e3"}, "amount", "decimal number written as a string"),
    "unsupported currency": (
        {"currency": "CHF"},
        "currency",
        "CHF is not accepted (accepted: CAD, EUR, GBP, JPY, USD)",
    ),
    "not a currency code": ({"currency": "US$"}, "currency", "three-letter ISO 4217"),
    "bad merchant id": ({"merchant_id": "m!"}, "merchant_id", "3 to 64 letters"),
    "bad merchant category": ({"merchant_category_code": "54a1"}, "merchant_category_code", "four-digit"),
    "unknown country": ({"billing_country": "XX"}, "billing_country", "ISO 3166-1 alpha-2"),
    "non-ASCII country": ({"ip_country": "ß"}, "ip_country", "ISO 3166-1 alpha-2"),
    "unknown field": ({"track2": "x"}, "track2", "is not an accepted field"),
    "card not an object": ({"card": None}, "card", "must be a JSON object"),
}


@pytest.mark.parametrize(("overrides", "field", "message"), REJECTIONS.values(), ids=REJECTIONS.keys())
def test_rejections_name_the_field_and_never_echo_card_data(platform, overrides, field, message):
    request = payment_request()
    card = overrides.pop("card", {}) if isinstance(overrides.get("card"), dict) else None
    request.update(overrides)
    if card:
        request["card"].update(card)

    answer = platform.call_validation(request)

    errors = _errors_by_field(answer)
    assert field in errors, errors
    assert message in errors[field]
    assert errors[field].startswith(field)
    if isinstance(request.get("card"), dict):
        assert str(request["card"]["number"]) not in json.dumps(answer)


@pytest.mark.parametrize(
    "field",
    [
        "amount",
        "currency",
        "merchant_id",
        "customer_id",
        "merchant_category_code",
        "card",
        "card.number",
        "card.expiry_month",
        "card.expiry_year",
        "card.cvv",
    ],
)
def test_missing_required_field(platform, field):
    request = payment_request()
    if field.startswith("card."):
        del request["card"][field.removeprefix("card.")]
    else:
        del request[field]
    assert _errors_by_field(platform.call_validation(request)) == {field: f"{field} is required"}


def test_optional_countries_may_be_left_out(platform):
    request = payment_request()
    del request["billing_country"], request["ip_country"]
    answer = platform.call_validation(request)
    assert answer["payment"]["billing_country"] is None
    assert answer["payment"]["ip_country"] is None


@pytest.mark.parametrize("event", [None, [], "payment", 42, True], ids=repr)
def test_a_request_that_is_not_an_object_is_rejected(platform, event):
    assert _errors_by_field(platform.call_validation(event)) == {"request": "request must be a JSON object"}


def test_configured_currency_without_minor_units_is_refused_and_logged(platform, logs):
    limits = {"max_amount": {**LIMITS["max_amount"], "XTS": "100"}}
    with platform.parameter_replaced("validation/limits", json.dumps(limits)):
        logs.clear()
        errors = _errors_by_field(platform.call_validation(payment_request(currency="XTS", amount="1")))
    assert "XTS is not accepted" in errors["currency"]
    assert "no ISO 4217 minor-unit entry" in logs.text()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("secure/card-token-key", "too-short"),
        ("validation/limits", json.dumps({"max_amount": {"USD": "-1"}})),
        ("validation/limits", json.dumps({"max_amount": {"usd": "10"}})),
        ("validation/limits", "not json"),
    ],
)
def test_broken_configuration_fails_the_invocation(platform, name, value):
    with platform.parameter_replaced(name, value), pytest.raises(Exception) as failure:
        platform.call_validation(payment_request())
    assert "not json" in value or isinstance(failure.value, platform.validation.ConfigurationError)


@settings(  # max_examples: the tier's fuzz budget (tests/conftest.py)
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
@given(case=strategies.validation_events())
def test_fuzz_any_event_gets_a_clear_answer_and_never_leaks_the_card(platform, logs, case):
    event, pan = case
    logs.clear()

    answer = platform.call_validation(event)

    assert isinstance(answer, dict)
    if answer["valid"]:
        assert set(answer) == {"valid", "payment", "card"}
    else:
        assert answer["errors"]
        for error in answer["errors"]:
            assert isinstance(error["field"], str) and error["field"]
            assert error["message"].startswith(error["field"] + " ")
    if pan:
        assert pan not in json.dumps(answer)
        assert pan not in logs.text()

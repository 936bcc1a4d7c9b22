"""fraud_detection: each rule, how rules add up to a decision, idempotent scoring, and hostile input."""

from __future__ import annotations

import json
import secrets
import uuid

import pytest
from hypothesis import HealthCheck, given, settings

from tests.lambdas import strategies
from tests.lambdas.support import THRESHOLDS, unique_id

DAY = 86_400


def fraud_request(**payment_overrides) -> dict:
    """payment_validation's answer for a fresh customer and card, plus a new transaction id."""
    payment = {
        "amount": "49.99",
        "currency": "USD",
        "merchant_id": "merchant_001",
        "customer_id": unique_id("customer"),
        "merchant_category_code": "5411",
        "billing_country": "US",
        "ip_country": "US",
        **payment_overrides,
    }
    return {
        "valid": True,
        "payment": payment,
        "card": {"token": secrets.token_hex(32), "last4": "4242", "brand": "visa"},
        "transaction_id": str(uuid.uuid4()),
    }


def record_card_attempts(platform, request: dict, count: int, age_seconds: float = 60) -> None:
    for _ in range(count):
        platform.record_transaction(
            customer_id=unique_id("other_customer"), card_token=request["card"]["token"], age_seconds=age_seconds
        )


def record_customer_attempts(platform, request: dict, count: int, age_seconds: float = 60, **fields) -> None:
    for _ in range(count):
        platform.record_transaction(
            customer_id=request["payment"]["customer_id"],
            card_token=secrets.token_hex(32),
            age_seconds=age_seconds,
            **fields,
        )


def rules(answer: dict) -> dict[str, dict]:
    return {reason["rule"]: reason for reason in answer["reasons"]}


def test_clean_payment_is_approved_without_reasons(platform):
    assert platform.call_fraud(fraud_request()) == {"score": 0, "decision": "approve", "reasons": []}


def test_card_velocity_over_the_limit_asks_for_review(platform):
    request = fraud_request()
    record_card_attempts(platform, request, 5)

    answer = platform.call_fraud(request)

    assert answer["decision"] == "review"
    assert answer["score"] == 40
    assert rules(answer) == {
        "card_velocity": {
            "rule": "card_velocity",
            "points": 40,
            "detail": "6 attempts with this card in the last 600 s; the limit is 5",
        }
    }


def test_card_velocity_counts_only_the_window(platform):
    request = fraud_request()
    record_card_attempts(platform, request, 4)
    record_card_attempts(platform, request, 3, age_seconds=THRESHOLDS["velocity_window_seconds"] + 60)
    assert "card_velocity" not in rules(platform.call_fraud(request))


def test_the_scored_transaction_itself_is_not_counted(platform):
    request = fraud_request()
    record_card_attempts(platform, request, 4)
    platform.record_transaction(
        customer_id=request["payment"]["customer_id"],
        card_token=request["card"]["token"],
        status="PENDING",
        transaction_id=request["transaction_id"],
    )
    assert "card_velocity" not in rules(platform.call_fraud(request))


def test_customer_velocity_adds_points_below_review(platform):
    request = fraud_request()
    record_customer_attempts(platform, request, 10, status="DECLINED")

    answer = platform.call_fraud(request)

    assert answer["decision"] == "approve"
    assert rules(answer)["customer_velocity"] == {
        "rule": "customer_velocity",
        "points": 30,
        "detail": "11 attempts with this customer in the last 600 s; the limit is 10",
    }


def test_card_and_customer_velocity_together_decline(platform):
    request = fraud_request()
    record_card_attempts(platform, request, 5)
    record_customer_attempts(platform, request, 10)

    answer = platform.call_fraud(request)

    assert (answer["score"], answer["decision"]) == (70, "decline")
    assert set(rules(answer)) == {"card_velocity", "customer_velocity"}


def test_amount_far_above_the_customers_history(platform):
    request = fraud_request(amount="600.00")
    record_customer_attempts(platform, request, 3, age_seconds=DAY, amount="100")

    reason = rules(platform.call_fraud(request))["high_amount_vs_history"]

    assert reason["points"] == 30
    assert reason["detail"] == (
        "amount 600.00 USD is 6.0x the average of the customer's last 3 authorized payments (100.00 USD); "
        "the limit is 5.0x"
    )


@pytest.mark.parametrize(
    ("amount", "history", "fires"),
    [
        ("500.00", [("AUTHORIZED", "100", "USD")] * 3, False),  # exactly the ratio is not above it
        ("500.01", [("AUTHORIZED", "100", "USD")] * 3, True),
        ("900.00", [("AUTHORIZED", "100", "USD")] * 2, False),  # too little history to judge
        ("900.00", [("AUTHORIZED", "100", "USD")] * 2 + [("DECLINED", "100", "USD")], False),
        ("900.00", [("AUTHORIZED", "100", "USD")] * 2 + [("AUTHORIZED", "100", "EUR")], False),
        ("900.00", [("AUTHORIZED", "100", "USD")] * 2 + [("AUTHORIZED", "1000", "USD")], False),
    ],
    ids=["at ratio", "above ratio", "two payments", "declined ignored", "other currency ignored", "average 400"],
)
def test_high_amount_rule_boundaries(platform, amount, history, fires):
    request = fraud_request(amount=amount)
    for status, past_amount, currency in history:
        record_customer_attempts(
            platform, request, 1, age_seconds=DAY, status=status, amount=past_amount, currency=currency
        )
    assert ("high_amount_vs_history" in rules(platform.call_fraud(request))) is fires


def test_risky_merchant_category(platform):
    answer = platform.call_fraud(fraud_request(merchant_category_code="7995"))
    assert answer == {
        "score": 25,
        "decision": "approve",
        "reasons": [
            {
                "rule": "risky_merchant_category",
                "points": 25,
                "detail": "merchant category 7995 is on the high-risk list",
            }
        ],
    }


@pytest.mark.parametrize(
    ("billing", "ip", "fires"), [("US", "NG", True), ("US", "US", False), (None, "NG", False), ("US", None, False)]
)
def test_country_mismatch(platform, billing, ip, fires):
    answer = platform.call_fraud(fraud_request(billing_country=billing, ip_country=ip))
    if fires:
        assert rules(answer) == {
            "country_mismatch": {
                "rule": "country_mismatch",
                "points": 20,
                "detail": "billing country US differs from IP country NG",
            }
        }
    else:
        assert answer["reasons"] == []


def test_several_weak_signals_decline_together(platform):
    request = fraud_request(amount="900.00", merchant_category_code="5967", billing_country="US", ip_country="RU")
    record_customer_attempts(platform, request, 3, age_seconds=DAY, amount="100")

    answer = platform.call_fraud(request)

    assert (answer["score"], answer["decision"]) == (75, "decline")
    assert set(rules(answer)) == {"high_amount_vs_history", "risky_merchant_category", "country_mismatch"}


def test_score_is_capped_at_100(platform):
    request = fraud_request(amount="900.00", merchant_category_code="4829", billing_country="US", ip_country="RU")
    record_customer_attempts(platform, request, 3, age_seconds=DAY, amount="100")
    record_customer_attempts(platform, request, 10)
    record_card_attempts(platform, request, 5)

    answer = platform.call_fraud(request)

    assert (answer["score"], answer["decision"]) == (100, "decline")
    assert sum(reason["points"] for reason in answer["reasons"]) == 145


def test_a_transaction_is_scored_once(platform):
    request = fraud_request()
    first = platform.call_fraud(request)
    record_card_attempts(platform, request, 10)

    assert platform.call_fraud(request) == first
    assert platform.call_fraud({**request, "transaction_id": str(uuid.uuid4())})["decision"] == "review"


def test_optional_threshold_fields_tune_the_rules(platform):
    tuned = {**THRESHOLDS, "points": {"country_mismatch": 45}, "min_history_transactions": 1, "history_sample_size": 1}
    request = fraud_request(amount="600.00", billing_country="US", ip_country="NG")
    record_customer_attempts(platform, request, 1, age_seconds=DAY, amount="100")
    record_customer_attempts(platform, request, 1, age_seconds=2 * DAY, amount="1000")

    with platform.parameter_replaced("fraud/thresholds", json.dumps(tuned)):
        answer = platform.call_fraud(request)

    assert rules(answer)["country_mismatch"]["points"] == 45
    # Only the most recent payment is sampled: 600 is 6x its 100, not 1.1x the average with the older 1000.
    assert "last 1 authorized payments (100.00 USD)" in rules(answer)["high_amount_vs_history"]["detail"]
    assert (answer["score"], answer["decision"]) == (75, "decline")


@pytest.mark.parametrize(
    "broken",
    [
        {**THRESHOLDS, "review_score": 70},
        {**THRESHOLDS, "high_amount_ratio": 0.5},
        {**THRESHOLDS, "risky_merchant_categories": ["79951"]},
        {**THRESHOLDS, "unknown_threshold": 1},
        {key: value for key, value in THRESHOLDS.items() if key != "decline_score"},
    ],
    ids=["review not below decline", "ratio below 1", "bad category", "unknown field", "missing field"],
)
def test_broken_thresholds_fail_the_invocation(platform, broken):
    with platform.parameter_replaced("fraud/thresholds", json.dumps(broken)), pytest.raises(ValueError):
        platform.call_fraud(fraud_request())


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({}, "payment"),
        ({**fraud_request(), "transaction_id": "not-a-uuid"}, "transaction_id"),
        ({**fraud_request(), "valid": False}, "valid"),
        ({**fraud_request(), "card": {"token": "4111111111111111", "last4": "1111", "brand": "visa"}}, "card.token"),
        ([], "request"),
    ],
)
def test_malformed_request_is_answered_with_field_errors(platform, event, field):
    answer = platform.call_fraud(event)
    assert answer["error"] == "invalid_request"
    assert field in {error["field"] for error in answer["errors"]}
    assert "4111111111111111" not in json.dumps(answer)


@settings(  # max_examples: the tier's fuzz budget (tests/conftest.py)
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
@given(case=strategies.fraud_events())
def test_fuzz_any_event_gets_a_score_or_field_errors(platform, case):
    event, _ = case

    answer = platform.call_fraud(event)

    if "error" in answer:
        assert answer["error"] == "invalid_request"
        assert all(error["message"].startswith(error["field"] + " ") for error in answer["errors"])
    else:
        assert set(answer) == {"score", "decision", "reasons"}
        assert 0 <= answer["score"] <= 100
        assert answer["decision"] in {"approve", "review", "decline"}

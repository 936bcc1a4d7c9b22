"""transaction_processing calls the payment_validation and fraud_detection alias of the slot it was invoked
through: the ALB's blue target group invokes alias `blue`, so blue code validates and scores blue traffic."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.lambdas.support import load_handler

ARN = "arn:aws:lambda:us-east-1:123456789012:function:payments-prod-transaction-processing"


@pytest.fixture(scope="module")
def processing():
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        return load_handler("transaction_processing", "slot_routing_processing_handler")


def config(processing, validation: str, fraud: str):
    return processing.ProcessingConfig(
        transactions_table="t", failed_transactions_topic_arn="arn:aws:sns:us-east-1:1:t",
        payment_validation_function=validation, fraud_detection_function=fraud,
    )


@pytest.mark.parametrize("slot", ["blue", "green"])
def test_each_slot_calls_its_own_downstream_aliases(processing, slot):
    routed = config(processing, "payments-prod-payment-validation", "payments-prod-fraud-detection").for_slot_of(
        f"{ARN}:{slot}"
    )
    assert routed.payment_validation_function == f"payments-prod-payment-validation:{slot}"
    assert routed.fraud_detection_function == f"payments-prod-fraud-detection:{slot}"


def test_unqualified_invocations_and_explicit_qualifiers_are_kept(processing):
    original = config(processing, "validation", "fraud:7")
    for invoked in (ARN, f"{ARN}:12", f"{ARN}:$LATEST"):
        assert original.for_slot_of(invoked) == original, invoked
    assert original.for_slot_of(f"{ARN}:blue").fraud_detection_function == "fraud:7"


@settings(derandomize=True, max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(alias=st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,127}", fullmatch=True), name=st.from_regex(
    r"[A-Za-z0-9_-]{1,64}", fullmatch=True))
def test_any_alias_routes_unqualified_names_to_the_same_alias_only(processing, alias, name):
    routed = config(processing, name, f"{name}-fraud").for_slot_of(f"{ARN}:{alias}")
    assert routed.payment_validation_function == f"{name}:{alias}"
    assert routed.fraud_detection_function == f"{name}-fraud:{alias}"
    assert routed.transactions_table == "t"

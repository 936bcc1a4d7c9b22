"""The same POST from 20 clients at once: one transaction, one fraud check, one idempotency record and 20
identical responses.

Each thread plays a separate Lambda container: it gets its own copy of the transaction_processing module
(its own clients, metrics and Powertools persistence layer, under its own module name, as a release in the
other blue/green slot would have), as concurrent invocations would, and all share one emulated DynamoDB.
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.lambdas.support import (
    FRAUD_DETECTION_FUNCTION,
    PAYMENT_VALIDATION_FUNCTION,
    SETTLEMENT_RECORDS,
    FakeLambdaContext,
    alb_event,
    load_handler,
    payment_request,
    response_json,
    unique_id,
)

# Powertools warns whenever an invocation emits no metric; answers other than a recorded outcome emit none.
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")

CLIENTS = 20


class CountingTransport:
    """The in-process transport, counting invocations per function and slowing fraud scoring down so that
    the duplicates certainly arrive while the first request is still being processed."""

    def __init__(self, transport, fraud_delay_s: float) -> None:
        self.transport = transport
        self.fraud_delay_s = fraud_delay_s
        self.calls: dict[str, int] = {}
        self._lock = threading.Lock()

    def __call__(self, function_name: str, payload: bytes):
        with self._lock:
            self.calls[function_name] = self.calls.get(function_name, 0) + 1
        if function_name == FRAUD_DETECTION_FUNCTION:
            time.sleep(self.fraud_delay_s)
        return self.transport(function_name, payload)


@pytest.fixture(scope="module")
def containers(platform):
    return [load_handler("transaction_processing", f"transaction_processing_container_{n}") for n in range(CLIENTS)]


def send_concurrently(containers, transport, event) -> list[dict]:
    for container in containers:
        container.invoke_function = transport
    start = threading.Barrier(len(containers))

    def invoke(container):
        start.wait()
        return container.lambda_handler(event, FakeLambdaContext("payments-test-transaction-processing"))

    with ThreadPoolExecutor(max_workers=len(containers)) as pool:
        return list(pool.map(invoke, containers))


@pytest.mark.parametrize("fraud_delay_s", [0.0, 0.3], ids=["as fast as possible", "slow fraud check"])
def test_concurrent_duplicates_create_one_transaction_and_get_identical_responses(platform, containers, fraud_delay_s):
    key = unique_id("concurrent")
    transport = CountingTransport(platform.invoker, fraud_delay_s)
    before = platform.idempotency_records(SETTLEMENT_RECORDS)

    responses = send_concurrently(containers, transport, alb_event(body=payment_request(), idempotency_key=key))

    assert [item["idempotency_key"] for item in platform.transactions()].count(key) == 1
    assert all(response == responses[0] for response in responses)
    assert responses[0]["statusCode"] == 201
    assert response_json(responses[0])["status"] == "AUTHORIZED"
    assert transport.calls == {PAYMENT_VALIDATION_FUNCTION: CLIENTS, FRAUD_DETECTION_FUNCTION: 1}
    [stored] = [
        record
        for record_id, record in platform.idempotency_records(SETTLEMENT_RECORDS).items()
        if record_id not in before
    ]
    assert (stored["status"], json.loads(stored["data"])) == ("COMPLETED", responses[0])


def test_concurrent_requests_with_one_key_but_different_payments(platform, containers):
    key = unique_id("concurrent-conflict")
    base = payment_request()
    transport = CountingTransport(platform.invoker, 0.1)
    before = platform.idempotency_records(SETTLEMENT_RECORDS)
    for container in containers:
        container.invoke_function = transport
    start = threading.Barrier(len(containers))

    def invoke(numbered):
        number, container = numbered
        start.wait()
        # Two payments share the key: even-numbered clients send one, odd-numbered the other.
        request = {**base, "amount": "10.00" if number % 2 else "20.00"}
        event = alb_event(body=request, idempotency_key=key)
        return container.lambda_handler(event, FakeLambdaContext("payments-test-transaction-processing"))

    with ThreadPoolExecutor(max_workers=len(containers)) as pool:
        responses = list(pool.map(invoke, enumerate(containers)))

    [record] = [item for item in platform.transactions() if item["idempotency_key"] == key]
    winning_amount = f"{record['amount']:.2f}"
    winners = [response for response in responses if response["statusCode"] == 201]
    assert len(winners) == CLIENTS // 2
    assert all(response == winners[0] for response in winners)
    assert response_json(winners[0])["amount"] == winning_amount
    assert sorted(response["statusCode"] for response in responses) == [201] * 10 + [409] * 10
    assert {response_json(response)["error"] for response in responses if response["statusCode"] == 409} == {
        "idempotency_key_reused"
    }
    [stored] = [
        record
        for record_id, record in platform.idempotency_records(SETTLEMENT_RECORDS).items()
        if record_id not in before
    ]
    assert json.loads(stored["data"]) == winners[0]

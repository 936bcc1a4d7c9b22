"""The grant_* and metric_* methods components expose to the stacks: each names exactly the resources of its
component (the synth of the real app pins what the stacks make of them; these pin the methods' own contract,
including the refusals). Building constructs loads the provider bindings: the tests ask for `app_synth`, which
places them in the synth tier."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest

from app.components.account import AccountScope


@pytest.fixture
def components(app_synth: ModuleType, configs: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Any:
    from cdktf import App, TerraformStack

    from app.components.parameters import ConfigParameters
    from app.components.transaction_tables import TransactionTables

    config = configs["dev"]
    stack = TerraformStack(App(outdir=str(tmp_path_factory.mktemp("grants"))), "grants")
    tables = TransactionTables(
        stack, "tables", config=config.data.dynamodb, name_prefix="payments-test", key_arn="arn:aws:kms:test-key"
    )
    parameters = ConfigParameters(stack, "parameters", environment="dev", key_arn="arn:aws:kms:parameters-key")
    return Resolving(stack), tables, parameters


class Resolving:
    """Resolves cdktf tokens (each read of an attribute is a new token) to the Terraform expressions they stand
    for, as the synth writes them."""

    def __init__(self, stack: Any) -> None:
        self._stack = stack

    def resolve(self, value: Any) -> Any:
        from cdktf import DefaultTokenResolver, StringConcat, Tokenization

        return Tokenization.resolve(
            value, scope=self._stack, resolver=DefaultTokenResolver(StringConcat()), preparing=False
        )


def test_index_queries_name_exactly_the_asked_indexes(components: Any) -> None:
    stack, tables, _ = components
    grant = tables.grant_index_queries("QueryVelocity", "by-card-token", "by-customer")
    assert grant["Sid"] == "QueryVelocity"
    assert grant["Action"] == ["dynamodb:Query"]
    table = stack.resolve(tables.transactions.arn)
    assert table.startswith("${aws_dynamodb_table.tables_transactions_"), table
    assert stack.resolve(grant["Resource"]) == [f"{table}/index/by-card-token", f"{table}/index/by-customer"]


# Near misses of real index names, wildcards and path tricks: a grant must never widen past a named index.
HOSTILE_INDEX_NAMES = ["", "*", "by-customer ", "BY-CUSTOMER", "by-card-token\n", "by-pan", "../index/x", "by-*"]


def test_an_unknown_index_is_refused_by_name(components: Any) -> None:
    from app.components.transaction_tables import TRANSACTION_INDEXES

    _, tables, _ = components
    known_indexes = [index.name for index in TRANSACTION_INDEXES]
    for name in HOSTILE_INDEX_NAMES:
        with pytest.raises(ValueError) as refused:
            tables.grant_index_queries("Query", "by-customer", name)
        message = str(refused.value)
        assert repr(name) in message, message
        assert all(known in message for known in known_indexes), message


def test_table_grants_stay_on_their_own_table(components: Any) -> None:
    stack, tables, _ = components
    transactions, idempotency = stack.resolve(tables.transactions.arn), stack.resolve(tables.idempotency.arn)
    assert transactions != idempotency
    writes = tables.grant_transaction_writes()
    assert stack.resolve(writes["Resource"]) == [transactions]
    assert "dynamodb:DeleteItem" not in writes["Action"]  # the table is the record of every payment
    assert stack.resolve(tables.grant_idempotency_records()["Resource"]) == [idempotency]
    assert tables.grant_table_encryption() == {
        "Sid": "EncryptTableData",
        "Effect": "Allow",
        "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
        "Resource": ["arn:aws:kms:test-key"],
    }
    assert stack.resolve(tables.metric_dimensions("idempotency")) == {
        "TableName": stack.resolve(tables.idempotency.name)
    }
    assert list(tables.names()) == list(tables.arns()) == ["transactions", "idempotency"]


def test_parameter_grants_follow_the_ssm_contract(components: Any) -> None:
    from lambda_src.payments_common.ssm_contract import read_by

    _, _, parameters = components
    account = AccountScope(region="eu-west-1", account_id="111122223333", partition="aws")
    for function in ("payment_validation", "fraud_detection", "transaction_processing"):
        grant = parameters.grant_read_by(function, account)
        expected = sorted(
            f"arn:aws:ssm:eu-west-1:111122223333:parameter/payments/dev/{p.name}" for p in read_by(function)
        )
        assert sorted(grant["Resource"]) == expected and expected, function
        assert grant["Action"] == ["ssm:GetParameter"]
    assert parameters.grant_decrypt()["Resource"] == ["arn:aws:kms:parameters-key"]

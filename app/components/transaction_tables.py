"""DynamoDB tables of the payment path: transaction records and the Powertools idempotency store."""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_aws.dynamodb_table import (
    DynamodbTable,
    DynamodbTableAttribute,
    DynamodbTableGlobalSecondaryIndex,
    DynamodbTablePointInTimeRecovery,
    DynamodbTableServerSideEncryption,
    DynamodbTableTtl,
)
from constructs import Construct

from app.components.iam import IamStatement, statement
from app.config import DynamoDbConfig

TABLE_DATA_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")


@dataclass(frozen=True)
class SecondaryIndex:
    name: str
    partition_key: str
    sort_key: str
    purpose: str


# The queries the Lambdas make (lambda_src/): each index is projected ALL because every query reads whole
# records (velocity counts, history averages, status dashboards) and the table stays small per key.
TRANSACTION_INDEXES = (
    SecondaryIndex("by-customer", "customer_id", "created_at", "customer velocity and amount history (fraud)"),
    SecondaryIndex("by-merchant", "merchant_id", "created_at", "merchant statements and reconciliation"),
    SecondaryIndex("by-status", "status", "created_at", "operations: pending and failed transactions"),
    SecondaryIndex("by-card-token", "card_token", "created_at", "card velocity (fraud); the PAN is never stored"),
)


class TransactionTables(Construct):
    def __init__(self, scope: Construct, id_: str, *, config: DynamoDbConfig, name_prefix: str, key_arn: str) -> None:
        super().__init__(scope, id_)
        self._key_arn = key_arn
        attributes = (
            {"transaction_id"}
            | {i.partition_key for i in TRANSACTION_INDEXES}
            | {i.sort_key for i in TRANSACTION_INDEXES}
        )
        self.transactions = DynamodbTable(
            self,
            "transactions",
            name=f"{name_prefix}-transactions",
            billing_mode=config.billing_mode,
            hash_key="transaction_id",
            attribute=[DynamodbTableAttribute(name=name, type="S") for name in sorted(attributes)],
            global_secondary_index=[
                DynamodbTableGlobalSecondaryIndex(
                    name=i.name, hash_key=i.partition_key, range_key=i.sort_key, projection_type="ALL"
                )
                for i in TRANSACTION_INDEXES
            ],
            point_in_time_recovery=DynamodbTablePointInTimeRecovery(enabled=True),
            server_side_encryption=DynamodbTableServerSideEncryption(enabled=True, kms_key_arn=key_arn),
            deletion_protection_enabled=config.deletion_protection,
            tags={"Name": f"{name_prefix}-transactions"},
        )
        self.idempotency = DynamodbTable(
            self,
            "idempotency",
            name=f"{name_prefix}-idempotency",
            billing_mode=config.billing_mode,
            hash_key="id",
            attribute=[DynamodbTableAttribute(name="id", type="S")],
            ttl=DynamodbTableTtl(attribute_name="expiration", enabled=True),
            point_in_time_recovery=DynamodbTablePointInTimeRecovery(enabled=True),
            server_side_encryption=DynamodbTableServerSideEncryption(enabled=True, kms_key_arn=key_arn),
            deletion_protection_enabled=config.deletion_protection,
            tags={"Name": f"{name_prefix}-idempotency"},
        )

    def index_arns(self) -> list[str]:
        return [f"{self.transactions.arn}/index/{i.name}" for i in TRANSACTION_INDEXES]

    def tables(self) -> dict[str, DynamodbTable]:
        return {"transactions": self.transactions, "idempotency": self.idempotency}

    def names(self) -> dict[str, str]:
        return {purpose: table.name for purpose, table in self.tables().items()}

    def arns(self) -> dict[str, str]:
        return {purpose: table.arn for purpose, table in self.tables().items()}

    def metric_dimensions(self, purpose: str) -> dict[str, str]:
        """The TableName dimension of one table's AWS/DynamoDB metrics."""
        return {"TableName": self.tables()[purpose].name}

    def grant_transaction_writes(self) -> IamStatement:
        """Record and update transactions (never delete: the table is the record of every payment)."""
        return statement(
            "RecordTransactions",
            ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
            [self.transactions.arn],
        )

    def grant_index_queries(self, sid: str, *indexes: str) -> IamStatement:
        """dynamodb:Query on the named secondary indexes of the transactions table only."""
        known = {index.name for index in TRANSACTION_INDEXES}
        unknown = sorted(set(indexes) - known)
        if unknown:
            raise ValueError(
                f"no such index of the transactions table: {', '.join(map(repr, unknown))} (known: {sorted(known)})"
            )
        return statement(sid, ["dynamodb:Query"], [f"{self.transactions.arn}/index/{index}" for index in indexes])

    def grant_idempotency_records(self) -> IamStatement:
        """The Powertools idempotency store: read, claim, complete and release a record."""
        return statement(
            "IdempotencyRecords",
            ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
            [self.idempotency.arn],
        )

    def grant_table_encryption(self) -> IamStatement:
        """The data keys of the tables' customer-managed key, which any reader or writer of an item needs."""
        return statement("EncryptTableData", TABLE_DATA_ACTIONS, [self._key_arn])

"""Customer-managed KMS keys, one per data domain, with rotation and explicit, scoped key policies."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
    DataAwsIamPolicyDocumentStatementPrincipals,
)
from cdktf_cdktf_provider_aws.kms_alias import KmsAlias
from cdktf_cdktf_provider_aws.kms_key import KmsKey
from constructs import Construct

from app.components.account import AccountScope

KEY_ROTATION_PERIOD_DAYS = 365
USE_ACTIONS = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]


@dataclass(frozen=True)
class KeyDomain:
    """What a key protects and which AWS services may use it on behalf of the account's principals."""

    name: str
    description: str
    via_services: tuple[str, ...]
    # Services that use the key as themselves (not on behalf of a caller) need a service-principal grant.
    service_principals: tuple[str, ...] = ()


@dataclass(frozen=True)
class ServiceGrant:
    """A key-policy grant to an AWS service principal that the stack owning the consumer defines (e.g. the
    audit archive's writers); conditions are (test, variable, values)."""

    sid: str
    service: str
    actions: tuple[str, ...]
    conditions: tuple[tuple[str, str, tuple[str, ...]], ...]


KEY_DOMAINS = (
    KeyDomain("database", "Aurora storage, Performance Insights and DMS", ("rds", "dms")),
    KeyDomain("dynamodb", "DynamoDB transaction and idempotency tables", ("dynamodb",)),
    KeyDomain("s3-audit", "S3 audit-log archive", ("s3",)),
    KeyDomain("logs", "CloudWatch Logs log groups", (), service_principals=("logs",)),
    # CloudWatch alarms and DMS event subscriptions publish to the encrypted SNS topics as themselves.
    KeyDomain("messaging", "SNS topics", ("sns",), service_principals=("cloudwatch", "dms")),
    KeyDomain("secrets", "Secrets Manager secrets", ("secretsmanager",)),
    KeyDomain("parameters", "SSM Parameter Store SecureString parameters", ("ssm",)),
    KeyDomain("lambda-env", "Lambda environment variables", ("lambda",)),
    KeyDomain("backup", "AWS Backup vault recovery points", ("backup",)),
)


Condition = tuple[str, str, Sequence[str]]  # (test, variable, values)


def _allow(
    sid: str,
    actions: Sequence[str],
    principal_type: str,
    identifiers: Sequence[str],
    conditions: Sequence[Condition] = (),
) -> DataAwsIamPolicyDocumentStatement:
    """A key-policy grant (resource "*" means this key in a key policy)."""
    return DataAwsIamPolicyDocumentStatement(
        sid=sid,
        effect="Allow",
        actions=list(actions),
        resources=["*"],
        principals=[DataAwsIamPolicyDocumentStatementPrincipals(type=principal_type, identifiers=list(identifiers))],
        condition=[
            DataAwsIamPolicyDocumentStatementCondition(test=test, variable=variable, values=list(values))
            for test, variable, values in conditions
        ]
        or None,
    )


def key_policy_statements(
    domain: KeyDomain, *, account: AccountScope, service_grants: Sequence[ServiceGrant]
) -> list[DataAwsIamPolicyDocumentStatement]:
    root = f"arn:{account.partition}:iam::{account.account_id}:root"
    # AWS requires the account root to hold kms:* so the key can never become unmanageable; every other grant
    # below is scoped to one use.
    statements = [_allow("AccountRootAdministersKey", ["kms:*"], "AWS", [root])]
    if domain.via_services:
        via = [f"{service}.{account.region}.amazonaws.com" for service in domain.via_services]
        statements.append(
            _allow(
                "AccountPrincipalsUseKeyThroughServices",
                [*USE_ACTIONS, "kms:CreateGrant"],
                "AWS",
                [root],
                [("StringEquals", "kms:ViaService", via), ("StringEquals", "kms:CallerAccount", [account.account_id])],
            )
        )
    if "logs" in domain.service_principals:
        statements.append(
            _allow(
                "CloudWatchLogsEncryptsAccountLogGroups",
                USE_ACTIONS,
                "Service",
                [f"logs.{account.region}.amazonaws.com"],
                [("ArnLike", "kms:EncryptionContext:aws:logs:arn", [account.arn("logs", "log-group:*")])],
            )
        )
    publishers = [service for service in domain.service_principals if service != "logs"]
    if publishers:
        statements.append(
            _allow(
                "ServicesPublishToEncryptedTopics",
                ["kms:Decrypt", "kms:GenerateDataKey*"],
                "Service",
                [f"{service}.amazonaws.com" for service in publishers],
                [("StringEquals", "aws:SourceAccount", [account.account_id])],
            )
        )
    statements += [
        _allow(grant.sid, grant.actions, "Service", [grant.service], grant.conditions) for grant in service_grants
    ]
    return statements


class DomainKey(Construct):
    """A rotated CMK whose policy grants use only through the domain's AWS services, within this account."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        domain: KeyDomain,
        name_prefix: str,
        account: AccountScope,
        deletion_window_days: int,
        service_grants: Sequence[ServiceGrant] = (),
    ) -> None:
        super().__init__(scope, id_)
        self.description = f"{name_prefix}: {domain.description}"
        policy = DataAwsIamPolicyDocument(
            self, "policy", statement=key_policy_statements(domain, account=account, service_grants=service_grants)
        )
        self.key = KmsKey(
            self,
            "key",
            description=self.description,
            enable_key_rotation=True,
            rotation_period_in_days=KEY_ROTATION_PERIOD_DAYS,
            deletion_window_in_days=deletion_window_days,
            policy=policy.json,
            tags={"Name": f"{name_prefix}-{domain.name}"},
        )
        self.alias = KmsAlias(self, "alias", name=f"alias/{name_prefix}/{domain.name}", target_key_id=self.key.key_id)
        self.arn: str = self.key.arn

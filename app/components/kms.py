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


class DomainKey(Construct):
    """A rotated CMK whose policy grants use only through the domain's AWS services, within this account."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        domain: KeyDomain,
        name_prefix: str,
        account_id: str,
        partition: str,
        region: str,
        deletion_window_days: int,
        service_grants: Sequence[ServiceGrant] = (),
    ):
        super().__init__(scope, id_)
        root = f"arn:{partition}:iam::{account_id}:root"
        statements = [
            # AWS requires the account root to hold kms:* so the key can never become unmanageable; every
            # other grant below is scoped to one use.
            DataAwsIamPolicyDocumentStatement(
                sid="AccountRootAdministersKey",
                effect="Allow",
                actions=["kms:*"],
                resources=["*"],
                principals=[DataAwsIamPolicyDocumentStatementPrincipals(type="AWS", identifiers=[root])],
            ),
        ]
        if domain.via_services:
            statements.append(
                DataAwsIamPolicyDocumentStatement(
                    sid="AccountPrincipalsUseKeyThroughServices",
                    effect="Allow",
                    actions=[*USE_ACTIONS, "kms:CreateGrant"],
                    resources=["*"],
                    principals=[DataAwsIamPolicyDocumentStatementPrincipals(type="AWS", identifiers=[root])],
                    condition=[
                        DataAwsIamPolicyDocumentStatementCondition(
                            test="StringEquals",
                            variable="kms:ViaService",
                            values=[f"{service}.{region}.amazonaws.com" for service in domain.via_services],
                        ),
                        DataAwsIamPolicyDocumentStatementCondition(
                            test="StringEquals", variable="kms:CallerAccount", values=[account_id]
                        ),
                    ],
                )
            )
        if "logs" in domain.service_principals:
            statements.append(
                DataAwsIamPolicyDocumentStatement(
                    sid="CloudWatchLogsEncryptsAccountLogGroups",
                    effect="Allow",
                    actions=USE_ACTIONS,
                    resources=["*"],
                    principals=[
                        DataAwsIamPolicyDocumentStatementPrincipals(
                            type="Service", identifiers=[f"logs.{region}.amazonaws.com"]
                        )
                    ],
                    condition=[
                        DataAwsIamPolicyDocumentStatementCondition(
                            test="ArnLike",
                            variable="kms:EncryptionContext:aws:logs:arn",
                            values=[f"arn:{partition}:logs:{region}:{account_id}:log-group:*"],
                        )
                    ],
                )
            )
        publishers = [service for service in domain.service_principals if service != "logs"]
        if publishers:
            statements.append(
                DataAwsIamPolicyDocumentStatement(
                    sid="ServicesPublishToEncryptedTopics",
                    effect="Allow",
                    actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                    resources=["*"],
                    principals=[
                        DataAwsIamPolicyDocumentStatementPrincipals(
                            type="Service", identifiers=[f"{service}.amazonaws.com" for service in publishers]
                        )
                    ],
                    condition=[
                        DataAwsIamPolicyDocumentStatementCondition(
                            test="StringEquals", variable="aws:SourceAccount", values=[account_id]
                        )
                    ],
                )
            )
        statements += [
            DataAwsIamPolicyDocumentStatement(
                sid=grant.sid,
                effect="Allow",
                actions=list(grant.actions),
                resources=["*"],
                principals=[DataAwsIamPolicyDocumentStatementPrincipals(type="Service", identifiers=[grant.service])],
                condition=[
                    DataAwsIamPolicyDocumentStatementCondition(test=test, variable=variable, values=list(values))
                    for test, variable, values in grant.conditions
                ],
            )
            for grant in service_grants
        ]
        policy = DataAwsIamPolicyDocument(self, "policy", statement=statements)
        self.key = KmsKey(
            self,
            "key",
            description=f"{name_prefix}: {domain.description}",
            enable_key_rotation=True,
            rotation_period_in_days=KEY_ROTATION_PERIOD_DAYS,
            deletion_window_in_days=deletion_window_days,
            policy=policy.json,
            tags={"Name": f"{name_prefix}-{domain.name}"},
        )
        self.alias = KmsAlias(self, "alias", name=f"alias/{name_prefix}/{domain.name}", target_key_id=self.key.key_id)
        self.arn: str = self.key.arn

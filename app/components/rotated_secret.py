"""The Aurora application user's secret, rotated every <= 30 days by our own Lambda
(lambda_src/secret_rotation, alternating users through the RDS-managed master secret)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from cdktf import TerraformStack
from cdktf_cdktf_provider_aws.lambda_permission import LambdaPermission
from cdktf_cdktf_provider_aws.secretsmanager_secret import SecretsmanagerSecret
from cdktf_cdktf_provider_aws.secretsmanager_secret_rotation import (
    SecretsmanagerSecretRotation,
    SecretsmanagerSecretRotationRotationRules,
)
from cdktf_cdktf_provider_aws.secretsmanager_secret_version import SecretsmanagerSecretVersion
from cdktf_cdktf_provider_aws.security_group import SecurityGroup
from cdktf_cdktf_provider_aws.vpc_security_group_egress_rule import VpcSecurityGroupEgressRule
from constructs import Construct

from app.components.aurora import POSTGRES_PORT, AuroraPostgres
from app.components.iam import statement
from app.components.lambda_function import FunctionSpec, SecureFunction
from app.components.parameters import generated_secret

ROTATION_FUNCTION = FunctionSpec(
    source="secret_rotation",
    description="Rotates the Aurora application user's secret (alternating users)",
    memory_mb=256,
    timeout_seconds=60,
    reserved_concurrency=2,
    environment={"POWERTOOLS_SERVICE_NAME": "secret-rotation"},
    vendor=("pg8000",),
)


class RotatedDatabaseSecret(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        stack: TerraformStack,
        aurora: AuroraPostgres,
        app_username: str,
        database_name: str,
        name_prefix: str,
        rotation_days: int,
        vpc_id: str,
        vpc_cidr: str,
        private_subnet_ids: Sequence[str],
        secrets_key_arn: str,
        environment_key_arn: str,
        logs_key_arn: str,
        log_retention_days: int,
        layers: Sequence[str],
        region: str,
        account_id: str,
        partition: str,
    ):
        super().__init__(scope, id_)
        self.secret = SecretsmanagerSecret(
            self,
            "secret",
            name=f"{name_prefix}/aurora/{app_username}",
            kms_key_id=secrets_key_arn,
            recovery_window_in_days=30,
            description=f"Aurora credentials of {app_username}, rotated by our Lambda",
        )
        self.arn: str = self.secret.arn
        # A JSON template rather than Fn.jsonencode: cdktf escapes "${...}" inside function arguments, which would
        # store the reference text instead of the generated password. The password is alphanumeric (no escaping).
        initial_password = generated_secret(stack, "aurora_app_user_initial_password")
        SecretsmanagerSecretVersion(
            self,
            "initial-version",
            secret_id=self.secret.id,
            secret_string_wo_version=1,
            secret_string_wo=json.dumps(
                {
                    "engine": "postgres",
                    "host": aurora.cluster.endpoint,
                    "port": POSTGRES_PORT,
                    "dbname": database_name,
                    "username": app_username,
                    "password": initial_password,
                    "ssl": True,
                    "masterarn": aurora.master_secret_arn,
                }
            ),
        )

        self.security_group = SecurityGroup(
            self,
            "rotation-sg",
            vpc_id=vpc_id,
            name=f"{name_prefix}-secret-rotation",
            # Egress is managed by separate rules only: an inline egress=[] would fight them on every apply.
            description="Secret rotation Lambda: PostgreSQL to Aurora, HTTPS to the VPC endpoints",
            tags={"Name": f"{name_prefix}-secret-rotation"},
        )
        VpcSecurityGroupEgressRule(
            self,
            "rotation-to-endpoints",
            security_group_id=self.security_group.id,
            cidr_ipv4=vpc_cidr,
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            description="HTTPS to the VPC interface endpoints",
        )
        aurora.admit_client("secret-rotation", self.security_group.id, "Secret rotation Lambda")

        self.rotation = SecureFunction(
            self,
            "rotation-function",
            spec=ROTATION_FUNCTION,
            function_name=f"{name_prefix}-secret-rotation",
            region=region,
            account_id=account_id,
            partition=partition,
            subnet_ids=private_subnet_ids,
            security_group_ids=[self.security_group.id],
            environment_key_arn=environment_key_arn,
            logs_key_arn=logs_key_arn,
            log_retention_days=log_retention_days,
            layers=layers,
            statements=[
                statement(
                    "RotateTheApplicationSecret",
                    [
                        "secretsmanager:DescribeSecret",
                        "secretsmanager:GetSecretValue",
                        "secretsmanager:PutSecretValue",
                        "secretsmanager:UpdateSecretVersionStage",
                    ],
                    [self.secret.arn],
                ),
                statement("ReadTheMasterSecret", ["secretsmanager:GetSecretValue"], [aurora.master_secret_arn]),
                statement("GeneratePasswords", ["secretsmanager:GetRandomPassword"], ["*"]),
                statement("UseTheSecretsKey", ["kms:Decrypt", "kms:GenerateDataKey"], [secrets_key_arn]),
            ],
        )
        permission = LambdaPermission(
            self,
            "allow-secretsmanager",
            function_name=self.rotation.function.function_name,
            action="lambda:InvokeFunction",
            principal="secretsmanager.amazonaws.com",
            source_account=account_id,
            source_arn=self.secret.arn,
            statement_id="SecretsManagerRotation",
        )
        SecretsmanagerSecretRotation(
            self,
            "rotation",
            secret_id=self.secret.id,
            rotation_lambda_arn=self.rotation.arn,
            rotate_immediately=True,
            rotation_rules=SecretsmanagerSecretRotationRotationRules(automatically_after_days=rotation_days),
            depends_on=[permission, aurora.writer],
        )

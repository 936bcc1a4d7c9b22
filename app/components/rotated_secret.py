"""The Aurora login users' secrets (the application user and, while the migration is on, the DMS user), the
database bootstrap that creates those users with least privilege before their first rotation, and their
rotation every <= 30 days by our own Lambda (lambda_src/secret_rotation, alternating users through the
RDS-managed master secret).

Order at apply: secrets with their initial passwords -> bootstrap invocation (creates the roles in PostgreSQL
with those passwords) -> rotation (rotate_immediately replaces them at once). Without the bootstrap the first
rotation fails: setSecret creates `<user>_clone IN ROLE <user>`, which needs `<user>`."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from cdktf import Annotations, ITerraformDependable, TerraformStack
from cdktf_cdktf_provider_aws.lambda_invocation import LambdaInvocation
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
from app.components.iam import IamStatement, statement
from app.components.lambda_function import FunctionSpec, SecureFunction
from app.components.log_groups import LogRetention
from app.components.migration import CONTROL_SCHEMA as MIGRATION_CONTROL_SCHEMA
from app.components.parameters import generated_secret
from app.packaging import REPO_ROOT

SOURCE = "secret_rotation"
# The functions look for the RDS CA bundle under this name next to their code (handler.SHIPPED_CA_BUNDLE).
CA_BUNDLE_NAME = "rds-ca-bundle.pem"


def function_specs(ca_bundle: Path) -> dict[str, FunctionSpec]:
    """The rotation and bootstrap functions: one package (they share the TLS connection and SQL helpers)."""
    extra_files = {CA_BUNDLE_NAME: ca_bundle} if ca_bundle.is_file() else {}

    def spec(description: str, reserved_concurrency: int, service: str, handler: str) -> FunctionSpec:
        return FunctionSpec(
            source=SOURCE,
            description=description,
            memory_mb=256,
            timeout_seconds=60,
            reserved_concurrency=reserved_concurrency,
            environment={"POWERTOOLS_SERVICE_NAME": service},
            vendor=("pg8000",),
            handler=handler,
            extra_files=extra_files,
        )

    return {
        "rotation": spec(
            "Rotates the Aurora login users' secrets (alternating users)",
            2,
            "secret-rotation",
            "handler.lambda_handler",
        ),
        "bootstrap": spec(
            "Creates the Aurora roles and privileges the platform needs (idempotent)",
            1,
            "database-bootstrap",
            "bootstrap.lambda_handler",
        ),
    }


@dataclass(frozen=True)
class FunctionPlacement:
    """Where and how the rotation and bootstrap functions run."""

    vpc_id: str
    vpc_cidr: str
    private_subnet_ids: Sequence[str]
    environment_key_arn: str
    logs: LogRetention
    layers: Sequence[str]


class RotatedDatabaseSecret(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        stack: TerraformStack,
        aurora: AuroraPostgres,
        app_username: str,
        migration_username: str | None,
        database_name: str,
        ca_bundle_file: str,
        name_prefix: str,
        rotation_days: int,
        secrets_key_arn: str,
        placement: FunctionPlacement,
        account_id: str,
    ) -> None:
        super().__init__(scope, id_)
        self._name_prefix = name_prefix
        self._secrets_key_arn = secrets_key_arn
        usernames = {"app": app_username, **({"migration": migration_username} if migration_username else {})}
        self.secrets: dict[str, SecretsmanagerSecret] = {}
        versions = [
            self._build_secret(stack, purpose, username, aurora=aurora, database_name=database_name)
            for purpose, username in usernames.items()
        ]
        self.arn: str = self.secrets["app"].arn
        self.migration_secret_arn: str | None = self.secrets["migration"].arn if migration_username else None

        self.security_group = SecurityGroup(
            self,
            "rotation-sg",
            vpc_id=placement.vpc_id,
            name=f"{name_prefix}-secret-rotation",
            # Egress is managed by separate rules only: an inline egress=[] would fight them on every apply.
            description="Secret rotation and database bootstrap: PostgreSQL to Aurora, HTTPS to the VPC endpoints",
            tags={"Name": f"{name_prefix}-secret-rotation"},
        )
        to_endpoints = VpcSecurityGroupEgressRule(
            self,
            "rotation-to-endpoints",
            security_group_id=self.security_group.id,
            cidr_ipv4=placement.vpc_cidr,
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            description="HTTPS to the VPC interface endpoints",
        )
        admission = aurora.admit_client("secret-rotation", self.security_group.id, "Secret rotation and bootstrap")
        self.rotation, self.bootstrap = self._build_functions(aurora, placement, ca_bundle_file)
        self.bootstrap_invocation = self._invoke_bootstrap(
            migration_enabled=migration_username is not None,
            depends_on=[*versions, *aurora.instances, *admission, to_endpoints],
        )
        self._schedule_rotation(rotation_days, account_id)

    def _build_secret(
        self, stack: TerraformStack, purpose: str, username: str, *, aurora: AuroraPostgres, database_name: str
    ) -> SecretsmanagerSecretVersion:
        """One login user's secret with its initial version (the generated password, write-only)."""
        secret = SecretsmanagerSecret(
            self,
            f"secret-{purpose}" if purpose != "app" else "secret",
            name=f"{self._name_prefix}/aurora/{username}",
            kms_key_id=self._secrets_key_arn,
            recovery_window_in_days=30,
            description=f"Aurora credentials of {username}, rotated by our Lambda",
        )
        self.secrets[purpose] = secret
        # A JSON template rather than Fn.jsonencode: cdktf escapes "${...}" inside function arguments, which
        # would store the reference text instead of the generated password. The password is alphanumeric.
        # host/port/username/password are also what AWS DMS reads from an endpoint's secret.
        initial_password = generated_secret(stack, f"aurora_{purpose}_user_initial_password")
        return SecretsmanagerSecretVersion(
            self,
            f"initial-version-{purpose}" if purpose != "app" else "initial-version",
            secret_id=secret.id,
            secret_string_wo_version=1,
            secret_string_wo=json.dumps(
                {
                    "engine": "postgres",
                    "host": aurora.writer_endpoint,
                    "port": POSTGRES_PORT,
                    "dbname": database_name,
                    "username": username,
                    "password": initial_password,
                    "ssl": True,
                    "masterarn": aurora.master_secret_arn,
                }
            ),
        )

    def _build_functions(
        self, aurora: AuroraPostgres, placement: FunctionPlacement, ca_bundle_file: str
    ) -> tuple[SecureFunction, SecureFunction]:
        ca_bundle = REPO_ROOT / ca_bundle_file
        if not ca_bundle.is_file():
            Annotations.of(self).add_warning(
                f"{ca_bundle_file} (data.aurora.ca_bundle_file) does not exist: the rotation and bootstrap functions "
                "are packaged without the RDS CA bundle and will refuse to connect (see certificates/README.md)"
            )
        specs = function_specs(ca_bundle)
        secret_arns = [secret.arn for secret in self.secrets.values()]
        read_master = statement("ReadTheMasterSecret", ["secretsmanager:GetSecretValue"], [aurora.master_secret_arn])

        def function(construct_id: str, purpose: str, name: str, statements: list[IamStatement]) -> SecureFunction:
            return SecureFunction(
                self,
                construct_id,
                spec=specs[purpose],
                function_name=f"{self._name_prefix}-{name}",
                statements=statements,
                subnet_ids=placement.private_subnet_ids,
                security_group_ids=[self.security_group.id],
                environment_key_arn=placement.environment_key_arn,
                logs=placement.logs,
                layers=placement.layers,
            )

        rotation = function(
            "rotation-function",
            "rotation",
            "secret-rotation",
            [
                statement(
                    "RotateTheDatabaseSecrets",
                    [
                        "secretsmanager:DescribeSecret",
                        "secretsmanager:GetSecretValue",
                        "secretsmanager:PutSecretValue",
                        "secretsmanager:UpdateSecretVersionStage",
                    ],
                    secret_arns,
                ),
                read_master,
                statement("GeneratePasswords", ["secretsmanager:GetRandomPassword"], ["*"]),
                statement("UseTheSecretsKey", ["kms:Decrypt", "kms:GenerateDataKey"], [self._secrets_key_arn]),
            ],
        )
        bootstrap = function(
            "bootstrap-function",
            "bootstrap",
            "db-bootstrap",
            [
                statement("ReadTheLoginSecrets", ["secretsmanager:GetSecretValue"], secret_arns),
                read_master,
                statement("DecryptTheSecrets", ["kms:Decrypt"], [self._secrets_key_arn]),
            ],
        )
        return rotation, bootstrap

    def _invoke_bootstrap(
        self, *, migration_enabled: bool, depends_on: Sequence[ITerraformDependable]
    ) -> LambdaInvocation:
        bootstrap_input: Mapping[str, str | None] = {
            "app_secret_arn": self.arn,
            "migration_secret_arn": self.migration_secret_arn,
            "migration_control_schema": MIGRATION_CONTROL_SCHEMA if migration_enabled else None,
        }
        # Runs at create and again whenever its input or its code changes (the bootstrap converges, so a re-run
        # is harmless); the database must accept connections from the function first.
        return LambdaInvocation(
            self,
            "bootstrap",
            function_name=self.bootstrap.deployed_name,
            input=json.dumps(bootstrap_input),
            triggers={"code": self.bootstrap.function.source_code_hash},
            depends_on=list(depends_on),
        )

    def _schedule_rotation(self, rotation_days: int, account_id: str) -> None:
        for purpose, secret in self.secrets.items():
            suffix = "" if purpose == "app" else f"-{purpose}"
            permission = LambdaPermission(
                self,
                f"allow-secretsmanager{suffix}",
                function_name=self.rotation.deployed_name,
                action="lambda:InvokeFunction",
                principal="secretsmanager.amazonaws.com",
                source_account=account_id,
                source_arn=secret.arn,
                statement_id=f"SecretsManagerRotation{purpose.capitalize()}",
            )
            SecretsmanagerSecretRotation(
                self,
                f"rotation{suffix}",
                secret_id=secret.id,
                rotation_lambda_arn=self.rotation.arn,
                rotate_immediately=True,
                rotation_rules=SecretsmanagerSecretRotationRotationRules(automatically_after_days=rotation_days),
                depends_on=[permission, self.bootstrap_invocation],
            )

    def metric_dimensions(self) -> dict[str, dict[str, str]]:
        """The AWS/Lambda dimensions of the rotation and bootstrap functions, by what each one does. Secrets
        Manager publishes no rotation metric: a failed rotation step is an error of the rotation function."""
        return {
            "secret-rotation": self.rotation.metric_dimensions(),
            "db-bootstrap": self.bootstrap.metric_dimensions(),
        }

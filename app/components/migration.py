"""AWS DMS full-load-and-CDC replication of the on-prem customer database into Aurora, present only while
the environment's migration is on. Credentials come from Secrets Manager on both ends (the target's is the
dedicated, rotated DMS user's); the on-prem source is verified against its CA (ssl_mode verify-full), the
Aurora target against the RDS CA bundle once it is in the repository."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from cdktf import Annotations
from cdktf_cdktf_provider_aws.dms_certificate import DmsCertificate
from cdktf_cdktf_provider_aws.dms_endpoint import DmsEndpoint
from cdktf_cdktf_provider_aws.dms_replication_instance import DmsReplicationInstance
from cdktf_cdktf_provider_aws.dms_replication_subnet_group import DmsReplicationSubnetGroup
from cdktf_cdktf_provider_aws.dms_replication_task import DmsReplicationTask
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.security_group import SecurityGroup
from cdktf_cdktf_provider_aws.vpc_security_group_egress_rule import VpcSecurityGroupEgressRule
from constructs import Construct

from app.components.account import AccountScope
from app.components.aurora import AuroraPostgres, DatabaseKeys, DatabasePlacement
from app.components.iam import policy_document, service_trust_policy, statement
from app.components.log_groups import LogRetention, encrypted_log_group
from app.config import MigrationConfig, MigrationSourceConfig

# The Aurora login user DMS writes as (created by the database bootstrap, rotated like the application user).
# Not the master: AWS DMS endpoints read host, port, username and password from their secret, and the
# RDS-managed master secret holds only username and password (and rotates outside our control).
# https://docs.aws.amazon.com/dms/latest/userguide/security_iam_secretsmanager.html
MIGRATION_USERNAME = "payments_dms"
# DMS keeps its control tables (apply exceptions, status) here, not among the application's tables; the
# database bootstrap creates it for the DMS user.
CONTROL_SCHEMA = "awsdms_control"


@dataclass(frozen=True)
class MigrationTarget:
    """The Aurora end of the replication: where DMS writes, as whom, and the CA that proves it is Aurora."""

    aurora: AuroraPostgres
    database_name: str
    secret_arn: str  # the dedicated, rotated DMS user's secret
    rds_ca_bundle: Path


class CustomerDatabaseMigration(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        config: MigrationConfig,
        target: MigrationTarget,
        name_prefix: str,
        placement: DatabasePlacement,
        keys: DatabaseKeys,
        logs: LogRetention,
        account: AccountScope,
    ) -> None:
        super().__init__(scope, id_)
        source = config.source
        if source is None:  # the config loader rejects an enabled migration without a source
            raise ValueError("data.migration.source is required while data.migration.enabled is true")
        self.identifier = f"{name_prefix}-customer-db-migration"
        # dms-vpc-role and dms-cloudwatch-logs-role are the account's (app/components/dms_account_roles.py),
        # created by the security stack of the environment that owns them, before this stack is applied.
        self.subnet_group = DmsReplicationSubnetGroup(
            self,
            "subnets",
            replication_subnet_group_id=self.identifier,
            subnet_ids=list(placement.subnet_ids),
            replication_subnet_group_description="Database tier subnets of the payments VPC",
        )
        self.security_group = self._build_security_group(source, placement.vpc_id)
        target.aurora.admit_client("dms", self.security_group.id, "DMS replication instance (migration only)")
        self.instance = self._build_replication_instance(config, database_key_arn=keys.database)
        secrets_role = self._build_secrets_role(source, target, keys, account)
        self.source_endpoint = DmsEndpoint(
            self,
            "source",
            endpoint_id=f"{self.identifier}-onprem-source",
            endpoint_type="source",
            engine_name="postgres",
            database_name=source.database_name,
            ssl_mode="verify-full",
            certificate_arn=source.ca_certificate_arn,
            secrets_manager_arn=source.credentials_secret_arn,
            secrets_manager_access_role_arn=secrets_role.arn,
            kms_key_arn=keys.database,
        )
        self.target_endpoint = self._build_target_endpoint(target, secrets_role, database_key_arn=keys.database)
        self.task_log_group = encrypted_log_group(
            self, "task-logs", name=f"dms-tasks-{self.identifier}", retention=logs
        )
        self.task = self._build_task(config)

    def _build_replication_instance(self, config: MigrationConfig, *, database_key_arn: str) -> DmsReplicationInstance:
        return DmsReplicationInstance(
            self,
            "instance",
            replication_instance_id=self.identifier,
            replication_instance_class=config.replication_instance_class,
            allocated_storage=config.allocated_storage_gb,
            multi_az=config.multi_az,
            publicly_accessible=False,
            kms_key_arn=database_key_arn,
            replication_subnet_group_id=self.subnet_group.replication_subnet_group_id,
            vpc_security_group_ids=[self.security_group.id],
            auto_minor_version_upgrade=True,
            preferred_maintenance_window="sun:05:30-sun:06:30",
        )

    def _build_security_group(self, source: MigrationSourceConfig, vpc_id: str) -> SecurityGroup:
        security_group = SecurityGroup(
            self,
            "sg",
            vpc_id=vpc_id,
            name=self.identifier,
            # Egress is managed by separate rules only: an inline egress=[] would fight them on every apply.
            description="DMS replication instance: PostgreSQL to on-prem (VPN) and to Aurora",
            tags={"Name": self.identifier},
        )
        for index, cidr in enumerate(source.cidrs):
            VpcSecurityGroupEgressRule(
                self,
                f"to-onprem-{index}",
                security_group_id=security_group.id,
                cidr_ipv4=cidr,
                ip_protocol="tcp",
                from_port=source.port,
                to_port=source.port,
                description="PostgreSQL to the on-prem source over the VPN",
            )
        return security_group

    def _build_secrets_role(
        self, source: MigrationSourceConfig, target: MigrationTarget, keys: DatabaseKeys, account: AccountScope
    ) -> IamRole:
        """The role DMS assumes to read both endpoints' credentials (and nothing else)."""
        role = IamRole(
            self,
            "secrets-role",
            name=f"{self.identifier}-secrets",
            assume_role_policy=service_trust_policy(
                f"dms.{account.region}.amazonaws.com", source_account=account.account_id
            ),
        )
        IamRolePolicy(
            self,
            "secrets-policy",
            role=role.id,
            name="read-endpoint-credentials",
            policy=policy_document(
                [
                    statement(
                        "ReadEndpointCredentials",
                        ["secretsmanager:GetSecretValue"],
                        [source.credentials_secret_arn, target.secret_arn],
                    ),
                    statement("DecryptEndpointCredentials", ["kms:Decrypt"], [keys.secrets]),
                ]
            ),
        )
        return role

    def _build_target_endpoint(
        self, target: MigrationTarget, secrets_role: IamRole, *, database_key_arn: str
    ) -> DmsEndpoint:
        # The target is verified like the source (verify-full) once the RDS CA bundle is in the repository
        # (data.aurora.ca_bundle_file, the same bundle the rotation function ships); until then the connection
        # is encrypted but unauthenticated, the synth warns and `make preflight` reports the missing bundle.
        target_certificate = None
        if target.rds_ca_bundle.is_file():
            target_certificate = DmsCertificate(
                self,
                "rds-ca",
                certificate_id=f"{self.identifier}-rds-ca",
                certificate_pem=target.rds_ca_bundle.read_text(),
            )
        else:
            Annotations.of(self).add_warning(
                f"{target.rds_ca_bundle} does not exist: "
                "the DMS target endpoint uses ssl_mode require (not verify-full)"
            )
        return DmsEndpoint(
            self,
            "target",
            endpoint_id=f"{self.identifier}-aurora-target",
            endpoint_type="target",
            engine_name="aurora-postgresql",
            database_name=target.database_name,
            ssl_mode="verify-full" if target_certificate else "require",
            certificate_arn=target_certificate.certificate_arn if target_certificate else None,
            secrets_manager_arn=target.secret_arn,
            secrets_manager_access_role_arn=secrets_role.arn,
            kms_key_arn=database_key_arn,
        )

    def _build_task(self, config: MigrationConfig) -> DmsReplicationTask:
        mappings = {
            "rules": [
                {
                    "rule-type": "selection",
                    "rule-id": str(index + 1),
                    "rule-name": f"include-{index + 1}",
                    "object-locator": {"schema-name": mapping["schema"], "table-name": mapping["table"]},
                    "rule-action": "include",
                }
                for index, mapping in enumerate(config.table_mappings)
            ]
        }
        settings = {
            "Logging": {"EnableLogging": True},
            "ValidationSettings": {"EnableValidation": True},
            "FullLoadSettings": {"TargetTablePrepMode": "DO_NOTHING"},
            "ControlTablesSettings": {"ControlSchema": CONTROL_SCHEMA},
        }
        return DmsReplicationTask(
            self,
            "task",
            replication_task_id=self.identifier,
            migration_type="full-load-and-cdc",
            replication_instance_arn=self.instance.replication_instance_arn,
            source_endpoint_arn=self.source_endpoint.endpoint_arn,
            target_endpoint_arn=self.target_endpoint.endpoint_arn,
            table_mappings=json.dumps(mappings, sort_keys=True),
            replication_task_settings=json.dumps(settings),
            start_replication_task=False,
            depends_on=[self.task_log_group],
        )

    @property
    def task_id(self) -> str:
        """The replication task's identifier (the source id of its DMS event subscription)."""
        return self.task.replication_task_id

    @property
    def task_arn(self) -> str:
        return self.task.replication_task_arn

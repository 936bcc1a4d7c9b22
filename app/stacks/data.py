"""payments-<env>-data: Aurora, DynamoDB, the audit-log archive, runtime configuration in SSM, the rotated
application secret and (while the migration is on) DMS replication from on-prem."""

from __future__ import annotations

from cdktf_cdktf_provider_aws.security_group import SecurityGroup
from constructs import Construct

from app.components import audit_delivery
from app.components.aurora import POSTGRES_PORT, AuroraPostgres, DatabaseKeys, DatabasePlacement
from app.components.lambda_function import powertools_layer_arn
from app.components.log_buckets import LogArchive
from app.components.migration import MIGRATION_USERNAME, CustomerDatabaseMigration, MigrationTarget
from app.components.parameters import ConfigParameters
from app.components.rotated_secret import FunctionPlacement, RotatedDatabaseSecret
from app.components.transaction_tables import TransactionTables
from app.packaging import REPO_ROOT
from app.stacks.base import PaymentsStack
from app.stacks.foundation import Foundation
from lambda_src.payments_common import ssm_contract as ssm


class DataStack(PaymentsStack):
    def __init__(self, scope: Construct, *, foundation: Foundation) -> None:
        config = foundation.config
        super().__init__(scope, config=config, domain="data")
        self.foundation = foundation
        placement = DatabasePlacement(vpc_id=foundation.vpc.vpc_id, subnet_ids=foundation.vpc.subnet_ids("database"))
        self.database_keys = DatabaseKeys(
            database=foundation.key_arn("database"),
            secrets=foundation.key_arn("secrets"),
        )
        self.log_retention = foundation.log_retention()
        self.aurora = AuroraPostgres(
            self,
            "aurora",
            config=config.data.aurora,
            name_prefix=self.name_prefix,
            placement=placement,
            availability_zones=config.availability_zones,
            keys=self.database_keys,
            logs=self.log_retention,
            account=self.account_scope,
        )
        self.database_clients = self._build_database_clients()
        self.tables = TransactionTables(
            self,
            "tables",
            config=config.data.dynamodb,
            name_prefix=self.name_prefix,
            key_arn=foundation.key_arn("dynamodb"),
        )
        self.logs = self._build_log_archive()
        self.powertools_layer = powertools_layer_arn(config.region, config.runtime.powertools_layer_version)
        self.app_secret = self._build_app_secret()
        self.migration = self._build_migration(placement)
        self.parameters = self._publish_parameters()
        self._outputs()

    def _build_database_clients(self) -> SecurityGroup:
        """The security group the compute tier's functions that use the customer database attach."""
        clients = SecurityGroup(
            self,
            "database-clients",
            vpc_id=self.foundation.vpc.vpc_id,
            name=f"{self.name_prefix}-aurora-clients",
            # Egress is managed by separate rules only: an inline egress=[] would fight them on every apply.
            description="Workloads allowed to reach Aurora PostgreSQL",
            tags={"Name": f"{self.name_prefix}-aurora-clients"},
        )
        self.aurora.admit_client("compute", clients.id, "Compute tier (payment functions)")
        return clients

    def _build_log_archive(self) -> LogArchive:
        config, account = self.config, self.account_scope
        archive_name = LogArchive.audit_bucket_name(self.name_prefix, self.account_id)
        return LogArchive(
            self,
            "log-archive",
            config=config.data.audit_archive,
            name_prefix=self.name_prefix,
            account_id=self.account_id,
            partition=self.partition,
            region=config.region,
            audit_key_arn=self.foundation.key_arn("s3-audit"),
            # The trail and AWS Config (payments-<env>-audit) write into the archive.
            audit_writers=audit_delivery.bucket_statements(
                bucket_arn=f"arn:{self.partition}:s3:::{archive_name}",
                trail=audit_delivery.trail_arn(
                    partition=account.partition,
                    region=account.region,
                    account_id=account.account_id,
                    name_prefix=self.name_prefix,
                ),
                account_id=self.account_id,
                config_delivery=config.baseline.account_owner,
            ),
        )

    def _build_app_secret(self) -> RotatedDatabaseSecret:
        config, aurora_config = self.config, self.config.data.aurora
        return RotatedDatabaseSecret(
            self,
            "app-secret",
            stack=self,
            aurora=self.aurora,
            app_username=aurora_config.app_username,
            migration_username=MIGRATION_USERNAME if config.data.migration.enabled else None,
            database_name=aurora_config.database_name,
            ca_bundle_file=aurora_config.ca_bundle_file,
            name_prefix=self.name_prefix,
            rotation_days=config.data.secret_rotation_days,
            secrets_key_arn=self.database_keys.secrets,
            placement=FunctionPlacement(
                vpc_id=self.foundation.vpc.vpc_id,
                vpc_cidr=config.network.vpc_cidr,
                private_subnet_ids=self.foundation.vpc.subnet_ids("private"),
                environment_key_arn=self.foundation.key_arn("lambda-env"),
                logs=self.log_retention,
                layers=[self.powertools_layer],
            ),
            account_id=self.account_id,
        )

    def _build_migration(self, placement: DatabasePlacement) -> CustomerDatabaseMigration | None:
        config = self.config
        migration_secret_arn = self.app_secret.migration_secret_arn
        if not config.data.migration.enabled or migration_secret_arn is None:
            return None
        return CustomerDatabaseMigration(
            self,
            "migration",
            config=config.data.migration,
            target=MigrationTarget(
                aurora=self.aurora,
                database_name=config.data.aurora.database_name,
                secret_arn=migration_secret_arn,
                rds_ca_bundle=REPO_ROOT / config.data.aurora.ca_bundle_file,
            ),
            name_prefix=self.name_prefix,
            placement=placement,
            keys=self.database_keys,
            logs=self.log_retention,
            account=self.account_scope,
        )

    def _publish_parameters(self) -> ConfigParameters:
        """The runtime configuration the functions read (lambda_src/payments_common/ssm_contract.py)."""
        runtime = self.config.runtime
        params = ConfigParameters(
            self, "parameters", environment=self.config.environment, key_arn=self.foundation.key_arn("parameters")
        )
        tables = self.tables.names()
        params.string(ssm.TRANSACTIONS_TABLE, tables["transactions"], "Transactions table name")
        params.string(ssm.IDEMPOTENCY_TABLE, tables["idempotency"], "Idempotency table name")
        params.string(ssm.AURORA_WRITER_ENDPOINT, self.aurora.writer_endpoint, "Aurora writer endpoint")
        params.string(ssm.AURORA_READER_ENDPOINT, self.aurora.reader_endpoint, "Aurora reader endpoint")
        params.string(ssm.AURORA_PORT, str(POSTGRES_PORT), "Aurora port")
        params.string(ssm.AURORA_APP_SECRET_ARN, self.app_secret.arn, "ARN of the application user's secret")
        params.string(ssm.AUDIT_BUCKET, self.logs.audit_name, "Audit-log archive bucket")
        params.document(
            ssm.VALIDATION_LIMITS,
            {"max_amount": dict(runtime.validation_max_amount)},
            "Payment validation limits: maximum amount per allowed ISO 4217 currency",
        )
        params.document(ssm.FRAUD_THRESHOLDS, dict(runtime.fraud_thresholds), "Fraud scoring thresholds")
        params.generated_secure(self, ssm.CARD_TOKEN_KEY, "HMAC key tokenizing card numbers (generated, write-only)")
        return params

    def _outputs(self) -> None:
        self.output("aurora_writer_endpoint", self.aurora.writer_endpoint, "Aurora cluster writer endpoint")
        self.output("aurora_reader_endpoint", self.aurora.reader_endpoint, "Aurora cluster reader endpoint")
        self.output("aurora_port", POSTGRES_PORT, "Aurora PostgreSQL port")
        self.output(
            "aurora_master_secret_arn",
            self.aurora.master_secret_arn,
            "ARN of the RDS-managed master user secret (value never leaves Secrets Manager)",
        )
        self.output("app_secret_arn", self.app_secret.arn, "ARN of the rotated application user secret")
        names, arns = self.tables.names(), self.tables.arns()
        for name in names:
            self.output(f"{name}_table_name", names[name], f"DynamoDB {name} table name")
            self.output(f"{name}_table_arn", arns[name], f"DynamoDB {name} table ARN")
        self.output("audit_bucket_name", self.logs.audit_name, "Audit-log archive bucket (Object Lock, SSE-KMS)")
        self.output(
            "service_logs_bucket_name",
            self.logs.service_logs_name,
            "Bucket for S3 server access logs and ALB access logs (SSE-S3: AWS log delivery requires it)",
        )
        self.output("parameter_path", self.parameters.path, "SSM Parameter Store prefix of the runtime configuration")
        if self.migration is not None:
            self.output(
                "dms_replication_task_arn",
                self.migration.task_arn,
                "DMS full-load-and-CDC task (start it when the cutover runbook says so)",
            )

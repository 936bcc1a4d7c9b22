"""payments-<env>-data: Aurora, DynamoDB, the audit-log archive, runtime configuration in SSM, the rotated
application secret and (while the migration is on) DMS replication from on-prem."""

from __future__ import annotations

from cdktf_cdktf_provider_aws.security_group import SecurityGroup
from constructs import Construct

from app.components import audit_delivery
from app.components.aurora import POSTGRES_PORT, AuroraPostgres
from app.components.lambda_function import powertools_layer_arn
from app.components.log_buckets import LogArchive
from app.components.migration import MIGRATION_USERNAME, CustomerDatabaseMigration
from app.components.parameters import ConfigParameters
from app.components.rotated_secret import RotatedDatabaseSecret
from app.components.transaction_tables import TransactionTables
from app.config import EnvironmentConfig
from app.packaging import REPO_ROOT
from app.stacks.base import PaymentsStack
from app.stacks.network import NetworkStack
from app.stacks.security import SecurityStack
from lambda_src.payments_common import ssm_contract as ssm


class DataStack(PaymentsStack):
    def __init__(self, scope: Construct, *, config: EnvironmentConfig, security: SecurityStack, network: NetworkStack):
        super().__init__(scope, config=config, domain="data")
        data = config.data
        net = network.network
        retention = config.logging.retention_days
        key = security.key
        subnets = {tier: [s.id for s in net.subnets[tier]] for tier in net.subnets}

        self.aurora = AuroraPostgres(
            self,
            "aurora",
            config=data.aurora,
            name_prefix=self.name_prefix,
            vpc_id=net.vpc.id,
            database_subnet_ids=subnets["database"],
            availability_zones=config.availability_zones,
            database_key_arn=key("database").arn,
            secrets_key_arn=key("secrets").arn,
            logs_key_arn=key("logs").arn,
            log_retention_days=retention,
            region=config.region,
            account_id=self.account_id,
            partition=self.partition,
        )
        # Attached by the compute tier's functions that use the customer database.
        self.database_clients = SecurityGroup(
            self,
            "database-clients",
            vpc_id=net.vpc.id,
            name=f"{self.name_prefix}-aurora-clients",
            # Egress is managed by separate rules only: an inline egress=[] would fight them on every apply.
            description="Workloads allowed to reach Aurora PostgreSQL",
            tags={"Name": f"{self.name_prefix}-aurora-clients"},
        )
        self.aurora.admit_client("compute", self.database_clients.id, "Compute tier (payment functions)")

        self.tables = TransactionTables(
            self, "tables", config=data.dynamodb, name_prefix=self.name_prefix, key_arn=key("dynamodb").arn
        )
        archive_name = LogArchive.audit_bucket_name(self.name_prefix, self.account_id)
        self.logs = LogArchive(
            self,
            "log-archive",
            config=data.audit_archive,
            name_prefix=self.name_prefix,
            account_id=self.account_id,
            partition=self.partition,
            region=config.region,
            audit_key_arn=key("s3-audit").arn,
            # The trail and AWS Config (payments-<env>-audit) write into the archive.
            audit_writers=audit_delivery.bucket_statements(
                bucket_arn=f"arn:{self.partition}:s3:::{archive_name}",
                trail=audit_delivery.trail_arn(
                    partition=self.partition,
                    region=config.region,
                    account_id=self.account_id,
                    name_prefix=self.name_prefix,
                ),
                account_id=self.account_id,
                config_delivery=config.baseline.account_owner,
            ),
        )
        self.powertools_layer = powertools_layer_arn(config.region, config.runtime.powertools_layer_version)
        self.app_secret = RotatedDatabaseSecret(
            self,
            "app-secret",
            stack=self,
            aurora=self.aurora,
            app_username=data.aurora.app_username,
            migration_username=MIGRATION_USERNAME if data.migration.enabled else None,
            database_name=data.aurora.database_name,
            ca_bundle_file=data.aurora.ca_bundle_file,
            name_prefix=self.name_prefix,
            rotation_days=data.secret_rotation_days,
            vpc_id=net.vpc.id,
            vpc_cidr=config.network.vpc_cidr,
            private_subnet_ids=subnets["private"],
            secrets_key_arn=key("secrets").arn,
            environment_key_arn=key("lambda-env").arn,
            logs_key_arn=key("logs").arn,
            log_retention_days=retention,
            layers=[self.powertools_layer],
            region=config.region,
            account_id=self.account_id,
            partition=self.partition,
        )
        self.migration = None
        if data.migration.enabled:
            self.migration = CustomerDatabaseMigration(
                self,
                "migration",
                config=data.migration,
                aurora=self.aurora,
                database_name=data.aurora.database_name,
                target_secret_arn=self.app_secret.migration_secret_arn,
                rds_ca_bundle=REPO_ROOT / data.aurora.ca_bundle_file,
                name_prefix=self.name_prefix,
                vpc_id=net.vpc.id,
                database_subnet_ids=subnets["database"],
                database_key_arn=key("database").arn,
                secrets_key_arn=key("secrets").arn,
                logs_key_arn=key("logs").arn,
                log_retention_days=retention,
                region=config.region,
                account_id=self.account_id,
                partition=self.partition,
            )

        self.parameters = ConfigParameters(
            self, "parameters", environment=config.environment, key_arn=key("parameters").arn
        )
        params = self.parameters
        params.string(ssm.TRANSACTIONS_TABLE, self.tables.transactions.name, "Transactions table name")
        params.string(ssm.IDEMPOTENCY_TABLE, self.tables.idempotency.name, "Idempotency table name")
        params.string(ssm.AURORA_WRITER_ENDPOINT, self.aurora.cluster.endpoint, "Aurora writer endpoint")
        params.string(ssm.AURORA_READER_ENDPOINT, self.aurora.cluster.reader_endpoint, "Aurora reader endpoint")
        params.string(ssm.AURORA_PORT, str(POSTGRES_PORT), "Aurora port")
        params.string(ssm.AURORA_APP_SECRET_ARN, self.app_secret.arn, "ARN of the application user's secret")
        params.string(ssm.AUDIT_BUCKET, self.logs.audit.name, "Audit-log archive bucket")
        params.document(
            ssm.VALIDATION_LIMITS,
            {"max_amount": dict(config.runtime.validation_max_amount)},
            "Payment validation limits: maximum amount per allowed ISO 4217 currency",
        )
        params.document(ssm.FRAUD_THRESHOLDS, dict(config.runtime.fraud_thresholds), "Fraud scoring thresholds")
        params.generated_secure(
            self, ssm.CARD_TOKEN_KEY, "HMAC key tokenizing card numbers (generated, write-only)"
        )

        self.output("aurora_writer_endpoint", self.aurora.cluster.endpoint, "Aurora cluster writer endpoint")
        self.output("aurora_reader_endpoint", self.aurora.cluster.reader_endpoint, "Aurora cluster reader endpoint")
        self.output("aurora_port", POSTGRES_PORT, "Aurora PostgreSQL port")
        self.output(
            "aurora_master_secret_arn",
            self.aurora.master_secret_arn,
            "ARN of the RDS-managed master user secret (value never leaves Secrets Manager)",
        )
        self.output("app_secret_arn", self.app_secret.arn, "ARN of the rotated application user secret")
        for name, table in (("transactions", self.tables.transactions), ("idempotency", self.tables.idempotency)):
            self.output(f"{name}_table_name", table.name, f"DynamoDB {name} table name")
            self.output(f"{name}_table_arn", table.arn, f"DynamoDB {name} table ARN")
        self.output("audit_bucket_name", self.logs.audit.name, "Audit-log archive bucket (Object Lock, SSE-KMS)")
        self.output(
            "service_logs_bucket_name",
            self.logs.service_logs.name,
            "Bucket for S3 server access logs and ALB access logs (SSE-S3: AWS log delivery requires it)",
        )
        self.output("parameter_path", params.path, "SSM Parameter Store prefix of the runtime configuration")
        if self.migration is not None:
            self.output(
                "dms_replication_task_arn",
                self.migration.task.replication_task_arn,
                "DMS full-load-and-CDC task (start it when the cutover runbook says so)",
            )

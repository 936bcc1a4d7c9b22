"""payments-<env>-audit: the audit trail and the security baseline, built last (it writes into the data stack's
audit-log archive, protects its databases and routes findings to the monitoring stack's system-errors topic).

Per environment: the CloudTrail trail with its CloudWatch Logs copy, security-event metric filters and alarms,
and the AWS Backup vault and plan. Once per account (``baseline.account_owner``): AWS Config (recorder, delivery
channel and the runtime rules of policies/coverage.yaml), GuardDuty, Security Hub with PCI DSS v4.0.1 and the
findings routed to system-errors.
"""

from __future__ import annotations

from constructs import Construct

from app.components.audit_trail import AuditTrail
from app.components.backup import BackupPlanOfRecord
from app.components.config_recorder import ConfigRecorder
from app.components.security_findings import SecurityFindings
from app.config import EnvironmentConfig
from app.stacks.base import PaymentsStack
from app.stacks.data import DataStack
from app.stacks.monitoring import MonitoringStack
from app.stacks.network import NetworkStack
from app.stacks.security import SecurityStack
from policies.catalog import default_catalog
from policies.coverage import load_coverage


class AuditStack(PaymentsStack):
    def __init__(
        self,
        scope: Construct,
        *,
        config: EnvironmentConfig,
        security: SecurityStack,
        network: NetworkStack,
        data: DataStack,
        monitoring: MonitoringStack,
    ):
        super().__init__(scope, config=config, domain="audit")
        archive = data.logs.audit
        archive_key = security.key("s3-audit").arn
        topic_arn = monitoring.system_errors.arn
        self.trail = AuditTrail(
            self,
            "trail",
            name_prefix=self.name_prefix,
            account_id=self.account_id,
            archive_bucket_name=archive.name,
            archive_bucket_arn=archive.arn,
            archive_key_arn=archive_key,
            logs_key_arn=security.key("logs").arn,
            log_retention_days=config.logging.retention_days,
            transactions_table_arn=data.tables.transactions.arn,
        )
        self.backup = BackupPlanOfRecord(
            self,
            "backup",
            config=config.baseline.backup,
            name_prefix=self.name_prefix,
            partition=self.partition,
            account_id=self.account_id,
            vault_key_arn=security.key("backup").arn,
            protected_resources={
                "aurora": data.aurora.cluster.arn,
                "transactions": data.tables.transactions.arn,
                "idempotency": data.tables.idempotency.arn,
                "audit-archive": archive.arn,
            },
        )
        self.config_recorder: ConfigRecorder | None = None
        self.findings: SecurityFindings | None = None
        if config.baseline.account_owner:
            catalog = default_catalog()
            self.config_recorder = ConfigRecorder(
                self,
                "config",
                name_prefix=self.name_prefix,
                archive_bucket_name=archive.name,
                archive_key_arn=archive_key,
                catalog=catalog,
                coverage=load_coverage(catalog),
                runtime_values={"vpc_id": network.network.vpc.id},
                scoped_resources={"audit_bucket": ("AWS::S3::Bucket", archive.name)},
            )
            self.findings = SecurityFindings(
                self,
                "findings",
                name_prefix=self.name_prefix,
                partition=self.partition,
                region=config.region,
                topic_arn=topic_arn,
            )

        self.output("trail_arn", self.trail.trail.arn, "CloudTrail trail (multi-Region, log file validation)")
        self.output("trail_log_group", self.trail.log_group.name, "CloudWatch Logs copy of the trail")
        self.output("backup_vault_name", self.backup.vault.name, "AWS Backup vault (compliance-mode Vault Lock)")
        self.output(
            "security_metrics",
            [f.metric_transformation.name for f in self.trail.metric_filters.values()],
            "PCI DSS 10.2.1.x security-event metrics (alarmed in the monitoring stack)",
        )

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
from app.stacks.base import PaymentsStack
from app.stacks.data import DataStack
from app.stacks.foundation import Foundation
from app.stacks.monitoring import MonitoringStack
from policies.catalog import default_catalog
from policies.coverage import load_coverage


class AuditStack(PaymentsStack):
    def __init__(
        self, scope: Construct, *, foundation: Foundation, data: DataStack, monitoring: MonitoringStack
    ) -> None:
        config = foundation.config
        super().__init__(scope, config=config, domain="audit")
        archive_key = foundation.key_arn("s3-audit")
        table_arns = data.tables.arns()
        self.trail = AuditTrail(
            self,
            "trail",
            name_prefix=self.name_prefix,
            account_id=self.account_id,
            archive_bucket_name=data.logs.audit_name,
            archive_bucket_arn=data.logs.audit_arn,
            archive_key_arn=archive_key,
            logs=foundation.log_retention(),
            transactions_table_arn=table_arns["transactions"],
        )
        self.backup = BackupPlanOfRecord(
            self,
            "backup",
            config=config.baseline.backup,
            name_prefix=self.name_prefix,
            partition=self.partition,
            account_id=self.account_id,
            vault_key_arn=foundation.key_arn("backup"),
            protected_resources={"aurora": data.aurora.arn, **table_arns, "audit-archive": data.logs.audit_arn},
        )
        self.config_recorder: ConfigRecorder | None = None
        self.findings: SecurityFindings | None = None
        if config.baseline.account_owner:
            self._build_account_baseline(
                foundation,
                archive_bucket_name=data.logs.audit_name,
                archive_key=archive_key,
                topic_arn=monitoring.system_errors.arn,
            )
        self._outputs()

    def _build_account_baseline(
        self, foundation: Foundation, *, archive_bucket_name: str, archive_key: str, topic_arn: str
    ) -> None:
        """AWS Config with the runtime rules, GuardDuty and Security Hub: once per account."""
        catalog = default_catalog()
        self.config_recorder = ConfigRecorder(
            self,
            "config",
            name_prefix=self.name_prefix,
            archive_bucket_name=archive_bucket_name,
            archive_key_arn=archive_key,
            catalog=catalog,
            coverage=load_coverage(catalog),
            runtime_values={"vpc_id": foundation.vpc.vpc_id},
            scoped_resources={"audit_bucket": ("AWS::S3::Bucket", archive_bucket_name)},
        )
        self.findings = SecurityFindings(
            self,
            "findings",
            name_prefix=self.name_prefix,
            partition=self.partition,
            region=self.config.region,
            topic_arn=topic_arn,
        )

    def _outputs(self) -> None:
        self.output("trail_arn", self.trail.arn, "CloudTrail trail (multi-Region, log file validation)")
        self.output("trail_log_group", self.trail.log_group_name, "CloudWatch Logs copy of the trail")
        self.output("backup_vault_name", self.backup.vault_name, "AWS Backup vault (compliance-mode Vault Lock)")
        self.output(
            "security_metrics",
            self.trail.security_metric_names(),
            "PCI DSS 10.2.1.x security-event metrics (alarmed in the monitoring stack)",
        )

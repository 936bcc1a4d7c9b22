"""AWS Backup (PCI DSS 12.10.1 restore capability, 10.5.1 for the audit archive): a vault on its own CMK with a
compliance-mode Vault Lock and an access policy that refuses manual deletion of recovery points, and one plan
(daily and monthly rules, retention from config) covering the Aurora cluster, both DynamoDB tables and the
audit-log archive."""

from __future__ import annotations

import json
from collections.abc import Mapping

from cdktf_cdktf_provider_aws.backup_plan import BackupPlan, BackupPlanRule, BackupPlanRuleLifecycle
from cdktf_cdktf_provider_aws.backup_selection import BackupSelection
from cdktf_cdktf_provider_aws.backup_vault import BackupVault
from cdktf_cdktf_provider_aws.backup_vault_lock_configuration import BackupVaultLockConfiguration
from cdktf_cdktf_provider_aws.backup_vault_policy import BackupVaultPolicy
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment
from constructs import Construct

from app.components.iam import service_trust_policy
from app.config import BackupConfig

BACKUP_SERVICE = "backup.amazonaws.com"
# AWS-managed policies AWS Backup documents for its service role (allow-listed in policies/iam_wildcard_allowlist.yaml):
# backup (and restore) of RDS/Aurora and DynamoDB, and of S3 buckets.
BACKUP_ROLE_POLICIES = (
    "service-role/AWSBackupServiceRolePolicyForBackup",
    "AWSBackupServiceRolePolicyForS3Backup",
)
# UTC: after Aurora's own backup window (03:00-04:00 in every environment file).
DAILY_SCHEDULE = "cron(0 5 * * ? *)"
MONTHLY_SCHEDULE = "cron(0 5 1 * ? *)"
# Actions that would shorten or remove what the vault keeps.
PROTECTED_ACTIONS = ("backup:DeleteRecoveryPoint", "backup:UpdateRecoveryPointLifecycle")


class BackupPlanOfRecord(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        config: BackupConfig,
        name_prefix: str,
        partition: str,
        account_id: str,
        vault_key_arn: str,
        protected_resources: Mapping[str, str],
    ) -> None:
        super().__init__(scope, id_)
        self.vault = BackupVault(self, "vault", name=f"{name_prefix}-vault", kms_key_arn=vault_key_arn)
        self.vault_name: str = self.vault.name
        self._lock_vault(config)
        self.plan = self._build_plan(config, name_prefix)
        self.role = IamRole(
            self,
            "role",
            name=f"{name_prefix}-backup",
            assume_role_policy=service_trust_policy(BACKUP_SERVICE, source_account=account_id),
        )
        attachments = [
            IamRolePolicyAttachment(
                self,
                f"role-{policy.rsplit('/', 1)[-1]}",
                role=self.role.name,
                policy_arn=f"arn:{partition}:iam::aws:policy/{policy}",
            )
            for policy in BACKUP_ROLE_POLICIES
        ]
        self.protected_resources = dict(protected_resources)
        self.selection = BackupSelection(
            self,
            "selection",
            name=f"{name_prefix}-data",
            plan_id=self.plan.id,
            iam_role_arn=self.role.arn,
            resources=list(self.protected_resources.values()),
            depends_on=attachments,
        )

    def _lock_vault(self, config: BackupConfig) -> None:
        # Compliance mode: once changeable_for_days has passed, nobody (root included) can remove or shorten it.
        self.lock = BackupVaultLockConfiguration(
            self,
            "vault-lock",
            backup_vault_name=self.vault.name,
            changeable_for_days=config.vault_lock_changeable_for_days,
            min_retention_days=config.daily_retention_days,
            max_retention_days=config.monthly_retention_days,
        )
        self.vault_policy = BackupVaultPolicy(
            self,
            "vault-policy",
            backup_vault_name=self.vault.name,
            policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "DenyManualDeletionOfRecoveryPoints",
                            "Effect": "Deny",
                            "Principal": {"AWS": "*"},
                            "Action": list(PROTECTED_ACTIONS),
                            "Resource": "*",
                        }
                    ],
                }
            ),
        )

    def _build_plan(self, config: BackupConfig, name_prefix: str) -> BackupPlan:
        """Daily and monthly recovery points, each kept as long as the config says (the vault lock's bounds)."""
        return BackupPlan(
            self,
            "plan",
            name=f"{name_prefix}-backup",
            rule=[
                BackupPlanRule(
                    rule_name=rule,
                    target_vault_name=self.vault.name,
                    schedule=schedule,
                    lifecycle=BackupPlanRuleLifecycle(delete_after=retention_days),
                )
                for rule, schedule, retention_days in (
                    ("daily", DAILY_SCHEDULE, config.daily_retention_days),
                    ("monthly", MONTHLY_SCHEDULE, config.monthly_retention_days),
                )
            ],
        )

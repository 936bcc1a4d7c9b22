"""payments-<env>-security: the customer-managed keys every other stack encrypts with, and the account-wide
DMS service roles when this environment owns them."""

from __future__ import annotations

from constructs import Construct

from app.components import audit_delivery, security_findings
from app.components.dms_account_roles import DmsAccountRoles
from app.components.kms import KEY_DOMAINS, DomainKey, ServiceGrant
from app.config import EnvironmentConfig
from app.stacks.base import PaymentsStack


class SecurityStack(PaymentsStack):
    def __init__(self, scope: Construct, *, config: EnvironmentConfig) -> None:
        super().__init__(scope, config=config, domain="security")
        # Grants to services whose resources live in the audit stack (built last), named by convention.
        grants: dict[str, list[ServiceGrant]] = {
            "s3-audit": audit_delivery.key_grants(
                partition=self.partition,
                account_id=self.account_id,
                trail=audit_delivery.trail_arn(
                    partition=self.partition,
                    region=config.region,
                    account_id=self.account_id,
                    name_prefix=self.name_prefix,
                ),
                config_delivery=config.baseline.account_owner,
            ),
            "messaging": [security_findings.topic_key_grant(account_id=self.account_id)],
        }
        self.keys: dict[str, DomainKey] = {
            domain.name: DomainKey(
                self,
                f"key-{domain.name}",
                domain=domain,
                name_prefix=self.name_prefix,
                account=self.account_scope,
                deletion_window_days=config.kms.deletion_window_days,
                service_grants=grants.get(domain.name, ()),
            )
            for domain in KEY_DOMAINS
        }
        for name, key in self.keys.items():
            self.output(
                f"kms_key_arn_{name.replace('-', '_')}",
                key.arn,
                f"ARN of the customer-managed KMS key for {name} ({key.description})",
            )

        migration = config.data.migration
        self.dms_account_roles: DmsAccountRoles | None = None
        if migration.enabled and migration.account_dms_roles == "create":
            self.dms_account_roles = DmsAccountRoles(
                self, "dms-account-roles", account_id=self.account_id, partition=self.partition
            )

    def key(self, domain: str) -> DomainKey:
        return self.keys[domain]

    def key_arn(self, domain: str) -> str:
        """The ARN of the customer-managed key of one data domain (app/components/kms.py KEY_DOMAINS)."""
        return self.keys[domain].arn

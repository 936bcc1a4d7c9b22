"""payments-<env>-security: the customer-managed keys every other stack encrypts with, and the account-wide
DMS service roles when this environment owns them."""

from __future__ import annotations

from constructs import Construct

from app.components.dms_account_roles import DmsAccountRoles
from app.components.kms import KEY_DOMAINS, DomainKey
from app.config import EnvironmentConfig
from app.stacks.base import PaymentsStack


class SecurityStack(PaymentsStack):
    def __init__(self, scope: Construct, *, config: EnvironmentConfig):
        super().__init__(scope, config=config, domain="security")
        self.keys: dict[str, DomainKey] = {
            domain.name: DomainKey(
                self,
                f"key-{domain.name}",
                domain=domain,
                name_prefix=self.name_prefix,
                account_id=self.account_id,
                partition=self.partition,
                region=config.region,
                deletion_window_days=config.kms.deletion_window_days,
            )
            for domain in KEY_DOMAINS
        }
        for name, key in self.keys.items():
            self.output(
                f"kms_key_arn_{name.replace('-', '_')}",
                key.arn,
                f"ARN of the customer-managed KMS key for {name} ({key.key.description_input})",
            )

        migration = config.data.migration
        self.dms_account_roles = None
        if migration.enabled and migration.account_dms_roles == "create":
            self.dms_account_roles = DmsAccountRoles(
                self, "dms-account-roles", account_id=self.account_id, partition=self.partition
            )

    def key(self, domain: str) -> DomainKey:
        return self.keys[domain]

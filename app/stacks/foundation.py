"""What every stack after the network stands on: the environment's configuration, its keys and its VPC."""

from __future__ import annotations

from dataclasses import dataclass

from app.components.log_groups import LogRetention
from app.components.network import PaymentsNetwork
from app.components.vpn import SiteToSiteVpn
from app.config import EnvironmentConfig
from app.stacks.network import NetworkStack
from app.stacks.security import SecurityStack


@dataclass(frozen=True)
class Foundation:
    config: EnvironmentConfig
    security: SecurityStack
    network: NetworkStack

    @property
    def vpc(self) -> PaymentsNetwork:
        return self.network.network

    @property
    def vpn(self) -> SiteToSiteVpn | None:
        return self.network.vpn

    def key_arn(self, domain: str) -> str:
        return self.security.key_arn(domain)

    def log_retention(self) -> LogRetention:
        """How the environment's log groups are kept (logging.retention_days, the logs key)."""
        return LogRetention(key_arn=self.key_arn("logs"), retention_days=self.config.logging.retention_days)

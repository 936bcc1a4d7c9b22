"""payments-<env>-network: the VPC every workload of the environment runs in."""

from __future__ import annotations

from cdktf import Fn
from constructs import Construct

from app.components.log_groups import LogRetention
from app.components.network import PaymentsNetwork
from app.components.vpn import SiteToSiteVpn
from app.config import SUBNET_TIERS, EnvironmentConfig
from app.stacks.base import PaymentsStack
from app.stacks.security import SecurityStack


class NetworkStack(PaymentsStack):
    def __init__(self, scope: Construct, *, config: EnvironmentConfig, security: SecurityStack) -> None:
        super().__init__(scope, config=config, domain="network")
        self.network = PaymentsNetwork(
            self,
            "network",
            config=config.network,
            availability_zones=config.availability_zones,
            name_prefix=self.name_prefix,
            account=self.account_scope,
            # Flow logs have their own retention (network.flow_logs), every other log group logging.retention_days.
            flow_logs=LogRetention(security.key_arn("logs"), config.network.flow_logs.retention_days),
        )
        self.vpn = self._build_vpn(config)
        self._open_database_tier_to_migration_source(config)
        self._outputs(config)

    def _build_vpn(self, config: EnvironmentConfig) -> SiteToSiteVpn | None:
        if config.compute.vpn is None:
            return None
        # DMS in the database tier reads the on-prem source: the tier gets on-prem routes (never internet).
        vpn = SiteToSiteVpn(
            self,
            "vpn",
            config=config.compute.vpn,
            name_prefix=self.name_prefix,
            vpc_id=self.network.vpc_id,
            route_table_ids=self.network.route_table_ids(include_database_tier=config.data.migration.enabled),
        )
        self.output("vpn_connection_id", vpn.connection_id, "Site-to-site VPN connection to on-prem")
        return vpn

    def _open_database_tier_to_migration_source(self, config: EnvironmentConfig) -> None:
        migration = config.data.migration
        if not migration.enabled or migration.source is None:
            return
        for index, cidr in enumerate(migration.source.cidrs):
            self.network.allow_database_tier_traffic(
                f"dms-source-{index}", cidr, migration.source.port, inbound_service=False
            )

    def _outputs(self, config: EnvironmentConfig) -> None:
        self.output("vpc_id", self.network.vpc_id, "ID of the environment's VPC")
        for tier in SUBNET_TIERS:
            self.output(
                f"{tier}_subnet_ids",
                self.network.subnet_ids(tier),
                f"IDs of the {tier} subnets, in availability-zone order {', '.join(config.availability_zones)}",
            )
        self.output("nat_gateway_ids", self.network.nat_gateway_ids, "IDs of the NAT gateways")
        self.output("vpc_endpoint_ids", Fn.tomap(self.network.endpoint_ids()), "VPC endpoint IDs by AWS service")
        self.output(
            "flow_log_group_name",
            self.network.flow_log_group_name,
            "CloudWatch log group receiving the VPC flow logs (all traffic)",
        )

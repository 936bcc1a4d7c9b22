"""payments-<env>-network: the VPC every workload of the environment runs in."""

from __future__ import annotations

from cdktf import Fn
from constructs import Construct

from app.components.network import PaymentsNetwork
from app.components.vpn import SiteToSiteVpn
from app.config import SUBNET_TIERS, EnvironmentConfig
from app.stacks.base import PaymentsStack
from app.stacks.security import SecurityStack


class NetworkStack(PaymentsStack):
    def __init__(self, scope: Construct, *, config: EnvironmentConfig, security: SecurityStack):
        super().__init__(scope, config=config, domain="network")
        self.network = PaymentsNetwork(
            self,
            "network",
            config=config.network,
            availability_zones=config.availability_zones,
            name_prefix=self.name_prefix,
            region=config.region,
            account_id=self.account_id,
            partition=self.partition,
            logs_key_arn=security.key("logs").arn,
        )
        self.vpn = None
        migration = config.data.migration
        if config.compute.vpn is not None:
            tables = [t.id for t in self.network.private_route_tables]
            if migration.enabled:
                # DMS in the database tier reads the on-prem source: the tier gets on-prem routes (never internet).
                tables.append(self.network.database_route_table.id)
            self.vpn = SiteToSiteVpn(
                self,
                "vpn",
                config=config.compute.vpn,
                name_prefix=self.name_prefix,
                vpc_id=self.network.vpc.id,
                route_table_ids=tables,
            )
            self.output("vpn_connection_id", self.vpn.connection.id, "Site-to-site VPN connection to on-prem")
        if migration.enabled:
            for index, cidr in enumerate(migration.source.cidrs):
                self.network.allow_database_tier_traffic(
                    f"dms-source-{index}", cidr, migration.source.port, inbound_service=False
                )
        self.output("vpc_id", self.network.vpc.id, "ID of the environment's VPC")
        for tier in SUBNET_TIERS:
            self.output(
                f"{tier}_subnet_ids",
                [s.id for s in self.network.subnets[tier]],
                f"IDs of the {tier} subnets, in availability-zone order {', '.join(config.availability_zones)}",
            )
        self.output("nat_gateway_ids", [n.id for n in self.network.nat_gateways], "IDs of the NAT gateways")
        self.output(
            "vpc_endpoint_ids",
            Fn.tomap({name: e.id for name, e in self.network.endpoints.items()}),
            "VPC endpoint IDs by AWS service",
        )
        self.output(
            "flow_log_group_name",
            self.network.flow_log_group.name,
            "CloudWatch log group receiving the VPC flow logs (all traffic)",
        )

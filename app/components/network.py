"""A three-tier VPC over three AZs: public, private and database subnets, with no internet route from the
database tier, flow logs of all traffic to an encrypted log group, and private AWS service endpoints."""

from __future__ import annotations

import json

from cdktf_cdktf_provider_aws.default_security_group import DefaultSecurityGroup
from cdktf_cdktf_provider_aws.eip import Eip
from cdktf_cdktf_provider_aws.flow_log import FlowLog
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.internet_gateway import InternetGateway
from cdktf_cdktf_provider_aws.nat_gateway import NatGateway
from cdktf_cdktf_provider_aws.network_acl import NetworkAcl
from cdktf_cdktf_provider_aws.network_acl_rule import NetworkAclRule
from cdktf_cdktf_provider_aws.route import Route
from cdktf_cdktf_provider_aws.route_table import RouteTable
from cdktf_cdktf_provider_aws.route_table_association import RouteTableAssociation
from cdktf_cdktf_provider_aws.security_group import SecurityGroup
from cdktf_cdktf_provider_aws.subnet import Subnet
from cdktf_cdktf_provider_aws.vpc import Vpc
from cdktf_cdktf_provider_aws.vpc_endpoint import VpcEndpoint
from cdktf_cdktf_provider_aws.vpc_security_group_ingress_rule import VpcSecurityGroupIngressRule
from constructs import Construct

from app.components.account import AccountScope
from app.components.log_groups import LogRetention, encrypted_log_group
from app.config import SUBNET_TIERS, NetworkConfig

GATEWAY_ENDPOINT_SERVICES = ("s3", "dynamodb")
# xray: VPC functions with active tracing send segments from inside the VPC.
INTERFACE_ENDPOINT_SERVICES = ("secretsmanager", "ssm", "kms", "logs", "sts", "monitoring", "sns", "lambda", "xray")
POSTGRES_PORT = 5432
EPHEMERAL_PORTS = (1024, 65535)


class PaymentsNetwork(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        config: NetworkConfig,
        availability_zones: tuple[str, ...],
        name_prefix: str,
        account: AccountScope,
        flow_logs: LogRetention,
    ) -> None:
        super().__init__(scope, id_)
        self.config = config
        self.vpc = Vpc(
            self,
            "vpc",
            cidr_block=config.vpc_cidr,
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags={"Name": f"{name_prefix}-vpc"},
        )
        self.vpc_id: str = self.vpc.id
        # The default security group is left with no rules, so nothing that falls back to it can talk.
        DefaultSecurityGroup(
            self,
            "default-sg",
            vpc_id=self.vpc.id,
            ingress=[],
            egress=[],
            tags={"Name": f"{name_prefix}-default-deny-all"},
        )
        self.subnets = self._build_subnets(availability_zones, name_prefix)
        self.internet_gateway = self._build_public_routing(availability_zones, name_prefix)
        self.nat_gateways = self._build_nat_gateways(availability_zones, name_prefix)
        self.private_route_tables = self._build_private_routing(availability_zones, name_prefix)
        # The database tier's table has only the implicit local route: no IGW, no NAT, no endpoints.
        self.database_route_table = RouteTable(
            self, "rt-database", vpc_id=self.vpc.id, tags={"Name": f"{name_prefix}-database-isolated"}
        )
        for subnet, zone in zip(self.subnets["database"], availability_zones):
            RouteTableAssociation(
                self, f"rta-database-{zone}", subnet_id=subnet.id, route_table_id=self.database_route_table.id
            )
        self._database_network_acl(name_prefix)
        self._flow_logs(name_prefix, account, flow_logs)
        self._endpoints(name_prefix, account.region)

    def subnet_ids(self, tier: str) -> list[str]:
        """The IDs of one tier's subnets, in availability-zone order."""
        return [subnet.id for subnet in self.subnets[tier]]

    def route_table_ids(self, *, include_database_tier: bool) -> list[str]:
        """The private tier's route tables (one per zone), and the database tier's if asked for."""
        tables = [table.id for table in self.private_route_tables]
        if include_database_tier:
            tables.append(self.database_route_table.id)
        return tables

    def endpoint_ids(self) -> dict[str, str]:
        return {service: endpoint.id for service, endpoint in self.endpoints.items()}

    def gateway_prefix_list_id(self, service: str) -> str:
        """The prefix list of a gateway endpoint's service (a security-group egress destination)."""
        if service not in GATEWAY_ENDPOINT_SERVICES:
            raise ValueError(f"{service} has no gateway endpoint (gateway endpoints: {GATEWAY_ENDPOINT_SERVICES})")
        return self.endpoints[service].prefix_list_id

    @property
    def nat_gateway_ids(self) -> list[str]:
        return [nat.id for nat in self.nat_gateways]

    @property
    def flow_log_group_name(self) -> str:
        return self.flow_log_group.name

    def _build_subnets(self, availability_zones: tuple[str, ...], name_prefix: str) -> dict[str, list[Subnet]]:
        subnets: dict[str, list[Subnet]] = {tier: [] for tier in SUBNET_TIERS}
        for tier in SUBNET_TIERS:
            for zone, cidr in zip(availability_zones, self.config.subnets(tier)):
                subnets[tier].append(
                    Subnet(
                        self,
                        f"subnet-{tier}-{zone}",
                        vpc_id=self.vpc.id,
                        cidr_block=cidr,
                        availability_zone=zone,
                        map_public_ip_on_launch=False,
                        tags={"Name": f"{name_prefix}-{tier}-{zone}", "Tier": tier},
                    )
                )
        return subnets

    def _build_public_routing(self, availability_zones: tuple[str, ...], name_prefix: str) -> InternetGateway:
        internet_gateway = InternetGateway(self, "igw", vpc_id=self.vpc.id, tags={"Name": f"{name_prefix}-igw"})
        public_routes = RouteTable(self, "rt-public", vpc_id=self.vpc.id, tags={"Name": f"{name_prefix}-public"})
        Route(
            self,
            "rt-public-default",
            route_table_id=public_routes.id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=internet_gateway.id,
        )
        for subnet, zone in zip(self.subnets["public"], availability_zones):
            RouteTableAssociation(self, f"rta-public-{zone}", subnet_id=subnet.id, route_table_id=public_routes.id)
        return internet_gateway

    def _build_nat_gateways(self, availability_zones: tuple[str, ...], name_prefix: str) -> list[NatGateway]:
        nat_gateways: list[NatGateway] = []
        for subnet, zone in zip(self.subnets["public"][: self.config.nat_gateways], availability_zones):
            eip = Eip(self, f"nat-eip-{zone}", domain="vpc", tags={"Name": f"{name_prefix}-nat-{zone}"})
            nat_gateways.append(
                NatGateway(
                    self,
                    f"nat-{zone}",
                    allocation_id=eip.id,
                    subnet_id=subnet.id,
                    tags={"Name": f"{name_prefix}-nat-{zone}"},
                    depends_on=[self.internet_gateway],
                )
            )
        return nat_gateways

    def _build_private_routing(self, availability_zones: tuple[str, ...], name_prefix: str) -> list[RouteTable]:
        # One private route table per AZ: with three NAT gateways an AZ outage never cuts another AZ's egress.
        tables: list[RouteTable] = []
        for index, (subnet, zone) in enumerate(zip(self.subnets["private"], availability_zones)):
            table = RouteTable(
                self, f"rt-private-{zone}", vpc_id=self.vpc.id, tags={"Name": f"{name_prefix}-private-{zone}"}
            )
            nat = self.nat_gateways[index % len(self.nat_gateways)]
            Route(
                self,
                f"rt-private-{zone}-default",
                route_table_id=table.id,
                destination_cidr_block="0.0.0.0/0",
                nat_gateway_id=nat.id,
            )
            RouteTableAssociation(self, f"rta-private-{zone}", subnet_id=subnet.id, route_table_id=table.id)
            tables.append(table)
        return tables

    def _database_network_acl(self, name_prefix: str) -> None:
        """Stateless second fence around the database tier: PostgreSQL in from the private tier, replies out."""
        self.database_network_acl = NetworkAcl(
            self,
            "nacl-database",
            vpc_id=self.vpc.id,
            subnet_ids=[s.id for s in self.subnets["database"]],
            tags={"Name": f"{name_prefix}-database"},
        )
        self._next_rule = 100
        for index, cidr in enumerate(self.config.private_subnets):
            self.allow_database_tier_traffic(f"private-{index}", cidr, POSTGRES_PORT, inbound_service=True)
        for cidr in self.config.database_subnets:
            # Inside the tier (writer <-> readers, DMS instance <-> Aurora) all traffic is allowed.
            rule = self._take_rule_number()
            self._nacl_rule_pair(f"nacl-db-in-tier-{rule}", f"nacl-db-out-tier-{rule}", rule, cidr, protocol="-1")

    def _nacl_rule_pair(
        self,
        inbound_id: str,
        outbound_id: str,
        rule: int,
        cidr: str,
        *,
        protocol: str,
        inbound_ports: tuple[int, int] | None = None,
        outbound_ports: tuple[int, int] | None = None,
    ) -> None:
        """An allow rule each way under one rule number (the NACL is stateless: replies need their own rule)."""
        for construct_id, egress, ports in ((inbound_id, False, inbound_ports), (outbound_id, True, outbound_ports)):
            NetworkAclRule(
                self,
                construct_id,
                network_acl_id=self.database_network_acl.id,
                rule_number=rule,
                egress=egress,
                protocol=protocol,
                rule_action="allow",
                cidr_block=cidr,
                from_port=ports[0] if ports else None,
                to_port=ports[1] if ports else None,
            )

    def _take_rule_number(self) -> int:
        rule, self._next_rule = self._next_rule, self._next_rule + 10
        return rule

    def allow_database_tier_traffic(self, name: str, cidr: str, port: int, *, inbound_service: bool) -> None:
        """Open the stateless NACL for one TCP conversation: a service in the tier on ``port`` reached from
        ``cidr`` (inbound_service), or a client in the tier reaching ``port`` at ``cidr`` (e.g. DMS to on-prem)."""
        service, replies = (port, port), EPHEMERAL_PORTS
        self._nacl_rule_pair(
            f"nacl-db-{name}-in",
            f"nacl-db-{name}-out",
            self._take_rule_number(),
            cidr,
            protocol="tcp",
            inbound_ports=service if inbound_service else replies,
            outbound_ports=replies if inbound_service else service,
        )

    def _flow_logs(self, name_prefix: str, account: AccountScope, retention: LogRetention) -> None:
        self.flow_log_group = encrypted_log_group(
            self, "flow-log-group", name=f"/payments/{name_prefix}/vpc-flow-logs", retention=retention
        )
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                    "Condition": {
                        "StringEquals": {"aws:SourceAccount": account.account_id},
                        "ArnLike": {"aws:SourceArn": account.arn("ec2", "vpc-flow-log/*")},
                    },
                }
            ],
        }
        self.flow_log_role = IamRole(
            self, "flow-log-role", name=f"{name_prefix}-vpc-flow-logs", assume_role_policy=json.dumps(trust)
        )
        IamRolePolicy(
            self,
            "flow-log-role-policy",
            role=self.flow_log_role.id,
            name="write-flow-logs",
            policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "WriteToTheFlowLogGroupOnly",
                            "Effect": "Allow",
                            "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                            "Resource": [self.flow_log_group.arn, f"{self.flow_log_group.arn}:*"],
                        }
                    ],
                }
            ),
        )
        self.flow_log = FlowLog(
            self,
            "flow-log",
            vpc_id=self.vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=self.flow_log_group.arn,
            iam_role_arn=self.flow_log_role.arn,
            max_aggregation_interval=60,
            tags={"Name": f"{name_prefix}-vpc-flow-log"},
        )

    def _endpoints(self, name_prefix: str, region: str) -> None:
        self.endpoint_security_group = SecurityGroup(
            self,
            "endpoint-sg",
            vpc_id=self.vpc.id,
            name=f"{name_prefix}-vpc-endpoints",
            description="Interface endpoints: HTTPS from inside the VPC only",
            egress=[],
            tags={"Name": f"{name_prefix}-vpc-endpoints"},
        )
        VpcSecurityGroupIngressRule(
            self,
            "endpoint-sg-https-from-vpc",
            security_group_id=self.endpoint_security_group.id,
            cidr_ipv4=self.config.vpc_cidr,
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            description="HTTPS from the VPC CIDR",
            tags={"Name": f"{name_prefix}-endpoints-https-from-vpc"},
        )
        self.endpoints: dict[str, VpcEndpoint] = {}
        # Gateway endpoints are routes in the private tables; interface endpoints are ENIs in the private subnets.
        private_routes = [t.id for t in self.private_route_tables]
        private_subnets = [s.id for s in self.subnets["private"]]
        for service in (*GATEWAY_ENDPOINT_SERVICES, *INTERFACE_ENDPOINT_SERVICES):
            gateway = service in GATEWAY_ENDPOINT_SERVICES
            self.endpoints[service] = VpcEndpoint(
                self,
                f"endpoint-{service}",
                vpc_id=self.vpc.id,
                service_name=f"com.amazonaws.{region}.{service}",
                vpc_endpoint_type="Gateway" if gateway else "Interface",
                route_table_ids=private_routes if gateway else None,
                private_dns_enabled=None if gateway else True,
                subnet_ids=None if gateway else private_subnets,
                security_group_ids=None if gateway else [self.endpoint_security_group.id],
                tags={"Name": f"{name_prefix}-{service}"},
            )

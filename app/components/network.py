"""A three-tier VPC over three AZs: public, private and database subnets, with no internet route from the
database tier, flow logs of all traffic to an encrypted log group, and private AWS service endpoints."""

from __future__ import annotations

import json

from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
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
        region: str,
        account_id: str,
        partition: str,
        logs_key_arn: str,
    ):
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
        # The default security group is left with no rules, so nothing that falls back to it can talk.
        DefaultSecurityGroup(
            self,
            "default-sg",
            vpc_id=self.vpc.id,
            ingress=[],
            egress=[],
            tags={"Name": f"{name_prefix}-default-deny-all"},
        )

        self.subnets: dict[str, list[Subnet]] = {tier: [] for tier in SUBNET_TIERS}
        for tier in SUBNET_TIERS:
            for zone, cidr in zip(availability_zones, config.subnets(tier)):
                self.subnets[tier].append(
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

        self.internet_gateway = InternetGateway(self, "igw", vpc_id=self.vpc.id, tags={"Name": f"{name_prefix}-igw"})
        public_routes = RouteTable(self, "rt-public", vpc_id=self.vpc.id, tags={"Name": f"{name_prefix}-public"})
        Route(
            self,
            "rt-public-default",
            route_table_id=public_routes.id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=self.internet_gateway.id,
        )
        for subnet, zone in zip(self.subnets["public"], availability_zones):
            RouteTableAssociation(self, f"rta-public-{zone}", subnet_id=subnet.id, route_table_id=public_routes.id)

        self.nat_gateways: list[NatGateway] = []
        for subnet, zone in zip(self.subnets["public"][: config.nat_gateways], availability_zones):
            eip = Eip(self, f"nat-eip-{zone}", domain="vpc", tags={"Name": f"{name_prefix}-nat-{zone}"})
            self.nat_gateways.append(
                NatGateway(
                    self,
                    f"nat-{zone}",
                    allocation_id=eip.id,
                    subnet_id=subnet.id,
                    tags={"Name": f"{name_prefix}-nat-{zone}"},
                    depends_on=[self.internet_gateway],
                )
            )

        # One private route table per AZ: with three NAT gateways an AZ outage never cuts another AZ's egress.
        self.private_route_tables: list[RouteTable] = []
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
            self.private_route_tables.append(table)

        # The database tier's table has only the implicit local route: no IGW, no NAT, no endpoints.
        self.database_route_table = RouteTable(
            self, "rt-database", vpc_id=self.vpc.id, tags={"Name": f"{name_prefix}-database-isolated"}
        )
        for subnet, zone in zip(self.subnets["database"], availability_zones):
            RouteTableAssociation(
                self, f"rta-database-{zone}", subnet_id=subnet.id, route_table_id=self.database_route_table.id
            )
        self._database_network_acl(name_prefix)
        self._flow_logs(name_prefix, region, account_id, partition, logs_key_arn)
        self._endpoints(name_prefix, region)

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
            NetworkAclRule(
                self,
                f"nacl-db-in-tier-{rule}",
                network_acl_id=self.database_network_acl.id,
                rule_number=rule,
                egress=False,
                protocol="-1",
                rule_action="allow",
                cidr_block=cidr,
            )
            NetworkAclRule(
                self,
                f"nacl-db-out-tier-{rule}",
                network_acl_id=self.database_network_acl.id,
                rule_number=rule,
                egress=True,
                protocol="-1",
                rule_action="allow",
                cidr_block=cidr,
            )

    def _take_rule_number(self) -> int:
        rule, self._next_rule = self._next_rule, self._next_rule + 10
        return rule

    def allow_database_tier_traffic(self, name: str, cidr: str, port: int, *, inbound_service: bool) -> None:
        """Open the stateless NACL for one TCP conversation: a service in the tier on ``port`` reached from
        ``cidr`` (inbound_service), or a client in the tier reaching ``port`` at ``cidr`` (e.g. DMS to on-prem)."""
        rule = self._take_rule_number()
        acl = self.database_network_acl.id
        service, replies = (port, port), EPHEMERAL_PORTS
        NetworkAclRule(
            self,
            f"nacl-db-{name}-in",
            network_acl_id=acl,
            rule_number=rule,
            egress=False,
            protocol="tcp",
            rule_action="allow",
            cidr_block=cidr,
            from_port=(service if inbound_service else replies)[0],
            to_port=(service if inbound_service else replies)[1],
        )
        NetworkAclRule(
            self,
            f"nacl-db-{name}-out",
            network_acl_id=acl,
            rule_number=rule,
            egress=True,
            protocol="tcp",
            rule_action="allow",
            cidr_block=cidr,
            from_port=(replies if inbound_service else service)[0],
            to_port=(replies if inbound_service else service)[1],
        )

    def _flow_logs(self, name_prefix: str, region: str, account_id: str, partition: str, logs_key_arn: str) -> None:
        self.flow_log_group = CloudwatchLogGroup(
            self,
            "flow-log-group",
            name=f"/payments/{name_prefix}/vpc-flow-logs",
            retention_in_days=self.config.flow_logs.retention_days,
            kms_key_id=logs_key_arn,
        )
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                    "Condition": {
                        "StringEquals": {"aws:SourceAccount": account_id},
                        "ArnLike": {"aws:SourceArn": f"arn:{partition}:ec2:{region}:{account_id}:vpc-flow-log/*"},
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
        for service in GATEWAY_ENDPOINT_SERVICES:
            self.endpoints[service] = VpcEndpoint(
                self,
                f"endpoint-{service}",
                vpc_id=self.vpc.id,
                service_name=f"com.amazonaws.{region}.{service}",
                vpc_endpoint_type="Gateway",
                route_table_ids=[t.id for t in self.private_route_tables],
                tags={"Name": f"{name_prefix}-{service}"},
            )
        for service in INTERFACE_ENDPOINT_SERVICES:
            self.endpoints[service] = VpcEndpoint(
                self,
                f"endpoint-{service}",
                vpc_id=self.vpc.id,
                service_name=f"com.amazonaws.{region}.{service}",
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                subnet_ids=[s.id for s in self.subnets["private"]],
                security_group_ids=[self.endpoint_security_group.id],
                tags={"Name": f"{name_prefix}-{service}"},
            )

"""Aurora PostgreSQL customer database: encrypted with the database CMK, TLS-only, IAM auth, master password
managed by RDS (never in the synth or state), readers spread over the AZs with auto scaling."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cdktf_cdktf_provider_aws.appautoscaling_policy import (
    AppautoscalingPolicy,
    AppautoscalingPolicyTargetTrackingScalingPolicyConfiguration,
    AppautoscalingPolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecification,
)
from cdktf_cdktf_provider_aws.appautoscaling_target import AppautoscalingTarget
from cdktf_cdktf_provider_aws.db_subnet_group import DbSubnetGroup
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.rds_cluster import RdsCluster
from cdktf_cdktf_provider_aws.rds_cluster_instance import RdsClusterInstance
from cdktf_cdktf_provider_aws.rds_cluster_parameter_group import (
    RdsClusterParameterGroup,
    RdsClusterParameterGroupParameter,
)
from cdktf_cdktf_provider_aws.security_group import SecurityGroup
from cdktf_cdktf_provider_aws.vpc_security_group_egress_rule import VpcSecurityGroupEgressRule
from cdktf_cdktf_provider_aws.vpc_security_group_ingress_rule import VpcSecurityGroupIngressRule
from constructs import Construct

from app.components.account import AccountScope
from app.components.iam import policy_document, service_trust_policy, statement
from app.components.log_groups import LogRetention, encrypted_log_group
from app.config import AuroraConfig

POSTGRES_PORT = 5432
CA_CERTIFICATE = "rds-ca-rsa2048-g1"


@dataclass(frozen=True)
class DatabasePlacement:
    """Where a database-tier resource runs: the VPC and its database subnets (no route to the internet)."""

    vpc_id: str
    subnet_ids: Sequence[str]


@dataclass(frozen=True)
class DatabaseKeys:
    database: str  # storage, Performance Insights, DMS
    secrets: str


class AuroraPostgres(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        config: AuroraConfig,
        name_prefix: str,
        placement: DatabasePlacement,
        availability_zones: Sequence[str],
        keys: DatabaseKeys,
        logs: LogRetention,
        account: AccountScope,
    ) -> None:
        super().__init__(scope, id_)
        self.identifier = f"{name_prefix}-customers"
        self.security_group, self.subnet_group = self._build_placement(placement)
        self.parameter_group = self._build_parameter_group(config.engine_version)
        # Created ahead of the cluster so the exported logs land encrypted and are kept a year.
        self.log_group = encrypted_log_group(
            self, "postgresql-logs", name=f"/aws/rds/cluster/{self.identifier}/postgresql", retention=logs
        )
        self.cluster = self._build_cluster(config, keys)
        self.monitoring_role = self._build_enhanced_monitoring_role(account)
        self.instances = self._build_instances(config, availability_zones, performance_insights_key=keys.database)
        self.writer = self.instances[0]
        self._build_reader_autoscaling(config)
        self.master_secret_arn: str = self.cluster.master_user_secret.get(0).secret_arn
        self.arn: str = self.cluster.arn
        self.writer_endpoint: str = self.cluster.endpoint
        self.reader_endpoint: str = self.cluster.reader_endpoint

    def metric_dimensions(self) -> dict[str, str]:
        """The DBClusterIdentifier dimension of the cluster's AWS/RDS metrics."""
        return {"DBClusterIdentifier": self.cluster.cluster_identifier}

    def _build_placement(self, placement: DatabasePlacement) -> tuple[SecurityGroup, DbSubnetGroup]:
        # Clients are admitted by the owner of the client security group (see admit_client), never by CIDR.
        security_group = SecurityGroup(
            self,
            "sg",
            vpc_id=placement.vpc_id,
            name=f"{self.identifier}-aurora",
            egress=[],
            description="Aurora PostgreSQL: 5432 from the admitted client security groups only",
            tags={"Name": f"{self.identifier}-aurora"},
        )
        subnet_group = DbSubnetGroup(
            self,
            "subnets",
            name=f"{self.identifier}-database",
            subnet_ids=list(placement.subnet_ids),
            description="Database tier: no route to the internet",
        )
        return security_group, subnet_group

    def _build_parameter_group(self, engine_version: str) -> RdsClusterParameterGroup:
        family = f"aurora-postgresql{engine_version.split('.')[0]}"
        return RdsClusterParameterGroup(
            self,
            "params",
            name=f"{self.identifier}-{family}",
            family=family,
            description="TLS only, connection audit logging",
            parameter=[
                RdsClusterParameterGroupParameter(name="rds.force_ssl", value="1"),
                RdsClusterParameterGroupParameter(name="ssl_min_protocol_version", value="TLSv1.2"),
                RdsClusterParameterGroupParameter(name="log_connections", value="1"),
                RdsClusterParameterGroupParameter(name="log_disconnections", value="1"),
            ],
        )

    def _build_cluster(self, config: AuroraConfig, keys: DatabaseKeys) -> RdsCluster:
        return RdsCluster(
            self,
            "cluster",
            cluster_identifier=self.identifier,
            engine="aurora-postgresql",
            engine_version=config.engine_version,
            database_name=config.database_name,
            port=POSTGRES_PORT,
            master_username=config.master_username,
            manage_master_user_password=True,
            master_user_secret_kms_key_id=keys.secrets,
            db_subnet_group_name=self.subnet_group.name,
            vpc_security_group_ids=[self.security_group.id],
            db_cluster_parameter_group_name=self.parameter_group.name,
            storage_encrypted=True,
            kms_key_id=keys.database,
            backup_retention_period=config.backup_retention_days,
            preferred_backup_window=config.backup_window,
            preferred_maintenance_window=config.maintenance_window,
            copy_tags_to_snapshot=True,
            skip_final_snapshot=False,
            final_snapshot_identifier=f"{self.identifier}-final",
            deletion_protection=config.deletion_protection,
            iam_database_authentication_enabled=True,
            enabled_cloudwatch_logs_exports=["postgresql"],
            depends_on=[self.log_group],
            tags={"Name": self.identifier},
        )

    def _build_enhanced_monitoring_role(self, account: AccountScope) -> IamRole:
        role = IamRole(
            self,
            "monitoring-role",
            name=f"{self.identifier}-enhanced-monitoring",
            description="RDS enhanced monitoring: writes OS metrics to the RDSOSMetrics log group only",
            assume_role_policy=service_trust_policy("monitoring.rds.amazonaws.com", source_account=account.account_id),
        )
        metrics_group = account.arn("logs", "log-group:RDSOSMetrics")
        IamRolePolicy(
            self,
            "monitoring-policy",
            role=role.id,
            name="enhanced-monitoring",
            policy=policy_document(
                [
                    statement(
                        "ManageMetricsLogGroup", ["logs:CreateLogGroup", "logs:PutRetentionPolicy"], [metrics_group]
                    ),
                    statement(
                        "WriteMetrics",
                        ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams", "logs:GetLogEvents"],
                        [f"{metrics_group}:log-stream:*"],
                    ),
                ]
            ),
        )
        return role

    def _build_instances(
        self, config: AuroraConfig, availability_zones: Sequence[str], *, performance_insights_key: str
    ) -> list[RdsClusterInstance]:
        """The writer (instance 0) and the readers, spread over the zones in order."""
        instances: list[RdsClusterInstance] = []
        for index in range(1 + config.readers):
            zone = availability_zones[index % len(availability_zones)]
            role = "writer" if index == 0 else f"reader-{index}"
            instances.append(
                RdsClusterInstance(
                    self,
                    f"instance-{index}",
                    identifier=f"{self.identifier}-{index}",
                    cluster_identifier=self.cluster.id,
                    instance_class=config.instance_class,
                    engine=self.cluster.engine,
                    engine_version=self.cluster.engine_version,
                    availability_zone=zone,
                    publicly_accessible=False,
                    promotion_tier=index,
                    auto_minor_version_upgrade=True,
                    ca_cert_identifier=CA_CERTIFICATE,
                    performance_insights_enabled=True,
                    performance_insights_kms_key_id=performance_insights_key,
                    performance_insights_retention_period=config.performance_insights_retention_days,
                    monitoring_interval=config.monitoring_interval_seconds,
                    monitoring_role_arn=self.monitoring_role.arn,
                    copy_tags_to_snapshot=True,
                    tags={"Name": f"{self.identifier}-{index}", "Role": role},
                )
            )
        return instances

    def _build_reader_autoscaling(self, config: AuroraConfig) -> None:
        scaling = AppautoscalingTarget(
            self,
            "reader-scaling",
            service_namespace="rds",
            scalable_dimension="rds:cluster:ReadReplicaCount",
            resource_id=f"cluster:{self.cluster.cluster_identifier}",
            min_capacity=config.reader_autoscaling_min,
            max_capacity=config.reader_autoscaling_max,
            depends_on=self.instances,
        )
        AppautoscalingPolicy(
            self,
            "reader-scaling-cpu",
            name=f"{self.identifier}-reader-cpu",
            policy_type="TargetTrackingScaling",
            service_namespace=scaling.service_namespace,
            scalable_dimension=scaling.scalable_dimension,
            resource_id=scaling.resource_id,
            target_tracking_scaling_policy_configuration=AppautoscalingPolicyTargetTrackingScalingPolicyConfiguration(
                target_value=config.reader_target_cpu_percent,
                scale_in_cooldown=300,
                scale_out_cooldown=120,
                predefined_metric_specification=(
                    AppautoscalingPolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecification(
                        predefined_metric_type="RDSReaderAverageCPUUtilization"
                    )
                ),
            ),
        )

    def admit_client(
        self, name: str, client_security_group_id: str, description: str
    ) -> tuple[VpcSecurityGroupEgressRule, VpcSecurityGroupIngressRule]:
        """PostgreSQL from one client security group: its egress to Aurora and Aurora's ingress from it."""
        egress = VpcSecurityGroupEgressRule(
            self,
            f"egress-{name}",
            security_group_id=client_security_group_id,
            referenced_security_group_id=self.security_group.id,
            ip_protocol="tcp",
            from_port=POSTGRES_PORT,
            to_port=POSTGRES_PORT,
            description="PostgreSQL to Aurora",
            tags={"Name": f"{name}-to-{self.identifier}"},
        )
        ingress = VpcSecurityGroupIngressRule(
            self,
            f"ingress-{name}",
            security_group_id=self.security_group.id,
            referenced_security_group_id=client_security_group_id,
            ip_protocol="tcp",
            from_port=POSTGRES_PORT,
            to_port=POSTGRES_PORT,
            description=description,
            tags={"Name": f"{self.identifier}-from-{name}"},
        )
        return egress, ingress

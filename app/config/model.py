"""The typed environment configuration: frozen dataclasses, one per section of an environment file, built only
by the loader (``app.config.loader``) from values every section validator has accepted."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The stacks of an environment, one per domain: payments-<env>-<domain>.
DOMAINS = ("security", "network", "data", "compute", "api", "monitoring", "audit")


@dataclass(frozen=True)
class FlowLogsConfig:
    retention_days: int


@dataclass(frozen=True)
class NetworkConfig:
    vpc_cidr: str
    public_subnets: tuple[str, ...]
    private_subnets: tuple[str, ...]
    database_subnets: tuple[str, ...]
    nat_gateways: int
    flow_logs: FlowLogsConfig

    def subnets(self, tier: str) -> tuple[str, ...]:
        return {"public": self.public_subnets, "private": self.private_subnets, "database": self.database_subnets}[tier]


@dataclass(frozen=True)
class LoggingConfig:
    """Retention of every CloudWatch log group except the VPC flow logs (network.flow_logs.retention_days)."""

    retention_days: int


@dataclass(frozen=True)
class KmsConfig:
    deletion_window_days: int


@dataclass(frozen=True)
class AuroraConfig:
    engine_version: str
    instance_class: str
    readers: int
    reader_autoscaling_min: int
    reader_autoscaling_max: int
    reader_target_cpu_percent: int
    backup_retention_days: int
    backup_window: str
    maintenance_window: str
    deletion_protection: bool
    database_name: str
    master_username: str
    app_username: str
    performance_insights_retention_days: int
    monitoring_interval_seconds: int
    # PEM bundle of the RDS CA certificates (https://truststore.pki.rds.amazonaws.com/<region>/<region>-bundle.pem),
    # relative to the repository root: shipped with the rotation and bootstrap functions, which verify the
    # cluster's certificate against it and refuse to connect without it.
    ca_bundle_file: str


@dataclass(frozen=True)
class DynamoDbConfig:
    billing_mode: str
    deletion_protection: bool


@dataclass(frozen=True)
class StorageTransition:
    days: int
    storage_class: str


@dataclass(frozen=True)
class AuditArchiveConfig:
    object_lock_mode: str
    object_lock_retention_days: int
    transitions: tuple[StorageTransition, ...]
    expiration_days: int
    noncurrent_version_expiration_days: int


@dataclass(frozen=True)
class MigrationSourceConfig:
    host: str
    port: int
    database_name: str
    credentials_secret_arn: str
    ca_certificate_arn: str
    cidrs: tuple[str, ...]


@dataclass(frozen=True)
class MigrationConfig:
    enabled: bool
    replication_instance_class: str
    allocated_storage_gb: int
    multi_az: bool
    source: MigrationSourceConfig | None
    table_mappings: tuple[Mapping[str, str], ...]
    # dms-vpc-role and dms-cloudwatch-logs-role have names fixed by AWS, one pair per account: exactly one
    # environment of each account creates them ("create"), every other one relies on them ("existing").
    account_dms_roles: str | None = None


@dataclass(frozen=True)
class DataConfig:
    aurora: AuroraConfig
    dynamodb: DynamoDbConfig
    audit_archive: AuditArchiveConfig
    secret_rotation_days: int
    migration: MigrationConfig


@dataclass(frozen=True)
class FunctionConfig:
    memory_mb: int
    timeout_seconds: int
    reserved_concurrency: int
    provisioned_concurrency: int


@dataclass(frozen=True)
class TrafficSlot:
    kind: str  # "lambda" (an alias of transaction_processing) or "onprem" (IP targets over the VPN)
    weight: int
    targets: tuple[str, ...]
    port: int | None
    version: int | None = None  # lambda blue slot only: the published version it keeps serving
    # lambda blue slot only: the published versions of payment_validation and fraud_detection that blue's
    # transaction_processing calls (their blue aliases); a function not named here serves its latest version.
    downstream_versions: Mapping[str, int] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True)
class VpnConfig:
    customer_gateway_ip: str
    bgp_asn: int
    static_routes_only: bool
    onprem_cidrs: tuple[str, ...]


@dataclass(frozen=True)
class ComputeConfig:
    functions: Mapping[str, FunctionConfig]
    alb_certificate_arn: str
    alb_ssl_policy: str
    internal_hostname: str
    blue: TrafficSlot
    green: TrafficSlot
    vpn: VpnConfig | None


@dataclass(frozen=True)
class ApiConfig:
    domain_name: str
    certificate_arn: str
    authorization: str
    throttle_rate_limit: int
    throttle_burst_limit: int
    waf_rate_limit_per_5_minutes: int


@dataclass(frozen=True)
class Subscription:
    protocol: str
    endpoint: str


@dataclass(frozen=True)
class MonitoringConfig:
    failed_transactions_subscriptions: tuple[Subscription, ...]
    system_errors_subscriptions: tuple[Subscription, ...]
    period_seconds: int
    evaluation_periods: int
    datapoints_to_alarm: int
    api_latency_p99_ms: int
    api_integration_latency_p99_ms: int
    api_5xx_rate_percent: float
    api_4xx_rate_percent: float
    target_5xx_count: int
    lambda_duration_p99_ratio: float
    aurora_cpu_percent: int
    aurora_max_connections: int
    aurora_replica_lag_ms: int
    aurora_min_freeable_memory_mb: int
    failed_transactions_per_period: int
    green_5xx_rate_percent: float
    green_p99_ms: int


@dataclass(frozen=True)
class RuntimeConfig:
    """Values the Lambdas read from SSM at run time (published under /payments/<env>/)."""

    powertools_layer_version: int
    validation_max_amount: Mapping[str, str]
    fraud_thresholds: Mapping[str, Any]


@dataclass(frozen=True)
class S3BackendConfig:
    bucket: str
    key_prefix: str
    region: str
    kms_key_id: str
    locking: str
    dynamodb_table: str | None


@dataclass(frozen=True)
class BackendConfig:
    type: str
    s3: S3BackendConfig | None


@dataclass(frozen=True)
class CrossAccountArn:
    arn: str
    reason: str


@dataclass(frozen=True)
class AccountConfig:
    """The AWS account the environment is deployed to; read by `make preflight` (tools/preflight.py), not the synth."""

    id: str
    cross_account_arns: tuple[CrossAccountArn, ...]


@dataclass(frozen=True)
class BackupConfig:
    daily_retention_days: int
    monthly_retention_days: int
    vault_lock_changeable_for_days: int


@dataclass(frozen=True)
class BaselineConfig:
    """The security baseline (payments-<env>-audit). ``account_owner``: this environment also deploys the
    account-wide services (AWS Config recorder and rules, GuardDuty, Security Hub), which exist once per account
    and region; exactly one environment per AWS account sets it."""

    account_owner: bool
    backup: BackupConfig


@dataclass(frozen=True)
class EnvironmentConfig:
    environment: str
    region: str
    availability_zones: tuple[str, ...]
    tags: Mapping[str, str]
    backend: BackendConfig
    network: NetworkConfig
    logging: LoggingConfig
    kms: KmsConfig
    data: DataConfig
    runtime: RuntimeConfig
    compute: ComputeConfig
    api: ApiConfig
    monitoring: MonitoringConfig
    baseline: BaselineConfig
    source: Path
    account: AccountConfig | None = None

    def stack_name(self, domain: str) -> str:
        if domain not in DOMAINS:
            raise ValueError(f"unknown domain {domain!r}; expected one of {', '.join(DOMAINS)}")
        return f"payments-{self.environment}-{domain}"

    @property
    def is_prod(self) -> bool:
        return self.environment == "prod"

"""Typed, validated environment configuration.

Each environment is one YAML file under ``app/environments/``. Loading validates every field before
anything is synthesized; a bad value raises :class:`ConfigError` naming the file, the field, the value
and what is allowed, so a typo can never reach ``cdktf.out/``.

This module must not import cdktf: config errors are reported in a fraction of a second, without paying
the ~10 s it costs to load the AWS provider bindings.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from policies.catalog import Catalog, default_catalog
from policies.yamlfile import QUOTE_CHARS, YamlFileError, parse_yaml, quote, read_text

ENVIRONMENTS_DIR = Path(__file__).resolve().parent / "environments"
MAX_CONFIG_BYTES = 256 * 1024  # an environment file is ~6 KB
DOMAINS = ("security", "network", "data", "compute", "api", "monitoring", "audit")

# Every value CloudWatch Logs accepts for retention_in_days; PCI thresholds restrict it (PciThresholds).
CLOUDWATCH_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653
)
NAT_GATEWAY_COUNTS = (1, 3)
AZ_COUNT = 3
SUBNET_TIERS = ("public", "private", "database")
BACKEND_TYPES = ("local", "s3")
# Only dev may keep Terraform state on the machine that ran the apply.
LOCAL_STATE_ENVIRONMENTS = ("dev",)
S3_LOCKING = ("lockfile", "dynamodb")
ACCOUNT_ROLE_OWNERSHIP = ("create", "existing")

_REGION_RE = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
_WINDOW_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$")
_WEEKLY_WINDOW_RE = re.compile(
    r"^(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):[0-5]\d-(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):[0-5]\d$"
)
_IDENTIFIER_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_ACCOUNT_ID_RE = re.compile(r"^\d{12}$")
_ARN_RE = re.compile(r"^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:\d{12}:.+$")
_AMOUNT_RE = re.compile(r"^\d+(\.\d+)?$")
_CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
AURORA_INSTANCE_CLASS_RE = re.compile(r"^db\.[a-z0-9]+\.[a-z0-9]+$")
DMS_INSTANCE_CLASS_RE = re.compile(r"^dms\.[a-z0-9]+\.[a-z0-9]+$")
BILLING_MODES = ("PAY_PER_REQUEST", "PROVISIONED")
OBJECT_LOCK_MODES = ("COMPLIANCE", "GOVERNANCE")
# The classes an audit-archive transition may move to; whatever the class, the first transition waits the
# catalog's min_hot_tier_days (its archive_storage_classes are only the classes the gate must check).
TRANSITION_STORAGE_CLASSES = ("GLACIER_IR", "GLACIER", "DEEP_ARCHIVE")
PERFORMANCE_INSIGHTS_RETENTION = (7, 731, *tuple(31 * months for months in range(1, 24)))
MONITORING_INTERVALS = (1, 5, 10, 15, 30, 60)
# AWS Backup: PCI DSS 12.10.1 restore capability; prod keeps 35 daily recovery points (as Aurora's own backups),
# other environments the catalog's min_backup_retention_days, and every environment keeps monthly recovery points
# a year. AWS Backup Vault Lock's grace period is at least 3 days.
MIN_PROD_DAILY_BACKUP_DAYS = 35
MIN_MONTHLY_BACKUP_DAYS = 365
MIN_VAULT_LOCK_CHANGEABLE_DAYS = 3
FUNCTION_NAMES = ("payment_validation", "fraud_detection", "transaction_processing")
# The functions transaction_processing invokes (through the alias of its own slot).
DOWNSTREAM_FUNCTIONS = ("payment_validation", "fraud_detection")
SLOT_KINDS = ("lambda", "onprem")
MAX_TARGET_WEIGHT = 999
_RFC1918 = tuple(ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
_HOSTNAME_RE = re.compile(r"^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
SUBSCRIPTION_PROTOCOLS = ("email", "https", "sqs")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$")
FRAUD_THRESHOLD_KEYS = (
    "review_score",
    "decline_score",
    "velocity_window_seconds",
    "max_card_transactions_in_window",
    "max_customer_transactions_in_window",
    "high_amount_ratio",
    "risky_merchant_categories",
)


@dataclass(frozen=True)
class PciThresholds:
    """The PCI thresholds config validation enforces, read from the catalog's parameters (their only home):
    a value the gate would refuse is refused here first, before anything is synthesized."""

    environments: tuple[str, ...]
    required_tags: tuple[str, ...]
    data_classifications: tuple[str, ...]
    pci_scopes: tuple[str, ...]
    min_log_retention_days: int
    min_hot_tier_days: int
    min_object_lock_retention_days: int
    min_current_object_expiration_days: int
    max_secret_rotation_days: int
    min_backup_retention_days: int
    alb_tls_policies: tuple[str, ...]
    api_authorizations: tuple[str, ...]

    @classmethod
    def from_catalog(cls, catalog: Catalog) -> PciThresholds:
        tag_values = catalog.parameter("tag_values")
        return cls(
            environments=tuple(tag_values["Environment"]),
            required_tags=tuple(catalog.parameter("required_tags")),
            data_classifications=tuple(tag_values["DataClassification"]),
            pci_scopes=tuple(tag_values["PciScope"]),
            min_log_retention_days=catalog.parameter("min_log_retention_days"),
            min_hot_tier_days=catalog.parameter("min_hot_tier_days"),
            min_object_lock_retention_days=catalog.parameter("min_object_lock_retention_days"),
            min_current_object_expiration_days=catalog.parameter("min_current_object_expiration_days"),
            max_secret_rotation_days=catalog.parameter("max_secret_rotation_days"),
            min_backup_retention_days=catalog.parameter("min_backup_retention_days"),
            alb_tls_policies=tuple(catalog.parameter("alb_tls_policies")),
            api_authorizations=tuple(catalog.parameter("api_method_authorizations")),
        )

    @property
    def log_retention_days(self) -> tuple[int, ...]:
        """The CloudWatch retentions long enough for PCI DSS 10.5.1."""
        return tuple(days for days in CLOUDWATCH_RETENTION_DAYS if days >= self.min_log_retention_days)


def default_thresholds() -> PciThresholds:
    return PciThresholds.from_catalog(default_catalog())


# Names of the environments (one file each under app/environments/): the catalog's Environment tag values.
KNOWN_ENVIRONMENTS = default_thresholds().environments


class ConfigError(Exception):
    """One or more invalid values in an environment file; ``str()`` lists every problem found."""

    def __init__(self, problems: Sequence[str]):
        self.problems = tuple(problems)
        super().__init__("\n".join(self.problems))


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


class _Reader:
    """Walks one parsed YAML document, recording every problem instead of stopping at the first."""

    def __init__(self, source: Path, thresholds: PciThresholds):
        self.source = source
        self.pci = thresholds
        self.problems: list[str] = []

    def problem(self, field: str, value: Any, allowed: str) -> None:
        self.problems.append(f"{self.source}: {_field(field)}: {quote(value)} is not allowed; expected {allowed}")

    def mapping(self, data: Any, field: str, keys: Sequence[str], optional: Sequence[str] = ()) -> dict:
        if not isinstance(data, dict):
            self.problem(field or "<document>", data, "a mapping with keys " + ", ".join(keys))
            return {}
        for key in data:
            if key not in keys and key not in optional:
                name = f"{field}.{key}" if field else str(key)
                self.problem(name, data[key], "no such field (known: " + ", ".join((*keys, *optional)) + ")")
        for key in keys:
            if key not in data:
                name = f"{field}.{key}" if field else key
                self.problems.append(f"{self.source}: {_field(name)}: missing; this field is required")
        return data

    def value(self, data: dict, field: str, key: str, check: Callable[[Any], bool], allowed: str) -> Any:
        if key not in data:
            return None
        value = data[key]
        if not check(value):
            self.problem(f"{field}.{key}" if field else key, value, allowed)
            return None
        return value


def _field(name: str) -> str:
    """A field path as quoted in a message: a hostile file's keys can be as long as the file."""
    return name if len(name) <= QUOTE_CHARS else f"{name[:QUOTE_CHARS - 3]}..."


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and value.strip() != ""


def _network(reader: _Reader, raw: Any, field: str) -> NetworkConfig | None:
    keys = ("vpc_cidr", "public_subnets", "private_subnets", "database_subnets", "nat_gateways", "flow_logs")
    data = reader.mapping(raw, field, keys)
    vpc = None
    vpc_cidr = data.get("vpc_cidr")
    try:
        vpc = ipaddress.IPv4Network(vpc_cidr, strict=True)
        if not 16 <= vpc.prefixlen <= 24:
            reader.problem(f"{field}.vpc_cidr", vpc_cidr, "a prefix length between /16 and /24")
            vpc = None
    except (ValueError, TypeError):
        if "vpc_cidr" in data:
            reader.problem(f"{field}.vpc_cidr", vpc_cidr, "an IPv4 network in CIDR notation, e.g. 10.20.0.0/16")

    tiers: dict[str, tuple[str, ...]] = {}
    seen: list[tuple[str, ipaddress.IPv4Network]] = []
    for tier in SUBNET_TIERS:
        key = f"{tier}_subnets"
        cidrs = data.get(key)
        if key not in data:
            continue
        if not isinstance(cidrs, list) or len(cidrs) != AZ_COUNT:
            reader.problem(f"{field}.{key}", cidrs, f"a list of exactly {AZ_COUNT} CIDRs, one per availability zone")
            continue
        for index, cidr in enumerate(cidrs):
            name = f"{field}.{key}[{index}]"
            try:
                net = ipaddress.IPv4Network(cidr, strict=True)
            except (ValueError, TypeError):
                reader.problem(name, cidr, "an IPv4 network in CIDR notation with no host bits set, e.g. 10.20.0.0/24")
                continue
            if vpc is not None and not net.subnet_of(vpc):
                reader.problem(name, cidr, f"a CIDR inside the VPC CIDR {vpc}")
            for other_name, other in seen:
                if net.overlaps(other):
                    reader.problem(name, cidr, f"a CIDR that does not overlap {other_name} ({other})")
            seen.append((name, net))
        tiers[tier] = tuple(cidrs)

    nat = reader.value(
        data,
        field,
        "nat_gateways",
        lambda v: _is_int(v) and v in NAT_GATEWAY_COUNTS,
        "1 (one shared NAT gateway) or 3 (one per availability zone)",
    )
    flow = reader.mapping(data.get("flow_logs", {}), f"{field}.flow_logs", ("retention_days",))
    retention = reader.value(
        flow,
        f"{field}.flow_logs",
        "retention_days",
        *_log_retention(reader),
    )
    if vpc is None or nat is None or retention is None or len(tiers) != len(SUBNET_TIERS):
        return None
    return NetworkConfig(
        vpc_cidr=str(vpc),
        public_subnets=tiers["public"],
        private_subnets=tiers["private"],
        database_subnets=tiers["database"],
        nat_gateways=nat,
        flow_logs=FlowLogsConfig(retention_days=retention),
    )


def _log_retention(reader: _Reader) -> tuple[Callable[[Any], bool], str]:
    allowed = reader.pci.log_retention_days
    return (
        lambda v: _is_int(v) and v in allowed,
        f"a CloudWatch retention of at least {reader.pci.min_log_retention_days} days: "
        + ", ".join(map(str, allowed)),
    )


def _tags(reader: _Reader, raw: Any, environment: Any) -> dict[str, str] | None:
    required = reader.pci.required_tags
    data = reader.mapping(raw, "tags", required)
    for key in required:
        if key in data and not _is_text(data[key]):
            reader.problem(f"tags.{key}", data[key], "a non-empty string")
    if environment is not None and _is_text(data.get("Environment")) and data["Environment"] != environment:
        reader.problem("tags.Environment", data["Environment"], f"the environment name {environment!r}")
    classifications, scopes = reader.pci.data_classifications, reader.pci.pci_scopes
    if _is_text(data.get("DataClassification")) and data["DataClassification"] not in classifications:
        reader.problem("tags.DataClassification", data["DataClassification"], "one of " + ", ".join(classifications))
    if _is_text(data.get("PciScope")) and data["PciScope"] not in scopes:
        reader.problem("tags.PciScope", data["PciScope"], "one of " + ", ".join(scopes))
    if not isinstance(raw, dict) or any(not _is_text(raw.get(k)) for k in required):
        return None
    return {key: raw[key] for key in required}


def _backend(reader: _Reader, raw: Any) -> BackendConfig | None:
    data = reader.mapping(raw, "backend", ("type",), optional=("s3",))
    kind = reader.value(data, "backend", "type", lambda v: v in BACKEND_TYPES, "one of " + ", ".join(BACKEND_TYPES))
    if kind is None:
        return None
    if kind == "local":
        if "s3" in data:
            reader.problem("backend.s3", data["s3"], "no s3 settings when backend.type is local")
            return None
        return BackendConfig(type="local", s3=None)
    if "s3" not in data:
        reader.problems.append(f"{reader.source}: backend.s3: missing; required when backend.type is s3")
        return None
    s3 = reader.mapping(
        data["s3"],
        "backend.s3",
        ("bucket", "key_prefix", "region", "kms_key_id", "locking"),
        optional=("dynamodb_table",),
    )
    values = {
        key: reader.value(s3, "backend.s3", key, _is_text, "a non-empty string")
        for key in ("bucket", "key_prefix", "region", "kms_key_id")
    }
    locking = reader.value(s3, "backend.s3", "locking", lambda v: v in S3_LOCKING, "one of " + ", ".join(S3_LOCKING))
    table = s3.get("dynamodb_table")
    if locking == "dynamodb" and not _is_text(table):
        reader.problem("backend.s3.dynamodb_table", table, "a table name when backend.s3.locking is dynamodb")
        return None
    if locking == "lockfile" and table is not None:
        reader.problem("backend.s3.dynamodb_table", table, "nothing when backend.s3.locking is lockfile")
        return None
    if locking is None or any(v is None for v in values.values()):
        return None
    return BackendConfig(type="s3", s3=S3BackendConfig(locking=locking, dynamodb_table=table, **values))


def _account(reader: _Reader, raw: Any) -> AccountConfig | None:
    data = reader.mapping(raw, "account", ("id",), optional=("cross_account_arns",))
    account_id = reader.value(data, "account", "id", lambda v: isinstance(v, str) and bool(_ACCOUNT_ID_RE.match(v)),
                              "a 12-digit AWS account id as a quoted string")
    raw_exceptions = data.get("cross_account_arns", [])
    if not isinstance(raw_exceptions, list):
        reader.problem("account.cross_account_arns", raw_exceptions, "a list of {arn, reason}")
        return None
    exceptions = []
    for index, item in enumerate(raw_exceptions):
        name = f"account.cross_account_arns[{index}]"
        entry = reader.mapping(item, name, ("arn", "reason"))
        arn = reader.value(entry, name, "arn", lambda v: isinstance(v, str) and bool(_ARN_RE.match(v)), "an ARN")
        reason = reader.value(entry, name, "reason", _is_text, "why this ARN lives in another account")
        if arn is not None and reason is not None:
            exceptions.append(CrossAccountArn(arn=arn, reason=reason))
    if account_id is None or len(exceptions) != len(raw_exceptions):
        return None
    return AccountConfig(id=account_id, cross_account_arns=tuple(exceptions))


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool)


def _int_between(low: int, high: int) -> Callable[[Any], bool]:
    return lambda v: _is_int(v) and low <= v <= high


def _aurora(reader: _Reader, raw: Any, environment: Any) -> AuroraConfig | None:
    field = "data.aurora"
    keys = (
        "engine_version",
        "instance_class",
        "readers",
        "reader_autoscaling",
        "backup_retention_days",
        "backup_window",
        "maintenance_window",
        "deletion_protection",
        "database_name",
        "master_username",
        "app_username",
        "performance_insights_retention_days",
        "monitoring_interval_seconds",
        "ca_bundle_file",
    )
    data = reader.mapping(raw, field, keys)
    minimum_readers = 2 if environment == "prod" else 1
    values = {
        "engine_version": reader.value(
            data,
            field,
            "engine_version",
            lambda v: isinstance(v, str) and re.fullmatch(r"1[5-7]\.\d+", v) is not None,
            'an Aurora PostgreSQL 15-17 version string such as "15.10"',
        ),
        "instance_class": reader.value(
            data,
            field,
            "instance_class",
            lambda v: isinstance(v, str) and bool(AURORA_INSTANCE_CLASS_RE.match(v)),
            "an RDS instance class such as db.r6g.large",
        ),
        "readers": reader.value(
            data,
            field,
            "readers",
            _int_between(minimum_readers, 15),
            f"{minimum_readers} to 15 reader instances"
            + (" (prod keeps at least two, in other AZs than the writer)" if minimum_readers == 2 else ""),
        ),
        "backup_retention_days": reader.value(
            data,
            field,
            "backup_retention_days",
            _int_between(35, 35) if environment == "prod" else _int_between(7, 35),
            "35 days in prod" if environment == "prod" else "7 to 35 days",
        ),
        "backup_window": reader.value(
            data,
            field,
            "backup_window",
            lambda v: isinstance(v, str) and bool(_WINDOW_RE.match(v)),
            "a daily UTC window hh:mm-hh:mm, e.g. 03:00-04:00",
        ),
        "maintenance_window": reader.value(
            data,
            field,
            "maintenance_window",
            lambda v: isinstance(v, str) and bool(_WEEKLY_WINDOW_RE.match(v)),
            "a weekly UTC window ddd:hh:mm-ddd:hh:mm, e.g. sun:04:30-sun:05:30",
        ),
        "deletion_protection": reader.value(
            data,
            field,
            "deletion_protection",
            (lambda v: v is True) if environment == "prod" else _is_bool,
            "true in prod" if environment == "prod" else "true or false",
        ),
        "database_name": reader.value(
            data,
            field,
            "database_name",
            lambda v: isinstance(v, str) and bool(_IDENTIFIER_RE.match(v)),
            "a lower-case PostgreSQL identifier",
        ),
        "master_username": reader.value(
            data,
            field,
            "master_username",
            lambda v: (
                isinstance(v, str) and bool(_IDENTIFIER_RE.match(v)) and v not in ("postgres", "rdsadmin", "admin")
            ),
            "a lower-case PostgreSQL identifier other than postgres, rdsadmin, admin",
        ),
        "app_username": reader.value(
            data,
            field,
            "app_username",
            lambda v: isinstance(v, str) and bool(_IDENTIFIER_RE.match(v)) and len(v) <= 56,
            "a lower-case PostgreSQL identifier of at most 56 characters (room for _clone)",
        ),
        "performance_insights_retention_days": reader.value(
            data,
            field,
            "performance_insights_retention_days",
            lambda v: _is_int(v) and v in PERFORMANCE_INSIGHTS_RETENTION,
            "7, 731 or a multiple of 31 up to 713",
        ),
        "monitoring_interval_seconds": reader.value(
            data,
            field,
            "monitoring_interval_seconds",
            lambda v: _is_int(v) and v in MONITORING_INTERVALS,
            "one of " + ", ".join(map(str, MONITORING_INTERVALS)) + " (enhanced monitoring stays on)",
        ),
        "ca_bundle_file": reader.value(
            data,
            field,
            "ca_bundle_file",
            lambda v: isinstance(v, str) and v.endswith(".pem") and not v.startswith("/") and ".." not in v.split("/"),
            "a .pem path relative to the repository root (the RDS CA bundle of the region)",
        ),
    }
    scaling = reader.mapping(
        data.get("reader_autoscaling", {}), f"{field}.reader_autoscaling", ("min", "max", "target_cpu_percent")
    )
    low = reader.value(scaling, f"{field}.reader_autoscaling", "min", _int_between(1, 15), "1 to 15 readers")
    high = reader.value(scaling, f"{field}.reader_autoscaling", "max", _int_between(1, 15), "1 to 15 readers")
    cpu = reader.value(
        scaling,
        f"{field}.reader_autoscaling",
        "target_cpu_percent",
        _int_between(10, 90),
        "a CPU target from 10 to 90 percent",
    )
    if values["readers"] is not None and low is not None and low != values["readers"]:
        reader.problem(f"{field}.reader_autoscaling.min", low, f"the provisioned reader count ({values['readers']})")
        low = None
    if low is not None and high is not None and high < low:
        reader.problem(f"{field}.reader_autoscaling.max", high, f"at least reader_autoscaling.min ({low})")
        high = None
    if any(v is None for v in values.values()) or None in (low, high, cpu):
        return None
    return AuroraConfig(
        reader_autoscaling_min=low, reader_autoscaling_max=high, reader_target_cpu_percent=cpu, **values
    )


def _audit_archive(reader: _Reader, raw: Any) -> AuditArchiveConfig | None:
    field = "data.audit_archive"
    data = reader.mapping(
        raw,
        field,
        (
            "object_lock_mode",
            "object_lock_retention_days",
            "transitions",
            "expiration_days",
            "noncurrent_version_expiration_days",
        ),
    )
    mode = reader.value(
        data, field, "object_lock_mode", lambda v: v in OBJECT_LOCK_MODES, "one of " + ", ".join(OBJECT_LOCK_MODES)
    )
    min_lock, min_expiration = reader.pci.min_object_lock_retention_days, reader.pci.min_current_object_expiration_days
    min_hot = reader.pci.min_hot_tier_days
    lock_days = reader.value(
        data,
        field,
        "object_lock_retention_days",
        _int_between(min_lock, 36500),
        f"at least {min_lock} days (PCI DSS 10.5.1)",
    )
    expiration = reader.value(
        data,
        field,
        "expiration_days",
        _int_between(min_expiration, 36500),
        f"at least {min_expiration} days: audit logs are kept a year or longer",
    )
    # A noncurrent version is audit history too: kept as long as a current object.
    noncurrent = reader.value(
        data,
        field,
        "noncurrent_version_expiration_days",
        _int_between(min_expiration, 36500),
        f"at least {min_expiration} days",
    )
    transitions: list[StorageTransition] = []
    raw_transitions = data.get("transitions")
    if "transitions" in data and (not isinstance(raw_transitions, list) or not raw_transitions):
        reader.problem(f"{field}.transitions", raw_transitions, "a non-empty list of {days, storage_class}")
    elif isinstance(raw_transitions, list):
        previous = 0
        for index, item in enumerate(raw_transitions):
            name = f"{field}.transitions[{index}]"
            entry = reader.mapping(item, name, ("days", "storage_class"))
            days = reader.value(
                entry,
                name,
                "days",
                _int_between(min_hot if index == 0 else previous + 1, 36500),
                f"at least {min_hot} days in STANDARD before the first transition (PCI DSS "
                f"10.5.1: three months immediately available)"
                if index == 0
                else f"more days than the previous transition ({previous})",
            )
            storage = reader.value(
                entry,
                name,
                "storage_class",
                lambda v: v in TRANSITION_STORAGE_CLASSES,
                "one of " + ", ".join(TRANSITION_STORAGE_CLASSES),
            )
            if days is not None and storage is not None:
                transitions.append(StorageTransition(days=days, storage_class=storage))
                previous = days
        if expiration is not None and transitions and expiration <= transitions[-1].days:
            reader.problem(
                f"{field}.expiration_days", expiration, f"more days than the last transition ({transitions[-1].days})"
            )
            expiration = None
    if lock_days is not None and expiration is not None and expiration < lock_days:
        reader.problem(f"{field}.expiration_days", expiration, f"at least the Object Lock retention ({lock_days} days)")
        expiration = None
    if (
        None in (mode, lock_days, expiration, noncurrent)
        or not transitions
        or (isinstance(raw_transitions, list) and len(transitions) != len(raw_transitions))
    ):
        return None
    return AuditArchiveConfig(
        object_lock_mode=mode,
        object_lock_retention_days=lock_days,
        transitions=tuple(transitions),
        expiration_days=expiration,
        noncurrent_version_expiration_days=noncurrent,
    )


def _migration(reader: _Reader, raw: Any) -> MigrationConfig | None:
    field = "data.migration"
    data = reader.mapping(
        raw,
        field,
        ("enabled", "replication_instance_class", "allocated_storage_gb", "multi_az", "table_mappings"),
        optional=("source", "account_dms_roles"),
    )
    enabled = reader.value(data, field, "enabled", _is_bool, "true or false")
    account_roles = None
    if enabled and "account_dms_roles" not in data:
        reader.problems.append(
            f"{reader.source}: {field}.account_dms_roles: missing; required when migration is enabled "
            "(create: this environment owns the account's dms-vpc-role and dms-cloudwatch-logs-role; "
            "existing: another environment of the same account does)"
        )
    elif "account_dms_roles" in data:
        account_roles = reader.value(
            data, field, "account_dms_roles", lambda v: v in ACCOUNT_ROLE_OWNERSHIP,
            "one of " + ", ".join(ACCOUNT_ROLE_OWNERSHIP),
        )
    instance = reader.value(
        data,
        field,
        "replication_instance_class",
        lambda v: isinstance(v, str) and bool(DMS_INSTANCE_CLASS_RE.match(v)),
        "a DMS instance class such as dms.r6i.large",
    )
    storage = reader.value(data, field, "allocated_storage_gb", _int_between(20, 6144), "20 to 6144 GB")
    multi_az = reader.value(data, field, "multi_az", _is_bool, "true or false")
    mappings = data.get("table_mappings")
    if "table_mappings" in data and not (
        isinstance(mappings, list)
        and mappings
        and all(
            isinstance(m, dict) and set(m) == {"schema", "table"} and all(_is_text(v) for v in m.values())
            for m in mappings
        )
    ):
        reader.problem(f"{field}.table_mappings", mappings, "a non-empty list of {schema, table} (% is a wildcard)")
        mappings = None
    source = None
    if enabled and "source" not in data:
        reader.problems.append(f"{reader.source}: {field}.source: missing; required when migration is enabled")
    elif "source" in data:
        name = f"{field}.source"
        src = reader.mapping(
            data["source"],
            name,
            ("host", "port", "database_name", "credentials_secret_arn", "ca_certificate_arn", "cidrs"),
        )
        host = reader.value(src, name, "host", _is_text, "the on-prem database host name")
        port = reader.value(src, name, "port", _int_between(1, 65535), "a TCP port")
        database = reader.value(src, name, "database_name", _is_text, "the on-prem database name")
        secret = reader.value(
            src,
            name,
            "credentials_secret_arn",
            lambda v: isinstance(v, str) and bool(_ARN_RE.match(v)) and ":secretsmanager:" in v,
            "the ARN of a Secrets Manager secret holding the source credentials",
        )
        certificate = reader.value(
            src,
            name,
            "ca_certificate_arn",
            lambda v: isinstance(v, str) and bool(_ARN_RE.match(v)) and ":dms:" in v,
            "the ARN of the DMS certificate of the on-prem CA (ssl_mode verify-full)",
        )
        cidrs = src.get("cidrs")
        valid_cidrs = isinstance(cidrs, list) and bool(cidrs)
        for cidr in cidrs if isinstance(cidrs, list) else []:
            try:
                ipaddress.IPv4Network(cidr, strict=True)
            except (ValueError, TypeError):
                valid_cidrs = False
        if "cidrs" in src and not valid_cidrs:
            reader.problem(f"{name}.cidrs", cidrs, "a non-empty list of on-prem IPv4 CIDRs (never 0.0.0.0/0)")
        elif valid_cidrs and "0.0.0.0/0" in cidrs:
            reader.problem(f"{name}.cidrs", cidrs, "specific on-prem CIDRs, not 0.0.0.0/0")
            valid_cidrs = False
        if None not in (host, port, database, secret, certificate) and valid_cidrs:
            source = MigrationSourceConfig(
                host=host,
                port=port,
                database_name=database,
                credentials_secret_arn=secret,
                ca_certificate_arn=certificate,
                cidrs=tuple(cidrs),
            )
    if None in (enabled, instance, storage, multi_az, mappings) or (enabled and None in (source, account_roles)):
        return None
    return MigrationConfig(
        enabled=enabled,
        replication_instance_class=instance,
        allocated_storage_gb=storage,
        multi_az=multi_az,
        source=source,
        table_mappings=tuple(mappings),
        account_dms_roles=account_roles,
    )


def _data(reader: _Reader, raw: Any, environment: Any) -> DataConfig | None:
    data = reader.mapping(raw, "data", ("aurora", "dynamodb", "audit_archive", "secret_rotation_days", "migration"))
    aurora = _aurora(reader, data.get("aurora", {}), environment)
    dynamo = reader.mapping(data.get("dynamodb", {}), "data.dynamodb", ("billing_mode", "deletion_protection"))
    billing = reader.value(
        dynamo, "data.dynamodb", "billing_mode", lambda v: v in BILLING_MODES, "one of " + ", ".join(BILLING_MODES)
    )
    dynamo_protection = reader.value(
        dynamo,
        "data.dynamodb",
        "deletion_protection",
        (lambda v: v is True) if environment == "prod" else _is_bool,
        "true in prod" if environment == "prod" else "true or false",
    )
    archive = _audit_archive(reader, data.get("audit_archive", {}))
    rotation = reader.value(
        data,
        "data",
        "secret_rotation_days",
        _int_between(1, reader.pci.max_secret_rotation_days),
        f"1 to {reader.pci.max_secret_rotation_days} days (PCI DSS 8.3.9 / 8.6.3)",
    )
    migration = _migration(reader, data.get("migration", {}))
    if None in (aurora, billing, dynamo_protection, archive, rotation, migration):
        return None
    return DataConfig(
        aurora=aurora,
        dynamodb=DynamoDbConfig(billing_mode=billing, deletion_protection=dynamo_protection),
        audit_archive=archive,
        secret_rotation_days=rotation,
        migration=migration,
    )


def _runtime(reader: _Reader, raw: Any) -> RuntimeConfig | None:
    data = reader.mapping(raw, "runtime", ("powertools_layer_version", "validation_max_amount", "fraud_thresholds"))
    layer = reader.value(
        data,
        "runtime",
        "powertools_layer_version",
        _int_between(1, 1000),
        "the version number of the AWS-managed Powertools for AWS Lambda (Python) v3 layer",
    )
    limits = data.get("validation_max_amount")
    if "validation_max_amount" in data and not (
        isinstance(limits, dict)
        and limits
        and all(
            isinstance(k, str) and _CURRENCY_RE.match(k) and isinstance(v, str) and _AMOUNT_RE.match(v)
            for k, v in limits.items()
        )
    ):
        reader.problem(
            "runtime.validation_max_amount",
            limits,
            'a mapping of ISO 4217 currency code to maximum amount as a decimal string, e.g. USD: "25000.00"',
        )
        limits = None
    thresholds = reader.mapping(data.get("fraud_thresholds", {}), "runtime.fraud_thresholds", FRAUD_THRESHOLD_KEYS)
    checks = {
        "review_score": (_int_between(1, 100), "a score from 1 to 100"),
        "decline_score": (_int_between(1, 100), "a score from 1 to 100, above review_score"),
        "velocity_window_seconds": (_int_between(60, 86400), "60 to 86400 seconds"),
        "max_card_transactions_in_window": (_int_between(1, 1000), "1 to 1000"),
        "max_customer_transactions_in_window": (_int_between(1, 1000), "1 to 1000"),
        "high_amount_ratio": (
            lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and v > 1,
            "a number greater than 1",
        ),
        "risky_merchant_categories": (
            lambda v: isinstance(v, list) and all(isinstance(c, str) and re.fullmatch(r"\d{4}", c) for c in v),
            "a list of 4-digit merchant category codes",
        ),
    }
    values = {
        key: reader.value(thresholds, "runtime.fraud_thresholds", key, check, allowed)
        for key, (check, allowed) in checks.items()
    }
    if (
        values["review_score"] is not None
        and values["decline_score"] is not None
        and values["decline_score"] <= values["review_score"]
    ):
        reader.problem(
            "runtime.fraud_thresholds.decline_score",
            values["decline_score"],
            f"a score above review_score ({values['review_score']})",
        )
        values["decline_score"] = None
    if layer is None or limits is None or any(v is None for v in values.values()):
        return None
    return RuntimeConfig(powertools_layer_version=layer, validation_max_amount=dict(limits), fraud_thresholds=values)


def _arn_of(service: str, description: str) -> tuple[Callable[[Any], bool], str]:
    return (
        lambda v: isinstance(v, str) and bool(_ARN_RE.match(v)) and f":{service}:" in v,
        f"the ARN of {description}",
    )


def _traffic_slot(reader: _Reader, raw: Any, name: str) -> TrafficSlot | None:
    field = f"compute.traffic.{name}"
    data = reader.mapping(
        raw, field, ("kind", "weight"), optional=("targets", "port", "version", "downstream_versions")
    )
    kind = reader.value(data, field, "kind", lambda v: v in SLOT_KINDS, "one of " + ", ".join(SLOT_KINDS))
    weight = reader.value(
        data,
        field,
        "weight",
        _int_between(0, MAX_TARGET_WEIGHT),
        f"an integer from 0 to {MAX_TARGET_WEIGHT} (ALB target-group weight)",
    )
    targets, port = (), None
    if kind == "onprem":
        raw_targets = data.get("targets")
        valid = isinstance(raw_targets, list) and bool(raw_targets)
        for target in raw_targets if isinstance(raw_targets, list) else []:
            try:
                address = ipaddress.IPv4Address(target)
                valid = valid and address.is_private
            except (ValueError, TypeError):
                valid = False
        if not valid:
            reader.problem(
                f"{field}.targets",
                raw_targets,
                "a non-empty list of private IPv4 addresses of the on-prem payment service",
            )
            return None
        targets = tuple(raw_targets)
        port = reader.value(data, field, "port", _int_between(1, 65535), "the HTTPS port of the on-prem service")
        if port is None:
            if "port" not in data:
                reader.problems.append(f"{reader.source}: {field}.port: missing; required for an onprem slot")
            return None
        if "version" in data:
            reader.problem(f"{field}.version", data["version"], "no function version for an onprem slot")
            return None
    elif kind == "lambda" and ("targets" in data or "port" in data):
        reader.problem(field, data, "no targets or port for a lambda slot (its target is the function alias)")
        return None
    version = None
    if "version" in data:
        if name == "green":
            reader.problem(f"{field}.version", data["version"],
                           "nothing: green always runs the latest published version")
            return None
        version = reader.value(data, field, "version", _int_between(1, 10**9),
                               "the published function version blue keeps serving (omit for the latest)")
        if version is None:
            return None
    downstream: dict[str, int] = {}
    if "downstream_versions" in data:
        raw_versions = data["downstream_versions"]
        if name != "blue" or kind != "lambda":
            reader.problem(f"{field}.downstream_versions", raw_versions, "nothing: only a lambda blue slot pins them")
            return None
        if not (
            isinstance(raw_versions, dict)
            and raw_versions
            and set(raw_versions) <= set(DOWNSTREAM_FUNCTIONS)
            and all(_int_between(1, 10**9)(v) for v in raw_versions.values())
        ):
            reader.problem(
                f"{field}.downstream_versions",
                raw_versions,
                "a mapping of " + " and/or ".join(DOWNSTREAM_FUNCTIONS) + " to a published version number",
            )
            return None
        downstream = dict(raw_versions)
    if kind is None or weight is None:
        return None
    return TrafficSlot(
        kind=kind, weight=weight, targets=targets, port=port, version=version, downstream_versions=downstream
    )


def _compute(reader: _Reader, raw: Any) -> ComputeConfig | None:
    data = reader.mapping(raw, "compute", ("functions", "alb", "traffic"), optional=("vpn",))
    functions_raw = reader.mapping(data.get("functions", {}), "compute.functions", FUNCTION_NAMES)
    functions: dict[str, FunctionConfig] = {}
    for name in FUNCTION_NAMES:
        field = f"compute.functions.{name}"
        spec = reader.mapping(
            functions_raw.get(name, {}),
            field,
            ("memory_mb", "timeout_seconds", "reserved_concurrency", "provisioned_concurrency"),
        )
        memory = reader.value(spec, field, "memory_mb", _int_between(128, 10240), "128 to 10240 MB")
        timeout = reader.value(
            spec,
            field,
            "timeout_seconds",
            _int_between(1, 60),
            "1 to 60 seconds (behind the ALB and API Gateway's 29 s integration timeout)",
        )
        reserved = reader.value(
            spec,
            field,
            "reserved_concurrency",
            _int_between(1, 1000),
            "1 to 1000 (reserved concurrency is required: it caps and guarantees capacity)",
        )
        provisioned = reader.value(spec, field, "provisioned_concurrency", _int_between(0, 1000), "0 to 1000")
        if reserved is not None and provisioned is not None and provisioned > reserved:
            reader.problem(
                f"{field}.provisioned_concurrency", provisioned, f"at most reserved_concurrency ({reserved})"
            )
            provisioned = None
        if None not in (memory, timeout, reserved, provisioned):
            functions[name] = FunctionConfig(memory, timeout, reserved, provisioned)
    alb = reader.mapping(data.get("alb", {}), "compute.alb", ("certificate_arn", "ssl_policy", "internal_hostname"))
    certificate = reader.value(alb, "compute.alb", "certificate_arn", *_arn_of("acm", "an ACM certificate"))
    tls_policies = reader.pci.alb_tls_policies
    ssl_policy = reader.value(
        alb, "compute.alb", "ssl_policy", lambda v: v in tls_policies, "one of " + ", ".join(tls_policies)
    )
    hostname = reader.value(
        alb,
        "compute.alb",
        "internal_hostname",
        lambda v: isinstance(v, str) and bool(_HOSTNAME_RE.match(v)),
        "the DNS name on the ALB certificate (API Gateway verifies it)",
    )
    traffic = reader.mapping(data.get("traffic", {}), "compute.traffic", ("blue", "green"))
    blue = _traffic_slot(reader, traffic.get("blue", {}), "blue")
    green = _traffic_slot(reader, traffic.get("green", {}), "green")
    if blue is not None and green is not None and blue.weight + green.weight == 0:
        reader.problem("compute.traffic.green.weight", green.weight, "a total weight above 0 (no traffic would flow)")
        green = None
    if green is not None and green.kind != "lambda":
        reader.problem("compute.traffic.green.kind", green.kind, "lambda: green is always the new Lambda stack")
        green = None
    needs_vpn = blue is not None and blue.kind == "onprem"
    vpn = None
    if needs_vpn and "vpn" not in data:
        reader.problems.append(f"{reader.source}: compute.vpn: missing; required while a slot is onprem")
    elif "vpn" in data:
        field = "compute.vpn"
        raw_vpn = reader.mapping(
            data["vpn"], field, ("customer_gateway_ip", "bgp_asn", "static_routes_only", "onprem_cidrs")
        )

        def public_ip(value: Any) -> bool:
            try:
                address = ipaddress.IPv4Address(value)
            except (ValueError, TypeError):
                return False
            return not (
                any(address in net for net in _RFC1918)
                or address.is_loopback
                or address.is_link_local
                or address.is_multicast
                or address.is_unspecified
                or address.is_reserved
            )

        gateway = reader.value(
            raw_vpn, field, "customer_gateway_ip", public_ip, "the public IPv4 address of the on-prem VPN device"
        )
        asn = reader.value(
            raw_vpn,
            field,
            "bgp_asn",
            lambda v: _is_int(v) and (64512 <= v <= 65534 or 4200000000 <= v <= 4294967294),
            "a private BGP ASN (64512-65534 or 4200000000-4294967294)",
        )
        static = reader.value(raw_vpn, field, "static_routes_only", _is_bool, "true or false")
        cidrs = raw_vpn.get("onprem_cidrs")
        valid = isinstance(cidrs, list) and bool(cidrs)
        for cidr in cidrs if isinstance(cidrs, list) else []:
            try:
                valid = valid and ipaddress.IPv4Network(cidr, strict=True).is_private
            except (ValueError, TypeError):
                valid = False
        if "onprem_cidrs" in raw_vpn and not valid:
            reader.problem(f"{field}.onprem_cidrs", cidrs, "a non-empty list of private IPv4 CIDRs")
        if None not in (gateway, asn, static) and valid:
            vpn = VpnConfig(
                customer_gateway_ip=gateway, bgp_asn=asn, static_routes_only=static, onprem_cidrs=tuple(cidrs)
            )
    if vpn is not None and blue is not None and blue.kind == "onprem":
        for target in blue.targets:
            if not any(ipaddress.IPv4Address(target) in ipaddress.IPv4Network(c) for c in vpn.onprem_cidrs):
                reader.problem("compute.traffic.blue.targets", target, "an address inside compute.vpn.onprem_cidrs")
                blue = None
                break
    if (
        len(functions) != len(FUNCTION_NAMES)
        or None in (certificate, ssl_policy, hostname, blue, green)
        or (needs_vpn and vpn is None)
    ):
        return None
    return ComputeConfig(
        functions=functions,
        alb_certificate_arn=certificate,
        alb_ssl_policy=ssl_policy,
        internal_hostname=hostname,
        blue=blue,
        green=green,
        vpn=vpn,
    )


def _api(reader: _Reader, raw: Any) -> ApiConfig | None:
    data = reader.mapping(
        raw,
        "api",
        (
            "domain_name",
            "certificate_arn",
            "authorization",
            "throttle_rate_limit",
            "throttle_burst_limit",
            "waf_rate_limit_per_5_minutes",
        ),
    )
    domain = reader.value(
        data,
        "api",
        "domain_name",
        lambda v: isinstance(v, str) and bool(_HOSTNAME_RE.match(v)),
        "the public DNS name of the API (custom domain, TLS 1.2 minimum)",
    )
    certificate = reader.value(data, "api", "certificate_arn", *_arn_of("acm", "an ACM certificate for the domain"))
    authorization = reader.value(
        data,
        "api",
        "authorization",
        lambda v: v in reader.pci.api_authorizations,
        "one of " + ", ".join(reader.pci.api_authorizations) + " (never NONE)",
    )
    rate = reader.value(data, "api", "throttle_rate_limit", _int_between(1, 10000), "1 to 10000 requests per second")
    burst = reader.value(data, "api", "throttle_burst_limit", _int_between(1, 5000), "1 to 5000 requests")
    waf = reader.value(
        data,
        "api",
        "waf_rate_limit_per_5_minutes",
        _int_between(10, 2000000000),
        "at least 10 requests per 5 minutes per client IP",
    )
    if None in (domain, certificate, authorization, rate, burst, waf):
        return None
    return ApiConfig(
        domain_name=domain,
        certificate_arn=certificate,
        authorization=authorization,
        throttle_rate_limit=rate,
        throttle_burst_limit=burst,
        waf_rate_limit_per_5_minutes=waf,
    )


def _subscriptions(reader: _Reader, raw: Any, field: str) -> tuple[Subscription, ...] | None:
    if not isinstance(raw, list) or not raw:
        reader.problem(field, raw, "a non-empty list of {protocol, endpoint}: someone must receive the alerts")
        return None
    found = []
    for index, item in enumerate(raw):
        name = f"{field}[{index}]"
        entry = reader.mapping(item, name, ("protocol", "endpoint"))
        protocol = reader.value(
            entry,
            name,
            "protocol",
            lambda v: v in SUBSCRIPTION_PROTOCOLS,
            "one of " + ", ".join(SUBSCRIPTION_PROTOCOLS),
        )
        checks = {
            "email": (lambda v: isinstance(v, str) and bool(_EMAIL_RE.match(v)), "an e-mail address"),
            "https": (lambda v: isinstance(v, str) and v.startswith("https://"), "an https:// URL"),
            "sqs": (
                lambda v: isinstance(v, str) and bool(_ARN_RE.match(v)) and ":sqs:" in v,
                "the ARN of an SQS queue",
            ),
        }
        endpoint = reader.value(entry, name, "endpoint", *checks[protocol]) if protocol else None
        if protocol is None or endpoint is None:
            return None
        found.append(Subscription(protocol=protocol, endpoint=endpoint))
    return tuple(found)


def _monitoring(reader: _Reader, raw: Any) -> MonitoringConfig | None:
    numbers = {
        "period_seconds": (lambda v: _is_int(v) and v in (10, 30, 60, 300), "10, 30, 60 or 300 seconds"),
        "evaluation_periods": (_int_between(1, 60), "1 to 60"),
        "datapoints_to_alarm": (_int_between(1, 60), "1 to 60, at most evaluation_periods"),
        "api_latency_p99_ms": (_int_between(50, 29000), "50 to 29000 ms"),
        "api_integration_latency_p99_ms": (_int_between(50, 29000), "50 to 29000 ms"),
        "api_5xx_rate_percent": (lambda v: isinstance(v, (int, float)) and 0 < v <= 100, "a percentage above 0"),
        "api_4xx_rate_percent": (lambda v: isinstance(v, (int, float)) and 0 < v <= 100, "a percentage above 0"),
        "target_5xx_count": (_int_between(1, 100000), "1 or more errors per period"),
        "lambda_duration_p99_ratio": (
            lambda v: isinstance(v, (int, float)) and 0 < v <= 1,
            "a fraction of the function timeout, e.g. 0.8",
        ),
        "aurora_cpu_percent": (_int_between(1, 100), "1 to 100 percent"),
        "aurora_max_connections": (_int_between(1, 100000), "a connection count"),
        "aurora_replica_lag_ms": (_int_between(1, 3600000), "milliseconds"),
        "aurora_min_freeable_memory_mb": (_int_between(1, 1000000), "megabytes"),
        "failed_transactions_per_period": (_int_between(1, 100000), "1 or more failed payments per period"),
        "green_5xx_rate_percent": (lambda v: isinstance(v, (int, float)) and 0 < v <= 100, "a percentage above 0"),
        "green_p99_ms": (_int_between(50, 29000), "50 to 29000 ms"),
    }
    data = reader.mapping(raw, "monitoring", ("subscriptions", *numbers))
    values = {key: reader.value(data, "monitoring", key, check, allowed) for key, (check, allowed) in numbers.items()}
    if (
        None not in (values["evaluation_periods"], values["datapoints_to_alarm"])
        and values["datapoints_to_alarm"] > values["evaluation_periods"]
    ):
        reader.problem(
            "monitoring.datapoints_to_alarm",
            values["datapoints_to_alarm"],
            f"at most evaluation_periods ({values['evaluation_periods']})",
        )
        values["datapoints_to_alarm"] = None
    subscriptions = reader.mapping(
        data.get("subscriptions", {}), "monitoring.subscriptions", ("failed_transactions", "system_errors")
    )
    failed = _subscriptions(
        reader, subscriptions.get("failed_transactions"), "monitoring.subscriptions.failed_transactions"
    )
    errors = _subscriptions(reader, subscriptions.get("system_errors"), "monitoring.subscriptions.system_errors")
    if failed is None or errors is None or any(v is None for v in values.values()):
        return None
    return MonitoringConfig(failed_transactions_subscriptions=failed, system_errors_subscriptions=errors, **values)


def _baseline(reader: _Reader, raw: Any, environment: Any) -> BaselineConfig | None:
    data = reader.mapping(raw, "baseline", ("account_owner", "backup"))
    owner = reader.value(data, "baseline", "account_owner", _is_bool, "true or false")
    field = "baseline.backup"
    backup = reader.mapping(
        data.get("backup", {}),
        field,
        ("daily_retention_days", "monthly_retention_days", "vault_lock_changeable_for_days"),
    )
    minimum_daily = MIN_PROD_DAILY_BACKUP_DAYS if environment == "prod" else reader.pci.min_backup_retention_days
    daily = reader.value(
        backup,
        field,
        "daily_retention_days",
        _int_between(minimum_daily, 36500),
        f"at least {minimum_daily} days" + (" in prod" if environment == "prod" else ""),
    )
    monthly = reader.value(
        backup,
        field,
        "monthly_retention_days",
        _int_between(MIN_MONTHLY_BACKUP_DAYS, 36500),
        f"at least {MIN_MONTHLY_BACKUP_DAYS} days: monthly recovery points are kept a year",
    )
    changeable = reader.value(
        backup,
        field,
        "vault_lock_changeable_for_days",
        _int_between(MIN_VAULT_LOCK_CHANGEABLE_DAYS, 36500),
        f"at least {MIN_VAULT_LOCK_CHANGEABLE_DAYS} days (the AWS Backup Vault Lock grace period)",
    )
    if daily is not None and monthly is not None and monthly < daily:
        reader.problem(f"{field}.monthly_retention_days", monthly, f"at least daily_retention_days ({daily})")
        monthly = None
    if None in (owner, daily, monthly, changeable):
        return None
    return BaselineConfig(
        account_owner=owner,
        backup=BackupConfig(
            daily_retention_days=daily, monthly_retention_days=monthly, vault_lock_changeable_for_days=changeable
        ),
    )


def parse_environment(source: Path, text: str, *, thresholds: PciThresholds | None = None) -> EnvironmentConfig:
    """Validate one environment document against the catalog's thresholds (``thresholds`` defaults to the
    committed catalog's); raises ConfigError listing every invalid field."""
    try:
        raw = parse_yaml(source, text)
    except YamlFileError as error:
        raise ConfigError([str(error)]) from None
    reader = _Reader(source, thresholds or default_thresholds())
    keys = (
        "environment",
        "region",
        "availability_zones",
        "tags",
        "backend",
        "network",
        "logging",
        "kms",
        "data",
        "runtime",
        "compute",
        "api",
        "monitoring",
        "baseline",
    )
    data = reader.mapping(raw, "", keys, optional=("account",))

    environments = reader.pci.environments
    environment = reader.value(
        data, "", "environment", lambda v: v in environments, "one of " + ", ".join(environments)
    )
    if environment is not None and source.stem != environment:
        reader.problem("environment", environment, f"the file's name without extension ({source.stem!r})")
    region = reader.value(
        data,
        "",
        "region",
        lambda v: isinstance(v, str) and bool(_REGION_RE.match(v)),
        "an AWS region name such as us-east-1",
    )
    azs = data.get("availability_zones")
    if "availability_zones" in data:
        if not isinstance(azs, list) or len(azs) != AZ_COUNT or len(set(map(str, azs))) != AZ_COUNT:
            reader.problem("availability_zones", azs, f"a list of exactly {AZ_COUNT} distinct availability zones")
            azs = None
        elif region is not None:
            for index, zone in enumerate(azs):
                if not (isinstance(zone, str) and re.fullmatch(re.escape(region) + r"[a-z]", zone)):
                    reader.problem(
                        f"availability_zones[{index}]", zone, f"an availability zone of region {region}, e.g. {region}a"
                    )
                    azs = None
    tags = _tags(reader, data.get("tags", {}), environment)
    backend = _backend(reader, data.get("backend", {}))
    if backend is not None and backend.type == "local" and environment not in (None, *LOCAL_STATE_ENVIRONMENTS):
        reader.problem(
            "backend.type", "local", f"s3 for {environment}: remote, encrypted, locked state (local is for dev only)"
        )
    network = _network(reader, data.get("network", {}), "network")
    logging_data = reader.mapping(data.get("logging", {}), "logging", ("retention_days",))
    log_retention = reader.value(logging_data, "logging", "retention_days", *_log_retention(reader))
    kms_data = reader.mapping(data.get("kms", {}), "kms", ("deletion_window_days",))
    window = reader.value(
        kms_data, "kms", "deletion_window_days", lambda v: _is_int(v) and 7 <= v <= 30, "an integer from 7 to 30 (days)"
    )
    data_config = _data(reader, data.get("data", {}), environment)
    runtime = _runtime(reader, data.get("runtime", {}))
    compute = _compute(reader, data.get("compute", {}))
    api = _api(reader, data.get("api", {}))
    monitoring = _monitoring(reader, data.get("monitoring", {}))
    account = _account(reader, data["account"]) if "account" in data else None
    baseline = _baseline(reader, data.get("baseline", {}), environment)

    if reader.problems:
        raise ConfigError(reader.problems)
    return EnvironmentConfig(
        environment=environment,
        region=region,
        availability_zones=tuple(azs),
        tags=tags,
        backend=backend,
        network=network,
        logging=LoggingConfig(retention_days=log_retention),
        kms=KmsConfig(deletion_window_days=window),
        data=data_config,
        runtime=runtime,
        compute=compute,
        api=api,
        monitoring=monitoring,
        baseline=baseline,
        source=source,
        account=account,
    )


def load_environment(path: Path) -> EnvironmentConfig:
    try:
        text = read_text(path, MAX_CONFIG_BYTES, "environment file")
    except YamlFileError as error:
        raise ConfigError([str(error)]) from None
    return parse_environment(path, text)


def load_environments(
    config_dir: Path = ENVIRONMENTS_DIR, names: Sequence[str] = KNOWN_ENVIRONMENTS
) -> list[EnvironmentConfig]:
    """Load and validate the named environments, reporting the problems of every file at once."""
    problems: list[str] = []
    configs: list[EnvironmentConfig] = []
    for name in names:
        if name not in KNOWN_ENVIRONMENTS:
            problems.append(f"environment {name!r} is unknown; expected one of {', '.join(KNOWN_ENVIRONMENTS)}")
            continue
        try:
            configs.append(load_environment(Path(config_dir) / f"{name}.yaml"))
        except ConfigError as error:
            problems.extend(error.problems)
    if problems:
        raise ConfigError(problems)
    return configs

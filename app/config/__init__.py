"""Typed, validated environment configuration (a package: model, loader, one validator per section).

Each environment is one YAML file under ``app/environments/``. Loading validates every field before
anything is synthesized; a bad value raises :class:`ConfigError` naming the file, the field, the value
and what is allowed, so a typo can never reach ``cdktf.out/``. The PCI thresholds it enforces come from the
catalog (``app.config.thresholds``).

This package must not import cdktf: config errors are reported in a fraction of a second, without paying
the ~10 s it costs to load the AWS provider bindings. Every name is re-exported here, so callers import
from ``app.config`` and never from its modules.
"""

from __future__ import annotations

from app.config.loader import (
    ENVIRONMENTS_DIR,
    MAX_CONFIG_BYTES,
    OPTIONAL_SECTIONS,
    SECTIONS,
    load_environment,
    load_environments,
    parse_environment,
)
from app.config.model import (
    DOMAINS,
    AccountConfig,
    ApiConfig,
    AuditArchiveConfig,
    AuroraConfig,
    BackendConfig,
    BackupConfig,
    BaselineConfig,
    ComputeConfig,
    CrossAccountArn,
    DataConfig,
    DynamoDbConfig,
    EnvironmentConfig,
    FlowLogsConfig,
    FunctionConfig,
    KmsConfig,
    LoggingConfig,
    MigrationConfig,
    MigrationSourceConfig,
    MonitoringConfig,
    NetworkConfig,
    RuntimeConfig,
    S3BackendConfig,
    StorageTransition,
    Subscription,
    TrafficSlot,
    VpnConfig,
)
from app.config.reader import ConfigError, FieldReader
from app.config.thresholds import (
    CLOUDWATCH_RETENTION_DAYS,
    KNOWN_ENVIRONMENTS,
    PciThresholds,
    default_thresholds,
)
from app.config.validators.audit_archive import (
    OBJECT_LOCK_MODES,
    TRANSITION_STORAGE_CLASSES,
)
from app.config.validators.aurora import (
    AURORA_INSTANCE_CLASS_RE,
    MONITORING_INTERVALS,
    PERFORMANCE_INSIGHTS_RETENTION,
)
from app.config.validators.backend import (
    BACKEND_TYPES,
    LOCAL_STATE_ENVIRONMENTS,
    S3_LOCKING,
)
from app.config.validators.baseline import (
    MIN_MONTHLY_BACKUP_DAYS,
    MIN_PROD_DAILY_BACKUP_DAYS,
    MIN_VAULT_LOCK_CHANGEABLE_DAYS,
)
from app.config.validators.compute import (
    FUNCTION_NAMES,
)
from app.config.validators.data import (
    BILLING_MODES,
)
from app.config.validators.migration import (
    ACCOUNT_ROLE_OWNERSHIP,
    DMS_INSTANCE_CLASS_RE,
)
from app.config.validators.monitoring import (
    SUBSCRIPTION_PROTOCOLS,
)
from app.config.validators.network import (
    NAT_GATEWAY_COUNTS,
    SUBNET_TIERS,
)
from app.config.validators.placement import AZ_COUNT, Placement
from app.config.validators.runtime import (
    FRAUD_THRESHOLD_KEYS,
)
from app.config.validators.traffic import (
    DOWNSTREAM_FUNCTIONS,
    MAX_TARGET_WEIGHT,
    SLOT_KINDS,
)

__all__ = [
    "ACCOUNT_ROLE_OWNERSHIP",
    "AURORA_INSTANCE_CLASS_RE",
    "AZ_COUNT",
    "BACKEND_TYPES",
    "BILLING_MODES",
    "CLOUDWATCH_RETENTION_DAYS",
    "DMS_INSTANCE_CLASS_RE",
    "DOMAINS",
    "DOWNSTREAM_FUNCTIONS",
    "ENVIRONMENTS_DIR",
    "FRAUD_THRESHOLD_KEYS",
    "FUNCTION_NAMES",
    "KNOWN_ENVIRONMENTS",
    "LOCAL_STATE_ENVIRONMENTS",
    "MAX_CONFIG_BYTES",
    "MAX_TARGET_WEIGHT",
    "MIN_MONTHLY_BACKUP_DAYS",
    "MIN_PROD_DAILY_BACKUP_DAYS",
    "MIN_VAULT_LOCK_CHANGEABLE_DAYS",
    "MONITORING_INTERVALS",
    "NAT_GATEWAY_COUNTS",
    "OBJECT_LOCK_MODES",
    "OPTIONAL_SECTIONS",
    "PERFORMANCE_INSIGHTS_RETENTION",
    "S3_LOCKING",
    "SECTIONS",
    "SLOT_KINDS",
    "SUBNET_TIERS",
    "SUBSCRIPTION_PROTOCOLS",
    "TRANSITION_STORAGE_CLASSES",
    "AccountConfig",
    "ApiConfig",
    "AuditArchiveConfig",
    "AuroraConfig",
    "BackendConfig",
    "BackupConfig",
    "BaselineConfig",
    "ComputeConfig",
    "ConfigError",
    "CrossAccountArn",
    "DataConfig",
    "DynamoDbConfig",
    "EnvironmentConfig",
    "FieldReader",
    "FlowLogsConfig",
    "FunctionConfig",
    "KmsConfig",
    "LoggingConfig",
    "MigrationConfig",
    "MigrationSourceConfig",
    "MonitoringConfig",
    "NetworkConfig",
    "PciThresholds",
    "Placement",
    "RuntimeConfig",
    "S3BackendConfig",
    "StorageTransition",
    "Subscription",
    "TrafficSlot",
    "VpnConfig",
    "default_thresholds",
    "load_environment",
    "load_environments",
    "parse_environment",
]

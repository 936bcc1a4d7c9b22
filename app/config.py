"""Typed, validated environment configuration.

Each environment is one YAML file under ``app/environments/``. Loading validates every field before
anything is synthesized; a bad value raises :class:`ConfigError` naming the file, the field, the value
and what is allowed, so a typo can never reach ``cdktf.out/``.

This module must not import cdktf: config errors are reported in a fraction of a second, without paying
the ~10 s it costs to load the AWS provider bindings.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import yaml

ENVIRONMENTS_DIR = Path(__file__).resolve().parent / "environments"
KNOWN_ENVIRONMENTS = ("dev", "staging", "prod")
DOMAINS = ("security", "network", "data", "compute", "api", "monitoring")

REQUIRED_TAGS = ("Project", "Environment", "CostCenter", "Owner", "DataClassification", "PciScope", "ManagedBy")
DATA_CLASSIFICATIONS = ("public", "internal", "confidential", "restricted")
PCI_SCOPES = ("in-scope", "connected", "out-of-scope")
# The values CloudWatch Logs accepts for retention_in_days, restricted to >= 365 (PCI DSS 10.5.1).
LOG_RETENTION_DAYS = (365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)
NAT_GATEWAY_COUNTS = (1, 3)
AZ_COUNT = 3
SUBNET_TIERS = ("public", "private", "database")
BACKEND_TYPES = ("local", "s3")
S3_LOCKING = ("lockfile", "dynamodb")

_REGION_RE = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")


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
        return {"public": self.public_subnets, "private": self.private_subnets,
                "database": self.database_subnets}[tier]


@dataclass(frozen=True)
class KmsConfig:
    deletion_window_days: int


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
class EnvironmentConfig:
    environment: str
    region: str
    availability_zones: tuple[str, ...]
    tags: Mapping[str, str]
    backend: BackendConfig
    network: NetworkConfig
    kms: KmsConfig
    source: Path

    def stack_name(self, domain: str) -> str:
        if domain not in DOMAINS:
            raise ValueError(f"unknown domain {domain!r}; expected one of {', '.join(DOMAINS)}")
        return f"payments-{self.environment}-{domain}"

    @property
    def is_prod(self) -> bool:
        return self.environment == "prod"


class _Reader:
    """Walks one parsed YAML document, recording every problem instead of stopping at the first."""

    def __init__(self, source: Path):
        self.source = source
        self.problems: list[str] = []

    def problem(self, field: str, value: Any, allowed: str) -> None:
        self.problems.append(f"{self.source}: {field}: {value!r} is not allowed; expected {allowed}")

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
                self.problems.append(f"{self.source}: {name}: missing; this field is required")
        return data

    def value(self, data: dict, field: str, key: str, check: Callable[[Any], bool], allowed: str) -> Any:
        if key not in data:
            return None
        value = data[key]
        if not check(value):
            self.problem(f"{field}.{key}" if field else key, value, allowed)
            return None
        return value


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

    nat = reader.value(data, field, "nat_gateways", lambda v: _is_int(v) and v in NAT_GATEWAY_COUNTS,
                       "1 (one shared NAT gateway) or 3 (one per availability zone)")
    flow = reader.mapping(data.get("flow_logs", {}), f"{field}.flow_logs", ("retention_days",))
    retention = reader.value(flow, f"{field}.flow_logs", "retention_days",
                             lambda v: _is_int(v) and v in LOG_RETENTION_DAYS,
                             "a CloudWatch retention of at least 365 days: "
                             + ", ".join(map(str, LOG_RETENTION_DAYS)))
    if vpc is None or nat is None or retention is None or len(tiers) != len(SUBNET_TIERS):
        return None
    return NetworkConfig(vpc_cidr=str(vpc), public_subnets=tiers["public"], private_subnets=tiers["private"],
                         database_subnets=tiers["database"], nat_gateways=nat,
                         flow_logs=FlowLogsConfig(retention_days=retention))


def _tags(reader: _Reader, raw: Any, environment: Any) -> dict[str, str] | None:
    data = reader.mapping(raw, "tags", REQUIRED_TAGS)
    for key in REQUIRED_TAGS:
        if key in data and not _is_text(data[key]):
            reader.problem(f"tags.{key}", data[key], "a non-empty string")
    if _is_text(data.get("Environment")) and data["Environment"] != environment:
        reader.problem("tags.Environment", data["Environment"], f"the environment name {environment!r}")
    if _is_text(data.get("DataClassification")) and data["DataClassification"] not in DATA_CLASSIFICATIONS:
        reader.problem("tags.DataClassification", data["DataClassification"],
                       "one of " + ", ".join(DATA_CLASSIFICATIONS))
    if _is_text(data.get("PciScope")) and data["PciScope"] not in PCI_SCOPES:
        reader.problem("tags.PciScope", data["PciScope"], "one of " + ", ".join(PCI_SCOPES))
    if not isinstance(raw, dict) or any(not _is_text(raw.get(k)) for k in REQUIRED_TAGS):
        return None
    return {key: raw[key] for key in REQUIRED_TAGS}


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
    s3 = reader.mapping(data["s3"], "backend.s3", ("bucket", "key_prefix", "region", "kms_key_id", "locking"),
                        optional=("dynamodb_table",))
    values = {key: reader.value(s3, "backend.s3", key, _is_text, "a non-empty string")
              for key in ("bucket", "key_prefix", "region", "kms_key_id")}
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


def _unique_key_loader() -> type[yaml.SafeLoader]:
    class UniqueKeyLoader(yaml.SafeLoader):
        pass

    def construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
        keys = set()
        for key_node, _ in node.value:
            key = loader.construct_object(key_node, deep=deep)
            if key in keys:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark)
            keys.add(key)
        return loader.construct_mapping(node, deep=deep)

    UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    return UniqueKeyLoader


_LOADER = _unique_key_loader()


def parse_environment(source: Path, text: str) -> EnvironmentConfig:
    """Validate one environment document; raises ConfigError listing every invalid field."""
    try:
        raw = yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError as error:
        raise ConfigError([f"{source}: not valid YAML: {error}"]) from None
    reader = _Reader(source)
    keys = ("environment", "region", "availability_zones", "tags", "backend", "network", "kms")
    data = reader.mapping(raw, "", keys)

    environment = reader.value(data, "", "environment", lambda v: v in KNOWN_ENVIRONMENTS,
                               "one of " + ", ".join(KNOWN_ENVIRONMENTS))
    if environment is not None and source.stem != environment:
        reader.problem("environment", environment, f"the file's name without extension ({source.stem!r})")
    region = reader.value(data, "", "region", lambda v: isinstance(v, str) and bool(_REGION_RE.match(v)),
                          "an AWS region name such as us-east-1")
    azs = data.get("availability_zones")
    if "availability_zones" in data:
        if not isinstance(azs, list) or len(azs) != AZ_COUNT or len(set(map(str, azs))) != AZ_COUNT:
            reader.problem("availability_zones", azs, f"a list of exactly {AZ_COUNT} distinct availability zones")
            azs = None
        elif region is not None:
            for index, zone in enumerate(azs):
                if not (isinstance(zone, str) and re.fullmatch(re.escape(region) + r"[a-z]", zone)):
                    reader.problem(f"availability_zones[{index}]", zone,
                                   f"an availability zone of region {region}, e.g. {region}a")
                    azs = None
    tags = _tags(reader, data.get("tags", {}), environment)
    backend = _backend(reader, data.get("backend", {}))
    network = _network(reader, data.get("network", {}), "network")
    kms_data = reader.mapping(data.get("kms", {}), "kms", ("deletion_window_days",))
    window = reader.value(kms_data, "kms", "deletion_window_days", lambda v: _is_int(v) and 7 <= v <= 30,
                          "an integer from 7 to 30 (days)")

    if reader.problems:
        raise ConfigError(reader.problems)
    return EnvironmentConfig(environment=environment, region=region, availability_zones=tuple(azs),
                             tags=tags, backend=backend, network=network,
                             kms=KmsConfig(deletion_window_days=window), source=source)


def load_environment(path: Path) -> EnvironmentConfig:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError([f"{path}: cannot read environment file: {error.strerror}"]) from None
    return parse_environment(path, text)


def load_environments(config_dir: Path = ENVIRONMENTS_DIR,
                      names: Sequence[str] = KNOWN_ENVIRONMENTS) -> list[EnvironmentConfig]:
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

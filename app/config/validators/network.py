"""The ``network`` section: the VPC, its three subnet tiers, NAT gateways and flow logs."""

from __future__ import annotations

import ipaddress
from typing import Any

from app.config.model import FlowLogsConfig, NetworkConfig
from app.config.reader import FieldReader, ipv4_network, is_int
from app.config.validators.logging import log_retention
from app.config.validators.placement import AZ_COUNT

NAT_GATEWAY_COUNTS = (1, 3)
SUBNET_TIERS = ("public", "private", "database")


def validate_network(reader: FieldReader, raw: Any, field: str) -> NetworkConfig | None:
    keys = ("vpc_cidr", "public_subnets", "private_subnets", "database_subnets", "nat_gateways", "flow_logs")
    data = reader.mapping(raw, field, keys)
    vpc_cidr = data.get("vpc_cidr")
    vpc = ipv4_network(vpc_cidr)
    if vpc is not None and not 16 <= vpc.prefixlen <= 24:
        reader.problem(f"{field}.vpc_cidr", vpc_cidr, "a prefix length between /16 and /24")
        vpc = None
    elif vpc is None and "vpc_cidr" in data:
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
            net = ipv4_network(cidr)
            if net is None:
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
        lambda v: is_int(v) and v in NAT_GATEWAY_COUNTS,
        "1 (one shared NAT gateway) or 3 (one per availability zone)",
    )
    flow = reader.mapping(data.get("flow_logs", {}), f"{field}.flow_logs", ("retention_days",))
    retention = reader.value(
        flow,
        f"{field}.flow_logs",
        "retention_days",
        *log_retention(reader),
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

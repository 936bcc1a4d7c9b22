"""The ``compute`` section: the three payment functions, the internal ALB and the VPN to on-prem."""

from __future__ import annotations

import ipaddress
from typing import Any

from app.config.model import ComputeConfig, FunctionConfig, VpnConfig
from app.config.reader import (
    HOSTNAME_RE,
    FieldReader,
    arn_of,
    int_between,
    ipv4_address,
    is_bool,
    is_cidr_list,
    is_int,
    matches,
    one_of,
)
from app.config.validators.traffic import validate_traffic_slot

FUNCTION_NAMES = ("payment_validation", "fraud_detection", "transaction_processing")
_RFC1918 = tuple(ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))


def validate_compute(reader: FieldReader, raw: Any) -> ComputeConfig | None:
    data = reader.mapping(raw, "compute", ("functions", "alb", "traffic"), optional=("vpn",))
    functions = _functions(reader, data.get("functions", {}))
    alb = _alb(reader, data.get("alb", {}))
    traffic = reader.mapping(data.get("traffic", {}), "compute.traffic", ("blue", "green"))
    blue = validate_traffic_slot(reader, traffic.get("blue", {}), "blue")
    green = validate_traffic_slot(reader, traffic.get("green", {}), "green")
    if blue is not None and green is not None and blue.weight + green.weight == 0:
        reader.problem("compute.traffic.green.weight", green.weight, "a total weight above 0 (no traffic would flow)")
        green = None
    if green is not None and green.kind != "lambda":
        reader.problem("compute.traffic.green.kind", green.kind, "lambda: green is always the new Lambda stack")
        green = None
    needs_vpn = blue is not None and blue.kind == "onprem"
    vpn = None
    if needs_vpn and "vpn" not in data:
        reader.missing("compute.vpn", "required while a slot is onprem")
    elif "vpn" in data:
        vpn = _vpn(reader, data["vpn"])
    if vpn is not None and blue is not None and blue.kind == "onprem":
        for target in blue.targets:
            if not any(ipaddress.IPv4Address(target) in ipaddress.IPv4Network(c) for c in vpn.onprem_cidrs):
                reader.problem("compute.traffic.blue.targets", target, "an address inside compute.vpn.onprem_cidrs")
                blue = None
                break
    if (
        len(functions) != len(FUNCTION_NAMES)
        or blue is None
        or green is None
        or any(value is None for value in alb.values())
        or (needs_vpn and vpn is None)
    ):
        return None
    return ComputeConfig(functions=functions, blue=blue, green=green, vpn=vpn, **alb)


def _functions(reader: FieldReader, raw: Any) -> dict[str, FunctionConfig]:
    """The functions whose settings are valid (all three when there is no problem)."""
    data = reader.mapping(raw, "compute.functions", FUNCTION_NAMES)
    functions: dict[str, FunctionConfig] = {}
    for name in FUNCTION_NAMES:
        field = f"compute.functions.{name}"
        spec = reader.mapping(
            data.get(name, {}),
            field,
            ("memory_mb", "timeout_seconds", "reserved_concurrency", "provisioned_concurrency"),
        )
        memory = reader.value(spec, field, "memory_mb", int_between(128, 10240), "128 to 10240 MB")
        timeout = reader.value(
            spec,
            field,
            "timeout_seconds",
            int_between(1, 60),
            "1 to 60 seconds (behind the ALB and API Gateway's 29 s integration timeout)",
        )
        reserved = reader.value(
            spec,
            field,
            "reserved_concurrency",
            int_between(1, 1000),
            "1 to 1000 (reserved concurrency is required: it caps and guarantees capacity)",
        )
        provisioned = reader.value(spec, field, "provisioned_concurrency", int_between(0, 1000), "0 to 1000")
        if reserved is not None and provisioned is not None and provisioned > reserved:
            reader.problem(
                f"{field}.provisioned_concurrency", provisioned, f"at most reserved_concurrency ({reserved})"
            )
            provisioned = None
        if None not in (memory, timeout, reserved, provisioned):
            functions[name] = FunctionConfig(memory, timeout, reserved, provisioned)
    return functions


def _alb(reader: FieldReader, raw: Any) -> dict[str, Any]:
    """The ALB's fields of ComputeConfig, None where invalid."""
    field = "compute.alb"
    data = reader.mapping(raw, field, ("certificate_arn", "ssl_policy", "internal_hostname"))
    return {
        "alb_certificate_arn": reader.value(data, field, "certificate_arn", *arn_of("acm", "an ACM certificate")),
        "alb_ssl_policy": reader.value(data, field, "ssl_policy", *one_of(reader.pci.alb_tls_policies)),
        "internal_hostname": reader.value(
            data,
            field,
            "internal_hostname",
            matches(HOSTNAME_RE),
            "the DNS name on the ALB certificate (API Gateway verifies it)",
        ),
    }


def _public_ip(value: Any) -> bool:
    address = ipv4_address(value)
    return address is not None and not (
        any(address in net for net in _RFC1918)
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_unspecified
        or address.is_reserved
    )


def _vpn(reader: FieldReader, raw: Any) -> VpnConfig | None:
    field = "compute.vpn"
    data = reader.mapping(raw, field, ("customer_gateway_ip", "bgp_asn", "static_routes_only", "onprem_cidrs"))
    gateway = reader.value(
        data, field, "customer_gateway_ip", _public_ip, "the public IPv4 address of the on-prem VPN device"
    )
    asn = reader.value(
        data,
        field,
        "bgp_asn",
        lambda v: is_int(v) and (64512 <= v <= 65534 or 4200000000 <= v <= 4294967294),
        "a private BGP ASN (64512-65534 or 4200000000-4294967294)",
    )
    static = reader.value(data, field, "static_routes_only", is_bool, "true or false")
    cidrs: Any = data.get("onprem_cidrs")
    valid = is_cidr_list(cidrs, private=True)
    if "onprem_cidrs" in data and not valid:
        reader.problem(f"{field}.onprem_cidrs", cidrs, "a non-empty list of private IPv4 CIDRs")
    if None in (gateway, asn, static) or not valid:
        return None
    return VpnConfig(customer_gateway_ip=gateway, bgp_asn=asn, static_routes_only=static, onprem_cidrs=tuple(cidrs))

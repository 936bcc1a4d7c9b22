"""``compute.traffic.blue`` / ``.green``: the two weighted ALB slots of the blue/green shift."""

from __future__ import annotations

from typing import Any

from app.config.model import TrafficSlot
from app.config.reader import FieldReader, int_between, ipv4_address, one_of

# The functions transaction_processing invokes (through the alias of its own slot).
DOWNSTREAM_FUNCTIONS = ("payment_validation", "fraud_detection")
SLOT_KINDS = ("lambda", "onprem")
MAX_TARGET_WEIGHT = 999


def validate_traffic_slot(reader: FieldReader, raw: Any, name: str) -> TrafficSlot | None:
    field = f"compute.traffic.{name}"
    data = reader.mapping(
        raw, field, ("kind", "weight"), optional=("targets", "port", "version", "downstream_versions")
    )
    kind = reader.value(data, field, "kind", *one_of(SLOT_KINDS))
    weight = reader.value(
        data,
        field,
        "weight",
        int_between(0, MAX_TARGET_WEIGHT),
        f"an integer from 0 to {MAX_TARGET_WEIGHT} (ALB target-group weight)",
    )
    targets, port = (), None
    if kind == "onprem":
        raw_targets: Any = data.get("targets")
        valid = isinstance(raw_targets, list) and bool(raw_targets)
        for target in raw_targets if isinstance(raw_targets, list) else []:
            address = ipv4_address(target)
            valid = valid and address is not None and address.is_private
        if not valid:
            reader.problem(
                f"{field}.targets",
                raw_targets,
                "a non-empty list of private IPv4 addresses of the on-prem payment service",
            )
            return None
        targets = tuple(raw_targets)
        port = reader.value(data, field, "port", int_between(1, 65535), "the HTTPS port of the on-prem service")
        if port is None:
            if "port" not in data:
                reader.missing(f"{field}.port", "required for an onprem slot")
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
            reader.problem(
                f"{field}.version", data["version"], "nothing: green always runs the latest published version"
            )
            return None
        version = reader.value(
            data,
            field,
            "version",
            int_between(1, 10**9),
            "the published function version blue keeps serving (omit for the latest)",
        )
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
            and all(int_between(1, 10**9)(v) for v in raw_versions.values())
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

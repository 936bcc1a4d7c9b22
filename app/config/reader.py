"""The walker every section validator uses: it reads one parsed YAML document field by field, recording each
problem (``file: field: value is not allowed; expected ...``) instead of stopping at the first, so one run
reports every mistake of a file. The predicates the validators share live here too."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from app.config.thresholds import PciThresholds
from policies.problems import Problems, ProblemsError

ARN_RE = re.compile(r"^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:\d{12}:.+$")
HOSTNAME_RE = re.compile(r"^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")

Check = Callable[[Any], bool]


class ConfigError(ProblemsError):
    """One or more invalid values in an environment file; ``str()`` lists every problem found."""


class FieldReader:
    """Walks one parsed YAML document, recording every problem instead of stopping at the first."""

    def __init__(self, source: Path, thresholds: PciThresholds):
        self.pci = thresholds
        self.found = Problems(source)

    @property
    def problems(self) -> list[str]:
        return self.found.items

    def problem(self, field: str, value: Any, allowed: str) -> None:
        self.found.not_allowed(field, value, allowed)

    def missing(self, field: str, why: str = "this field is required") -> None:
        self.found.missing(field, why)

    def mapping(self, data: Any, field: str, keys: Sequence[str], optional: Sequence[str] = ()) -> dict[Any, Any]:
        """``data`` if it is a mapping (an empty one otherwise), each unknown and each missing key a problem."""
        if not isinstance(data, dict):
            self.problem(field or "<document>", data, "a mapping with keys " + ", ".join(keys))
            return {}
        for key in data:
            if key not in keys and key not in optional:
                name = f"{field}.{key}" if field else str(key)
                self.problem(name, data[key], "no such field (known: " + ", ".join((*keys, *optional)) + ")")
        for key in keys:
            if key not in data:
                self.missing(f"{field}.{key}" if field else key)
        return data

    def entries(self, items: list[Any], field: str, keys: Sequence[str]) -> Iterator[tuple[str, dict[Any, Any]]]:
        """Each item of a list of mappings as (its field path, the item as :meth:`mapping` checked it)."""
        for index, item in enumerate(items):
            name = f"{field}[{index}]"
            yield name, self.mapping(item, name, keys)

    def values(self, data: dict[Any, Any], field: str, checks: Mapping[str, tuple[Check, str]]) -> dict[str, Any]:
        """:meth:`value` of each key of ``checks`` (key -> (check, what is allowed)), in that order."""
        return {key: self.value(data, field, key, check, allowed) for key, (check, allowed) in checks.items()}

    def value(self, data: dict[Any, Any], field: str, key: str, check: Check, allowed: str) -> Any:
        """``data[key]`` if present and passing ``check``; None otherwise (a problem if present and failing)."""
        if key not in data:
            return None
        value = data[key]
        if not check(value):
            self.problem(f"{field}.{key}" if field else key, value, allowed)
            return None
        return value


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_text(value: Any) -> bool:
    return isinstance(value, str) and value.strip() != ""


def is_bool(value: Any) -> bool:
    return isinstance(value, bool)


def int_between(low: int, high: int) -> Check:
    return lambda v: is_int(v) and low <= v <= high


def ipv4_network(value: Any) -> ipaddress.IPv4Network | None:
    """``value`` as an IPv4 network in CIDR notation with no host bits set, else None. Only text counts: ipaddress
    also reads an integer (or a boolean) as an address, and the raw number would reach Terraform unconverted."""
    if not isinstance(value, str):
        return None
    try:
        return ipaddress.IPv4Network(value, strict=True)
    except ValueError:
        return None


def ipv4_address(value: Any) -> ipaddress.IPv4Address | None:
    """``value`` as a dotted-quad IPv4 address, else None (text only, as :func:`ipv4_network`)."""
    if not isinstance(value, str):
        return None
    try:
        return ipaddress.IPv4Address(value)
    except ValueError:
        return None


def is_cidr_list(value: Any, *, private: bool = False) -> bool:
    """A non-empty list of IPv4 networks in CIDR notation with no host bits set; all private if ``private``."""
    if not isinstance(value, list) or not value:
        return False
    networks = [ipv4_network(cidr) for cidr in value]
    return all(network is not None and (network.is_private or not private) for network in networks)


def deletion_protection(environment: Any) -> tuple[Check, str]:
    """A deletion_protection flag: prod must keep it on, other environments may turn it off."""
    if environment == "prod":
        return (lambda v: v is True, "true in prod")
    return (is_bool, "true or false")


def matches(pattern: re.Pattern[str]) -> Check:
    return lambda v: isinstance(v, str) and bool(pattern.match(v))


def one_of(choices: Sequence[Any]) -> tuple[Check, str]:
    return (lambda v: v in choices, "one of " + ", ".join(map(str, choices)))


def arn_of(service: str, description: str) -> tuple[Check, str]:
    return (
        lambda v: isinstance(v, str) and bool(ARN_RE.match(v)) and f":{service}:" in v,
        f"the ARN of {description}",
    )

"""What a synth-time rule says about one construct."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from policies.rules.values import block


class Status(Enum):
    COMPLIANT = "COMPLIANT"
    NON_COMPLIANT = "NON_COMPLIANT"
    NOT_APPLICABLE = "NOT_APPLICABLE"


@dataclass(frozen=True)
class Verdict:
    status: Status
    attribute: str = ""
    observed: Any = None
    expected: str = ""


COMPLIANT = Verdict(Status.COMPLIANT)
NOT_APPLICABLE = Verdict(Status.NOT_APPLICABLE)


def non_compliant(attribute: str, observed: Any, expected: str) -> Verdict:
    return Verdict(Status.NON_COMPLIANT, attribute, observed, expected)


def require(condition: bool, attribute: str, observed: Any, expected: str) -> Verdict:
    return COMPLIANT if condition else non_compliant(attribute, observed, expected)


def require_true(attributes: Mapping[str, Any], key: str, expected: str = "true") -> Verdict:
    """The attribute is literally true (a token or any other value is not)."""
    return require(attributes.get(key) is True, key, attributes.get(key), expected)


def require_block_field(attributes: Mapping[str, Any], block_name: str, key: str, wanted: str | bool) -> Verdict:
    """A field of a nested block (written as an object or a one-element list) is exactly ``wanted``."""
    observed = block(attributes, block_name).get(key)
    if isinstance(wanted, bool):
        return require(observed is wanted, f"{block_name}.{key}", observed, str(wanted).lower())
    return require(observed == wanted, f"{block_name}.{key}", observed, wanted)

"""The card-data rule, applied where client data enters a function (PCI DSS v4.0.1 3.4.1 and 3.5.1: the PAN
is unreadable wherever it is stored, so it must never reach a place that stores text as it is).

A card number may be sent in the payment request's card-number field and nowhere else. Any other value a
client supplies - identifiers, the idempotency key, headers, path, query, a field's name or value at any
depth, numbers included - that holds a card number (`cards.contains_card_number`: 13 to 19 digits passing
the Luhn check, however separated) is refused before anything else is done with the request. The error names
the field and never quotes it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from payments_common.cards import contains_card_number
from payments_common.contracts import MAX_NESTING, field_path

# A path in a request: field names and list positions from the top.
Path = tuple[str | int, ...]
# The one place in a payment request where a card number belongs.
CARD_NUMBER_FIELD: Path = ("card", "number")


def card_data_message(field: str) -> str:
    return f"{field} must not contain a card number (13 to 19 digits that pass the Luhn check, however separated)"


def _holds_card_number(value: Any) -> bool:
    if isinstance(value, str):
        return contains_card_number(value)
    # JSON numbers: 4111111111111111 is as much a card number as "4111111111111111".
    return isinstance(value, (int, float)) and not isinstance(value, bool) and contains_card_number(repr(value))


def _fits(value: Any, rule: re.Pattern[str] | None) -> bool:
    return rule is None or (isinstance(value, str) and bool(rule.fullmatch(value)))


def card_data_errors(
    value: Any, *, root: str = "request", permitted: Mapping[Path, re.Pattern[str] | None] | None = None
) -> list[dict[str, str]]:
    """One `{"field", "message"}` per place in `value` holding a card number, except at `permitted` paths
    (None: any value, i.e. the card-number field; a pattern: a value that fully matches it, such as the hex
    digits of a card token, which may contain a Luhn-valid stretch by chance).

    Nesting deeper than `MAX_NESTING` is an error too: it cannot be screened with bounded work, and no
    payload of ours is nested that deep.
    """
    permitted = permitted or {}
    errors: list[dict[str, str]] = []
    pending: list[tuple[Path, Any]] = [((), value)]
    while pending:
        path, item = pending.pop()
        if isinstance(item, (dict, list)) and len(path) >= MAX_NESTING:
            field = field_path(path, root)
            return [{"field": field, "message": f"{field} is nested more than {MAX_NESTING} levels deep"}]
        if isinstance(item, dict):
            for key, child in item.items():
                if isinstance(key, str) and contains_card_number(key):
                    field = field_path(path, root)
                    errors.append({"field": field, "message": f"{field} has a field name that contains a card number"})
                else:
                    pending.append(((*path, key), child))
        elif isinstance(item, list):
            pending.extend(((*path, index), child) for index, child in enumerate(item))
        elif _holds_card_number(item) and not (path in permitted and _fits(item, permitted[path])):
            field = field_path(path, root)
            errors.append({"field": field, "message": card_data_message(field)})
    return sorted(errors, key=lambda error: error["field"])

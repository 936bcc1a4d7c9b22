"""Reading a construct's synthesized attributes at synth time.

``to_terraform()`` gives the attributes as they will be written, except that references are still
unresolved tokens (``${TfToken[TOKEN.12]}``, ``#{TfToken[...]}`` in lists, huge negative numbers for number
tokens). A token counts as *set*, never as a literal that satisfies a comparison. Judgements on values are
shared with the checkov checks (``policies/predicates.py``); this module only reads the attributes' shape.
The area rule modules (``policies/controls/<area>/rules.py``) import both from here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from policies.predicates import at_least, is_audit_bucket_name, is_customer_managed_key, is_number
from policies.predicates import parameter as param

__all__ = ["at_least", "block", "blocks", "environment_variable_names", "is_audit_bucket", "is_customer_managed_key",
           "is_number", "is_pure_token", "is_set", "is_token", "param"]

PURE_TOKEN = re.compile(r"[$#]\{TfToken\[[^\]]+\]\}")


def is_token(value: Any) -> bool:
    return isinstance(value, str) and "TfToken[" in value


def is_pure_token(value: Any) -> bool:
    """Exactly one token, e.g. a reference to another construct's attribute."""
    return isinstance(value, str) and PURE_TOKEN.fullmatch(value) is not None


def blocks(value: Any) -> list[dict[str, Any]]:
    """A nested block, written either as an object or as a list of objects."""
    items = value if isinstance(value, list) else [value]
    return [item for item in items if isinstance(item, dict)]


def block(attributes: Mapping[str, Any], key: str) -> dict[str, Any]:
    found = blocks(attributes.get(key))
    return found[0] if found else {}


def is_set(value: Any) -> bool:
    return value is not None and value != "" and value != [] and value != {}


def is_audit_bucket(attributes: Mapping[str, Any]) -> bool:
    return is_audit_bucket_name(attributes.get("bucket") or attributes.get("bucket_prefix") or "")


def environment_variable_names(attributes: Mapping[str, Any]) -> list[str] | None:
    """Names of a function's environment variables; None when the whole map is a token (unknown)."""
    variables = block(attributes, "environment").get("variables")
    if variables is None:
        return []
    return list(variables) if isinstance(variables, Mapping) else None

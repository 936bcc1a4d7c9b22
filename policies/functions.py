"""The functions JMESPath rules may call besides the standard library.

They are generic (no control logic lives here): JMESPath has neither variables nor regular expressions, and
Terraform JSON writes a nested block either as an object or as a list of objects.

    param(name)                      a catalog parameter (e.g. param('min_log_retention_days'))
    blocks(value)                    a block as a list: null -> [], object -> [object], list -> list
    missing_keys(object, keys)       the keys whose value is absent, null or an empty string
    regex_search(pattern, value)     true when value is a string containing a match
    regex_capture(pattern, value)    the first group of the first match, or null
    is_reference(value)              true when value is exactly one ${...} expression (known at apply time)
    find_leaves(strings, key_pattern, value_pattern)
                                     [{path, value}] of a view's strings (its `strings` field) that match
                                     value_pattern, or whose key matches key_pattern and that are non-empty
                                     literals (not ${...} references)
    invalid_values(object, allowed)  the keys of allowed (key -> list of values) whose value in object is
                                     not one of them
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from functools import lru_cache

from jmespath import functions

from policies.blocks import block_list
from policies.jsontypes import JsonObject, JsonValue
from policies.model import is_pure_reference


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def leaves(value: JsonValue, path: str = "") -> Iterator[tuple[str, str, JsonValue]]:
    """(path, key, value) of every scalar under value; key is "" for list items. Skips "//" metadata."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "//":
                continue
            child = f"{path}.{key}" if path else str(key)
            if isinstance(item, (dict, list)):
                yield from leaves(item, child)
            else:
                yield child, str(key), item
    elif isinstance(value, list):
        for index, item in enumerate(value):
            child = f"{path}[{index}]"
            if isinstance(item, (dict, list)):
                yield from leaves(item, child)
            else:
                yield child, "", item


@lru_cache(maxsize=64)
def _key_matcher(pattern: str) -> Callable[[str], bool]:
    """Whether a key matches; keys repeat across every block (tags, Name, ...), so answers are cached."""
    search = _compiled(pattern).search
    return lru_cache(maxsize=4096)(lambda key: search(key) is not None)


@lru_cache(maxsize=64)
def _value_matcher(pattern: str) -> Callable[[str], bool]:
    """Whether a string value matches; most values recur across stacks and environments (references, tag
    values, names), so answers are cached: the secret scan of every string is the engine's largest rule."""
    search = _compiled(pattern).search
    return lru_cache(maxsize=65536)(lambda text: search(text) is not None)


def find_leaves(strings: list[list[str]], key_pattern: str, value_pattern: str) -> list[dict[str, str]]:
    """The ``[path, key, value]`` strings (model.string_leaves) that hold a secret: a value shaped like one, or
    a literal (not a ``${...}`` reference) under a key named like one. The secret scan of PCI-SEC-002 and
    the redactor of the evidence (policies/redaction.py) both ask this, so they always agree."""
    key_matches, value_matches = _key_matcher(key_pattern), _value_matcher(value_pattern)
    return [{"path": path, "value": text} for path, key, text in strings
            if value_matches(text) or (key and key_matches(key) and text.strip() and not is_pure_reference(text))]


class PolicyFunctions(functions.Functions):
    def __init__(self, parameters: Mapping[str, JsonValue]):
        super().__init__()
        self._parameters = parameters
        self._plans: dict[str, tuple[frozenset[str] | None, ...] | None] = {}

    def _validate_arguments(self, args: list[JsonValue], signature: list[JsonObject], function_name: str) -> None:
        # jmespath re-derives the allowed types from the (fixed) signature on every call of every function, a
        # fifth of the engine's time. Decided once per function instead: a call whose arguments all have an
        # allowed top-level type (and no element types to check) passes at once; anything else (wrong arity,
        # variadic or typed-array signatures, a type error) takes jmespath's own path and raises its errors.
        if function_name not in self._plans:
            self._plans[function_name] = self._plan(signature)
        plan = self._plans[function_name]
        if plan is not None and len(args) == len(plan):
            for arg, allowed in zip(args, plan):
                if allowed is not None and type(arg).__name__ not in allowed:
                    break
            else:
                return
        # jmespath's private hooks (this one, _get_allowed_pytypes) are not in its stubs.
        super()._validate_arguments(args, signature, function_name)  # type: ignore[misc]

    def _plan(self, signature: list[JsonObject]) -> tuple[frozenset[str] | None, ...] | None:
        if not signature or signature[-1].get("variadic"):
            return None
        plan: list[frozenset[str] | None] = []
        for spec in signature:
            if not spec["types"]:
                plan.append(None)
                continue
            allowed, element_types = self._get_allowed_pytypes(spec["types"])  # type: ignore[attr-defined]
            if element_types:
                return None
            plan.append(frozenset(allowed))
        return tuple(plan)

    @functions.signature({"types": ["string"]})
    def _func_param(self, name: str) -> JsonValue:
        if name not in self._parameters:
            raise KeyError(f"unknown catalog parameter {name!r}")
        return self._parameters[name]

    @functions.signature({"types": []})
    def _func_blocks(self, value: JsonValue) -> list[JsonValue]:
        return block_list(value)

    @functions.signature({"types": ["object", "null"]}, {"types": ["array"]})
    def _func_missing_keys(self, mapping: JsonObject | None, keys: list[JsonValue]) -> list[JsonValue]:
        mapping = mapping or {}
        return [key for key in keys if mapping.get(key) in (None, "")]

    @functions.signature({"types": ["string"]}, {"types": []})
    def _func_regex_search(self, pattern: str, value: JsonValue) -> bool:
        return isinstance(value, str) and _compiled(pattern).search(value) is not None

    @functions.signature({"types": ["string"]}, {"types": []})
    def _func_regex_capture(self, pattern: str, value: JsonValue) -> str | None:
        match = _compiled(pattern).search(value) if isinstance(value, str) else None
        return match.group(1) if match else None

    @functions.signature({"types": []})
    def _func_is_reference(self, value: JsonValue) -> bool:
        return is_pure_reference(value)

    @functions.signature({"types": ["array"]}, {"types": ["string"]}, {"types": ["string"]})
    def _func_find_leaves(self, strings: list[list[str]], key_pattern: str, value_pattern: str) -> list[dict[str, str]]:
        return find_leaves(strings, key_pattern, value_pattern)

    @functions.signature({"types": ["object", "null"]}, {"types": ["object"]})
    def _func_invalid_values(self, mapping: JsonObject | None, allowed: JsonObject) -> list[str]:
        mapping = mapping or {}
        return [key for key, values in allowed.items() if mapping.get(key) not in values]

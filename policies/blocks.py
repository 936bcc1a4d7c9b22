"""Nested blocks of Terraform JSON in either legal shape, read one way by every reader of the synth.

Terraform's JSON syntax writes a nested block as an object (one block) or as a list of objects (any number
of them): ``"point_in_time_recovery": {"enabled": true}`` and ``"point_in_time_recovery": [{"enabled": true}]``
are the same configuration. cdktf writes single blocks as objects and repeated ones as lists; another tool,
or a hand edit, may write either. The JMESPath rules (``blocks()``), the checkov checks, the evidence and the
reports (topology, diagrams, traffic splits, tag coverage) read nested blocks only through these helpers, so
both shapes give the same verdicts and the same reports.
"""

from __future__ import annotations

import re

from policies.jsontypes import JsonObject, JsonValue

_FIRST_INDEX = re.compile(r"\[0\](?=\.|\[|$)")


def block_list(value: JsonValue) -> list[JsonValue]:
    """A nested block as a list: absent (null) -> [], one block (object) -> [it], a list -> the list."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def first_block(value: JsonValue) -> JsonObject:
    """The first (for a single block: the only) block of a nested block in either shape; {} when absent."""
    return next((block for block in block_list(value) if isinstance(block, dict)), {})


def canonical_path(path: str) -> str:
    """An attribute path with the index of a first block dropped: ``default_action[0].target_group_arn`` (the
    list shape) and ``default_action.target_group_arn`` (the object shape) name the same value."""
    return _FIRST_INDEX.sub("", path)

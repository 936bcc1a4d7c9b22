"""Cost-allocation tagging: every taggable resource carries the environment's required tags.

"Taggable" is decided by the provider schema (a resource type with a ``tags`` attribute), read from the
committed extract ``aws_taggable_resource_types.json`` (regenerate: ``make taggable-types``). Only
``TerraformResource``s are tagged: data sources expose ``tags`` too, but as a filter, not as tags to set.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

import jsii
from cdktf import IAspect, TerraformResource
from constructs import IConstruct

TAGGABLE_TYPES_FILE = Path(__file__).resolve().parent / "aws_taggable_resource_types.json"


@lru_cache(maxsize=1)
def taggable_resource_types() -> frozenset[str]:
    return frozenset(json.loads(TAGGABLE_TYPES_FILE.read_text())["resource_types"])


def merged_tags(required: Mapping[str, str], own: Mapping[str, str] | None) -> dict[str, str]:
    """The resource's own tags win over the environment's: a construct may refine, e.g., DataClassification."""
    return {**required, **(own or {})}


@jsii.implements(IAspect)
class CostAllocationTagging:
    """Add to every stack (aspects on the App are not applied to stacks by cdktf)."""

    def __init__(self, tags: Mapping[str, str]):
        self._tags = dict(tags)

    def visit(self, node: IConstruct) -> None:
        if not isinstance(node, TerraformResource):
            return
        if node.terraform_resource_type not in taggable_resource_types():
            return
        # tags_input/tags exist on the taggable provider classes only, not on jsii's TerraformResource type.
        own = node.tags_input  # type: ignore[attr-defined]
        if own is not None and not isinstance(own, Mapping):
            raise TypeError(
                f"{node.node.path}: tags must be a literal mapping for cost-allocation tagging, got {own!r}"
            )
        node.tags = merged_tags(self._tags, own)  # type: ignore[attr-defined]

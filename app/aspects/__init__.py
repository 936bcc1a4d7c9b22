"""Aspects applied to every stack, in order: cost-allocation tagging first, then the PCI rule pack."""

from app.aspects.tagging import CostAllocationTagging, taggable_resource_types

__all__ = ["CostAllocationTagging", "taggable_resource_types"]

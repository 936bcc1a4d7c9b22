"""Inventory tags (PCI-TAG-*): the synth-time aspect rules (pure functions)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.rules.registry import rule
from policies.rules.values import param
from policies.rules.verdict import Verdict, non_compliant, require


@rule("PCI-TAG-001", "@taggable")
def required_tags_present(attributes: Mapping[str, Any]) -> Verdict:
    tags = attributes.get("tags")
    if not isinstance(tags, Mapping):
        return non_compliant("tags", tags, "a literal map of the required tags")
    missing = [key for key in param("required_tags") if tags.get(key) in (None, "")]
    if missing:
        return non_compliant("tags", {"missing": missing}, f"all of {', '.join(param('required_tags'))}")
    invalid = {key: tags[key] for key, allowed in param("tag_values").items() if tags.get(key) not in allowed}
    return require(not invalid, "tags", invalid, "values from the catalog's tag_values")


@rule("PCI-TAG-002", "@taggable", scoped=True)
def environment_tag_matches_stack(attributes: Mapping[str, Any], *, environment: str) -> Verdict:
    tags = attributes.get("tags")
    claimed = tags.get("Environment") if isinstance(tags, Mapping) else None
    return require(claimed in (None, environment), "tags.Environment", claimed,
                   f"{environment} (the environment of its stack), or no Environment tag (PCI-TAG-001 requires one)")

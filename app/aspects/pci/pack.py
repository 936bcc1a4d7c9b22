"""The rule pack: synth-time rules registered under the catalog's control ids (cdk-nag style).

A rule is a pure function of a construct's synthesized attributes (and, when registered ``typed``, of its
resource type; when registered ``scoped``, of its stack's environment, policies/scope.py) returning a
:class:`Verdict`. Its metadata — title, PCI DSS requirements, remediation —
comes from ``policies/catalog.yaml``; the pack refuses to load when the registered rules and the catalog's
``layers.aspect`` lists disagree, so neither can drift from the other.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from app.aspects.pci.verdict import Verdict
from policies.catalog import EVERY_BLOCK, TAGGABLE, Catalog, Control

Check = Callable[..., Verdict]


@dataclass(frozen=True)
class Rule:
    name: str
    control_id: str
    selectors: tuple[str, ...]  # resource types, data.<type>, "*" (everything) or "@taggable"
    check: Check
    typed: bool
    scoped: bool = False

    def applies_to(self, selector: str, kind: str, taggable: frozenset[str]) -> bool:
        return (
            EVERY_BLOCK in self.selectors
            or selector in self.selectors
            or (TAGGABLE in self.selectors and kind == "resource" and selector in taggable)
        )

    def evaluate(self, attributes: Mapping[str, Any], resource_type: str, environment: str) -> Verdict:
        scope = {"environment": environment} if self.scoped else {}
        return self.check(attributes, resource_type, **scope) if self.typed else self.check(attributes, **scope)


RULES: list[Rule] = []


def rule(control_id: str, *selectors: str, typed: bool = False, scoped: bool = False) -> Callable[[Check], Check]:
    """Register a rule function for a control; the function's name is its rule name in the catalog."""

    def register(check: Check) -> Check:
        RULES.append(Rule(name=check.__name__, control_id=control_id, selectors=selectors, check=check, typed=typed,
                          scoped=scoped))
        return check

    return register


class PackMismatchError(Exception):
    pass


def verify_against_catalog(rules: list[Rule], catalog: Catalog) -> dict[str, Control]:
    """The control of every rule; raises when the catalog's aspect layers and the registered rules differ."""
    registered = {(r.control_id, r.name) for r in rules}
    declared = {(c.id, name) for c in catalog.controls for name in c.layers.aspect}
    if registered != declared:
        raise PackMismatchError(
            f"app/aspects/pci and {catalog.source.name} disagree: registered but not in the catalog: "
            f"{sorted(registered - declared) or 'none'}; in the catalog but not registered: "
            f"{sorted(declared - registered) or 'none'}"
        )
    return {r.name: catalog.control(r.control_id) for r in rules}

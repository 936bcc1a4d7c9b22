"""The rule registry: synth-time rules registered under the catalog's control ids (cdk-nag style).

A rule is a pure function of a construct's synthesized attributes (and, when registered ``typed``, of its
resource type; when registered ``scoped``, of its stack's environment, policies/scope.py) returning a
:class:`Verdict`. It lives in the ``rules.py`` of its control's area (``policies/controls/<area>/``); its
metadata — title, PCI DSS requirements, remediation — comes from the catalog. :func:`registered_rules` refuses
rules that the catalog's ``layers.aspect`` lists do not declare (or the reverse) and rules filed under another
control's area, so neither can drift from the other.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from policies.catalog import CONTROLS_DIR, EVERY_BLOCK, TAGGABLE, Catalog, Control, area_of
from policies.rules.verdict import Verdict

Check = Callable[..., Verdict]
RULES_MODULE = "rules"


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

    @property
    def module(self) -> str:
        return str(self.check.__module__)


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


def rules_module(area: str) -> str:
    return f"policies.controls.{area}.{RULES_MODULE}"


def registered_rules(catalog: Catalog) -> list[Rule]:
    """Imports the rules of every area that has a ``rules.py`` (registering them) and checks them against the
    catalog; raises :class:`PackMismatchError` on any disagreement."""
    for area in catalog.areas:
        if (CONTROLS_DIR / area / f"{RULES_MODULE}.py").is_file():
            importlib.import_module(rules_module(area))
    verify_against_catalog(RULES, catalog)
    return RULES


def verify_against_catalog(rules: list[Rule], catalog: Catalog) -> dict[str, Control]:
    """The control of every rule; raises when the catalog's aspect layers and the registered rules differ or a rule
    lives outside its control's area."""
    registered = {(r.control_id, r.name) for r in rules}
    declared = {(c.id, name) for c in catalog.controls for name in c.layers.aspect}
    if registered != declared:
        raise PackMismatchError(
            f"the aspect rules and {catalog.source.name} disagree: registered but not in the catalog: "
            f"{sorted(registered - declared) or 'none'}; in the catalog but not registered: "
            f"{sorted(declared - registered) or 'none'}"
        )
    misplaced = [f"{r.name} of {r.control_id} is defined in {r.module}; move it to {home}"
                 for r in rules if r.module != (home := rules_module(area_of(r.control_id)))]
    if misplaced:
        raise PackMismatchError("aspect rules outside their control's area: " + "; ".join(misplaced))
    return {r.name: catalog.control(r.control_id) for r in rules}

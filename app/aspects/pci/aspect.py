"""The PCI rule pack as a cdktf aspect: runs every applicable rule on every resource and policy document.

The rules are pure functions that live with their controls (``policies/controls/<area>/rules.py``); this is
only the cdktf side that walks the constructs.

A violation becomes an error annotation naming the construct path, the control id, the PCI DSS
requirements, the observed and expected values and the fix; cdktf then refuses to synthesize. A violation
the exceptions register accepts (valid, unexpired entry for the control and the resource address) becomes a
warning instead: the register is the one suppression mechanism of every layer.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import jsii
from cdktf import Annotations, IAspect, TerraformDataSource, TerraformResource, TerraformStack
from constructs import IConstruct

from policies.catalog import Catalog, default_catalog
from policies.register import ExceptionEntry, Register, entry_problems, load_register
from policies.rules.registry import Rule, registered_rules
from policies.rules.verdict import Status, Verdict
from policies.scope import environment_of


def _plain(value: Any) -> Any:
    """JSON values as they are; anything else is an unresolved token object (e.g. a boolean reference),
    which becomes a token string so that rules see it as set but never as a literal."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return f"${{TfToken[unresolved {type(value).__name__}]}}"


def synthesized_attributes(node: TerraformResource | TerraformDataSource) -> dict[str, Any]:
    """The block exactly as cdktf will write it (overrides included), tokens unresolved."""
    document = node.to_terraform()
    by_type = document.get("resource") or document.get("data") or {}
    body = next(iter(next(iter(by_type.values())).values()))
    return {key: _plain(value) for key, value in body.items() if key != "//"}


def violation_message(rule: Rule, catalog: Catalog, path: str, verdict: Verdict) -> str:
    control = catalog.control(rule.control_id)
    return (
        f"[{control.id}] {control.title} ({control.requirement_text}) is violated by {path}: "
        f"{verdict.attribute} is {verdict.observed!r}, expected {verdict.expected}. "
        f"Fix: {control.remediation} (rule {rule.name})"
    )


@jsii.implements(IAspect)
class PciRulePack:
    """Add to every stack after the tagging aspect (cdktf ignores aspects added to the App)."""

    def __init__(self, catalog: Catalog | None = None, register: Register | None = None, today: dt.date | None = None):
        self.catalog = catalog or default_catalog()
        self._all_rules = registered_rules(self.catalog)
        today = today or dt.datetime.now(dt.timezone.utc).date()
        register = register or load_register()
        max_term = int(self.catalog.parameter("max_exception_term_months"))
        # The gate alone can check compensating controls (they need every control's verdict): here an entry
        # valid on its own turns a violation into a warning, and the gate then fails it if they do not PASS.
        self._exceptions: dict[tuple[str, str], ExceptionEntry] = {
            (entry.control, entry.resource): entry
            for entry in register.entries
            if not entry_problems(entry, self.catalog.ids, today, max_term)
        }
        self._rules: dict[tuple[str, str], list[Rule]] = {}

    def rules_for(self, selector: str, kind: str) -> list[Rule]:
        key = (selector, kind)
        if key not in self._rules:
            self._rules[key] = [r for r in self._all_rules if r.applies_to(selector, kind, self.catalog.taggable_types)]
        return self._rules[key]

    def visit(self, node: IConstruct) -> None:
        if isinstance(node, TerraformResource):
            kind, selector, prefix = "resource", node.terraform_resource_type, ""
        elif isinstance(node, TerraformDataSource):
            kind, prefix = "data", "data."
            selector = f"data.{node.terraform_resource_type}"
        else:
            return
        rules = self.rules_for(selector, kind)
        if not rules:
            return
        attributes = synthesized_attributes(node)
        stack = TerraformStack.of(node).node.id
        address = f"{stack}:{prefix}{node.terraform_resource_type}.{node.friendly_unique_id}"
        for rule in rules:
            verdict = rule.evaluate(attributes, node.terraform_resource_type, environment_of(stack))
            if verdict.status is Status.NON_COMPLIANT:
                self._report(node, rule, verdict, address)

    def _report(self, node: IConstruct, rule: Rule, verdict: Verdict, address: str) -> None:
        message = violation_message(rule, self.catalog, node.node.path, verdict)
        entry = self._exceptions.get((rule.control_id, address))
        if entry is None:
            Annotations.of(node).add_error(message)
        else:
            Annotations.of(node).add_warning(
                f"EXCEPTED until {entry.expires} (approver {entry.approver}, exceptions.yaml entry "
                f"{entry.index}): {message}"
            )

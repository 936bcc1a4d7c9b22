"""The JMESPath engine: declarative rules (``policies/controls/<area>/jmespath.yaml``) evaluated over every
stack at once.

A rule selects resources by type and names three expressions, each evaluated with the catalog parameters
and the functions of :mod:`policies.functions`::

    applies_to  (optional) a filter over the list of selected views: the resources the rule applies to
    offenders   a filter over the applicable views: the noncompliant ones
    observed    evaluated on each applicable resource, compliant or not: the value behind its verdict

plus the ``attribute`` it reports and the ``expected`` value in words, and optionally the attributes whose
``${...}`` references must ``resolve`` within the synth. Expressions are compiled once and
each is evaluated once per rule over a list (not once per resource); resources are indexed by type.

Fail closed: an expression that does not compile, raises, or returns anything but views it was given is an
ERROR of the rule's control, never a pass.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias, cast

import jmespath
from jmespath import visitor
from jmespath.exceptions import JMESPathError

from policies.catalog import AREA_JMESPATH, CONTROLS_DIR, SELECTOR, Catalog, area_of
from policies.functions import PolicyFunctions
from policies.jsontypes import JsonValue
from policies.model import Model, View, collector_paused
from policies.problems import ProblemsError
from policies.yamlfile import YamlFileError, load_yaml

# Each area directory holds the JMESPath rules of its controls (policies/catalog.py).
RULES_DIR = CONTROLS_DIR
RULE_FILES = f"*/{AREA_JMESPATH}"
EVALUATION_ERRORS = (JMESPathError, TypeError, KeyError, ValueError, AttributeError)
RULE_KEYS = ("id", "control", "resource_types", "attribute", "expected", "offenders", "observed")
OPTIONAL_RULE_KEYS = ("applies_to", "description", "resolve")
# Our functions whose result is always a list (policies/functions.py).
LIST_FUNCTIONS = frozenset({"find_leaves", "missing_keys", "invalid_values", "blocks"})
# A node of jmespath's parsed AST: a plain dict at run time ({type, value, children}). The stubs' TypedDict for it
# cannot express the in-place rewrites below (a not_expression node has no value), so the AST is read as a dict.
AstNode: TypeAlias = dict[str, Any]


class RuleError(ProblemsError):
    """The rule files do not match the catalog (unknown control, missing rule, malformed entry): exit 2."""


@dataclass(frozen=True)
class Rule:
    id: str
    control: str
    resource_types: tuple[str, ...]
    attribute: str
    expected: str
    source: Path
    expressions: dict[str, str]
    compiled: dict[str, jmespath.parser.ParsedResult] = field(compare=False)
    compile_error: str | None = None
    # Attribute paths (model.values_at syntax) whose ${...} references must resolve within the synth: a value
    # the gate cannot know there makes the resource an ERROR of the rule, never COMPLIANT (policies/gate.py).
    resolve: tuple[str, ...] = ()


@dataclass
class RuleOutcome:
    rule: Rule
    applicable: list[View] = field(default_factory=list)
    offenders: list[tuple[View, JsonValue]] = field(default_factory=list)
    # id(view) -> the rule's observed value on every applicable view that evaluated, offenders included
    observed: dict[int, JsonValue] = field(default_factory=dict)
    # (view or None for the whole rule, message)
    errors: list[tuple[View | None, str]] = field(default_factory=list)


def _function_calls(node: AstNode) -> list[AstNode]:
    calls = [node] if node.get("type") == "function_expression" else []
    for child in node.get("children", []):
        calls.extend(_function_calls(child))
    return calls


def _simplify_condition(node: AstNode) -> None:
    """Rewrite a filter condition in place: ``length(f(...)) > `0``` becomes ``f(...)`` and ``length(f(...)) ==
    `0``` becomes ``!f(...)`` where f is one of our functions that always return a list (an empty list is false
    in JMESPath). Only conditions are rewritten, where nothing but truthiness counts; a value that might not be a
    list keeps its length() (length(null) is an error, and an error must stay an ERROR, never a pass)."""
    if node.get("type") in ("and_expression", "or_expression", "not_expression"):
        for child in node["children"]:
            _simplify_condition(child)
        return
    if node.get("type") != "comparator" or node.get("value") not in ("gt", "eq"):
        return
    left, right = node["children"]
    if not (left.get("type") == "function_expression" and left.get("value") == "length"
            and right.get("type") == "literal" and type(right.get("value")) is int and right["value"] == 0):
        return
    argument = left["children"][0] if len(left["children"]) == 1 else {}
    if argument.get("type") != "function_expression" or argument.get("value") not in LIST_FUNCTIONS:
        return
    replacement = argument if node["value"] == "gt" else {"type": "not_expression", "children": [argument]}
    node.clear()
    node.update(replacement)


def _optimize(node: AstNode) -> None:
    """Compile-time rewrites that keep every result and error identical (see tests/policies/test_engine.py)."""
    if node.get("type") == "filter_projection":
        _simplify_condition(node["children"][2])
    for child in node.get("children", []):
        _optimize(child)


def _compile(expressions: dict[str, str],
             catalog: Catalog) -> tuple[dict[str, jmespath.parser.ParsedResult], str | None]:
    """Compile, and reject calls of unknown functions or parameters now: evaluated over an empty selection
    they would never run, and a rule that cannot run must not pass. Each param('name') becomes the
    parameter's value (a constant), so it is not called again for every resource."""
    compiled: dict[str, jmespath.parser.ParsedResult] = {}
    known = PolicyFunctions(catalog.parameters).FUNCTION_TABLE
    for name, expression in expressions.items():
        try:
            compiled[name] = jmespath.compile(expression)
        except JMESPathError as error:
            return {}, f"{name}: {expression!r} does not compile: {error}"
        tree = cast(AstNode, compiled[name].parsed)  # see AstNode
        for call in _function_calls(tree):
            if call["value"] not in known:
                return {}, f"{name}: unknown function {call['value']}()"
            if call["value"] != "param":
                continue
            argument = call["children"][0] if len(call["children"]) == 1 else {}
            if argument.get("type") != "literal" or argument.get("value") not in catalog.parameters:
                return {}, f"{name}: param() needs the name of a catalog parameter, got {argument.get('value')!r}"
            value = catalog.parameters[argument["value"]]
            call.clear()
            call.update({"type": "literal", "value": value, "children": []})
        _optimize(tree)
    return compiled, None


def load_rules(catalog: Catalog, directory: Path = RULES_DIR) -> list[Rule]:
    problems: list[str] = []
    rules: list[Rule] = []
    files = sorted(Path(directory).glob(RULE_FILES))
    if not files:
        raise RuleError([f"{directory}: no rule files ({RULE_FILES})"])
    for path in files:
        try:
            raw = load_yaml(path)
        except YamlFileError as error:
            problems.append(str(error))
            continue
        if not isinstance(raw, dict) or set(raw) != {"rules"} or not isinstance(raw["rules"], list):
            problems.append(f"{path}: expected a mapping with one key, rules (a list)")
            continue
        for index, item in enumerate(raw["rules"]):
            rule = _rule(item, f"{path}: rules[{index}]", path, catalog, problems)
            if rule is not None and area_of(rule.control) != path.parent.name:
                problems.append(f"{path}: rules[{index}] ({rule.id}): a rule of {rule.control} belongs in "
                                f"{path.parent.parent / area_of(rule.control) / AREA_JMESPATH}")
            elif rule is not None:
                rules.append(rule)
    declared = {(rule_id, control.id) for control in catalog.controls for rule_id in control.layers.jmespath}
    found = {(rule.id, rule.control) for rule in rules}
    problems += [f"{directory}: rule {r} of {c} is listed in the catalog but not defined" for r, c in
                 sorted(declared - found)]
    problems += [f"{directory}: rule {r} of {c} is not listed in the catalog's layers.jmespath of {c}" for r, c in
                 sorted(found - declared)]
    ids = [rule.id for rule in rules]
    problems += [f"{directory}: rule id {i} is defined twice" for i in sorted({i for i in ids if ids.count(i) > 1})]
    if problems:
        raise RuleError(problems)
    return rules


def _rule(item: JsonValue, where: str, path: Path, catalog: Catalog, problems: list[str]) -> Rule | None:
    if not isinstance(item, dict):
        problems.append(f"{where}: expected a mapping")
        return None
    unknown = set(item) - set(RULE_KEYS) - set(OPTIONAL_RULE_KEYS)
    missing = [key for key in RULE_KEYS if not isinstance(item.get(key), (str, list)) or not item.get(key)]
    if unknown or missing:
        problems.append(f"{where}: unknown fields {sorted(unknown)}, missing or empty {missing}")
        return None
    if item["control"] not in catalog.ids:
        problems.append(f"{where} ({item['id']}): unknown control {item['control']}")
        return None
    types = item["resource_types"]
    if not isinstance(types, list) or not all(isinstance(t, str) and SELECTOR.match(t) for t in types):
        problems.append(f"{where} ({item['id']}): resource_types must be a list of resource selectors")
        return None
    expressions = {name: item[name] for name in ("applies_to", "offenders", "observed") if name in item}
    if not all(isinstance(e, str) for e in expressions.values()):
        problems.append(f"{where} ({item['id']}): expressions must be strings")
        return None
    resolve = item.get("resolve", [])
    if not isinstance(resolve, list) or not all(isinstance(p, str) and re.fullmatch(r"\w+(\[\]\.\w+)?", p)
                                                for p in resolve):
        problems.append(f"{where} ({item['id']}): resolve must be a list of attribute paths such as ingress or "
                        "ingress[].cidr_blocks")
        return None
    compiled, error = _compile(expressions, catalog)
    return Rule(id=item["id"], control=item["control"], resource_types=tuple(types), attribute=item["attribute"],
                expected=str(item["expected"]), source=path, expressions=expressions, compiled=compiled,
                compile_error=error, resolve=tuple(resolve))


def _views_only(result: JsonValue, allowed: dict[int, View], what: str) -> list[View]:
    if not isinstance(result, list):
        raise TypeError(f"{what} returned {type(result).__name__}, expected a list of the resources it was given")
    for item in result:
        if id(item) not in allowed:
            raise TypeError(f"{what} returned {str(item)[:120]!r}, which is not one of the resources it was given")
    return result


class _Interpreter(visitor.TreeInterpreter):
    """jmespath's tree interpreter with a leaner dispatch. Every visit in it is ``visit(node, value)``; the
    generic one forwards ``*args, **kwargs`` through a method-cache lookup on each of the ~50 node visits per
    resource and rule, which made dispatch alone a quarter of the engine's time."""

    def __init__(self, options: jmespath.Options):
        super().__init__(options)
        self._visitors = _VisitorTable(self)

    # Narrower than jmespath's visit(node, *args, **kwargs) on purpose (see the class docstring).
    def visit(self, node: AstNode, value: JsonValue) -> JsonValue:  # type: ignore[override]
        return self._visitors[node["type"]](node, value)


class _VisitorTable(dict[str, Callable[..., JsonValue]]):  # node type -> the interpreter's visit_<type>
    def __init__(self, interpreter: visitor.TreeInterpreter):
        super().__init__()
        self.interpreter = interpreter

    def __missing__(self, node_type: str) -> Callable[..., JsonValue]:
        method = self[node_type] = getattr(self.interpreter, f"visit_{node_type}", self.interpreter.default_visit)
        return method


class Engine:
    def __init__(self, catalog: Catalog, rules: list[Rule]):
        self.catalog = catalog
        self.rules = rules
        self.options = jmespath.Options(custom_functions=PolicyFunctions(catalog.parameters))
        self._interpreter = _Interpreter(self.options)

    def search(self, expression: jmespath.parser.ParsedResult, value: JsonValue) -> JsonValue:
        """An expression compiled by this module, evaluated as ``expression.search(value, self.options)``."""
        return self._interpreter.visit(cast(AstNode, expression.parsed), value)

    def evaluate(self, model: Model) -> list[RuleOutcome]:
        with collector_paused():
            return self._evaluate(model)

    def _evaluate(self, model: Model) -> list[RuleOutcome]:
        selections: dict[tuple[str, ...], list[View]] = {}
        outcomes = []
        for rule in self.rules:
            if rule.resource_types not in selections:
                selections[rule.resource_types] = [
                    view for view in model.select(self.catalog.expand(rule.resource_types))
                    if view["kind"] in ("resource", "data") or "*" in rule.resource_types]
            outcomes.append(self._evaluate_rule(rule, selections[rule.resource_types]))
        return outcomes

    def _filter(self, expression: jmespath.parser.ParsedResult, views: list[View],
                what: str) -> tuple[list[View], list[tuple[View, str]]]:
        """Evaluate a filter over all views at once; if that fails, view by view, so one resource whose value
        breaks the expression (e.g. a string where a number is compared) is an ERROR only for itself."""
        allowed = {id(view): view for view in views}
        try:
            return list(_views_only(self.search(expression, views), allowed, what)), []
        except EVALUATION_ERRORS:
            kept: list[View] = []
            errors: list[tuple[View, str]] = []
            for view in views:
                try:
                    kept.extend(_views_only(self.search(expression, [view]), {id(view): view}, what))
                except EVALUATION_ERRORS as error:
                    errors.append((view, f"{what} failed: {error.__class__.__name__}: {error}"))
            return kept, errors

    def _evaluate_rule(self, rule: Rule, candidates: list[View]) -> RuleOutcome:
        outcome = RuleOutcome(rule)
        if rule.compile_error:
            outcome.errors.append((None, rule.compile_error))
            return outcome
        applicable = candidates
        if "applies_to" in rule.compiled:
            applicable, errors = self._filter(rule.compiled["applies_to"], candidates, "applies_to")
            outcome.errors.extend(errors)
        offenders, errors = self._filter(rule.compiled["offenders"], applicable, "offenders")
        outcome.errors.extend(errors)
        failed = {id(view) for view, _ in errors}
        outcome.applicable = [view for view in applicable if id(view) not in failed]
        offending = {id(view) for view in offenders}
        evaluated = []
        for view in outcome.applicable:
            try:
                outcome.observed[id(view)] = self.search(rule.compiled["observed"], view)
            except EVALUATION_ERRORS as error:  # a verdict without its value is no evidence: fail closed
                outcome.errors.append((view, f"observed failed: {error.__class__.__name__}: {error}"))
                continue
            evaluated.append(view)
            if id(view) in offending:
                outcome.offenders.append((view, outcome.observed[id(view)]))
        outcome.applicable = evaluated
        return outcome

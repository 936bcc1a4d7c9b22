"""The JMESPath engine fails closed (a rule that cannot run is an ERROR, never a pass), and its compile-time
optimizations change no result (its speed is measured by `make bench`, not here)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import jmespath
import pytest

from policies.catalog import default_catalog
from policies.engine import EVALUATION_ERRORS, Engine, RuleError, _compile, load_rules
from policies.gate import ERROR, NON_COMPLIANT, evaluate
from policies.model import Model, StackFile
from policies.register import REGISTER_FILE, Register

CATALOG = default_catalog()
EMPTY_REGISTER = Register(entries=(), source=REGISTER_FILE)


def stack(resources: dict, name: str = "stack") -> StackFile:
    return StackFile(name=name, path=Path(f"/nowhere/{name}/cdk.tf.json"), sha256="", document={"resource": resources})


def log_groups(*retentions) -> dict:
    return {"aws_cloudwatch_log_group": {f"lg{i}": {"name": f"/lg{i}", "retention_in_days": days, "kms_key_id": "k"}
                                         for i, days in enumerate(retentions)}}


def engine_with(rule_id: str, **expressions) -> Engine:
    """The committed rule set with one rule's expressions replaced (recompiled as the loader would)."""
    rules = []
    for rule in load_rules(CATALOG):
        if rule.id == rule_id:
            changed = {**rule.expressions, **expressions}
            compiled, error = _compile(changed, CATALOG)
            rule = dataclasses.replace(rule, expressions=changed, compiled=compiled, compile_error=error)
        rules.append(rule)
    return Engine(CATALOG, rules)


def rows_of(engine: Engine, model: Model, control_id: str):
    evaluation = evaluate(CATALOG, model, engine.evaluate(model), [], {}, EMPTY_REGISTER, None)
    return evaluation.rows_of(control_id), evaluation


def jmespath_verdicts(engine: Engine, model: Model, control_id: str) -> dict[str, set[str]]:
    """Resource name -> verdicts of the JMESPath evidence (no checkov ran: its checks are ERRORs here)."""
    rows, _ = rows_of(engine, model, control_id)
    return {row.view["name"]: {e.verdict for e in row.evidence if e.layer == "jmespath"} for row in rows}


def test_the_committed_rules_compile_and_match_the_catalog():
    rules = load_rules(CATALOG)
    assert [r.id for r in rules if r.compile_error] == []
    assert {r.id for r in rules} == {rule for c in CATALOG.controls for rule in c.layers.jmespath}
    for rule in rules:
        types = CATALOG.expand(rule.resource_types)
        control_types = CATALOG.expand(CATALOG.control(rule.control).resource_types)
        assert control_types is None or types <= control_types, rule.id


def test_a_rule_that_does_not_compile_is_an_error_of_its_control_even_with_nothing_to_check():
    engine = engine_with("log-group-retention", offenders="[?attributes.retention_in_days >=")
    rows, evaluation = rows_of(engine, Model([stack({})]), "PCI-LOG-001")
    assert [(row.view, row.verdict) for row in rows] == [(None, ERROR)]
    assert "does not compile" in rows[0].evidence[0].message and evaluation.failed


@pytest.mark.parametrize(("expression", "message"), [
    ("[?no_such_function(attributes)]", "unknown function no_such_function()"),
    ("[?attributes.retention_in_days < param('no_such_parameter')]", "needs the name of a catalog parameter"),
])
def test_unknown_functions_and_parameters_are_rejected_when_compiled(expression, message):
    rule = next(r for r in engine_with("log-group-retention", offenders=expression).rules
                if r.id == "log-group-retention")
    assert message in rule.compile_error


def test_a_rule_returning_something_else_than_resources_is_an_error_for_each_of_them():
    engine = engine_with("log-group-retention", offenders="[].attributes")
    rows, evaluation = rows_of(engine, Model([stack(log_groups(365, 400))]), "PCI-LOG-001")
    messages = [e.message for row in rows for e in row.evidence if e.layer == "jmespath"]
    assert len(rows) == 2 and len(messages) == 2 and evaluation.failed
    assert all("not one of the resources it was given" in message for message in messages)


def test_a_value_that_breaks_an_expression_is_an_error_of_that_resource_only():
    engine = engine_with("log-group-retention", offenders="[?attributes.retention_in_days < `365`]")
    verdicts = jmespath_verdicts(engine, Model([stack(log_groups(30, "${var.days}", 400))]), "PCI-LOG-001")
    assert verdicts == {"lg0": {NON_COMPLIANT}, "lg1": {ERROR}, "lg2": {"COMPLIANT"}}


def test_the_committed_rule_reads_a_reference_as_not_a_literal():
    [outcome_] = [o for o in Engine(CATALOG, load_rules(CATALOG)).evaluate(Model([stack(log_groups("${var.days}"))]))
                  if o.rule.id == "log-group-retention"]
    assert [observed for _, observed in outcome_.offenders] == ["${var.days}"] and outcome_.errors == []


def write_rules(directory: Path, text: str) -> Path:
    """A controls directory whose one area (log) holds ``text`` as its jmespath.yaml."""
    (directory / "log").mkdir(parents=True, exist_ok=True)
    (directory / "log" / "jmespath.yaml").write_text(text)
    return directory


@pytest.mark.parametrize(("text", "problem"), [
    ("rules: [{id: x, control: PCI-NOPE-001, resource_types: [aws_vpc], attribute: a, expected: e, offenders: '@', "
     "observed: '@'}]", "unknown control"),
    ("rules: [{id: x, control: PCI-LOG-001, resource_types: [aws_vpc], attribute: a, expected: e}]", "missing"),
    ("nothing: here", "expected a mapping with one key, rules"),
    ("rules: [", "not valid YAML"),
])
def test_rule_files_that_do_not_match_the_catalog_are_configuration_errors(text, problem, tmp_path):
    with pytest.raises(RuleError, match=problem):
        load_rules(CATALOG, write_rules(tmp_path, text))


def test_a_catalog_rule_missing_from_the_rule_files_is_a_configuration_error(tmp_path):
    with pytest.raises(RuleError, match="listed in the catalog but not defined"):
        load_rules(CATALOG, write_rules(tmp_path, "rules: []"))


def _outcome(search, expression, views: list[dict]) -> tuple[str, list[int] | str]:
    try:
        result = search(expression, views)
    except EVALUATION_ERRORS as error:
        return "error", type(error).__name__
    return "result", [id(item) for item in result] if isinstance(result, list) else repr(result)


def test_compile_time_rewrites_keep_every_result_and_error(real_stacks, fixture_stacks):
    """Each committed rule as the engine runs it (param() folded, length(f()) > 0 conditions simplified, its own
    interpreter) against the same expression as written, run by jmespath's own interpreter, on every block of
    the real synth and of every fixture."""
    model = Model(list(real_stacks) + [s for stacks in fixture_stacks.values() for s in stacks])
    engine = Engine(CATALOG, load_rules(CATALOG))
    compared = 0
    for rule in engine.rules:
        views = [v for v in model.select(CATALOG.expand(rule.resource_types))
                 if v["kind"] in ("resource", "data") or "*" in rule.resource_types]
        for name in ("applies_to", "offenders"):
            if name in rule.expressions:
                as_written = jmespath.compile(rule.expressions[name])
                assert _outcome(engine.search, rule.compiled[name], views) == _outcome(
                    lambda expression, v: expression.search(v, engine.options), as_written, views), \
                    f"{rule.id} {name}"
                compared += len(views)
    assert compared > 5_000


@pytest.mark.parametrize(("expression", "simplified"), [
    ("[?length(missing_keys(tags, `[]`)) > `0`]", "missing_keys"),
    ("[?length(find_leaves(strings, 'a', 'b')) == `0` && name]", "not_expression"),
    ("[?length(names) > `0`]", "length"),  # a field might be null: length(null) must stay an error
    ("[?length(blocks(a)) > `false`]", "length"),
    ("{x: length(missing_keys(tags, `[]`)) > `0`}", "length"),  # not a condition: the boolean is the value
])
def test_only_conditions_on_list_functions_are_simplified(expression, simplified):
    compiled, error = _compile({"offenders": expression}, CATALOG)
    assert error is None
    text = str(compiled["offenders"].parsed)
    assert f"'{simplified}'" in text
    if simplified != "length":
        assert "'length'" not in text

"""Terraform JSON writes a nested block as an object or as a list of objects. The whole gate and report set,
run over a copy of the real synth with every nested block rewritten in the other legal shape, gives the same
verdicts and the same architecture, without a crash."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from policies.blocks import block_list, canonical_path, first_block
from policies.cli import run_gate
from policies.model import Model, load_synth
from policies.reports.topology import build_topology

IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")
# Object-valued arguments of the synth that are maps or meta-arguments, not nested blocks: their shape is fixed.
NOT_BLOCKS = frozenset({"tags", "tags_all", "triggers", "dimensions", "variables", "config", "lifecycle",
                        "request_parameters", "request_models", "response_parameters", "stage_variables", "//"})


def other_shape(value: Any, counter: list[int]) -> Any:
    """The attributes of a block with every nested block (recursively) in the other legal shape: an object
    becomes a list of that one object, a list of exactly one object becomes the object."""
    if not isinstance(value, dict):
        return value
    rewritten = {}
    for key, item in value.items():
        if key in NOT_BLOCKS:
            rewritten[key] = item
        elif isinstance(item, dict) and all(IDENTIFIER.match(k) for k in item):
            rewritten[key] = [other_shape(item, counter)]
            counter[0] += 1
        elif isinstance(item, list) and item and all(isinstance(i, dict) for i in item):
            blocks = [other_shape(i, counter) for i in item]
            rewritten[key] = blocks[0] if len(blocks) == 1 else blocks
            counter[0] += len(blocks) == 1
        else:
            rewritten[key] = item
    return rewritten


def rewrite_synth(source: Path, target: Path) -> int:
    shutil.copytree(source, target)
    counter = [0]
    for path in target.glob("stacks/*/cdk.tf.json"):
        document = json.loads(path.read_text())
        for kind in ("resource", "data"):
            for by_name in document.get(kind, {}).values():
                for name, body in by_name.items():
                    by_name[name] = other_shape(body, counter)
        for provider, configs in document.get("provider", {}).items():
            document["provider"][provider] = [other_shape(c, counter) for c in block_list(configs)]
        path.write_text(json.dumps(document, indent=2))
    return counter[0]


def test_block_helpers_read_both_shapes():
    assert block_list(None) == [] and block_list({"a": 1}) == [{"a": 1}] and block_list([{"a": 1}]) == [{"a": 1}]
    assert first_block([{"a": 1}, {"a": 2}]) == {"a": 1} == first_block({"a": 1}) and first_block(None) == {}
    assert canonical_path("default_action[0].target_group_arn") == "default_action.target_group_arn"
    assert canonical_path("action[0].forward[0].target_group[1].arn") == "action.forward.target_group[1].arn"
    assert canonical_path("subnet_ids[10]") == "subnet_ids[10]"


def verdicts(document: dict) -> tuple[dict, list]:
    return ({c["id"]: c["status"] for c in document["controls"]},
            sorted((r["control"], (r["resource"] or {}).get("address"), r["verdict"]) for r in document["results"]))


def topology(model: Model, environment: str) -> tuple[list, list]:
    built = build_topology(model, environment)
    return (sorted((n.id, n.band, n.kind, n.title, tuple(n.details)) for n in built.nodes.values()),
            sorted((e.source, e.target, e.label, e.style) for e in built.edges))


@pytest.fixture(scope="module")
def other_shaped(synth_dir, tmp_path_factory) -> tuple[Path, int]:
    target = tmp_path_factory.mktemp("other-shape") / "cdktf.out"
    return target, rewrite_synth(synth_dir, target)


def test_the_gate_and_reports_give_the_same_verdicts_over_the_other_shape(gate_results, other_shaped,
                                                                          tmp_path, monkeypatch, capsys):
    synth, rewritten = other_shaped
    assert rewritten > 400  # every single block of every stack (422 today), not a handful
    monkeypatch.setenv("REPORT_CHROMIUM", "")
    reports = tmp_path / "reports"
    code = run_gate(synth, reports)
    captured = capsys.readouterr()
    assert code == gate_results["run"]["exit_code"], captured.err[-3000:]
    document = json.loads((reports / "results.json").read_text())
    assert verdicts(document) == verdicts(gate_results)
    assert {"results.json", "summary.md", "report.html", "report.md", "results.sarif", "junit.xml"} <= {
        p.name for p in reports.iterdir()}


def test_the_architecture_is_the_same_over_the_other_shape(synth_dir, other_shaped):
    original, rewritten = Model(load_synth(synth_dir)), Model(load_synth(other_shaped[0]))
    for environment in ("dev", "staging", "prod"):
        assert topology(rewritten, environment) == topology(original, environment)


def test_a_table_whose_pitr_block_is_a_list_is_found_and_reported(synth_dir, tmp_path, monkeypatch, capsys):
    """The case of the issue: ``"point_in_time_recovery": [{"enabled": false}]`` on a table."""
    synth = tmp_path / "cdktf.out"  # the data stack alone: one checkov run of one stack
    shutil.copytree(synth_dir / "stacks" / "payments-dev-data", synth / "stacks" / "payments-dev-data")
    manifest = json.loads((synth_dir / "manifest.json").read_text())
    manifest["stacks"] = {"payments-dev-data": manifest["stacks"]["payments-dev-data"]}
    (synth / "manifest.json").write_text(json.dumps(manifest))
    stack = synth / "stacks" / "payments-dev-data" / "cdk.tf.json"
    document = json.loads(stack.read_text())
    tables = document["resource"]["aws_dynamodb_table"]
    name = sorted(tables)[0]
    tables[name]["point_in_time_recovery"] = [{"enabled": False}]
    stack.write_text(json.dumps(document))
    monkeypatch.setenv("REPORT_CHROMIUM", "")
    reports = tmp_path / "reports"
    assert run_gate(synth, reports) == 1, capsys.readouterr().err[-3000:]
    results = json.loads((reports / "results.json").read_text())
    failing = {(r["control"], r["resource"]["address"]) for r in results["results"] if r["verdict"] == "NON_COMPLIANT"}
    assert any(address == f"payments-dev-data:aws_dynamodb_table.{name}" for _, address in failing)
    assert (reports / "report.html").is_file()

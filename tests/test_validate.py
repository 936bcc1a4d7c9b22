"""`terraform validate` with the real AWS provider (offline, from the provider mirror) on every stack."""

from __future__ import annotations

import json
import shutil

from tools.validate_stacks import main as validate_main
from tools.validate_stacks import validate_all


def test_every_stack_of_every_environment_validates(synth_dir, terraform):
    results = validate_all(synth_dir, use_cache=False)
    assert len(results) == len(list(synth_dir.glob("stacks/*/cdk.tf.json")))
    assert {r.stack.split("-")[1] for r in results} == {"dev", "staging", "prod"}
    assert [(r.stack, r.diagnostics) for r in results if not r.valid] == []
    assert not any(r.cached for r in results)
    again = validate_all(synth_dir)
    assert all(r.valid and r.cached for r in again), "unchanged stacks must not be validated twice"


def test_an_invalid_stack_fails_validation_with_its_diagnostic(synth_dir, tmp_path, terraform, capsys):
    """Stacks are validated together as modules of one root: each diagnostic lands on its own stack."""
    broken = tmp_path / "cdktf.out"
    for name in ("payments-dev-network", "payments-dev-security"):
        source = synth_dir / "stacks" / name
        shutil.copytree(source, broken / "stacks" / name, ignore=shutil.ignore_patterns(".*"))
    source = synth_dir / "stacks" / "payments-dev-network"
    document = json.loads((broken / "stacks" / source.name / "cdk.tf.json").read_text())
    vpc = next(iter(document["resource"]["aws_vpc"].values()))
    vpc["enable_dns_hostnamez"] = True
    (broken / "stacks" / source.name / "cdk.tf.json").write_text(json.dumps(document))

    assert validate_main([str(broken), "--no-cache"]) == 1
    output = capsys.readouterr().out
    assert "INVALID  payments-dev-network" in output
    assert "valid    payments-dev-security" in output
    assert "enable_dns_hostnamez" in output
    assert "Backend configuration ignored" not in output, "an artefact of the module form, not a finding"


def test_missing_synth_is_a_usage_error(tmp_path, capsys):
    assert validate_main([str(tmp_path)]) == 2
    assert "run `make synth` first" in capsys.readouterr().err

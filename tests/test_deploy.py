"""`make plan` / `make deploy` (tools/deploy.py, tools/plan_gate.py) on real terraform, offline: terraform_data
stacks for the plan summary and the apply path, an AWS stack planned without any AWS call for the plan gate."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.synth import VERSIONS_FILE
from tools import deploy
from tools.deploy import Deployment, PlanSummary, fresh_working_copy, summarize
from tools.plan_gate import PlanFinding, PlanGate, overlay
from tools.rehearsal.stacks import Stack, UsageError, load_stacks
from tools.rehearsal.workspace import Terraform as IsolatedTerraform
from tools.terraform_runner import PLAN_FILE, Terraform

REPO_ROOT = Path(__file__).resolve().parent.parent


def write_synth(root: Path, stacks: dict[str, dict]) -> Path:
    """A synth directory (manifest + stacks/<name>/cdk.tf.json); local state in root/state, as the app does."""
    synth = root / "synth"
    manifest = {}
    previous = None
    for name, document in stacks.items():
        directory = synth / "stacks" / name
        directory.mkdir(parents=True)
        document = {"terraform": {"backend": {"local": {"path": f"../../../state/{name}.tfstate"}}}, **document}
        (directory / "cdk.tf.json").write_text(json.dumps(document, indent=1))
        # as app/synth.py writes it beside every stack
        (directory / VERSIONS_FILE).write_text(json.dumps({"terraform": {"required_version": ">= 1.11"}}))
        manifest[name] = {"workingDirectory": f"stacks/{name}", "dependencies": [previous] if previous else []}
        previous = name
    (synth / "manifest.json").write_text(json.dumps({"stacks": manifest}))
    return synth


def data_stack(values: dict[str, dict], outputs: dict | None = None, remote: str | None = None) -> dict:
    document: dict = {"resource": {"terraform_data": values}}
    if outputs:
        document["output"] = outputs
    if remote:
        document["data"] = {"terraform_remote_state": {"first": {
            "backend": "local", "config": {"path": f"../../../state/{remote}.tfstate"}}}}
    return document


def deployment_of(tmp_path: Path, synth: Path) -> Deployment:
    stacks = load_stacks(synth, "dev")
    work_root = tmp_path / ".deploy" / "dev"
    (work_root / "logs").mkdir(parents=True, exist_ok=True)
    return Deployment(stacks, lambda stack: Terraform(fresh_working_copy(stack, work_root), work_root / "logs"),
                      PlanGate([stack.config_file for stack in stacks]))


# -- the plan summary against real `terraform show -json` output --------------------------------------------------


def test_summary_calls_out_replacements_and_destroys_of_a_real_plan(tmp_path, terraform):
    work, logs = tmp_path / "work", tmp_path / "logs"
    work.mkdir()
    logs.mkdir()
    runner = Terraform(work, logs)
    first = {"keep": {"input": "k"}, "change": {"input": "a"}, "gone": {"input": "x"},
             "swap": {"input": "s", "triggers_replace": ["1"]}}
    (work / "main.tf.json").write_text(json.dumps({"resource": {"terraform_data": first}}))
    assert runner.init().ok
    assert runner.plan("plan", PLAN_FILE).returncode == 2
    assert runner.apply_plan(PLAN_FILE).ok
    second = {"keep": {"input": "k"}, "change": {"input": "b"}, "swap": {"input": "s", "triggers_replace": ["2"]},
              "added": {"input": "n"}}
    (work / "main.tf.json").write_text(json.dumps({"resource": {"terraform_data": second},
                                                   "output": {"added": {"value": "${terraform_data.added.output}"}}}))
    assert runner.plan("plan", PLAN_FILE).returncode == 2
    summary = summarize("payments-dev-x", runner.show_json("plan-json", PLAN_FILE))
    assert summary.creates == ["terraform_data.added"]
    assert summary.updates == ["terraform_data.change"]
    assert summary.deletes == ["terraform_data.gone"]
    assert summary.replaces == [("terraform_data.swap", "triggers_replace cannot be changed in place")]
    assert summary.outputs_changed == ["added"]
    lines = summary.lines()
    assert lines[0] == "payments-dev-x: 1 to add, 1 to change, 1 to destroy, 1 to replace"
    assert "  -/+ terraform_data.swap   REPLACED (triggers_replace cannot be changed in place): destroyed and " \
           "created again" in lines
    assert "  -   terraform_data.gone   DESTROYED" in lines
    assert lines[-1].startswith("  ATTENTION: 1 destroy(s) and 1 replacement(s)")
    assert "terraform_data.keep" not in "\n".join(lines)  # no-ops are not changes


def test_an_empty_plan_has_no_changes():
    summary = summarize("s", {"resource_changes": [{"address": "a.b", "change": {"actions": ["no-op"]}},
                                                   {"address": "data.c.d", "change": {"actions": ["read"]}}]})
    assert not summary.has_changes and summary.lines() == ["s: no changes"]


# -- deploy: stacks in order, each applied from its saved plan after confirmation ---------------------------------


def test_deploy_applies_saved_plans_in_order_only_when_confirmed(tmp_path, terraform, capsys):
    synth = write_synth(tmp_path, {
        "payments-dev-one": data_stack({"base": {"input": "from-one"}},
                                       outputs={"base": {"value": "${terraform_data.base.output}"}}),
        "payments-dev-two": data_stack({"uses": {"input": "${data.terraform_remote_state.first.outputs.base}"}},
                                       remote="payments-dev-one"),
    })
    state = tmp_path / "state"
    state.mkdir()
    asked: list[tuple[str, str]] = []

    def refuse(stack: str, summary: PlanSummary) -> bool:
        asked.append((stack, summary.headline))
        return False

    assert deploy.run(deployment_of(tmp_path, synth), "deploy", False, refuse) == deploy.EXIT_FAILED
    assert asked == [("payments-dev-one", "1 to add, 0 to change, 0 to destroy, 0 to replace")]
    assert not list(state.iterdir())  # nothing applied
    assert "deploy stopped at payments-dev-one: not confirmed" in capsys.readouterr().out

    # `plan` of the same: the second stack cannot be planned before the first is applied, and says so.
    assert deploy.run(deployment_of(tmp_path, synth), "plan", False, refuse) == deploy.EXIT_FAILED
    out = capsys.readouterr().out
    assert "payments-dev-two: PLAN FAILED" in out and "cannot be planned on an empty account" in out
    assert not list(state.iterdir()) and len(asked) == 1

    asked.clear()
    assert deploy.run(deployment_of(tmp_path, synth), "deploy", False,
                      lambda stack, summary: asked.append((stack, summary.headline)) or True) == deploy.EXIT_OK
    assert [stack for stack, _ in asked] == ["payments-dev-one", "payments-dev-two"]
    second = json.loads((state / "payments-dev-two.tfstate").read_text())
    [resource] = [r for r in second["resources"] if r["mode"] == "managed"]
    assert resource["instances"][0]["attributes"]["output"]["value"] == "from-one"  # read the first stack's state
    assert (tmp_path / ".deploy" / "dev" / "payments-dev-one" / PLAN_FILE).is_file()

    asked.clear()
    assert deploy.run(deployment_of(tmp_path, synth), "deploy", False, refuse) == deploy.EXIT_OK
    assert asked == []  # nothing to change, nothing asked
    assert capsys.readouterr().out.count(": no changes") == 2


def test_a_plan_the_plan_gate_failed_is_never_applied(tmp_path):
    stack = Stack("payments-dev-x", tmp_path, ())
    finding = PlanFinding("rule", "PCI-NET-002", "payments-dev-x:aws_vpc.v", "violation", "open")
    planned = deploy.StackPlan(stack, Terraform(tmp_path, tmp_path), PlanSummary("payments-dev-x"), [finding])
    with pytest.raises(ValueError, match="payments-dev-x: a failed plan is never applied"):
        Deployment.apply(planned)
    assert not list(tmp_path.iterdir())  # terraform never ran


def test_working_copies_replace_only_their_own_and_keep_the_state_path(tmp_path):
    synth = write_synth(tmp_path, {"payments-dev-one": data_stack({"a": {"input": "x"}})})
    [stack] = load_stacks(synth, "dev")
    work_root = tmp_path / ".deploy" / "dev"
    foreign = work_root / "payments-dev-one"
    foreign.mkdir(parents=True)
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(UsageError, match=r"was not made by tools\.deploy"):
        fresh_working_copy(stack, work_root)
    assert (foreign / "notes.txt").read_text() == "mine"
    with pytest.raises(UsageError, match="would be another file"):
        fresh_working_copy(stack, tmp_path / "deeper" / "still" / "dev")
    assert not (tmp_path / "deeper").exists() or not any((tmp_path / "deeper").rglob("cdk.tf.json"))
    (foreign / "notes.txt").unlink()
    foreign.rmdir()
    copy = fresh_working_copy(stack, work_root)
    for name in ("cdk.tf.json", VERSIONS_FILE):  # the whole configuration, required_version included
        assert (copy / name).read_bytes() == (stack.directory / name).read_bytes()
    (copy / "stale.tfplan").write_text("old")
    assert not (fresh_working_copy(stack, work_root) / "stale.tfplan").exists()


@pytest.mark.parametrize("args", [["plan"], ["deploy", "--env", "qa"], ["apply", "--env", "dev"],
                                  ["deploy", "--env", "dev"]])
def test_bad_input_is_a_usage_error_before_anything_runs(args, capsys, tmp_path):
    # the last case: pytest's stdin is no terminal, so deploy cannot ask and AUTO_APPROVE is not set
    assert deploy.main([*args, "--synth-dir", str(tmp_path / "none")]) == deploy.EXIT_USAGE
    captured = capsys.readouterr()
    assert "make compliance" not in captured.out and captured.err


# -- the plan gate: what only the planned values show --------------------------------------------------------------

OFFLINE_PROVIDER = {"region": "us-east-1", "access_key": "offline", "secret_key": "offline",
                    "skip_credentials_validation": True, "skip_requesting_account_id": True,
                    "skip_metadata_api_check": "true", "skip_region_validation": True}


def write_network_state(state: Path, cidr: str) -> None:
    state.mkdir(exist_ok=True)
    (state / "payments-dev-network.tfstate").write_text(json.dumps({
        "version": 4, "terraform_version": "1.11.0", "serial": 1, "lineage": "test-lineage",
        "outputs": {"onprem_cidr": {"value": cidr, "type": "string"}}, "resources": [], "check_results": None}))


@pytest.mark.parametrize("cidr, caught", [("0.0.0.0/0", True), ("172.16.0.0/20", False)])
def test_the_plan_gate_catches_a_violation_only_the_planned_values_show(tmp_path, terraform, cidr, caught):
    document = {
        "terraform": {"required_providers": {"aws": {"source": "aws", "version": "5.100.0"}}},
        "provider": {"aws": [OFFLINE_PROVIDER]},
        "data": {"terraform_remote_state": {"network": {
            "backend": "local", "config": {"path": "../../../state/payments-dev-network.tfstate"}}}},
        "resource": {"aws_vpc_security_group_ingress_rule": {"onprem_https": {
            "security_group_id": "sg-0123456789abcdef0", "ip_protocol": "tcp", "from_port": 443, "to_port": 443,
            "cidr_ipv4": "${data.terraform_remote_state.network.outputs.onprem_cidr}",
            "description": "HTTPS from the on-prem network"}}},
    }
    synth = write_synth(tmp_path, {"payments-dev-compute": document})
    write_network_state(tmp_path / "state", cidr)
    [stack] = load_stacks(synth, "dev")
    gate = PlanGate([stack.config_file])
    address = "payments-dev-compute:aws_vpc_security_group_ingress_rule.onprem_https"
    assert not [key for key in gate.baseline if key[1] == address and key[2] == "violation"
                and key[0] == "vpc-security-group-ingress-rule-not-open"]  # the synth cannot show it

    work_root = tmp_path / ".deploy" / "dev"
    (work_root / "logs").mkdir(parents=True)
    # The isolated runner: no AWS credentials and a dead proxy, so the plan provably makes no AWS call.
    planned = Deployment([stack], lambda s: IsolatedTerraform(fresh_working_copy(s, work_root), work_root / "logs"),
                         gate, lock_timeout="0s").plan(stack)
    assert not planned.error, planned.error
    assert planned.summary.creates == ["aws_vpc_security_group_ingress_rule.onprem_https"]
    rules = [(f.rule, f.control, f.address, f.kind) for f in planned.findings]
    if caught:
        assert rules == [("vpc-security-group-ingress-rule-not-open", "PCI-NET-002", address, "violation")]
        assert "0.0.0.0/0" in planned.findings[0].detail
        assert "PLAN GATE FAILED: 1 finding(s)" in "\n".join(planned.lines())
    else:
        assert rules == [] and planned.ok


def test_overlay_keeps_unknown_and_sensitive_values_and_the_synthesized_shape():
    synth = {"name": "literal", "ref": "${a.b.c}", "secret": "${random_password.p.result}", "later": "${x.y.id}",
             "block": {"enabled": True, "key": "${aws_kms_key.k.arn}"}}
    planned = {"name": "literal", "ref": "known", "secret": "hunter2", "later": None,
               "block": [{"enabled": True, "key": "arn:aws:kms:us-east-1:1:key/k", "extra": 1}]}
    result = overlay(synth, planned, {"later": True}, {"secret": True})
    assert result == {"name": "literal", "ref": "known", "secret": "${random_password.p.result}", "later": "${x.y.id}",
                      "block": {"enabled": True, "key": "arn:aws:kms:us-east-1:1:key/k"}}


def test_overlay_matches_reordered_set_elements_by_content():
    synth = [{"port": 443, "cidr": "${var.a}"}, {"port": 80, "cidr": "${var.b}"}]
    planned = [{"port": 80, "cidr": "10.0.0.0/8"}, {"port": 443, "cidr": "0.0.0.0/0"}]
    assert overlay(synth, planned) == [{"port": 443, "cidr": "0.0.0.0/0"}, {"port": 80, "cidr": "10.0.0.0/8"}]
    assert overlay(["10.1.0.0/16", "${var.x}"], ["0.0.0.0/0", "10.1.0.0/16"]) == ["10.1.0.0/16", "0.0.0.0/0"]
    # ambiguous: two planned blocks agree with the synthesized one, so it stays as synthesized
    assert overlay([{"cidr": "${var.a}"}], [{"cidr": "1.0.0.0/8"}, {"cidr": "2.0.0.0/8"}]) == [{"cidr": "${var.a}"}]


def _paths(value, path=()):
    """(path, leaf) of every scalar, list indexes included."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*path, index))
    else:
        yield path, value


_SCALARS = st.one_of(st.sampled_from(["${a.b.c}", "${var.x}", "literal", "0.0.0.0/0"]), st.integers(0, 3),
                     st.booleans())
_TREES = st.recursive(_SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(["k", "cidr", "port", "key"]), inner, max_size=3)),
    max_leaves=12)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(synth=_TREES, planned=_TREES, unknown=st.one_of(st.booleans(), _TREES), sensitive=st.one_of(st.booleans(),
                                                                                                     _TREES))
def test_overlay_only_ever_replaces_references_and_never_mutates(synth, planned, unknown, sensitive):
    """Whatever a plan holds: literals of the synth survive, its keys are kept, nothing sensitive or unknown at the
    top is read, and neither input is modified."""
    snapshot = json.dumps([synth, planned], sort_keys=True)
    result = overlay(synth, planned, unknown, sensitive)
    assert json.dumps([synth, planned], sort_keys=True) == snapshot
    if unknown is True or sensitive is True:
        assert result == synth
    if isinstance(synth, dict):
        assert isinstance(result, dict) and set(result) == set(synth)
    literal_leaves = [leaf for _, leaf in _paths(synth) if not (isinstance(leaf, str) and "${" in leaf)]
    if isinstance(synth, dict) or not isinstance(synth, str):
        result_leaves = [leaf for _, leaf in _paths(result)]
        for leaf in literal_leaves:  # a literal is never replaced (it may only move within a reordered set)
            assert result_leaves.count(leaf) >= literal_leaves.count(leaf)


def test_make_targets_need_an_environment():
    for target in ("preflight", "plan", "deploy"):
        completed = subprocess.run(["make", "-s", target], cwd=REPO_ROOT, capture_output=True, text=True,
                                   check=False)
        assert completed.returncode == 2 and f"usage: make {target} ENV=<dev|staging|prod>" in completed.stderr

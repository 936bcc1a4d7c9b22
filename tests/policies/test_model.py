"""The synth model: references resolved within and across stacks, policy documents read in both shapes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from policies.model import InputError, Model, StackFile, interpolations, is_pure_reference, load_synth
from tests.policies.support import fixture_directory


def stack(document: dict, name: str = "s") -> StackFile:
    return StackFile(name=name, path=Path(f"/nowhere/{name}/cdk.tf.json"), sha256="", document=document)


@pytest.mark.parametrize(("text", "expressions"), [
    ("plain", []),
    ("${aws_s3_bucket.b.arn}/*", ["aws_s3_bucket.b.arn"]),
    ("arn:${data.aws_partition.p.partition}:iam::${data.aws_caller_identity.c.account_id}:root",
     ["data.aws_partition.p.partition", "data.aws_caller_identity.c.account_id"]),
    ('${jsonencode({a = "}"})}', ['jsonencode({a = "}"})']),
    ('{"Resource": "${aws_sqs_queue.q.arn}"}', ["aws_sqs_queue.q.arn"]),
    ("${unterminated", []),
])
def test_interpolations(text, expressions):
    assert list(interpolations(text)) == expressions


def test_pure_references():
    assert is_pure_reference("${aws_kms_key.k.arn}")
    assert not is_pure_reference("${aws_kms_key.k.arn}/x") and not is_pure_reference("${a}${b}")


def test_references_across_stacks_follow_remote_state_to_the_producing_resource():
    model = Model(load_synth(fixture_directory("PCI-MON-001") / "pass_p99_alarm_per_stage_across_stacks"))
    stage = model.by_address["api:aws_api_gateway_stage.stage"]
    alarms = {(e["source"]["name"], e["via"], e["attribute"]) for e in stage["referenced_by"]
              if e["source"]["type"] == "aws_cloudwatch_metric_alarm"}
    assert alarms == {("live-p99", "dimensions.Stage", "stage_name")}
    alarm = model.by_address["monitoring:aws_cloudwatch_metric_alarm.live-p99"]
    assert {(e["via"], e["target"]["address"]) for e in alarm["refs"]} == {
        ("dimensions.ApiName", "api:aws_api_gateway_rest_api.api"),
        ("dimensions.Stage", "api:aws_api_gateway_stage.stage"),
        ("alarm_actions[0]", "monitoring:aws_sns_topic.alerts")}


def test_same_names_in_different_stacks_never_reference_each_other():
    bucket = {"aws_s3_bucket": {"b": {"bucket": "x"}}}
    versioning = {"aws_s3_bucket_versioning": {"v": {"bucket": "${aws_s3_bucket.b.id}"}}}
    model = Model([stack({"resource": bucket}, "one"), stack({"resource": {**bucket, **versioning}}, "two")])
    assert model.by_address["one:aws_s3_bucket.b"]["referenced_by"] == []
    assert [e["source"]["address"] for e in model.by_address["two:aws_s3_bucket.b"]["referenced_by"]] == [
        "two:aws_s3_bucket_versioning.v"]


def policy_documents(resources: dict, data: dict | None = None) -> list[dict]:
    model = Model([stack({"resource": resources, "data": data or {}})])
    return [doc for view in model.views for doc in view["policy_documents"]]


def test_policies_are_read_from_json_strings_and_policy_document_data_sources():
    json_policy = json.dumps({"Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:b/*",
                                            "Condition": {"Bool": {"aws:SecureTransport": True}}}})
    documents = policy_documents(
        {"aws_iam_role_policy": {"inline": {"policy": json_policy},
                                 "doc": {"policy": "${data.aws_iam_policy_document.d.json}"}}},
        {"aws_iam_policy_document": {"d": {"statement": [{"actions": ["sqs:SendMessage"], "resources": ["arn:q"]}]}}})
    by_source = {doc["source"]: doc["statements"] for doc in documents}
    assert by_source["inline JSON"][0]["conditions"] == [
        {"test": "Bool", "variable": "aws:SecureTransport", "values": ["true"]}]
    assert by_source["s:data.aws_iam_policy_document.d"][0]["actions"] == ["sqs:SendMessage"]
    assert all(doc["kind"] == "identity" and doc["error"] is None for doc in documents)


@pytest.mark.parametrize(("resources", "error"), [
    ({"aws_iam_role_policy": {"p": {"policy": "${jsonencode(local.p)}"}}},
     "is not a policy document the gate can read"),
    ({"aws_iam_role_policy": {"p": {"policy": "{not json"}}}, "not a JSON policy document"),
    ({"aws_iam_role_policy_attachment": {"a": {"policy_arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}}},
     "AWS-managed policy ReadOnlyAccess cannot be inspected"),
    ({"aws_iam_role": {"r": {"assume_role_policy": "{}", "managed_policy_arns": ["arn:aws:iam::1:policy/x"]}}},
     "is a managed policy outside the synth"),
])
def test_a_policy_the_gate_cannot_read_is_recorded_as_an_error(resources, error):
    assert any(error in (doc["error"] or "") for doc in policy_documents(resources))


def test_a_managed_policy_defined_in_the_synth_is_checked_where_it_is_defined():
    documents = policy_documents({
        "aws_iam_policy": {"p": {"policy": json.dumps({"Statement": []})}},
        "aws_iam_role_policy_attachment": {"a": {"policy_arn": "${aws_iam_policy.p.arn}", "role": "r"}}})
    assert [doc["attribute"] for doc in documents] == ["policy"]


def test_every_kind_of_block_is_a_view():
    document = {"resource": {"aws_vpc": {"v": {}}}, "data": {"aws_region": {"r": {}}},
                "provider": {"aws": [{"region": "us-east-1"}]}, "output": {"o": {"value": "x"}},
                "variable": {"var": {"default": "d"}}, "terraform": {"backend": {"local": {"path": "p"}}}}
    assert sorted(view["address"] for view in Model([stack(document)]).views) == [
        "s:aws_vpc.v", "s:data.aws_region.r", "s:output.o", "s:provider.aws[0]", "s:terraform.backend.local",
        "s:var.var"]


def test_input_errors_name_the_file(tmp_path):
    with pytest.raises(InputError, match="no such synth directory"):
        load_synth(tmp_path / "absent")
    path = tmp_path / "stacks" / "s" / "cdk.tf.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"resource": {"aws_vpc": ["not", "named", "blocks"]}}))
    write_manifest(tmp_path, ["s"])
    with pytest.raises(InputError, match=rf"{path}: not a synthesized Terraform JSON stack: resource.aws_vpc"):
        load_synth(tmp_path)


def write_manifest(synth_dir, stacks):
    (synth_dir / "manifest.json").write_text(json.dumps({"version": "0.21.0", "stacks": {
        name: {"synthesizedStackPath": f"stacks/{name}/cdk.tf.json"} for name in stacks}}))


def synth_of(tmp_path, stacks):
    for name in stacks:
        path = tmp_path / "stacks" / name / "cdk.tf.json"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps({"resource": {"aws_vpc": {"v": {"cidr_block": "10.0.0.0/16"}}}}))
    write_manifest(tmp_path, stacks)
    return tmp_path


STACKS = ["payments-dev-network", "payments-staging-network", "payments-prod-network"]


def test_a_complete_synth_loads_with_every_view_scoped_by_its_stack(tmp_path):
    stacks = load_synth(synth_of(tmp_path, STACKS), environments=("dev", "staging", "prod"))
    assert {view["stack"]: view["environment"] for view in Model(stacks).views} == {
        "payments-dev-network": "dev", "payments-staging-network": "staging", "payments-prod-network": "prod"}


def test_a_synth_without_its_manifest_is_refused(tmp_path):
    synth = synth_of(tmp_path, STACKS)
    (synth / "manifest.json").unlink()
    with pytest.raises(InputError, match=r"manifest\.json: missing"):
        load_synth(synth)


def test_a_stack_deleted_from_the_synth_or_added_to_it_is_refused(tmp_path):
    synth = synth_of(tmp_path / "deleted", STACKS)
    shutil.rmtree(synth / "stacks" / "payments-prod-network")
    with pytest.raises(InputError, match=r"do not match manifest.json \(missing: .*payments-prod-network"):
        load_synth(synth)
    synth = synth_of(tmp_path / "added", STACKS)
    write_manifest(synth, STACKS[:2])
    with pytest.raises(InputError, match=r"not in the manifest: .*payments-prod-network"):
        load_synth(synth)


def test_a_manifest_naming_a_stack_other_than_its_directory_is_refused(tmp_path):
    synth = synth_of(tmp_path, ["payments-prod-data"])
    (synth / "manifest.json").write_text(json.dumps({"stacks": {
        "payments-dev-data": {"synthesizedStackPath": "stacks/payments-prod-data/cdk.tf.json"}}}))
    with pytest.raises(InputError, match="stack names differ from their directories"):
        load_synth(synth)


def test_an_expected_environment_without_a_stack_is_refused(tmp_path):
    synth = synth_of(tmp_path, STACKS[:2])
    with pytest.raises(InputError, match=r"expected environment\(s\) prod"):
        load_synth(synth, environments=("dev", "staging", "prod"))
    assert len(load_synth(synth, environments=("dev", "staging"))) == 2


def test_unresolved_references_are_those_the_synth_does_not_define(tmp_path):
    network = stack({"resource": {"aws_vpc": {"v": {"cidr_block": "10.0.0.0/16"}}},
                     "output": {"cidr": {"value": "${aws_vpc.v.cidr_block}"}},
                     "variable": {"known": {"default": "10.1.0.0/16"}}}, name="payments-prod-network")
    state = {"backend": "local", "config": {"path": "../payments-prod-network.tfstate"}}
    data = stack({"data": {"terraform_remote_state": {"net": state}}}, name="payments-prod-data")
    model = Model([network, data])
    assert model.unresolved("payments-prod-network", "${aws_vpc.v.cidr_block}") == []
    assert model.unresolved("payments-prod-network", "${var.known}") == []
    assert model.unresolved("payments-prod-data", "${data.terraform_remote_state.net.outputs.cidr}") == []
    for unknown in ("${var.missing}", "${aws_vpc.other.cidr_block}", "${local.anywhere}", "${each.value}",
                    '${cidrsubnet("0.0.0.0/0", 0, 0)}', "${aws_vpc.v.cidr_block}-${var.missing}"):
        assert model.unresolved("payments-prod-network", unknown) != [], unknown
    assert model.unresolved("payments-prod-data", "${data.terraform_remote_state.net.outputs.gone}") != []
    assert model.unresolved("payments-prod-network", "0.0.0.0/0") == []

"""Security stack: one rotated CMK per data domain with an explicit policy and an alias; no wildcard
principal; kms:* only for the account root; service principals always scoped by a condition."""

from __future__ import annotations

import pytest

from app.components.kms import KEY_DOMAINS, KEY_ROTATION_PERIOD_DAYS

DOMAINS = {"database", "dynamodb", "s3-audit", "logs", "messaging", "secrets", "parameters", "lambda-env", "backup"}


@pytest.fixture(params=("dev", "staging", "prod"))
def security(request, synth):
    return synth.stack(request.param, "security")


def test_one_key_per_data_domain():
    assert {d.name for d in KEY_DOMAINS} == DOMAINS


def test_keys_rotate_and_have_aliases(security, configs):
    keys = security.resources("aws_kms_key")
    assert len(keys) == len(DOMAINS)
    for key in keys:
        assert key.body["enable_key_rotation"] is True
        assert key.body["rotation_period_in_days"] == KEY_ROTATION_PERIOD_DAYS
        assert 7 <= key.body["deletion_window_in_days"] <= 30
    aliases = security.resources("aws_kms_alias")
    assert {a.body["target_key_id"] for a in aliases} == {k.ref("key_id") for k in keys}
    env = security.name.split("-")[1]
    assert {a.body["name"] for a in aliases} == {f"alias/payments-{env}/{d}" for d in DOMAINS}


def policy_statements(security, key):
    reference = key.body["policy"]
    assert reference.startswith("${data.aws_iam_policy_document.") and reference.endswith(".json}")
    name = reference[len("${data.aws_iam_policy_document.") : -len(".json}")]
    return security.data("aws_iam_policy_document")[name]["statement"]


def test_key_policies_have_no_wildcard_principal_and_scope_every_grant(security):
    for key in security.resources("aws_kms_key"):
        statements = policy_statements(security, key)
        assert statements, f"{key.address}: empty key policy"
        for statement in statements:
            principals = statement["principals"]
            identifiers = [i for p in principals for i in p["identifiers"]]
            assert "*" not in identifiers, f"{key.address}: wildcard principal in {statement['sid']}"
            if "kms:*" in statement["actions"]:
                assert [p["type"] for p in principals] == ["AWS"]
                assert all(i.endswith(":root") for i in identifiers), f"{key.address}: kms:* beyond root"
                assert "condition" not in statement
            else:
                assert statement.get("condition"), f"{key.address}: unconditioned grant {statement['sid']}"


def test_service_use_is_bound_to_the_domain_services(security):
    by_domain = {d.name: d for d in KEY_DOMAINS}
    for key in security.resources("aws_kms_key"):
        domain = by_domain[key.body["tags"]["Name"].split("-", 2)[2]]
        via = [
            c
            for s in policy_statements(security, key)
            for c in s.get("condition", [])
            if c["variable"] == "kms:ViaService"
        ]
        expected = {f"{service}.us-east-1.amazonaws.com" for service in domain.via_services}
        assert {v for c in via for v in c["values"]} == expected


def test_logs_key_admits_cloudwatch_logs_only_for_account_log_groups(security):
    logs_key = next(k for k in security.resources("aws_kms_key") if k.body["tags"]["Name"].endswith("-logs"))
    [grant] = [s for s in policy_statements(security, logs_key) if any(p["type"] == "Service" for p in s["principals"])]
    assert grant["principals"][0]["identifiers"] == ["logs.us-east-1.amazonaws.com"]
    [condition] = grant["condition"]
    assert condition["variable"] == "kms:EncryptionContext:aws:logs:arn"
    assert condition["values"][0].endswith(":log-group:*")


def test_key_arns_are_outputs(security):
    outputs = security.outputs
    for domain in DOMAINS:
        output = outputs[f"kms_key_arn_{domain.replace('-', '_')}"]
        assert output["value"].startswith("${aws_kms_key.") and output["description"]

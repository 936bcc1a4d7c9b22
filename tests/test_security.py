"""Security stack: one rotated CMK per data domain with an explicit policy and an alias; no wildcard
principal; kms:* only for the account root; service principals always scoped by a condition."""

from __future__ import annotations

import pytest

from tests.synth_view import REMOTE

DOMAINS = {"database", "dynamodb", "s3-audit", "logs", "messaging", "secrets", "parameters", "lambda-env", "backup"}
# Every place a resource names a KMS key (resource type, attribute path) -> the data domain whose key it must be.
KEY_USES = {
    ("aws_rds_cluster", "kms_key_id"): "database",
    ("aws_rds_cluster", "master_user_secret_kms_key_id"): "secrets",
    ("aws_rds_cluster_instance", "performance_insights_kms_key_id"): "database",
    ("aws_dms_endpoint", "kms_key_arn"): "database",
    ("aws_dms_replication_instance", "kms_key_arn"): "database",
    ("aws_dynamodb_table", "server_side_encryption.kms_key_arn"): "dynamodb",
    (
        "aws_s3_bucket_server_side_encryption_configuration",
        "rule.apply_server_side_encryption_by_default.kms_master_key_id",
    ): "s3-audit",
    ("aws_cloudwatch_log_group", "kms_key_id"): "logs",
    ("aws_cloudtrail", "kms_key_id"): "s3-audit",
    ("aws_backup_vault", "kms_key_arn"): "backup",
    ("aws_config_delivery_channel", "s3_kms_key_arn"): "s3-audit",
    ("aws_sns_topic", "kms_master_key_id"): "messaging",
    ("aws_sqs_queue", "kms_master_key_id"): "messaging",
    ("aws_secretsmanager_secret", "kms_key_id"): "secrets",
    ("aws_ssm_parameter", "key_id"): "parameters",
    ("aws_lambda_function", "kms_key_arn"): "lambda-env",
}


@pytest.fixture(params=("dev", "staging", "prod"))
def security(request, synth):
    return synth.stack(request.param, "security")


def domain_of(key) -> str:
    return key.body["tags"]["Name"].split("-", 2)[2]


def referenced_key(synth, stack, value: str):
    """The aws_kms_key a whole-string reference names, following cross-stack outputs; None for anything else."""
    remote = REMOTE.fullmatch(value)
    if remote:
        producer = synth.stacks[remote.group(1)]
        return referenced_key(synth, producer, producer.outputs[remote.group(2)]["value"])
    return synth.resolve(stack, value)[0] if value.startswith("${aws_kms_key.") else None


def key_references(synth, stack, node, path=()):
    """(attribute path, key) for every attribute of a resource body that names a KMS key."""
    if isinstance(node, dict):
        for name, value in node.items():
            if name != "//":
                yield from key_references(synth, stack, value, (*path, name))
    elif isinstance(node, list):
        for item in node:
            yield from key_references(synth, stack, item, path)
    elif isinstance(node, str) and (key := referenced_key(synth, stack, node)) is not None:
        yield ".".join(path), key


@pytest.mark.parametrize("env", ("dev", "staging", "prod"))
def test_every_key_protects_its_own_domain_and_only_it(synth, env):
    """Each domain's data is encrypted with that domain's key, and every domain's key is in use: a resource
    encrypted with another domain's key, a use nobody decided on, or an orphaned key fails."""
    used: dict[str, set[str]] = {}
    for stack in (s for name, s in synth.stacks.items() if name.startswith(f"payments-{env}-")):
        for resource in stack.resources():
            if resource.type == "aws_kms_alias":
                continue  # an alias names its own key (test_keys_rotate_and_have_aliases)
            for attribute, key in key_references(synth, stack, resource.body):
                use = (resource.type, attribute)
                assert use in KEY_USES, f"{resource.address}.{attribute}: a key use not in KEY_USES"
                assert domain_of(key) == KEY_USES[use], f"{resource.address}.{attribute}: {domain_of(key)} key"
                used.setdefault(domain_of(key), set()).add(resource.address)
    assert set(used) == DOMAINS, f"keys no resource uses: {DOMAINS - set(used)}"


def test_keys_rotate_and_have_aliases(security, configs):
    from app.components.kms import KEY_ROTATION_PERIOD_DAYS  # provider bindings: not at collection

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
    keys = security.resources("aws_kms_key")
    assert {domain_of(k) for k in keys} == DOMAINS
    for key in keys:
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
    from app.components.kms import KEY_DOMAINS  # provider bindings: not at collection

    by_domain = {d.name: d for d in KEY_DOMAINS}
    keys = security.resources("aws_kms_key")
    assert {domain_of(k) for k in keys} == DOMAINS
    for key in keys:
        domain = by_domain[domain_of(key)]
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

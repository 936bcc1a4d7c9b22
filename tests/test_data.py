"""Data stack: Aurora, DynamoDB, the audit-log archive, SSM runtime configuration, the rotated application
secret and DMS, asserted per environment against the environment's config."""

from __future__ import annotations

import json

import pytest

from lambda_src.payments_common import ssm_contract
from policies.catalog import default_catalog

ENVIRONMENTS = ("dev", "staging", "prod")
PARAMETERS = default_catalog().parameters


@pytest.fixture(params=ENVIRONMENTS)
def env(request):
    return request.param


def key_of(synth, stack, expression: str) -> str:
    """The key domain (database, secrets, ...) of a KMS key reference."""
    key, attribute = synth.resolve(stack, expression)
    assert key.type == "aws_kms_key" and attribute == "arn", expression
    return key.body["tags"]["Name"].split("-", 2)[2]


def tier_of(synth, stack, expression: str) -> str:
    subnet, _ = synth.resolve(stack, expression)
    assert subnet.type == "aws_subnet"
    return subnet.body["tags"]["Tier"]


def test_aurora_cluster_is_encrypted_tls_only_backed_up_and_iam_authenticated(synth, configs, env):
    data, aurora = synth.stack(env, "data"), configs[env].data.aurora
    cluster = data.one("aws_rds_cluster").body
    assert (cluster["engine"], cluster["engine_version"]) == ("aurora-postgresql", aurora.engine_version)
    assert cluster["storage_encrypted"] is True and key_of(synth, data, cluster["kms_key_id"]) == "database"
    assert cluster["backup_retention_period"] == aurora.backup_retention_days >= 7
    assert cluster["preferred_backup_window"] == aurora.backup_window
    assert cluster["copy_tags_to_snapshot"] is True and cluster["skip_final_snapshot"] is False
    assert cluster["final_snapshot_identifier"]
    assert cluster["deletion_protection"] is aurora.deletion_protection
    assert cluster["iam_database_authentication_enabled"] is True
    assert cluster["enabled_cloudwatch_logs_exports"] == ["postgresql"]
    assert cluster["manage_master_user_password"] is True and "master_password" not in cluster
    assert key_of(synth, data, cluster["master_user_secret_kms_key_id"]) == "secrets"
    params = {p["name"]: p["value"] for p in data.one("aws_rds_cluster_parameter_group").body["parameter"]}
    assert params["rds.force_ssl"] == "1" and params["log_connections"] == "1" and params["log_disconnections"] == "1"


def test_prod_is_stricter_than_dev(configs):
    prod, dev = configs["prod"].data, configs["dev"].data
    assert prod.aurora.deletion_protection and prod.aurora.backup_retention_days == 35
    assert prod.aurora.readers >= 2 and prod.dynamodb.deletion_protection
    assert dev.aurora.backup_retention_days < prod.aurora.backup_retention_days


def test_aurora_lives_in_the_database_subnets(synth, env):
    data = synth.stack(env, "data")
    subnet_ids = data.one("aws_db_subnet_group").body["subnet_ids"]
    assert len(subnet_ids) == 3 and {tier_of(synth, data, s) for s in subnet_ids} == {"database"}


def test_writer_and_readers_spread_over_the_azs_with_encrypted_insights(synth, configs, env):
    data, config = synth.stack(env, "data"), configs[env]
    instances = [i.body for i in data.resources("aws_rds_cluster_instance")]
    assert len(instances) == 1 + config.data.aurora.readers
    zones = [i["availability_zone"] for i in instances]
    assert zones[0] not in zones[1:] or len(instances) > 3
    assert len(set(zones)) == min(len(instances), 3)
    for instance in instances:
        assert instance["publicly_accessible"] is False
        assert instance["performance_insights_enabled"] is True
        assert key_of(synth, data, instance["performance_insights_kms_key_id"]) == "database"
        assert instance["monitoring_interval"] > 0
    role = data.by_ref(instances[0]["monitoring_role_arn"].replace(".arn}", ".id}")).body
    assert json.loads(role["assume_role_policy"])["Statement"][0]["Principal"] == {
        "Service": "monitoring.rds.amazonaws.com"
    }
    scaling = data.one("aws_appautoscaling_target").body
    assert scaling["scalable_dimension"] == "rds:cluster:ReadReplicaCount"
    assert (scaling["min_capacity"], scaling["max_capacity"]) == (
        config.data.aurora.reader_autoscaling_min,
        config.data.aurora.reader_autoscaling_max,
    )


def test_aurora_admits_postgres_only_from_client_security_groups(synth, configs, env):
    data = synth.stack(env, "data")
    cluster = data.one("aws_rds_cluster").body
    [aurora_sg] = cluster["vpc_security_group_ids"]
    rules = [r.body for r in data.resources("aws_vpc_security_group_ingress_rule")]
    to_aurora = [r for r in rules if r["security_group_id"] == aurora_sg]
    assert to_aurora and all("cidr_ipv4" not in r and r["referenced_security_group_id"] for r in to_aurora)
    assert all((r["from_port"], r["to_port"]) == (5432, 5432) for r in to_aurora)
    clients = {data.by_ref(r["referenced_security_group_id"]).body["name"] for r in to_aurora}
    expected = {f"payments-{env}-aurora-clients", f"payments-{env}-secret-rotation"}
    if configs[env].data.migration.enabled:
        expected.add(f"payments-{env}-customer-db-migration")
    assert clients == expected
    assert data.by_ref(aurora_sg).body["egress"] == []
    egress = [r.body for r in data.resources("aws_vpc_security_group_egress_rule")
              if r.body.get("referenced_security_group_id") == aurora_sg]
    assert {r["security_group_id"] for r in egress} == {r["referenced_security_group_id"] for r in to_aurora}
    assert all((r["from_port"], r["to_port"]) == (5432, 5432) for r in egress)


def test_transactions_table_has_pitr_cmk_and_the_query_indexes(synth, configs, env):
    data = synth.stack(env, "data")
    tables = {t.body["name"]: t.body for t in data.resources("aws_dynamodb_table")}
    transactions, idempotency = tables[f"payments-{env}-transactions"], tables[f"payments-{env}-idempotency"]
    for table in (transactions, idempotency):
        assert table["point_in_time_recovery"] == {"enabled": True}
        assert table["server_side_encryption"]["enabled"] is True
        assert key_of(synth, data, table["server_side_encryption"]["kms_key_arn"]) == "dynamodb"
        assert table["billing_mode"] == configs[env].data.dynamodb.billing_mode
        assert table["deletion_protection_enabled"] is configs[env].data.dynamodb.deletion_protection
    assert transactions["hash_key"] == "transaction_id"
    indexes = {
        i["name"]: (i["hash_key"], i["range_key"], i["projection_type"]) for i in transactions["global_secondary_index"]
    }
    from app.components.transaction_tables import TRANSACTION_INDEXES  # provider bindings: not at collection

    assert indexes == {i.name: (i.partition_key, i.sort_key, "ALL") for i in TRANSACTION_INDEXES}
    assert idempotency["hash_key"] == "id" and idempotency["ttl"] == {"attribute_name": "expiration", "enabled": True}


def bucket_parts(data, bucket) -> dict[str, dict]:
    """The configuration resources attached to one bucket, by resource type."""
    parts = {}
    for resource in data.resources():
        if resource.type.startswith("aws_s3_bucket_") and resource.body.get("bucket") == bucket.ref():
            parts[resource.type] = resource.body
    return parts


def audit_and_service_buckets(data):
    buckets = {b.body["tags"]["Name"].split("-")[2]: b for b in data.resources("aws_s3_bucket")}
    return buckets["audit"], buckets["service"]


def test_audit_bucket_is_kms_encrypted_versioned_object_locked_and_private(synth, configs, env):
    data, archive = synth.stack(env, "data"), configs[env].data.audit_archive
    audit, _ = audit_and_service_buckets(data)
    assert audit.body["object_lock_enabled"] is True
    parts = bucket_parts(data, audit)
    [rule] = parts["aws_s3_bucket_server_side_encryption_configuration"]["rule"]
    by_default = rule["apply_server_side_encryption_by_default"]
    assert by_default["sse_algorithm"] == "aws:kms" and rule["bucket_key_enabled"] is True
    assert key_of(synth, data, by_default["kms_master_key_id"]) == "s3-audit"
    assert parts["aws_s3_bucket_versioning"]["versioning_configuration"] == {"status": "Enabled"}
    retention = parts["aws_s3_bucket_object_lock_configuration"]["rule"]["default_retention"]
    assert retention == {"mode": archive.object_lock_mode, "days": archive.object_lock_retention_days}
    assert retention["days"] >= PARAMETERS["min_object_lock_retention_days"]
    block = parts["aws_s3_bucket_public_access_block"]
    assert all(
        block[k] is True
        for k in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")
    )
    assert parts["aws_s3_bucket_ownership_controls"]["rule"] == {"object_ownership": "BucketOwnerEnforced"}
    assert parts["aws_s3_bucket_logging"]["target_bucket"].startswith("${aws_s3_bucket.")


@pytest.mark.parametrize("which", ["audit", "service-logs"])
def test_log_buckets_keep_90_days_hot_and_nothing_expires_within_a_year(synth, env, which):
    data = synth.stack(env, "data")
    audit, service = audit_and_service_buckets(data)
    parts = bucket_parts(data, audit if which == "audit" else service)
    for rule in parts["aws_s3_bucket_lifecycle_configuration"]["rule"]:
        assert rule["status"] == "Enabled"
        assert min(t["days"] for t in rule["transition"]) >= PARAMETERS["min_hot_tier_days"]
        minimum = PARAMETERS["min_current_object_expiration_days"]
        assert all(e["days"] >= minimum for e in rule.get("expiration", []))
        assert all(n["noncurrent_days"] >= minimum for n in rule["noncurrent_version_expiration"])
        assert rule["abort_incomplete_multipart_upload"] == [{"days_after_initiation": 7}]
    assert parts["aws_s3_bucket_versioning"]["versioning_configuration"] == {"status": "Enabled"}


@pytest.mark.parametrize("which", ["audit", "service-logs"])
def test_log_bucket_policies_deny_plaintext_and_the_audit_bucket_denies_foreign_encryption(synth, env, which):
    data = synth.stack(env, "data")
    audit, service = audit_and_service_buckets(data)
    policy = json.loads(bucket_parts(data, audit if which == "audit" else service)["aws_s3_bucket_policy"]["policy"])
    statements = {s["Sid"]: s for s in policy["Statement"]}
    tls = statements["DenyInsecureTransport"]
    assert tls["Effect"] == "Deny" and tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    if which == "audit":
        assert statements["DenyUploadsNotEncryptedWithTheBucketKey"]["Effect"] == "Deny"
        assert statements["DenyUploadsWithAnotherKmsKey"]["Effect"] == "Deny"
    allows = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    assert all(s["Principal"] != "*" for s in allows)


def test_service_log_bucket_is_the_only_sse_s3_bucket(synth, env):
    data = synth.stack(env, "data")
    _, service = audit_and_service_buckets(data)
    [rule] = bucket_parts(data, service)["aws_s3_bucket_server_side_encryption_configuration"]["rule"]
    assert rule["apply_server_side_encryption_by_default"]["sse_algorithm"] == "AES256"
    sse_s3 = [
        r
        for r in data.resources("aws_s3_bucket_server_side_encryption_configuration")
        if r.body["rule"][0]["apply_server_side_encryption_by_default"]["sse_algorithm"] != "aws:kms"
    ]
    assert [r.body["bucket"] for r in sse_s3] == [service.ref()]


def test_runtime_configuration_is_in_ssm_under_the_environment_path(synth, configs, env):
    data = synth.stack(env, "data")
    parameters = {p.body["name"]: p.body for p in data.resources("aws_ssm_parameter")}
    prefix = f"/payments/{env}/"
    assert all(name.startswith(prefix) for name in parameters)
    thresholds, limits = ssm_contract.FRAUD_THRESHOLDS.name, ssm_contract.VALIDATION_LIMITS.name
    assert json.loads(parameters[prefix + thresholds]["value"]) == dict(configs[env].runtime.fraud_thresholds)
    assert json.loads(parameters[prefix + limits]["value"]) == {
        "max_amount": dict(configs[env].runtime.validation_max_amount)
    }
    secure = parameters[prefix + ssm_contract.CARD_TOKEN_KEY.name]
    assert secure["type"] == "SecureString" and key_of(synth, data, secure["key_id"]) == "parameters"
    assert "value" not in secure and secure["value_wo"].startswith("${ephemeral.aws_secretsmanager_random_password.")


def test_login_secrets_are_cmk_encrypted_rotated_by_our_lambda_and_never_literal(synth, configs, env):
    data = synth.stack(env, "data")
    secrets = data.resources("aws_secretsmanager_secret")
    users = {configs[env].data.aurora.app_username, *(["payments_dms"] if configs[env].data.migration.enabled else [])}
    assert {s.body["name"].rsplit("/", 1)[1] for s in secrets} == users
    for secret in secrets:
        assert key_of(synth, data, secret.body["kms_key_id"]) == "secrets"
        [rotation] = [r.body for r in data.resources("aws_secretsmanager_secret_rotation")
                      if r.body["secret_id"] == secret.ref()]
        assert rotation["rotation_rules"]["automatically_after_days"] == configs[env].data.secret_rotation_days <= 30
        assert rotation["rotate_immediately"] is True
        function, _attribute = synth.resolve(data, rotation["rotation_lambda_arn"])
        assert function.type == "aws_lambda_function" and function.body["function_name"].endswith("-secret-rotation")
        [version] = [v.body for v in data.resources("aws_secretsmanager_secret_version")
                     if v.body["secret_id"] == secret.ref()]
        assert "secret_string" not in version
        initial = json.loads(version["secret_string_wo"])
        assert initial["password"].startswith("${ephemeral.") and initial["ssl"] is True
        assert set(initial) == {"engine", "host", "port", "dbname", "username", "password", "ssl", "masterarn"}
        [permission] = [p.body for p in data.resources("aws_lambda_permission")
                        if p.body["source_arn"] == secret.ref("arn")]
        assert permission["principal"] == "secretsmanager.amazonaws.com" and permission["source_account"]


def test_rotation_and_bootstrap_are_private_vpc_lambdas_with_exact_permissions(synth, env):
    data = synth.stack(env, "data")
    functions = {f.body["function_name"].rsplit("-", 2)[-2] + "-" + f.body["function_name"].rsplit("-", 1)[-1]: f.body
                 for f in data.resources("aws_lambda_function")}
    assert set(functions) == {"secret-rotation", "db-bootstrap"}
    secret_arns = sorted(s.ref("arn") for s in data.resources("aws_secretsmanager_secret"))
    for name, function in functions.items():
        assert {tier_of(synth, data, s) for s in function["vpc_config"]["subnet_ids"]} == {"private"}
        assert function["tracing_config"] == {"mode": "Active"} and function["reserved_concurrent_executions"] >= 1
        assert key_of(synth, data, function["kms_key_arn"]) == "lambda-env"
        role_id = function["role"].replace(".arn}", ".id}")
        [policy] = [
            json.loads(p.body["policy"]) for p in data.resources("aws_iam_role_policy") if p.body["role"] == role_id
        ]
        actions = {a for s in policy["Statement"] for a in s["Action"]}
        assert "kms:Decrypt" in actions and not any(a.endswith("*") for a in actions)
        writes = [s for s in policy["Statement"] if any(a.startswith("secretsmanager:Put") for a in s["Action"])]
        if name == "secret-rotation":
            assert {"secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage"} <= actions
            assert [sorted(s["Resource"]) for s in writes] == [secret_arns]
        else:
            assert writes == [] and function["handler"] == "bootstrap.lambda_handler"
    bootstrap = data.one("aws_lambda_invocation")
    target, _ = synth.resolve(data, bootstrap.body["function_name"].replace(".function_name}", ".id}"))
    assert target.body["handler"] == "bootstrap.lambda_handler"
    for rotation in data.resources("aws_secretsmanager_secret_rotation"):
        assert f"{bootstrap.type}.{bootstrap.name}" in rotation.body["depends_on"], "rotation before bootstrap"


def test_dms_exists_exactly_when_migration_is_on_private_encrypted_and_verify_full(synth, configs, env):
    data = synth.stack(env, "data")
    instances = data.resources("aws_dms_replication_instance")
    if not configs[env].data.migration.enabled:
        assert not [r for r in data.resources() if r.type.startswith("aws_dms_")]
        return
    [instance] = instances
    assert instance.body["publicly_accessible"] is False
    assert key_of(synth, data, instance.body["kms_key_arn"]) == "database"
    assert instance.body["multi_az"] is configs[env].data.migration.multi_az
    endpoints = {e.body["endpoint_type"]: e.body for e in data.resources("aws_dms_endpoint")}
    assert endpoints["source"]["ssl_mode"] == "verify-full" and endpoints["source"]["certificate_arn"]
    assert endpoints["source"]["secrets_manager_arn"] == configs[env].data.migration.source.credentials_secret_arn
    assert "password" not in endpoints["source"] and "password" not in endpoints["target"]
    task = data.one("aws_dms_replication_task").body
    assert task["migration_type"] == "full-load-and-cdc"
    subnet_ids = data.one("aws_dms_replication_subnet_group").body["subnet_ids"]
    assert {tier_of(synth, data, s) for s in subnet_ids} == {"database"}


def test_data_outputs_for_operations(synth, configs, env):
    outputs = synth.stack(env, "data").outputs
    expected = {
        "aurora_writer_endpoint",
        "aurora_reader_endpoint",
        "aurora_port",
        "app_secret_arn",
        "transactions_table_name",
        "transactions_table_arn",
        "idempotency_table_name",
        "audit_bucket_name",
        "parameter_path",
    }
    assert expected <= set(outputs)
    assert ("dms_replication_task_arn" in outputs) is configs[env].data.migration.enabled


def test_the_rds_ca_bundle_is_shipped_to_the_functions_and_verifies_the_dms_target(synth, configs, tmp_path):
    import dataclasses
    import zipfile

    from app.synth import synthesize
    from tests.postgres_server import make_certificate_authority
    from tests.synth_view import SynthView

    def shipped_and_target(view: SynthView) -> tuple[dict[str, bytes | None], dict]:
        data = view.stack("staging", "data")
        shipped = {}
        for function in data.resources("aws_lambda_function"):
            package = view.synth_dir / "stacks" / data.name / function.body["filename"]
            with zipfile.ZipFile(package) as archive:
                names = archive.namelist()
                shipped[function.body["handler"]] = (
                    archive.read("rds-ca-bundle.pem") if "rds-ca-bundle.pem" in names else None
                )
        [target] = [e.body for e in data.resources("aws_dms_endpoint") if e.body["endpoint_type"] == "target"]
        return shipped, target

    # The repository ships no bundle (certificates/README.md): the functions fail closed, DMS only encrypts.
    shipped, target = shipped_and_target(synth)
    assert set(shipped.values()) == {None}
    assert target["ssl_mode"] == "require" and "certificate_arn" not in target

    bundle = make_certificate_authority("RDS test CA").write(tmp_path / "rds-ca-bundle.pem")
    staging = configs["staging"]
    aurora = dataclasses.replace(staging.data.aurora, ca_bundle_file=str(bundle))
    synthesize([dataclasses.replace(staging, data=dataclasses.replace(staging.data, aurora=aurora))],
               tmp_path / "out")
    view = SynthView(tmp_path / "out")
    shipped, target = shipped_and_target(view)
    assert shipped == {"handler.lambda_handler": bundle.read_bytes(), "bootstrap.lambda_handler": bundle.read_bytes()}
    assert target["ssl_mode"] == "verify-full"
    certificate = view.stack("staging", "data").by_ref(target["certificate_arn"].replace(".certificate_arn}", ".id}"))
    assert certificate.body["certificate_pem"] == bundle.read_text()

"""The synth-time rule pack: every rule fails synth on a minimal noncompliant construct (naming its control,
the PCI DSS requirements, the construct path and the fix) and lets a compliant one through.

Constructs are bare ``TerraformResource``s of the rule's type whose attributes are set with overrides, which
is what the aspect reads (``to_terraform()`` includes overrides); a few tests use the provider's own classes
to show tokens (references) are read the same way. Each synth is a small single-stack app in this process.
"""

from __future__ import annotations

import copy
import datetime as dt
import json

import pytest

from policies.catalog import default_catalog
from policies.register import REGISTER_FILE, ExceptionEntry, Register, reference_sha256_of

CATALOG = default_catalog()
TAGS = {"Project": "payments-platform", "Environment": "prod", "CostCenter": "CC-1", "Owner": "team@example.com",
        "DataClassification": "confidential", "PciScope": "in-scope", "ManagedBy": "cdktf"}
KEY = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ROOT_KEY_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Sid": "Root", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*",
    "Resource": "*"}]})

# A compliant body per resource type; each rule's case below breaks it in one way.
COMPLIANT = {
    "aws_rds_cluster": {
        "engine": "aurora-postgresql", "storage_encrypted": True, "kms_key_id": KEY, "backup_retention_period": 7,
        "deletion_protection": True, "iam_database_authentication_enabled": True,
        "enabled_cloudwatch_logs_exports": ["postgresql"], "manage_master_user_password": True,
        "master_username": "admin", "performance_insights_enabled": True, "performance_insights_kms_key_id": KEY},
    "aws_rds_cluster_instance": {"cluster_identifier": "c", "instance_class": "db.r6g.large",
                                 "performance_insights_enabled": True, "performance_insights_kms_key_id": KEY},
    "aws_rds_cluster_parameter_group": {"name": "p", "family": "aurora-postgresql16",
                                        "parameter": [{"name": "rds.force_ssl", "value": "1"}]},
    "aws_dynamodb_table": {"name": "t", "hash_key": "id", "attribute": [{"name": "id", "type": "S"}],
                           "server_side_encryption": {"enabled": True, "kms_key_arn": KEY},
                           "point_in_time_recovery": {"enabled": True}},
    "aws_sns_topic": {"name": "t", "kms_master_key_id": KEY},
    "aws_sqs_queue": {"name": "q", "kms_master_key_id": KEY},
    "aws_cloudwatch_log_group": {"name": "/l", "kms_key_id": KEY, "retention_in_days": 365},
    "aws_secretsmanager_secret": {"name": "s", "kms_key_id": KEY},
    "aws_secretsmanager_secret_rotation": {"secret_id": "s", "rotation_lambda_arn": "arn:aws:lambda:::function:r",
                                           "rotation_rules": {"automatically_after_days": 30}},
    "aws_ssm_parameter": {"name": "/p", "type": "SecureString", "key_id": KEY, "value": "placeholder"},
    "aws_lambda_function": {
        "function_name": "f", "role": "arn:aws:iam::111122223333:role/f", "runtime": "python3.12", "handler": "h",
        "filename": "f.zip", "kms_key_arn": KEY, "reserved_concurrent_executions": 5,
        "tracing_config": {"mode": "Active"},
        "vpc_config": {"subnet_ids": ["subnet-1"], "security_group_ids": ["sg-1"]},
        "environment": {"variables": {"CONFIG_PATH": "/payments/prod", "POWERTOOLS_SERVICE_NAME": "f"}}},
    "aws_kms_key": {"enable_key_rotation": True, "rotation_period_in_days": 365, "policy": ROOT_KEY_POLICY},
    "aws_s3_bucket": {"bucket": "payments-prod-audit-logs", "object_lock_enabled": True},
    "aws_s3_bucket_versioning": {"bucket": "b", "versioning_configuration": {"status": "Enabled"}},
    "aws_s3_bucket_lifecycle_configuration": {"bucket": "b", "rule": [{
        "id": "r", "status": "Enabled", "transition": [{"days": 92, "storage_class": "GLACIER"}],
        "expiration": [{"days": 2557}]}]},
    "aws_s3_bucket_public_access_block": {"bucket": "b", "block_public_acls": True, "block_public_policy": True,
                                          "ignore_public_acls": True, "restrict_public_buckets": True},
    "aws_cloudwatch_metric_alarm": {"alarm_name": "a", "comparison_operator": "GreaterThanThreshold",
                                    "evaluation_periods": 1, "alarm_actions": ["arn:aws:sns:us-east-1:1:t"]},
    "aws_security_group": {"name": "sg", "ingress": [{"from_port": 443, "to_port": 443, "protocol": "tcp",
                                                      "cidr_blocks": ["10.0.0.0/16"]}]},
    "aws_vpc_security_group_ingress_rule": {"security_group_id": "sg-1", "cidr_ipv4": "10.0.0.0/16",
                                            "ip_protocol": "tcp", "from_port": 443, "to_port": 443},
    "aws_network_acl_rule": {"network_acl_id": "acl-1", "rule_number": 100, "egress": False, "protocol": "tcp",
                             "rule_action": "allow", "cidr_block": "10.0.1.0/24", "from_port": 5432, "to_port": 5432},
    "aws_api_gateway_stage": {"rest_api_id": "a", "stage_name": "live", "deployment_id": "d",
                              "xray_tracing_enabled": True,
                              "access_log_settings": {"destination_arn": "arn:aws:logs:us-east-1:1:log-group:a",
                                                      "format": "$context.requestId"}},
    "aws_api_gateway_method": {"rest_api_id": "a", "resource_id": "r", "http_method": "POST",
                               "authorization": "AWS_IAM", "request_validator_id": "v"},
    "aws_api_gateway_integration": {"rest_api_id": "a", "resource_id": "r", "http_method": "POST",
                                    "type": "HTTP_PROXY", "connection_type": "VPC_LINK", "connection_id": "l"},
    "aws_lb": {"name": "alb", "load_balancer_type": "application", "internal": True,
               "drop_invalid_header_fields": True, "access_logs": {"bucket": "logs", "enabled": True}},
    "aws_lb_listener": {"load_balancer_arn": "arn", "port": 443, "protocol": "HTTPS",
                        "ssl_policy": "ELBSecurityPolicy-TLS13-1-2-2021-06",
                        "default_action": [{"type": "fixed-response"}]},
    "aws_iam_role_policy": {"role": "r", "policy": json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": "arn:aws:dynamodb:us-east-1:1:table/t"},
        {"Effect": "Allow", "Action": "xray:PutTraceSegments", "Resource": "*"}]})},
    "aws_vpc": {"cidr_block": "10.0.0.0/16"},
    "aws_backup_vault_lock_configuration": {"backup_vault_name": "vault", "changeable_for_days": 3,
                                            "min_retention_days": 35, "max_retention_days": 365},
    "aws_dms_endpoint": {"endpoint_id": "source", "endpoint_type": "source", "engine_name": "postgres",
                         "ssl_mode": "verify-full"},
    "aws_wafv2_web_acl": {"name": "acl", "scope": "REGIONAL", "default_action": {"allow": {}},
                          "rule": [{"name": "rate", "priority": 1, "action": {"block": {}},
                                    "statement": {"rate_based_statement": {"limit": 100}}}]},
    "aws_cloudtrail": {
        "name": "trail", "s3_bucket_name": "audit", "kms_key_id": KEY, "is_multi_region_trail": True,
        "enable_log_file_validation": True,
        "advanced_event_selector": [{"name": "management", "field_selector": [
            {"field": "eventCategory", "equals": ["Management"]}]}],
    },
}

# (rule, resource type, changes that break it: attribute -> value, None deletes)
VIOLATIONS = [
    ("rds_cluster_storage_encrypted_with_cmk", "aws_rds_cluster", {"kms_key_id": "alias/aws/rds"}),
    ("performance_insights_encrypted_with_cmk", "aws_rds_cluster_instance", {"performance_insights_kms_key_id": None}),
    ("dynamodb_table_encrypted_with_cmk", "aws_dynamodb_table", {"server_side_encryption": None}),
    ("sns_topic_encrypted_with_cmk", "aws_sns_topic", {"kms_master_key_id": None}),
    ("sqs_queue_encrypted_with_cmk", "aws_sqs_queue", {"kms_master_key_id": "alias/aws/sqs"}),
    ("log_group_encrypted_with_cmk", "aws_cloudwatch_log_group", {"kms_key_id": None}),
    ("secret_encrypted_with_cmk", "aws_secretsmanager_secret", {"kms_key_id": None}),
    ("ssm_secure_string_encrypted_with_cmk", "aws_ssm_parameter", {"key_id": None}),
    ("lambda_environment_encrypted_with_cmk", "aws_lambda_function", {"kms_key_arn": None}),
    ("kms_key_rotation_enabled", "aws_kms_key", {"enable_key_rotation": False}),
    ("kms_key_policy_explicit_without_wildcard_principal", "aws_kms_key", {"policy": None}),
    ("s3_versioning_enabled", "aws_s3_bucket_versioning", {"versioning_configuration": {"status": "Suspended"}}),
    ("s3_lifecycle_keeps_audit_history", "aws_s3_bucket_lifecycle_configuration", {"rule": [{
        "id": "r", "status": "Enabled", "transition": [{"days": 30, "storage_class": "GLACIER"}]}]}),
    ("s3_public_access_fully_blocked", "aws_s3_bucket_public_access_block", {"ignore_public_acls": False}),
    ("audit_bucket_object_lock_enabled", "aws_s3_bucket", {"object_lock_enabled": None}),
    ("dynamodb_point_in_time_recovery_enabled", "aws_dynamodb_table", {"point_in_time_recovery": {"enabled": False}}),
    ("rds_cluster_backups_retained", "aws_rds_cluster", {"backup_retention_period": 1}),
    ("production_rds_cluster_deletion_protected", "aws_rds_cluster", {"deletion_protection": False}),
    ("rds_cluster_iam_authentication_enabled", "aws_rds_cluster", {"iam_database_authentication_enabled": None}),
    ("rds_cluster_exports_postgresql_logs", "aws_rds_cluster", {"enabled_cloudwatch_logs_exports": ["upgrade"]}),
    ("cluster_parameter_group_forces_ssl", "aws_rds_cluster_parameter_group", {"parameter": []}),
    ("log_group_retention_at_least_a_year", "aws_cloudwatch_log_group", {"retention_in_days": 90}),
    ("alarm_has_actions", "aws_cloudwatch_metric_alarm", {"alarm_actions": None}),
    ("ingress_not_open_to_the_internet", "aws_security_group", {"ingress": [{
        "from_port": 443, "to_port": 443, "protocol": "tcp", "cidr_blocks": ["0.0.0.0/0"]}]}),
    ("ingress_not_open_to_the_internet", "aws_vpc_security_group_ingress_rule",
     {"cidr_ipv6": "::/0", "cidr_ipv4": None}),
    ("ingress_not_open_to_the_internet", "aws_network_acl_rule", {"cidr_block": "0.0.0.0/0"}),
    ("lambda_runs_in_vpc", "aws_lambda_function", {"vpc_config": None}),
    ("lambda_reserved_concurrency_set", "aws_lambda_function", {"reserved_concurrent_executions": -1}),
    ("lambda_active_tracing", "aws_lambda_function", {"tracing_config": {"mode": "PassThrough"}}),
    ("lambda_configuration_from_ssm", "aws_lambda_function", {"environment": {"variables": {"TABLE": "t"}}}),
    ("api_stage_access_logging", "aws_api_gateway_stage", {"access_log_settings": None}),
    ("api_method_request_validated", "aws_api_gateway_method", {"request_validator_id": None}),
    ("api_method_authorized", "aws_api_gateway_method", {"authorization": "NONE"}),
    ("api_integration_uses_vpc_link", "aws_api_gateway_integration", {"connection_type": "INTERNET"}),
    ("alb_listener_https_with_modern_tls", "aws_lb_listener", {"ssl_policy": "ELBSecurityPolicy-2016-08"}),
    ("alb_drops_invalid_headers", "aws_lb", {"drop_invalid_header_fields": None}),
    ("alb_access_logs_enabled", "aws_lb", {"access_logs": {"bucket": "logs", "enabled": False}}),
    ("secret_rotation_within_30_days", "aws_secretsmanager_secret_rotation",
     {"rotation_rules": {"schedule_expression": "rate(60 days)"}}),
    ("no_secret_values_in_attributes", "aws_rds_cluster", {"master_password": "Sup3rSecret!"}),
    ("iam_statements_least_privilege", "aws_iam_role_policy", {"policy": json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})}),
    ("required_tags_present", "aws_vpc", {"tags": {key: value for key, value in TAGS.items() if key != "Owner"}}),
    ("environment_tag_matches_stack", "aws_vpc", {"tags": {**TAGS, "Environment": "staging"}}),
    ("api_stage_xray_tracing", "aws_api_gateway_stage", {"xray_tracing_enabled": False}),
    ("web_acl_has_rules", "aws_wafv2_web_acl", {"rule": None}),
    ("dms_endpoint_encrypts_connections", "aws_dms_endpoint", {"ssl_mode": "none"}),
    ("dms_endpoint_encrypts_connections", "aws_dms_endpoint", {"ssl_mode": None}),
    ("lambda_runtime_supported", "aws_lambda_function", {"runtime": "python3.7"}),
    ("backup_vault_lock_in_compliance_mode", "aws_backup_vault_lock_configuration", {"changeable_for_days": None}),
    ("backup_vault_lock_in_compliance_mode", "aws_backup_vault_lock_configuration", {"min_retention_days": 1}),
    *[("cloudtrail_records_every_region_validated_and_encrypted", "aws_cloudtrail", changes) for changes in (
        {"is_multi_region_trail": False},
        {"enable_log_file_validation": None},
        {"kms_key_id": "alias/aws/cloudtrail"},
        {"advanced_event_selector": [{"name": "writes", "field_selector": [
            {"field": "eventCategory", "equals": ["Management"]}, {"field": "readOnly", "equals": ["false"]}]}]},
        {"advanced_event_selector": None, "event_selector": [{"include_management_events": False}]},
    )],
]
RULE_CONTROLS = {name: control.id for control in CATALOG.controls for name in control.layers.aspect}


def broken(resource_type: str, changes: dict) -> dict:
    body = copy.deepcopy(COMPLIANT[resource_type])
    for key, value in changes.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    return body


def synth_stack(tmp_path, build, register: Register | None = None, stack_name: str = "payments-prod-test"):
    """Synthesize one stack with the PCI pack; returns the manifest's annotations or raises on an error."""
    from cdktf import App, Aspects, TerraformStack

    from app.aspects.pci import PciRulePack

    tmp_path.mkdir(parents=True, exist_ok=True)
    app = App(outdir=str(tmp_path / "out"))
    stack = TerraformStack(app, stack_name)
    build(stack)
    Aspects.of(stack).add(PciRulePack(register=register))
    app.synth()
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    return manifest["stacks"][stack_name]["annotations"]


def bare_resource(stack, resource_type: str, body: dict, construct_id: str = "subject"):
    from cdktf import TerraformResource

    resource = TerraformResource(stack, construct_id, terraform_resource_type=resource_type)
    attributes = dict(body)
    if resource_type in CATALOG.taggable_types and "tags" not in attributes:
        attributes["tags"] = TAGS
    for key, value in attributes.items():
        resource.add_override(key, value)
    return resource


def test_every_aspect_rule_has_a_violation_case():
    assert {rule for rule, _, _ in VIOLATIONS} == set(RULE_CONTROLS)


@pytest.mark.parametrize("resource_type", sorted({rtype for _, rtype, _ in VIOLATIONS}))
def test_a_compliant_construct_synthesizes(resource_type, tmp_path):
    annotations = synth_stack(tmp_path, lambda stack: bare_resource(stack, resource_type, COMPLIANT[resource_type]))
    assert annotations == []


@pytest.mark.parametrize(("rule", "resource_type", "changes"), VIOLATIONS,
                         ids=[f"{RULE_CONTROLS[rule]}/{rule}-{rtype}" for rule, rtype, _ in VIOLATIONS])
def test_a_violation_fails_synth_naming_control_requirements_path_and_fix(rule, resource_type, changes, tmp_path):
    control = CATALOG.control(RULE_CONTROLS[rule])
    with pytest.raises(RuntimeError) as failure:
        synth_stack(tmp_path, lambda stack: bare_resource(stack, resource_type, broken(resource_type, changes)))
    message = str(failure.value)
    assert f"[{control.id}]" in message and f"(rule {rule})" in message
    assert control.requirement_text in message
    assert "payments-prod-test/subject" in message
    assert control.remediation in message
    # Only the broken control complains: the case breaks exactly one thing.
    assert {c.id for c in CATALOG.controls if f"[{c.id}]" in message} == {control.id}


def test_provider_constructs_and_references_are_read_like_bare_ones(tmp_path):
    """Tokens: a reference to a CMK counts as set; a token where a literal is required never complies."""
    from cdktf import TerraformVariable
    from cdktf_cdktf_provider_aws.dynamodb_table import (
        DynamodbTable,
        DynamodbTableAttribute,
        DynamodbTablePointInTimeRecovery,
        DynamodbTableServerSideEncryption,
    )
    from cdktf_cdktf_provider_aws.kms_key import KmsKey
    from cdktf_cdktf_provider_aws.provider import AwsProvider

    def build(stack, rotation):
        AwsProvider(stack, "aws", region="us-east-1")
        key = KmsKey(stack, "key", enable_key_rotation=rotation, policy=ROOT_KEY_POLICY, tags=TAGS)
        DynamodbTable(stack, "table", name="t", hash_key="id", attribute=[DynamodbTableAttribute(name="id", type="S")],
                      server_side_encryption=DynamodbTableServerSideEncryption(enabled=True, kms_key_arn=key.arn),
                      point_in_time_recovery=DynamodbTablePointInTimeRecovery(enabled=True), tags=TAGS)

    assert synth_stack(tmp_path / "literal", lambda stack: build(stack, True)) == []
    with pytest.raises(RuntimeError, match=r"\[PCI-KMS-001\].*enable_key_rotation is '\$\{TfToken"):
        synth_stack(tmp_path / "token", lambda stack: build(
            stack, TerraformVariable(stack, "rotate", type="bool").boolean_value))


def test_policy_documents_are_checked_at_synth(tmp_path):
    from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
        DataAwsIamPolicyDocument,
        DataAwsIamPolicyDocumentStatement,
        DataAwsIamPolicyDocumentStatementPrincipals,
    )
    from cdktf_cdktf_provider_aws.provider import AwsProvider

    def build(stack, principal):
        AwsProvider(stack, "aws", region="us-east-1")
        DataAwsIamPolicyDocument(stack, "doc", statement=[DataAwsIamPolicyDocumentStatement(
            actions=["kms:Decrypt"], resources=["*"],
            principals=[DataAwsIamPolicyDocumentStatementPrincipals(type="AWS", identifiers=[principal])])])

    assert synth_stack(tmp_path / "root", lambda stack: build(stack, "arn:aws:iam::111122223333:root")) == []
    with pytest.raises(RuntimeError, match=r"\[PCI-IAM-001\].*wildcard principal"):
        synth_stack(tmp_path / "anyone", lambda stack: build(stack, "*"))


def exception_for(address: str, expires: dt.date) -> Register:
    reference = "docs/exceptions/EXC-001-service-logs-sse-s3.md"
    return Register(entries=(ExceptionEntry(
        index=0, control="PCI-ALB-004", resource=address, approver_name="Ada Lovelace",
        approver_role="Head of Information Security",
        justification="The load balancer is being decommissioned this quarter and serves no traffic any more.",
        approved=expires - dt.timedelta(days=60), expires=expires, reference=reference,
        reference_sha256=reference_sha256_of(reference), compensating_controls=("PCI-ALB-001",)),),
        source=REGISTER_FILE)


def test_the_register_turns_an_accepted_violation_into_a_warning(tmp_path):
    address = "payments-prod-test:aws_lb.subject"
    violation = broken("aws_lb", {"access_logs": None})
    today = dt.datetime.now(dt.timezone.utc).date()

    annotations = synth_stack(tmp_path / "valid", lambda stack: bare_resource(stack, "aws_lb", violation),
                              register=exception_for(address, today + dt.timedelta(days=30)))
    assert [a["level"] for a in annotations] == ["@cdktf/warn"]
    assert "EXCEPTED" in annotations[0]["message"] and "[PCI-ALB-004]" in annotations[0]["message"]
    with pytest.raises(RuntimeError, match=r"\[PCI-ALB-004\]"):
        synth_stack(tmp_path / "expired", lambda stack: bare_resource(stack, "aws_lb", violation),
                    register=exception_for(address, today - dt.timedelta(days=1)))


def test_the_pack_refuses_a_catalog_it_does_not_match():
    import dataclasses

    from policies.rules.registry import PackMismatchError, registered_rules, verify_against_catalog

    rules = registered_rules(CATALOG)
    first = CATALOG.controls[0]
    stripped = dataclasses.replace(first, layers=dataclasses.replace(first.layers, aspect=()))
    catalog = dataclasses.replace(CATALOG, controls=(stripped, *CATALOG.controls[1:]))
    with pytest.raises(PackMismatchError, match=first.layers.aspect[0]):
        verify_against_catalog(rules, catalog)


def test_the_pack_refuses_a_rule_filed_in_another_controls_area():
    """A rule of PCI-ENC-001 defined in the KMS area's module is refused, naming where it belongs."""
    import dataclasses

    from policies.rules.registry import PackMismatchError, registered_rules, verify_against_catalog

    rules = registered_rules(CATALOG)
    moved = [dataclasses.replace(r, check=_renamed(r.check, "policies.controls.kms.rules"))
             if r.control_id == "PCI-ENC-001" else r for r in rules]
    expected = (r"rds_cluster_storage_encrypted_with_cmk of PCI-ENC-001 is defined in policies\.controls\.kms\.rules; "
                r"move it to policies\.controls\.enc\.rules")
    with pytest.raises(PackMismatchError, match=expected):
        verify_against_catalog(moved, CATALOG)


def _renamed(check, module: str):
    def copy(*args, **kwargs):
        return check(*args, **kwargs)

    copy.__name__, copy.__module__ = check.__name__, module
    return copy


def test_every_stack_runs_the_pack_right_after_the_tagging_aspect(configs, tmp_path, app_synth):
    from cdktf import Aspects

    from app.aspects import CostAllocationTagging
    from app.aspects.pci import PciRulePack

    _, stacks = app_synth.build_app(tmp_path, [configs["dev"]])
    for stack in vars(stacks["dev"]).values():
        assert [type(a) for a in Aspects.of(stack).all] == [CostAllocationTagging, PciRulePack], stack.node.id


def test_deletion_protection_is_scoped_by_the_stack_never_by_the_clusters_own_tag(tmp_path):
    """A production cluster relabelled staging is still production (and the label is a finding); a cluster in a
    development stack needs no deletion protection, whatever it is tagged."""
    relabelled = broken("aws_rds_cluster", {"deletion_protection": False, "tags": {**TAGS, "Environment": "staging"}})
    with pytest.raises(RuntimeError) as failure:
        synth_stack(tmp_path / "prod", lambda stack: bare_resource(stack, "aws_rds_cluster", relabelled))
    message = str(failure.value)
    assert "[PCI-RDS-002]" in message and "[PCI-TAG-002]" in message
    development = broken("aws_rds_cluster", {"deletion_protection": False, "tags": {**TAGS, "Environment": "dev"}})
    assert synth_stack(tmp_path / "dev", lambda stack: bare_resource(stack, "aws_rds_cluster", development),
                       stack_name="payments-dev-test") == []

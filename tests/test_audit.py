"""payments-<env>-audit: the trail writes into the Object-Lock archive (bucket policy and key policy grant exactly
this trail), its CloudWatch Logs copy raises one alarm per PCI DSS 10.2.1.x security event on system-errors,
AWS Backup protects the data stores under a locked vault, and the account-owner environment runs AWS Config
(recorder, delivery, runtime rules of the coverage matrix), GuardDuty and Security Hub with findings routed to
system-errors. AWS API constraints are pinned where the AWS documentation states them."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest

from app.components.security_events import METRIC_NAMESPACE, SECURITY_EVENTS
from policies.catalog import default_catalog
from policies.coverage import load_coverage

ENVIRONMENTS = ("dev", "staging", "prod")


@pytest.fixture(params=ENVIRONMENTS)
def env(request):
    return request.param


def body(resource) -> dict:
    return {k: v for k, v in resource.body.items() if k != "//"}


def resolved(synth, stack, expression: str):
    """The resource an expression (possibly a cross-stack reference, possibly with a suffix) points to."""
    return synth.resolve(stack, expression)


def key_domain(synth, stack, expression: str) -> str:
    key, attribute = resolved(synth, stack, expression)
    assert key.type == "aws_kms_key" and attribute == "arn"
    return key.body["tags"]["Name"].split("-", 2)[2]


def key_statements(synth, env: str, domain: str) -> list[dict]:
    security = synth.stack(env, "security")
    key = next(k for k in security.resources("aws_kms_key") if k.body["tags"]["Name"] == f"payments-{env}-{domain}")
    name = key.body["policy"][len("${data.aws_iam_policy_document.") : -len(".json}")]
    return security.data("aws_iam_policy_document")[name]["statement"]


def audit_bucket_policy(synth, env: str) -> list[dict]:
    data = synth.stack(env, "data")
    [policy] = [p for p in data.resources("aws_s3_bucket_policy") if "audit" in p.path and "service" not in p.path]
    return json.loads(policy.body["policy"])["Statement"]


# ----------------------------------------------------------------------------------------------- stack order


def test_audit_stack_comes_last_and_nothing_depends_on_it(synth, env):
    audit = synth.stack(env, "audit")
    text = json.dumps(audit.document)
    producers = set(re.findall(r"cross-stack-reference-input-(payments-[a-z]+-[a-z]+)\.", text))
    assert producers == {f"payments-{env}-{d}" for d in ("security", "network", "data", "monitoring")}
    for domain in ("security", "network", "data", "compute", "api", "monitoring"):
        assert f"cross-stack-reference-input-payments-{env}-audit" not in json.dumps(synth.stack(env, domain).document)


# ----------------------------------------------------------------------------------------------- the trail


def test_trail_is_multi_region_validated_and_encrypted_with_the_archive_key(synth, env):
    from app.components import audit_delivery
    audit = synth.stack(env, "audit")
    trail = audit.one("aws_cloudtrail").body
    assert trail["is_multi_region_trail"] is True
    assert trail["include_global_service_events"] is True
    assert trail["enable_log_file_validation"] is True
    assert trail["enable_logging"] is True
    assert trail["name"] == audit_delivery.trail_name(f"payments-{env}")
    assert key_domain(synth, audit, trail["kms_key_id"]) == "s3-audit"
    bucket, attribute = resolved(synth, audit, trail["s3_bucket_name"])
    assert bucket.type == "aws_s3_bucket" and attribute == "bucket"
    assert bucket.body["object_lock_enabled"] is True
    assert bucket.body["bucket"].startswith(f"payments-{env}-audit-logs-")
    # The archive is SSE-KMS with the same key the trail encrypts with (the bucket policy denies any other).
    data = synth.stack(env, "data")
    [encryption] = [
        e for e in data.resources("aws_s3_bucket_server_side_encryption_configuration") if "audit" in e.path
    ]
    rule = encryption.body["rule"][0]["apply_server_side_encryption_by_default"]
    assert key_domain(synth, data, rule["kms_master_key_id"]) == "s3-audit"


def test_trail_records_management_events_read_and_write_and_the_data_events_pci_names(synth, env):
    audit = synth.stack(env, "audit")
    selectors = audit.one("aws_cloudtrail").body["advanced_event_selector"]
    by_category = {}
    for selector in selectors:
        fields = {f["field"]: f for f in selector["field_selector"]}
        by_category.setdefault(fields["eventCategory"]["equals"][0], []).append(fields)
    [management] = by_category["Management"]
    assert set(management) == {"eventCategory"}, "a readOnly field would drop reads or writes"
    data_events = {fields["resources.type"]["equals"][0]: fields for fields in by_category["Data"]}
    assert set(data_events) == {"AWS::S3::Object", "AWS::DynamoDB::Table"}
    for fields in data_events.values():
        assert "readOnly" not in fields and "eventName" not in fields
    [prefix] = data_events["AWS::S3::Object"]["resources.ARN"]["starts_with"]
    assert prefix.endswith("}/")
    bucket, attribute = resolved(synth, audit, prefix[:-1])
    assert bucket.type == "aws_s3_bucket" and attribute == "arn" and bucket.body["object_lock_enabled"] is True
    [table_arn] = data_events["AWS::DynamoDB::Table"]["resources.ARN"]["equals"]
    table, attribute = resolved(synth, audit, table_arn)
    assert table.type == "aws_dynamodb_table" and attribute == "arn" and table.path.endswith("/transactions")
    # CloudTrail allows at most 5 advanced event selectors per trail.
    assert len(selectors) <= 5


def test_trail_copies_to_a_cmk_log_group_kept_a_year_through_a_scoped_role(synth, env, configs):
    audit = synth.stack(env, "audit")
    trail = audit.one("aws_cloudtrail").body
    group = audit.one("aws_cloudwatch_log_group")
    # CloudTrail requires the log group ARN with the ":*" log-stream wildcard.
    assert trail["cloud_watch_logs_group_arn"] == group.ref("arn") + ":*"
    assert key_domain(synth, audit, group.body["kms_key_id"]) == "logs"
    assert group.body["retention_in_days"] >= 365
    assert group.body["retention_in_days"] == configs[env].logging.retention_days
    role = audit.by_ref(trail["cloud_watch_logs_role_arn"].replace(".arn}", ".id}"))
    trust = json.loads(role.body["assume_role_policy"])["Statement"]
    assert [s["Principal"] for s in trust] == [{"Service": "cloudtrail.amazonaws.com"}]
    assert trust[0]["Condition"] == {
        "StringEquals": {"aws:SourceAccount": "${data.aws_caller_identity.caller.account_id}"}
    }
    [policy] = [p for p in audit.resources("aws_iam_role_policy") if p.body["role"] == role.ref("id")]
    [grant] = json.loads(policy.body["policy"])["Statement"]
    assert sorted(grant["Action"]) == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert grant["Resource"] == [
        group.ref("arn") + ":log-stream:${data.aws_caller_identity.caller.account_id}_CloudTrail_*"
    ]
    assert trail["depends_on"] == [f"aws_iam_role_policy.{policy.name}"]


def test_archive_bucket_policy_grants_exactly_this_trail(synth, env, configs):
    from app.components import audit_delivery
    statements = {s["Sid"]: s for s in audit_bucket_policy(synth, env)}
    account = "${data.aws_caller_identity.caller.account_id}"
    trail = f"arn:${{data.aws_partition.partition.partition}}:cloudtrail:{configs[env].region}:{account}:trail/" + (
        audit_delivery.trail_name(f"payments-{env}")
    )
    acl, write = statements["CloudTrailAclCheck"], statements["CloudTrailWritesLogFiles"]
    for statement in (acl, write):
        assert statement["Effect"] == "Allow" and statement["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
        assert statement["Condition"]["StringEquals"]["aws:SourceArn"] == trail
    assert acl["Action"] == "s3:GetBucketAcl" and not acl["Resource"].endswith("*")
    assert write["Action"] == "s3:PutObject"
    assert write["Resource"].endswith(f"/AWSLogs/{account}/*")
    assert write["Condition"]["StringEquals"]["s3:x-amz-acl"] == "bucket-owner-full-control"
    # The trail in the audit stack has the name and Region the ARN of the grant says.
    audit_trail = synth.stack(env, "audit").one("aws_cloudtrail").body
    assert trail.endswith(f":{configs[env].region}:{account}:trail/{audit_trail['name']}")
    # Deny statements still hold: TLS only, and uploads only SSE-KMS with the archive key (which CloudTrail uses).
    assert {"DenyInsecureTransport", "DenyUploadsNotEncryptedWithTheBucketKey", "DenyUploadsWithAnotherKmsKey"} <= set(
        statements
    )


def test_archive_key_lets_only_this_trail_encrypt(synth, env, configs):
    from app.components import audit_delivery
    statements = {s.get("sid"): s for s in key_statements(synth, env, "s3-audit")}
    trail_arn_suffix = f":cloudtrail:{configs[env].region}:${{data.aws_caller_identity.caller.account_id}}:trail/" + (
        audit_delivery.trail_name(f"payments-{env}")
    )
    for sid, actions in (
        ("CloudTrailEncryptsLogFiles", ["kms:GenerateDataKey*"]),
        ("CloudTrailDecryptsWithTheBucketKey", ["kms:Decrypt"]),
        ("CloudTrailDescribesKey", ["kms:DescribeKey"]),
    ):
        statement = statements[sid]
        assert statement["actions"] == actions
        assert statement["principals"] == [{"type": "Service", "identifiers": ["cloudtrail.amazonaws.com"]}]
        conditions = {(c["test"], c["variable"]): c["values"] for c in statement["condition"]}
        [source] = conditions[("StringEquals", "aws:SourceArn")]
        assert source.endswith(trail_arn_suffix)
    context = {(c["test"], c["variable"]): c["values"] for c in statements["CloudTrailEncryptsLogFiles"]["condition"]}
    [pattern] = context[("StringLike", "kms:EncryptionContext:aws:cloudtrail:arn")]
    assert pattern.endswith(":cloudtrail:*:${data.aws_caller_identity.caller.account_id}:trail/*")


# ----------------------------------------------------------------------------------------------- security events


def test_one_metric_filter_and_alarm_to_system_errors_per_security_event(synth, env):
    audit, monitoring = synth.stack(env, "audit"), synth.stack(env, "monitoring")
    group = audit.one("aws_cloudwatch_log_group")
    filters = {f.body["pattern"]: f.body for f in audit.resources("aws_cloudwatch_log_metric_filter")}
    alarms = {
        a.body["metric_name"]: a
        for a in monitoring.resources("aws_cloudwatch_metric_alarm")
        if a.body.get("namespace") == METRIC_NAMESPACE
    }
    assert len(filters) == len(alarms) == len(SECURITY_EVENTS)
    [topic] = [t for t in monitoring.resources("aws_sns_topic") if t.body["name"] == f"payments-{env}-system-errors"]
    for event in SECURITY_EVENTS:
        metric_filter = filters[event.pattern]
        assert metric_filter["log_group_name"] == group.ref("name")
        transformation = metric_filter["metric_transformation"]
        assert transformation["namespace"] == METRIC_NAMESPACE and transformation["value"] == "1"
        # The alarm (monitoring stack) watches exactly the metric the filter (audit stack) emits.
        alarm = alarms[transformation["name"]].body
        assert alarm["statistic"] == "Sum" and alarm["threshold"] == 1
        assert alarm["comparison_operator"] == "GreaterThanOrEqualToThreshold"
        assert alarm["treat_missing_data"] == "notBreaching"
        assert all(requirement in alarm["alarm_description"] for requirement in event.requirements)
        assert alarm["alarm_actions"] == [topic.ref("arn")]
        # CloudWatch Logs: filter name <= 512, pattern <= 1024 characters; alarm names <= 255.
        assert len(metric_filter["name"]) <= 512 and len(event.pattern) <= 1024
        assert len(alarm["alarm_name"]) <= 255


def test_security_events_cover_pci_10_2_1_x():
    covered = {requirement for event in SECURITY_EVENTS for requirement in event.requirements}
    assert {"10.2.1.2", "10.2.1.4", "10.2.1.5", "10.2.1.6", "10.2.1.7"} <= covered
    assert len({event.name for event in SECURITY_EVENTS}) == len(SECURITY_EVENTS)


# ----------------------------------------------------------------------------------------------- AWS Backup


def test_backup_vault_is_locked_in_compliance_mode_on_its_own_key(synth, env, configs):
    from app.components.backup import PROTECTED_ACTIONS
    audit, backup = synth.stack(env, "audit"), configs[env].baseline.backup
    vault = audit.one("aws_backup_vault")
    assert key_domain(synth, audit, vault.body["kms_key_arn"]) == "backup"
    # Name: 2-50 of [A-Za-z0-9_-] (CreateBackupVault).
    assert re.fullmatch(r"[A-Za-z0-9_-]{2,50}", vault.body["name"])
    lock = audit.one("aws_backup_vault_lock_configuration").body
    assert lock["backup_vault_name"] == vault.ref("name")
    # changeable_for_days makes it a compliance-mode lock; AWS requires at least 3 days.
    assert lock["changeable_for_days"] == backup.vault_lock_changeable_for_days >= 3
    assert lock["min_retention_days"] == backup.daily_retention_days
    assert lock["max_retention_days"] == backup.monthly_retention_days
    policy = json.loads(audit.one("aws_backup_vault_policy").body["policy"])
    [deny] = policy["Statement"]
    assert deny["Effect"] == "Deny" and deny["Principal"] == {"AWS": "*"}
    assert set(deny["Action"]) == set(PROTECTED_ACTIONS) >= {"backup:DeleteRecoveryPoint"}


def test_backup_plan_retention_comes_from_config_and_fits_the_lock(synth, env, configs):
    audit, backup = synth.stack(env, "audit"), configs[env].baseline.backup
    plan = audit.one("aws_backup_plan").body
    rules = {rule["rule_name"]: rule for rule in plan["rule"]}
    assert set(rules) == {"daily", "monthly"}
    assert rules["daily"]["lifecycle"]["delete_after"] == backup.daily_retention_days
    assert rules["monthly"]["lifecycle"]["delete_after"] == backup.monthly_retention_days >= 365
    if env == "prod":
        assert backup.daily_retention_days >= 35
    lock = audit.one("aws_backup_vault_lock_configuration").body
    for rule in rules.values():
        assert lock["min_retention_days"] <= rule["lifecycle"]["delete_after"] <= lock["max_retention_days"]
        assert rule["target_vault_name"] == audit.one("aws_backup_vault").ref("name")
        assert re.fullmatch(r"cron\(.+\)", rule["schedule"])


def test_backup_selection_covers_aurora_both_tables_and_the_archive(synth, env):
    audit = synth.stack(env, "audit")
    selection = audit.one("aws_backup_selection").body
    targets = {}
    for expression in selection["resources"]:
        resource, attribute = resolved(synth, audit, expression)
        assert attribute == "arn"
        targets.setdefault(resource.type, []).append(resource)
    assert [r.type for r in targets["aws_rds_cluster"]] == ["aws_rds_cluster"]
    assert sorted(r.path.rsplit("/", 1)[-1] for r in targets["aws_dynamodb_table"]) == ["idempotency", "transactions"]
    [bucket] = targets["aws_s3_bucket"]
    assert bucket.body["object_lock_enabled"] is True
    role = audit.by_ref(selection["iam_role_arn"].replace(".arn}", ".id}"))
    assert json.loads(role.body["assume_role_policy"])["Statement"][0]["Principal"] == {
        "Service": "backup.amazonaws.com"
    }
    attached = {a.body["policy_arn"].rsplit("policy/", 1)[1] for a in audit.resources("aws_iam_role_policy_attachment")}
    assert attached == {"service-role/AWSBackupServiceRolePolicyForBackup", "AWSBackupServiceRolePolicyForS3Backup"}


# ----------------------------------------------------------------------------------------------- account-wide


def test_config_records_everything_into_the_archive(synth, env):
    audit = synth.stack(env, "audit")
    recorder = audit.one("aws_config_configuration_recorder").body
    group = recorder["recording_group"]
    assert group["all_supported"] is True and group["include_global_resource_types"] is True
    assert recorder["role_arn"] == audit.one("aws_iam_service_linked_role").ref("arn")
    assert audit.one("aws_iam_service_linked_role").body["aws_service_name"] == "config.amazonaws.com"
    channel = audit.one("aws_config_delivery_channel").body
    bucket, _ = resolved(synth, audit, channel["s3_bucket_name"])
    assert bucket.body["object_lock_enabled"] is True
    assert key_domain(synth, audit, channel["s3_kms_key_arn"]) == "s3-audit"
    status = audit.one("aws_config_configuration_recorder_status").body
    assert status["is_enabled"] is True
    # Config delivers under AWSLogs/<account>/Config/ (no key prefix), as the archive's policy admits.
    statements = {s["Sid"]: s for s in audit_bucket_policy(synth, env)}
    assert statements["ConfigDeliversSnapshotsAndHistory"]["Resource"].endswith(
        "/AWSLogs/${data.aws_caller_identity.caller.account_id}/Config/*"
    )
    assert "prefix" not in json.dumps(channel).lower()
    config_grant = {s.get("sid"): s for s in key_statements(synth, env, "s3-audit")}["ConfigEncryptsDeliveries"]
    assert config_grant["principals"] == [{"type": "Service", "identifiers": ["config.amazonaws.com"]}]


def test_runtime_rules_are_the_coverage_matrix_under_the_same_control_ids(synth, env):
    audit = synth.stack(env, "audit")
    catalog = default_catalog()
    coverage = load_coverage(catalog)
    rules = {r.body["source"]["source_identifier"]: r.body for r in audit.resources("aws_config_config_rule")}
    assert set(rules) == {d.rule.source_identifier for d in coverage.deployed()}
    for disposition in coverage.deployed():
        rule = rules[disposition.rule.source_identifier]
        assert rule["source"]["owner"] == "AWS"
        assert rule["name"] == f"payments-{env}-{disposition.rule.config_rule_name}"
        # PutConfigRule: name <= 128, description <= 256 characters.
        assert len(rule["name"]) <= 128 and len(rule["description"]) <= 256
        for control_id in disposition.controls:
            assert control_id in rule["description"] and control_id in rule["tags"]["PciControls"]
            for requirement in catalog.control(control_id).requirements:
                assert requirement in rule["description"]
    # Thresholds come from the catalog, so the gate and the runtime rule agree.
    retention = json.loads(rules["CW_LOGGROUP_RETENTION_PERIOD_CHECK"]["input_parameters"])
    assert retention == {"MinRetentionTime": str(catalog.parameter("min_log_retention_days"))}
    rotation = json.loads(rules["SECRETSMANAGER_SECRET_PERIODIC_ROTATION"]["input_parameters"])
    assert rotation == {"maxDaysSinceRotation": str(catalog.parameter("max_secret_rotation_days"))}
    # The pack's default stays where the matrix does not override it.
    keys = json.loads(rules["ACCESS_KEYS_ROTATED"]["input_parameters"])
    assert keys == {"maxAccessKeyAge": "90"}
    # Object Lock is required of the archive only: that rule is scoped to it.
    lock_scope = rules["S3_BUCKET_DEFAULT_LOCK_ENABLED"]["scope"]
    bucket, _ = resolved(synth, audit, lock_scope["compliance_resource_id"])
    assert bucket.body["object_lock_enabled"] is True
    assert lock_scope["compliance_resource_types"] == ["AWS::S3::Bucket"]
    vpc, _ = resolved(
        synth, audit, json.loads(rules["INTERNET_GATEWAY_AUTHORIZED_VPC_ONLY"]["input_parameters"])["AuthorizedVpcIds"]
    )
    assert vpc.type == "aws_vpc"


def test_guardduty_and_security_hub_pci_dss_with_findings_to_system_errors(synth, env, configs):
    from app.components import security_findings
    audit = synth.stack(env, "audit")
    detector = audit.one("aws_guardduty_detector")
    assert detector.body["enable"] is True
    features = {f.body["name"]: f.body for f in audit.resources("aws_guardduty_detector_feature")}
    assert set(features) == {"S3_DATA_EVENTS", "RDS_LOGIN_EVENTS", "LAMBDA_NETWORK_LOGS"}
    assert all(f["status"] == "ENABLED" and f["detector_id"] == detector.ref("id") for f in features.values())
    standard = audit.one("aws_securityhub_standards_subscription").body
    assert standard["standards_arn"].endswith(f":securityhub:{configs[env].region}::standards/pci-dss/v/4.0.1")
    assert standard["depends_on"] == [f"aws_securityhub_account.{audit.one('aws_securityhub_account').name}"]
    rules = {r.body["name"]: r for r in audit.resources("aws_cloudwatch_event_rule")}
    targets = {t.body["rule"]: t.body for t in audit.resources("aws_cloudwatch_event_target")}
    assert len(rules) == 3
    for name, rule in rules.items():
        # EventBridge rule names: at most 64 characters.
        assert len(name) <= 64 and name.startswith(security_findings.rule_prefix(f"payments-{env}"))
        target = targets[rule.ref("name")]
        topic, _ = resolved(synth, audit, target["arn"])
        assert topic.body["name"] == f"payments-{env}-system-errors"
    patterns = {name.rsplit("-security-", 1)[1]: json.loads(r.body["event_pattern"]) for name, r in rules.items()}
    assert patterns["config-drift"]["detail"]["configRuleName"] == [{"prefix": f"payments-{env}-"}]
    assert patterns["guardduty-findings"]["source"] == ["aws.guardduty"]
    assert patterns["securityhub-findings"]["source"] == ["aws.securityhub"]


def test_system_errors_topic_and_its_key_admit_the_finding_rules(synth, env, configs):
    monitoring = synth.stack(env, "monitoring")
    [policy] = [p for p in monitoring.resources("aws_sns_topic_policy") if "system-errors" in p.path]
    statements = {s["Sid"]: s for s in json.loads(policy.body["policy"])["Statement"]}
    grant = statements["EventBridgeSecurityFindingRules"]
    assert grant["Principal"] == {"Service": "events.amazonaws.com"} and grant["Action"] == "sns:Publish"
    pattern = grant["Condition"]["ArnLike"]["aws:SourceArn"]
    for rule in synth.stack(env, "audit").resources("aws_cloudwatch_event_rule"):
        arn = f"arn:${{data.aws_partition.partition.partition}}:events:{configs[env].region}:" + (
            "${data.aws_caller_identity.caller.account_id}:rule/" + rule.body["name"]
        )
        assert re.fullmatch(re.escape(pattern).replace(r"\*", ".*"), arn)
    events = {s.get("sid"): s for s in key_statements(synth, env, "messaging")}["EventBridgePublishesToEncryptedTopics"]
    assert events["principals"] == [{"type": "Service", "identifiers": ["events.amazonaws.com"]}]
    assert {c["variable"] for c in events["condition"]} == {"aws:SourceAccount"}


ACCOUNT_WIDE_TYPES = {
    "aws_config_configuration_recorder",
    "aws_config_configuration_recorder_status",
    "aws_config_delivery_channel",
    "aws_config_config_rule",
    "aws_iam_service_linked_role",
    "aws_guardduty_detector",
    "aws_guardduty_detector_feature",
    "aws_securityhub_account",
    "aws_securityhub_standards_subscription",
    "aws_cloudwatch_event_rule",
    "aws_cloudwatch_event_target",
}


def test_account_wide_services_belong_to_the_account_owner_only(synth, configs, tmp_path):
    from app.synth import synthesize
    from tests.synth_view import SynthView

    owner = {r.type for r in synth.stack("dev", "audit").resources()}
    assert configs["dev"].baseline.account_owner and owner >= ACCOUNT_WIDE_TYPES
    dev = dataclasses.replace(
        configs["dev"], baseline=dataclasses.replace(configs["dev"].baseline, account_owner=False)
    )
    synthesize([dev], tmp_path / "out")
    view = SynthView(tmp_path / "out")
    member = {r.type for r in view.stack("dev", "audit").resources()}
    assert member & ACCOUNT_WIDE_TYPES == set()
    assert {"aws_cloudtrail", "aws_backup_plan", "aws_backup_vault_lock_configuration"} <= member
    assert not [s for s in audit_bucket_policy(view, "dev") if "Config" in s["Sid"]]
    assert "ConfigEncryptsDeliveries" not in {s.get("sid") for s in key_statements(view, "dev", "s3-audit")}
    [policy] = [
        p for p in view.stack("dev", "monitoring").resources("aws_sns_topic_policy") if "system-errors" in p.path
    ]
    assert "events.amazonaws.com" not in policy.body["policy"]

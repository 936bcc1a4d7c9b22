"""Apply-time constraint suite: AWS API constraints that `terraform validate` and moto do not check, written
down from the AWS documentation (each rule cites its source) and applied to the real synth of every
environment. A rule that fails here is an apply that AWS would reject, or a deployment that would not work.
README "Apply-time constraints" lists, per resource type, which rules cover it."""

from __future__ import annotations

import fnmatch
import json
import re
from collections import defaultdict

import pytest

from app.synth import VERSIONS_FILE
from tests.synth_view import REFERENCE, Resource, Stack

ENVIRONMENTS = ("dev", "staging", "prod")


@pytest.fixture(params=ENVIRONMENTS)
def env(request):
    return request.param


def ref_name(expression: str) -> tuple[str, str]:
    match = REFERENCE.fullmatch(expression)
    assert match, f"not a reference: {expression!r}"
    return match.group(1), match.group(2)


def referenced(stack: Stack, expression: str) -> Resource:
    rtype, name = ref_name(expression)
    return Resource(stack.name, rtype, name, stack.document["resource"][rtype][name])


def depends_on(resource: Resource, other: Resource) -> bool:
    return f"{other.type}.{other.name}" in resource.body.get("depends_on", [])


# --- API Gateway -------------------------------------------------------------------------------------------------
# https://docs.aws.amazon.com/apigateway/latest/developerguide/request-response-data-mappings.html
# "integration.request.{location}.{name}" with location header | querystring | path (multivalue variants for
# querystring/header); the value maps a method request parameter, which the method must declare.
INTEGRATION_KEY = re.compile(r"integration\.request\.(header|querystring|path|multivalueheader|multivaluequerystring)"
                             r"\.[A-Za-z0-9_.-]+")
METHOD_PARAMETER = re.compile(r"method\.request\.(header|querystring|path|multivalueheader|multivaluequerystring)"
                              r"\.[A-Za-z0-9_.-]+")


def test_integration_request_parameters_follow_the_api_gateway_grammar(synth, env):
    api = synth.stack(env, "api")
    integrations = api.resources("aws_api_gateway_integration")
    assert integrations
    for integration in integrations:
        body = integration.body
        method = api.by_ref(body["http_method"].replace(".http_method}", ".id}")).body
        assert method["resource_id"] == body["resource_id"]
        declared = method.get("request_parameters", {})
        for key, value in body.get("request_parameters", {}).items():
            assert INTEGRATION_KEY.fullmatch(key), f"{integration.address}: {key!r} is not a valid integration key"
            assert METHOD_PARAMETER.fullmatch(value) and value in declared, (
                f"{integration.address}: {value!r} is not a parameter its method declares ({sorted(declared)})"
            )
            assert key.split(".")[2] == value.split(".")[2], f"{integration.address}: {key} <- {value}"


# --- Elastic Load Balancing --------------------------------------------------------------------------------------
# https://docs.aws.amazon.com/elasticloadbalancing/latest/network/application-load-balancer-target.html
# An ALB-type target group forwards to the ALB's listener on the target group's port: that listener must exist.
# https://docs.aws.amazon.com/elasticloadbalancing/latest/application/lambda-functions.html
# A Lambda target group has no port or protocol; ELB needs lambda:InvokeFunction (resource policy) for the
# registered function/alias before registration succeeds.


def test_alb_target_groups_forward_to_a_listener_on_their_port(synth, env):
    api = synth.stack(env, "api")
    for group in api.resources("aws_lb_target_group"):
        if group.body["target_type"] != "alb":
            continue
        attachments = [a.body for a in api.resources("aws_lb_target_group_attachment")
                       if a.body["target_group_arn"] == group.ref("arn")]
        assert attachments, f"{group.address}: no ALB registered"
        for attachment in attachments:
            assert attachment.get("port", group.body["port"]) == group.body["port"]
            alb, _ = synth.resolve(api, attachment["target_id"])
            owner = synth.stacks[alb.stack]
            ports = {listener.body["port"] for listener in owner.resources("aws_lb_listener")
                     if listener.body["load_balancer_arn"] == alb.ref("arn")}
            assert group.body["port"] in ports, f"{group.address}: port {group.body['port']}, ALB listens on {ports}"
        nlb_listeners = [listener.body for listener in api.resources("aws_lb_listener")
                         if listener.body["default_action"][0].get("target_group_arn") == group.ref("arn")]
        assert all(listener["port"] == group.body["port"] for listener in nlb_listeners)


def test_lambda_targets_have_no_port_and_an_elb_invoke_permission(synth, env):
    compute = synth.stack(env, "compute")
    permissions = [p.body for p in compute.resources("aws_lambda_permission")]
    for group in compute.resources("aws_lb_target_group"):
        if group.body["target_type"] != "lambda":
            continue
        assert "port" not in group.body and "protocol" not in group.body, group.address
        for attachment in compute.resources("aws_lb_target_group_attachment"):
            if attachment.body["target_group_arn"] != group.ref("arn"):
                continue
            alias = referenced(compute, attachment.body["target_id"])
            [permission] = [p for p in permissions if p["source_arn"] == group.ref("arn")]
            assert permission["principal"] == "elasticloadbalancing.amazonaws.com"
            assert permission["action"] == "lambda:InvokeFunction"
            assert permission["qualifier"] == alias.ref("name")
            assert permission["function_name"] == alias.body["function_name"]
            permission_resource = next(p for p in compute.resources("aws_lambda_permission")
                                       if p.body is permission)
            assert depends_on(attachment, permission_resource), f"{attachment.address} may register first"


# --- Secrets Manager ---------------------------------------------------------------------------------------------
# https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotating-secrets-required-permissions-function.html
# Secrets Manager invokes the rotation function only if its resource policy allows secretsmanager.amazonaws.com
# (scoped to the secret); rotate_immediately invokes it during the apply, so the permission must exist first.


def test_every_rotation_function_may_be_invoked_by_secrets_manager_for_that_secret(synth, env):
    data = synth.stack(env, "data")
    rotations = data.resources("aws_secretsmanager_secret_rotation")
    assert len(rotations) == len(data.resources("aws_secretsmanager_secret"))
    for rotation in rotations:
        secret = referenced(data, rotation.body["secret_id"])
        function = referenced(data, rotation.body["rotation_lambda_arn"])
        [permission] = [p for p in data.resources("aws_lambda_permission")
                        if p.body["source_arn"] == secret.ref("arn")]
        assert permission.body["principal"] == "secretsmanager.amazonaws.com"
        assert permission.body["function_name"] == function.ref("function_name")
        assert depends_on(rotation, permission)


# --- KMS ---------------------------------------------------------------------------------------------------------
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html (logs.<region>.amazonaws.com)
# https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services
# (CloudWatch alarms and AWS DMS events publish to an encrypted topic as their service principal, which needs
# kms:GenerateDataKey* and kms:Decrypt in the key policy).


def key_policy_service_principals(synth, stack: Stack, key_expression: str) -> set[str]:
    key, _ = synth.resolve(stack, key_expression)
    owner = synth.stacks[key.stack]
    document = owner.data("aws_iam_policy_document")[ref_name(key.body["policy"].replace("data.", ""))[1]]
    return {
        identifier
        for statement in document["statement"]
        if statement["effect"] == "Allow"
        for principal in statement.get("principals", [])
        if principal["type"] == "Service"
        for identifier in principal["identifiers"]
    }


def test_kms_key_policies_admit_every_service_that_uses_the_key_as_itself(synth, configs, env):
    region = configs[env].region
    for stack in (synth.stack(env, domain) for domain in ("network", "data", "compute", "api", "monitoring")):
        for group in stack.resources("aws_cloudwatch_log_group"):
            principals = key_policy_service_principals(synth, stack, group.body["kms_key_id"])
            assert f"logs.{region}.amazonaws.com" in principals, group.address
    monitoring = synth.stack(env, "monitoring")
    publishers = defaultdict(set)
    for alarm in monitoring.resources("aws_cloudwatch_metric_alarm"):
        for action in alarm.body["alarm_actions"]:
            publishers[action].add("cloudwatch.amazonaws.com")
    for subscription in monitoring.resources("aws_dms_event_subscription"):
        publishers[subscription.body["sns_topic_arn"]].add("dms.amazonaws.com")
    assert publishers
    for topic_arn, services in publishers.items():
        topic = monitoring.by_ref(topic_arn.replace(".arn}", ".id}"))
        principals = key_policy_service_principals(synth, monitoring, topic.body["kms_master_key_id"])
        assert services <= principals, f"{topic.address}: key policy lacks {services - principals}"
        policy = next(json.loads(p.body["policy"]) for p in monitoring.resources("aws_sns_topic_policy")
                      if p.body["arn"] == topic.ref("arn"))
        allowed = {s["Principal"].get("Service") for s in policy["Statement"] if s["Effect"] == "Allow"
                   and isinstance(s["Principal"], dict)}
        assert services <= allowed, f"{topic.address}: topic policy lacks {services - allowed}"


# --- CloudWatch Logs: the names writers may write to -------------------------------------------------------------
# https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html (the account's CloudWatch
#   role writes execution and access logs)
# https://docs.aws.amazon.com/dms/latest/userguide/CHAP_Monitoring.html (task logs: dms-tasks-<instance id>;
#   AmazonDMSCloudWatchLogsRole is scoped to dms-tasks-*)
# https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/USER_LogAccess.Procedural.UploadtoCloudWatch.html
#   (/aws/rds/cluster/<cluster identifier>/<log type>)


def log_group_patterns(policy: dict, action: str) -> list[str]:
    return [
        resource.split(":log-group:", 1)[1]
        for statement in policy["Statement"]
        if statement["Effect"] == "Allow" and action in statement["Action"]
        for resource in statement["Resource"]
        if ":log-group:" in resource and ":log-stream:" not in resource
    ]


def test_log_groups_are_named_where_their_writers_may_write(synth, env):
    api = synth.stack(env, "api")
    stage = api.one("aws_api_gateway_stage").body
    access_group = api.by_ref(stage["access_log_settings"]["destination_arn"].replace(".arn}", ".id}")).body["name"]
    account = api.one("aws_api_gateway_account").body
    role = api.by_ref(account["cloudwatch_role_arn"].replace(".arn}", ".id}"))
    [policy] = [json.loads(p.body["policy"]) for p in api.resources("aws_iam_role_policy")
                if p.body["role"] == role.ref()]
    patterns = log_group_patterns(policy, "logs:PutLogEvents")
    assert any(fnmatch.fnmatchcase(access_group, pattern) for pattern in patterns), (access_group, patterns)

    data = synth.stack(env, "data")
    cluster = data.one("aws_rds_cluster").body
    assert f"/aws/rds/cluster/{cluster['cluster_identifier']}/postgresql" in {
        g.body["name"] for g in data.resources("aws_cloudwatch_log_group")}
    for task in data.resources("aws_dms_replication_task"):
        instance = referenced(data, task.body["replication_instance_arn"])
        log_group = f"dms-tasks-{instance.body['replication_instance_id']}"
        assert fnmatch.fnmatchcase(log_group, "dms-tasks-*")
        assert log_group in {g.body["name"] for g in data.resources("aws_cloudwatch_log_group")}

    for stack in (data, synth.stack(env, "compute")):
        for function in stack.resources("aws_lambda_function"):
            group = referenced(stack, function.body["logging_config"]["log_group"])
            role_policies = [json.loads(p.body["policy"]) for p in stack.resources("aws_iam_role_policy")
                             if p.body["role"] == referenced(stack, function.body["role"]).ref()]
            writable = {resource for policy in role_policies for statement in policy["Statement"]
                        if "logs:PutLogEvents" in statement["Action"] for resource in statement["Resource"]}
            assert f"{group.ref('arn')}:*" in writable, function.address


# --- IAM ---------------------------------------------------------------------------------------------------------
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html: role names are unique per account
# (case-insensitive) and at most 64 characters. Environments may share an account, so names must differ across
# environments, except the roles AWS DMS requires by fixed name, which exactly the owning environment creates.
# https://docs.aws.amazon.com/dms/latest/userguide/security-iam.html#CHAP_Security.APIRole


def test_iam_role_names_are_unique_across_environments(synth, configs):
    from app.components.dms_account_roles import DMS_ACCOUNT_ROLES
    owners = defaultdict(list)
    for resource in synth.all_resources():
        if resource.type == "aws_iam_role":
            name = resource.body["name"]
            assert len(name) <= 64, f"{resource.address}: {name!r} is longer than 64 characters"
            owners[name.lower()].append(resource.stack)
    for name, stacks in owners.items():
        if name in DMS_ACCOUNT_ROLES:
            environments = {stack.split("-")[1] for stack in stacks}
            assert all(configs[e].data.migration.account_dms_roles == "create" for e in environments), name
            assert all(stack.endswith("-security") for stack in stacks), f"{name} must precede the data stack"
        else:
            assert len(stacks) == 1, f"role {name!r} is created by {stacks}"


def test_dms_account_roles_exist_before_dms_is_used(synth, configs):
    from app.components.dms_account_roles import DMS_ACCOUNT_ROLES
    for env in configs:
        if not synth.stack(env, "data").resources("aws_dms_replication_instance"):
            continue
        owners = [e for e, c in configs.items() if c.data.migration.enabled and
                  c.data.migration.account_dms_roles == "create"]
        assert owners, f"{env} runs DMS but no environment creates {sorted(DMS_ACCOUNT_ROLES)}"
        security = synth.stack(owners[0], "security")
        attachments = {a.body["policy_arn"].rsplit("policy/", 1)[1]: security.by_ref(
            a.body["role"].replace(".name}", ".id}")).body["name"]
            for a in security.resources("aws_iam_role_policy_attachment")}
        assert {role: policy for policy, role in attachments.items()} == DMS_ACCOUNT_ROLES


# --- AWS DMS endpoints -------------------------------------------------------------------------------------------
# https://docs.aws.amazon.com/dms/latest/userguide/security_iam_secretsmanager.html: an endpoint's secret holds
# host, port, username and password; the RDS-managed master secret holds only username and password.


def test_dms_target_endpoint_uses_its_own_secret_not_the_rds_master_secret(synth, env):
    data = synth.stack(env, "data")
    for endpoint in data.resources("aws_dms_endpoint"):
        if endpoint.body["endpoint_type"] != "target":
            continue
        assert "master_user_secret" not in endpoint.body["secrets_manager_arn"]
        secret = referenced(data, endpoint.body["secrets_manager_arn"])
        assert secret.type == "aws_secretsmanager_secret"
        [version] = [v.body for v in data.resources("aws_secretsmanager_secret_version")
                     if v.body["secret_id"] == secret.ref()]
        assert {"host", "port", "username", "password"} <= set(json.loads(version["secret_string_wo"]))
        role = referenced(data, endpoint.body["secrets_manager_access_role_arn"])
        readable = {resource for p in data.resources("aws_iam_role_policy") if p.body["role"] == role.ref()
                    for statement in json.loads(p.body["policy"])["Statement"]
                    if "secretsmanager:GetSecretValue" in statement["Action"] for resource in statement["Resource"]}
        assert secret.ref("arn") in readable


# --- Terraform ---------------------------------------------------------------------------------------------------
# https://developer.hashicorp.com/terraform/language/resources/ephemeral and
# https://developer.hashicorp.com/terraform/language/resources/ephemeral/write-only: ephemeral resources and
# write-only arguments need Terraform 1.11; an older CLI must refuse the configuration up front.


def test_every_stack_requires_the_terraform_version_its_features_need(synth):
    for stack in synth.stacks.values():
        versions = json.loads((synth.synth_dir / "stacks" / stack.name / VERSIONS_FILE).read_text())
        assert versions == {"terraform": {"required_version": ">= 1.11"}}, stack.name
        assert "required_version" not in stack.document["terraform"], "checkov cannot parse it in cdk.tf.json"


# --- Names AWS limits --------------------------------------------------------------------------------------------
# https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateLoadBalancer.html and
#   API_CreateTargetGroup.html: at most 32 characters, alphanumerics and hyphens, no leading/trailing hyphen.
# https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html: function name at most 64 characters.
# https://docs.aws.amazon.com/dms/latest/APIReference/API_CreateReplicationInstance.html (and ...Task,
#   ...Endpoint, ...SubnetGroup): 1-255 (instance/task/endpoint: 1-63) letters, digits, hyphens; starts with a
#   letter; no trailing hyphen and no two consecutive hyphens.
# https://docs.aws.amazon.com/waf/latest/developerguide/logging-cw-logs.html: a web ACL logs only to a log group
#   whose name starts with aws-waf-logs-.
ELB_NAME = re.compile(r"(?!-)[A-Za-z0-9-]{1,32}(?<!-)")
DMS_IDENTIFIER = re.compile(r"[A-Za-z](?!.*--)[A-Za-z0-9-]{0,62}(?<!-)")
NAME_RULES = {
    "aws_lb": ("name", ELB_NAME),
    "aws_lb_target_group": ("name", ELB_NAME),
    "aws_lambda_function": ("function_name", re.compile(r"[A-Za-z0-9_-]{1,64}")),
    "aws_dms_replication_instance": ("replication_instance_id", DMS_IDENTIFIER),
    "aws_dms_replication_task": ("replication_task_id", DMS_IDENTIFIER),
    "aws_dms_endpoint": ("endpoint_id", DMS_IDENTIFIER),
}


def test_names_fit_the_limits_of_their_apis(synth):
    checked = 0
    for resource in synth.all_resources():
        if resource.type in NAME_RULES:
            attribute, pattern = NAME_RULES[resource.type]
            assert pattern.fullmatch(resource.body[attribute]), f"{resource.address}: {resource.body[attribute]!r}"
            checked += 1
    assert checked


def test_waf_logs_go_to_an_aws_waf_logs_group(synth, env):
    for domain in ("compute", "api"):
        stack = synth.stack(env, domain)
        for logging in stack.resources("aws_wafv2_web_acl_logging_configuration"):
            [destination] = logging.body["log_destination_configs"]
            group = referenced(stack, destination)
            assert group.type == "aws_cloudwatch_log_group" and group.body["name"].startswith("aws-waf-logs-")
            assert destination == group.ref("arn"), "the log group ARN without a :* suffix"


# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html: "Role policy size cannot exceed
# 10,240 characters" (the aggregate of all inline policies of one role; IAM does not count white space).
ROLE_INLINE_POLICIES_QUOTA = 10_240
# What one ${...} reference may cost once applied: more than any ARN these names produce (a KMS key ARN in the
# longest region name, or a Lambda alias ARN, is about 110 characters).
APPLIED_REFERENCE_CHARACTERS = 256


def test_each_roles_inline_policies_fit_the_aggregate_quota(synth):
    by_role: defaultdict[str, int] = defaultdict(int)
    for stack in synth.stacks.values():
        for policy in stack.resources("aws_iam_role_policy"):
            text = re.sub(r"\s", "", policy.body["policy"])
            references = re.findall(r"\$\{[^}]+\}", text)
            size = len(text) - sum(map(len, references)) + APPLIED_REFERENCE_CHARACTERS * len(references)
            by_role[f"{stack.name}:{policy.body['role']}"] += size
    assert len(by_role) >= 9, sorted(by_role)
    oversized = {role: size for role, size in by_role.items() if size > ROLE_INLINE_POLICIES_QUOTA}
    assert oversized == {}

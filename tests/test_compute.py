"""Compute stack: VPC Lambdas with reserved concurrency, tracing, encrypted environment and logs, no DLQs,
blue/green aliases, least-privilege roles; the private ALB with weighted blue/green forwarding."""

from __future__ import annotations

import json

import pytest
import yaml

from policies.catalog import default_catalog
from tests.conftest import REPO_ROOT

ENVIRONMENTS = ("dev", "staging", "prod")
FUNCTIONS = ("payment_validation", "fraud_detection", "transaction_processing")
# The single allow-list of actions AWS authorizes only on "Resource": "*" (shared with the policy gate).
WILDCARD_RESOURCE_ACTIONS = {
    action
    for entry in yaml.safe_load((REPO_ROOT / "policies" / "iam_wildcard_allowlist.yaml").read_text())["statements"]
    if "identity" in entry["policy_kinds"]
    for action in entry["actions"]
}
ALLOWED_ENVIRONMENT = {
    "CONFIG_PATH",
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_METRICS_NAMESPACE",
    "POWERTOOLS_TRACER_CAPTURE_RESPONSE",
    "POWERTOOLS_LOGGER_LOG_EVENT",
}


@pytest.fixture(params=ENVIRONMENTS)
def env(request):
    return request.param


def functions_of(compute):
    return {
        f.body["function_name"].split("-", 2)[2].replace("-", "_"): f for f in compute.resources("aws_lambda_function")
    }


def role_policy(stack, function) -> dict:
    role_id = function.body["role"].replace(".arn}", ".id}")
    [policy] = [
        json.loads(p.body["policy"]) for p in stack.resources("aws_iam_role_policy") if p.body["role"] == role_id
    ]
    return policy


def test_each_function_is_a_traced_arm64_vpc_lambda_with_reserved_concurrency(synth, configs, env):
    compute = synth.stack(env, "compute")
    functions = functions_of(compute)
    assert set(functions) == set(FUNCTIONS)
    for name, function in functions.items():
        body, settings = function.body, configs[env].compute.functions[name]
        assert (body["runtime"], body["architectures"]) == ("python3.12", ["arm64"])
        assert body["reserved_concurrent_executions"] == settings.reserved_concurrency
        assert (body["memory_size"], body["timeout"]) == (settings.memory_mb, settings.timeout_seconds)
        assert body["tracing_config"] == {"mode": "Active"} and body["publish"] is True
        subnets = body["vpc_config"]["subnet_ids"]
        assert len(subnets) == 3
        assert {synth.resolve(compute, s)[0].body["tags"]["Tier"] for s in subnets} == {"private"}
        key, _ = synth.resolve(compute, body["kms_key_arn"])
        assert key.body["tags"]["Name"].endswith("-lambda-env")
        assert set(body["environment"]["variables"]) <= ALLOWED_ENVIRONMENT
        assert body["environment"]["variables"]["CONFIG_PATH"] == f"/payments/{env}"
        assert body["environment"]["variables"]["POWERTOOLS_LOGGER_LOG_EVENT"] == "false"
        # Invoked only synchronously (ALB, RequestResponse): a DLQ would never receive anything.
        assert "dead_letter_config" not in body
        group = compute.by_ref(body["logging_config"]["log_group"].replace(".name}", ".id}")).body
        assert group["retention_in_days"] == configs[env].logging.retention_days
        assert group["name"] == f"/aws/lambda/{body['function_name']}"


def test_functions_have_own_security_groups_with_https_egress_only(synth, env):
    compute = synth.stack(env, "compute")
    for function in functions_of(compute).values():
        own_group = function.body["vpc_config"]["security_group_ids"][0]
        rules = [
            r.body
            for r in compute.resources("aws_vpc_security_group_egress_rule")
            if r.body["security_group_id"] == own_group
        ]
        assert rules and all((r["ip_protocol"], r["from_port"], r["to_port"]) == ("tcp", 443, 443) for r in rules)
        assert not [
            r
            for r in compute.resources("aws_vpc_security_group_ingress_rule")
            if r.body["security_group_id"] == own_group
        ]


def test_blue_and_green_aliases_and_provisioned_concurrency_on_the_live_alias(synth, configs, env):
    compute = synth.stack(env, "compute")
    functions = functions_of(compute)
    aliases = [a.body for a in compute.resources("aws_lambda_alias")]
    for function in functions.values():
        names = {a["name"] for a in aliases if a["function_name"] == function.ref("function_name")}
        assert names == {"blue", "green"}
    provisioned = {
        p.body["function_name"]: p.body for p in compute.resources("aws_lambda_provisioned_concurrency_config")
    }
    for name, function in functions.items():
        wanted = configs[env].compute.functions[name].provisioned_concurrency
        entry = provisioned.get(function.ref("function_name"))
        if wanted:
            assert (
                entry["qualifier"]
                == "${aws_lambda_alias."
                + next(
                    a.name
                    for a in compute.resources("aws_lambda_alias")
                    if a.body["function_name"] == function.ref("function_name") and a.body["name"] == "green"
                )
                + ".name}"
            )
            assert entry["provisioned_concurrent_executions"] == wanted
        else:
            assert entry is None


def test_roles_grant_exact_resources_and_wildcards_only_where_aws_requires(synth, env):
    compute = synth.stack(env, "compute")
    for name, function in functions_of(compute).items():
        for statement in role_policy(compute, function)["Statement"]:
            assert statement["Effect"] == "Allow"
            assert all("*" not in action for action in statement["Action"]), (name, statement)
            if "*" in statement["Resource"]:
                assert set(statement["Action"]) <= WILDCARD_RESOURCE_ACTIONS, (name, statement["Sid"])


def test_processing_may_invoke_exactly_the_two_downstream_functions(synth, env):
    compute = synth.stack(env, "compute")
    functions = functions_of(compute)
    policy = role_policy(compute, functions["transaction_processing"])
    [invoke] = [s for s in policy["Statement"] if "lambda:InvokeFunction" in s["Action"]]
    targets = {compute.by_ref(r.replace(".arn}", ".id}")).body["function_name"] for r in invoke["Resource"]}
    assert targets == {
        functions["payment_validation"].ref("function_name"),
        functions["fraud_detection"].ref("function_name"),
    }
    assert not [
        s
        for s in role_policy(compute, functions["payment_validation"])["Statement"]
        if any(a.startswith("dynamodb:") for a in s["Action"])
    ]


def test_alb_is_internal_https_only_with_modern_tls_and_header_hygiene(synth, configs, env):
    compute = synth.stack(env, "compute")
    alb = compute.one("aws_lb").body
    assert alb["internal"] is True and alb["load_balancer_type"] == "application"
    assert alb["drop_invalid_header_fields"] is True and alb["desync_mitigation_mode"] == "strictest"
    assert alb["enable_deletion_protection"] is (env == "prod")
    assert alb["access_logs"]["enabled"] is True
    assert {synth.resolve(compute, s)[0].body["tags"]["Tier"] for s in alb["subnets"]} == {"private"}
    listeners = [listener.body for listener in compute.resources("aws_lb_listener")]
    assert [(li["port"], li["protocol"]) for li in listeners] == [(443, "HTTPS")]
    assert listeners[0]["ssl_policy"] == configs[env].compute.alb_ssl_policy
    assert listeners[0]["ssl_policy"] in default_catalog().parameter("alb_tls_policies")
    assert listeners[0]["certificate_arn"] == configs[env].compute.alb_certificate_arn
    association = compute.one("aws_wafv2_web_acl_association").body
    assert association["resource_arn"] == compute.one("aws_lb").ref("arn")


def test_weighted_forward_to_blue_and_green_follows_config(synth, configs, env):
    compute = synth.stack(env, "compute")
    [rule] = [r.body for r in compute.resources("aws_lb_listener_rule")]
    [action] = rule["action"]
    weights = {
        compute.by_ref(g["arn"].replace(".arn}", ".id}")).body["tags"]["Slot"]: g["weight"]
        for g in action["forward"]["target_group"]
    }
    assert weights == {"blue": configs[env].compute.blue.weight, "green": configs[env].compute.green.weight}
    groups = {g.body["tags"]["Slot"]: g.body for g in compute.resources("aws_lb_target_group")}
    for slot, spec in (("blue", configs[env].compute.blue), ("green", configs[env].compute.green)):
        assert groups[slot]["target_type"] == ("lambda" if spec.kind == "lambda" else "ip")
    onprem = [a.body for a in compute.resources("aws_lb_target_group_attachment") if "availability_zone" in a.body]
    expected = configs[env].compute.blue.targets if configs[env].compute.blue.kind == "onprem" else ()
    assert sorted(a["target_id"] for a in onprem) == sorted(expected)
    assert all(a["availability_zone"] == "all" for a in onprem)


def test_weights_are_mirrored_in_ssm(synth, configs, env):
    compute = synth.stack(env, "compute")
    [mirror] = [p.body for p in compute.resources("aws_ssm_parameter") if p.body["name"].endswith("traffic/weights")]
    assert json.loads(mirror["value"]) == {
        "blue": {"kind": configs[env].compute.blue.kind, "weight": configs[env].compute.blue.weight},
        "green": {"kind": "lambda", "weight": configs[env].compute.green.weight},
    }


# How a reference to each resource type's ARN looks once applied, so parliament can check action/resource fit.
CONCRETE_ARNS = {
    "aws_dynamodb_table": "arn:aws:dynamodb:us-east-1:123456789012:table/payments",
    "aws_kms_key": "arn:aws:kms:us-east-1:123456789012:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
    "aws_sqs_queue": "arn:aws:sqs:us-east-1:123456789012:payments-dlq",
    "aws_cloudwatch_log_group": "arn:aws:logs:us-east-1:123456789012:log-group:/payments/logs",
    "aws_lambda_alias": "arn:aws:lambda:us-east-1:123456789012:function:payments-fn:green",
    "aws_lambda_function": "arn:aws:lambda:us-east-1:123456789012:function:payments-fn",
    "aws_secretsmanager_secret": "arn:aws:secretsmanager:us-east-1:123456789012:secret:payments-AbCdEf",
    "aws_rds_cluster": "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!cluster-AbCdEf",
    "aws_sns_topic": "arn:aws:sns:us-east-1:123456789012:payments-topic",
}


def concrete_policy(synth, stack, policy: str) -> str:
    """The policy with every ${...} reference replaced by a realistic value of what it refers to."""
    import re

    def substitute(match: re.Match) -> str:
        expression = match.group(0)
        if "aws_partition" in expression:
            return "aws"
        if "aws_caller_identity" in expression:
            return "123456789012"
        resource, _ = synth.resolve(stack, expression)
        return CONCRETE_ARNS[resource.type]

    return re.sub(r"\$\{[^}]+\}", substitute, policy)


def parliament_findings(policy: str) -> list[tuple[str, str]]:
    from parliament import analyze_policy_string

    findings = []
    for finding in analyze_policy_string(policy).findings:
        # Resource "*" is allowed exactly for the actions AWS does not scope (checked in the test above).
        if finding.issue == "RESOURCE_STAR" and set(finding.detail) <= WILDCARD_RESOURCE_ACTIONS:
            continue
        findings.append((finding.issue, str(finding.detail)))
    return findings


def test_every_generated_iam_policy_passes_parliament(synth):
    checked = 0
    for stack in synth.stacks.values():
        for resource in stack.resources():
            if resource.type in ("aws_iam_role_policy", "aws_iam_policy"):
                policy = concrete_policy(synth, stack, resource.body["policy"])
                assert parliament_findings(policy) == [], resource.address
                checked += 1
    assert checked >= 20


def test_parliament_lint_reports_a_mismatched_resource_and_a_star_action():
    mismatched = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": ["dynamodb:Query"], "Resource": [CONCRETE_ARNS["aws_sns_topic"]]}
            ],
        }
    )
    assert [issue for issue, _ in parliament_findings(mismatched)] == ["RESOURCE_MISMATCH"]
    star = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"}]}
    )
    assert "RESOURCE_STAR" in [issue for issue, _ in parliament_findings(star)]


def test_table_access_matches_what_each_function_does(synth, env):
    compute = synth.stack(env, "compute")
    functions = functions_of(compute)

    def tables_written_by(name: str) -> set[str]:
        written = set()
        for statement in role_policy(compute, functions[name])["Statement"]:
            if "dynamodb:PutItem" in statement["Action"]:
                written |= {synth.resolve(compute, r)[0].body["name"] for r in statement["Resource"]}
        return written

    assert tables_written_by("transaction_processing") == {
        f"payments-{env}-transactions",
        f"payments-{env}-idempotency",
    }
    assert tables_written_by("fraud_detection") == {f"payments-{env}-idempotency"}
    assert tables_written_by("payment_validation") == set()


def test_blue_lambda_slot_can_pin_the_release_it_serves(configs, tmp_path, app_synth):
    import dataclasses

    from tests.synth_view import SynthView

    dev = configs["dev"]
    blue = dataclasses.replace(
        dev.compute.blue, version=7, downstream_versions={"payment_validation": 4, "fraud_detection": 5}
    )
    compute_config = dataclasses.replace(dev.compute, blue=blue)
    app_synth.synthesize([dataclasses.replace(dev, compute=compute_config)], tmp_path / "out")
    compute = SynthView(tmp_path / "out").stack("dev", "compute")
    functions = functions_of(compute)
    for name, pinned in (("transaction_processing", "7"), ("payment_validation", "4"), ("fraud_detection", "5")):
        versions = {
            a.body["name"]: a.body["function_version"]
            for a in compute.resources("aws_lambda_alias")
            if a.body["function_name"] == functions[name].ref("function_name")
        }
        assert versions == {"blue": pinned, "green": functions[name].ref("version")}, name


def test_no_queue_waits_for_dead_letters_no_function_can_send(synth, env):
    compute, monitoring = synth.stack(env, "compute"), synth.stack(env, "monitoring")
    assert compute.resources("aws_sqs_queue") == []
    alarms = monitoring.resources("aws_cloudwatch_metric_alarm")
    assert [a for a in alarms if a.body.get("namespace") == "AWS/SQS"] == []


def test_processing_calls_the_downstream_functions_by_unqualified_name(synth, env):
    compute = synth.stack(env, "compute")
    parameters = {p.body["name"].rsplit("/functions/", 1)[-1]: p.body["value"]
                  for p in compute.resources("aws_ssm_parameter") if "/functions/" in p.body["name"]}
    functions = functions_of(compute)
    assert parameters == {
        "payment-validation-name": functions["payment_validation"].body["function_name"],
        "fraud-detection-name": functions["fraud_detection"].body["function_name"],
    }

"""API stack: REST API with request validation and authorization on every method, VPC link -> internal
NLB -> ALB, stage logging/tracing/throttling, WAF with managed rules and a rate limit, TLS 1.2 domain."""

from __future__ import annotations

import json

import pytest

ENVIRONMENTS = ("dev", "staging", "prod")


@pytest.fixture(params=ENVIRONMENTS)
def env(request):
    return request.param


def test_every_method_is_authorized_and_validated(synth, configs, env):
    api = synth.stack(env, "api")
    methods = [m.body for m in api.resources("aws_api_gateway_method")]
    assert {m["http_method"] for m in methods} == {"POST", "GET"}
    validator = api.one("aws_api_gateway_request_validator")
    assert validator.body["validate_request_body"] is True and validator.body["validate_request_parameters"] is True
    for method in methods:
        assert method["authorization"] == configs[env].api.authorization != "NONE"
        assert method["request_validator_id"] == validator.ref()
    [post] = [m for m in methods if m["http_method"] == "POST"]
    assert post["request_parameters"] == {"method.request.header.Idempotency-Key": True}
    model = api.by_ref(post["request_models"]["application/json"].replace(".name}", ".id}")).body
    schema = json.loads(model["schema"])
    assert schema["$schema"].startswith("http://json-schema.org/draft-04/")
    assert schema["additionalProperties"] is False and "card" in schema["required"]


def test_integrations_go_through_the_vpc_link_to_an_nlb_whose_target_is_the_alb(synth, configs, env):
    api, compute = synth.stack(env, "api"), synth.stack(env, "compute")
    link = api.one("aws_api_gateway_vpc_link")
    nlb = api.one("aws_lb")
    assert link.body["target_arns"] == [nlb.ref("arn")]
    assert nlb.body["load_balancer_type"] == "network" and nlb.body["internal"] is True
    for integration in api.resources("aws_api_gateway_integration"):
        body = integration.body
        assert (body["connection_type"], body["connection_id"], body["type"]) == ("VPC_LINK", link.ref(), "HTTP_PROXY")
        assert body["uri"].startswith(f"https://{configs[env].compute.internal_hostname}/v1/payments")
        assert body["tls_config"] == {"insecure_skip_verification": False}
    [listener] = [listener.body for listener in api.resources("aws_lb_listener")]
    assert (listener["port"], listener["protocol"]) == (443, "TCP")
    group = api.by_ref(listener["default_action"][0]["target_group_arn"].replace(".arn}", ".id}")).body
    assert group["target_type"] == "alb" and group["port"] == 443
    [attachment] = [a.body for a in api.resources("aws_lb_target_group_attachment")]
    target, attribute = synth.resolve(api, attachment["target_id"])
    assert (target.stack, target.type, attribute) == (compute.name, "aws_lb", "arn")
    assert target.body["load_balancer_type"] == "application"


def test_stage_logs_traces_and_throttles(synth, configs, env):
    api = synth.stack(env, "api")
    stage = api.one("aws_api_gateway_stage").body
    assert stage["xray_tracing_enabled"] is True
    access = api.by_ref(stage["access_log_settings"]["destination_arn"].replace(".arn}", ".id}")).body
    assert access["retention_in_days"] >= 365 and access["kms_key_id"]
    fields = json.loads(stage["access_log_settings"]["format"])
    assert {"requestId", "status", "responseLatency", "integrationLatency"} <= set(fields)
    settings = api.one("aws_api_gateway_method_settings").body["settings"]
    assert settings["metrics_enabled"] is True and settings["logging_level"] == "INFO"
    assert settings["data_trace_enabled"] is False
    assert settings["throttling_rate_limit"] == configs[env].api.throttle_rate_limit


def test_stage_is_protected_by_waf_with_managed_rules_and_rate_limit(synth, configs, env):
    api = synth.stack(env, "api")
    association = api.one("aws_wafv2_web_acl_association").body
    assert association["resource_arn"] == api.one("aws_api_gateway_stage").ref("arn")
    acl = api.by_ref(association["web_acl_arn"].replace(".arn}", ".id}")).body
    assert acl["scope"] == "REGIONAL"
    groups = {
        r["statement"]["managed_rule_group_statement"]["name"]
        for r in acl["rule"]
        if "managed_rule_group_statement" in r["statement"]
    }
    from app.components.waf import MANAGED_RULE_GROUPS  # provider bindings: not at collection

    assert groups == set(MANAGED_RULE_GROUPS)
    [rate] = [r for r in acl["rule"] if "rate_based_statement" in r["statement"]]
    assert rate["statement"]["rate_based_statement"]["limit"] == configs[env].api.waf_rate_limit_per_5_minutes
    assert rate["action"] == {"block": {}}


def test_public_entry_is_a_tls12_custom_domain_only(synth, configs, env):
    api = synth.stack(env, "api")
    assert api.one("aws_api_gateway_rest_api").body["disable_execute_api_endpoint"] is True
    domain = api.one("aws_api_gateway_domain_name").body
    assert domain["security_policy"] == "TLS_1_2" and domain["domain_name"] == configs[env].api.domain_name

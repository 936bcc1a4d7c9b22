"""Monitoring stack: p99 latency alarms on every API stage, error and throttle alarms on every function,
alarm actions to this environment's topics, CMK-encrypted topics, subscriptions from config, and a
dashboard whose every metric names a resource that exists in the synth."""

from __future__ import annotations

import json
import re

import pytest

ENVIRONMENTS = ("dev", "staging", "prod")
REFERENCE = re.compile(r"\$\{[^}]+\}")


@pytest.fixture(params=ENVIRONMENTS)
def env(request):
    return request.param


def alarms(monitoring):
    return [a.body for a in monitoring.resources("aws_cloudwatch_metric_alarm")]


def test_every_api_stage_has_p99_latency_alarms_with_an_sns_action(synth, env):
    monitoring = synth.stack(env, "monitoring")
    topics = {t.ref("arn") for t in monitoring.resources("aws_sns_topic")}
    stages = [
        s
        for stack in synth.stacks.values()
        if stack.name.startswith(f"payments-{env}-")
        for s in stack.resources("aws_api_gateway_stage")
    ]
    assert stages
    for stage in stages:
        for metric in ("Latency", "IntegrationLatency"):
            matching = [
                a
                for a in alarms(monitoring)
                if a.get("metric_name") == metric
                and a.get("namespace") == "AWS/ApiGateway"
                and synth.resolve(monitoring, a["dimensions"]["Stage"])[0].address == stage.address
            ]
            assert matching, f"no {metric} alarm for {stage.address}"
            for alarm in matching:
                assert alarm["extended_statistic"] == "p99"
                assert alarm["evaluate_low_sample_count_percentiles"] == "ignore"
                assert alarm["alarm_actions"] and set(alarm["alarm_actions"]) <= topics


def test_every_function_has_error_and_throttle_alarms(synth, env):
    monitoring, compute = synth.stack(env, "monitoring"), synth.stack(env, "compute")
    for function in compute.resources("aws_lambda_function"):
        watched = {
            a["metric_name"]
            for a in alarms(monitoring)
            if a.get("namespace") == "AWS/Lambda"
            and synth.resolve(monitoring, a["dimensions"]["FunctionName"])[0].address == function.address
        }
        assert {"Errors", "Throttles", "Duration"} <= watched, function.address


def test_every_alarm_action_is_a_topic_of_the_same_environment(synth, env):
    monitoring = synth.stack(env, "monitoring")
    for alarm in [*alarms(monitoring), *(c.body for c in monitoring.resources("aws_cloudwatch_composite_alarm"))]:
        assert alarm["alarm_actions"], alarm["alarm_name"]
        for action in alarm["alarm_actions"] + alarm.get("ok_actions", []):
            topic, _ = synth.resolve(monitoring, action)
            assert topic.type == "aws_sns_topic" and topic.stack == monitoring.name
            assert topic.body["name"].startswith(f"payments-{env}-")
        assert alarm["treat_missing_data" if "treat_missing_data" in alarm else "alarm_rule"]


def test_topics_are_cmk_encrypted_tls_only_and_subscriptions_come_from_config(synth, configs, env):
    monitoring = synth.stack(env, "monitoring")
    for topic in monitoring.resources("aws_sns_topic"):
        key, _ = synth.resolve(monitoring, topic.body["kms_master_key_id"])
        assert key.body["tags"]["Name"].endswith("-messaging")
    for policy in monitoring.resources("aws_sns_topic_policy"):
        statements = json.loads(policy.body["policy"])["Statement"]
        assert any(
            s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in statements
        )
        assert all(s["Principal"] != "*" for s in statements if s["Effect"] == "Allow")
    subscribed = {(s.body["protocol"], s.body["endpoint"]) for s in monitoring.resources("aws_sns_topic_subscription")}
    settings = configs[env].monitoring
    expected = {
        (s.protocol, s.endpoint)
        for s in (*settings.failed_transactions_subscriptions, *settings.system_errors_subscriptions)
    }
    assert subscribed == expected


def test_deployment_guard_watches_the_green_slot(synth, env):
    monitoring = synth.stack(env, "monitoring")
    guard = monitoring.one("aws_cloudwatch_composite_alarm").body
    names = re.findall(r"ALARM\(([^)]+)\)", guard["alarm_rule"])
    assert len(names) == 2
    for name in names:
        alarm = monitoring.by_ref(name.replace(".alarm_name}", ".id}")).body
        dimensions = alarm.get("dimensions") or alarm["metric_query"][0]["metric"]["dimensions"]
        group, _ = synth.resolve(monitoring, dimensions["TargetGroup"])
        assert group.body["tags"]["Slot"] == "green"


def dashboard_metrics(monitoring):
    body = json.loads(monitoring.one("aws_cloudwatch_dashboard").body["dashboard_body"])
    for widget in body["widgets"]:
        for metric in widget.get("properties", {}).get("metrics", []):
            values = [v for v in metric if not isinstance(v, dict)]
            if values:
                yield widget["properties"]["title"], values


def test_dashboard_is_valid_json_with_every_section(synth, env):
    body = json.loads(synth.stack(env, "monitoring").one("aws_cloudwatch_dashboard").body["dashboard_body"])
    sections = [w["properties"]["markdown"] for w in body["widgets"] if w["type"] == "text"]
    assert sections == [
        "## API",
        "## Traffic split (blue / green)",
        "## Lambda",
        "## Database performance",
        "## Business",
    ]


def test_every_dashboard_metric_names_a_resource_in_the_synth(synth, env):
    monitoring = synth.stack(env, "monitoring")
    checked = 0
    for title, (namespace, _metric, *dimensions) in dashboard_metrics(monitoring):
        assert len(dimensions) % 2 == 0, title
        for name, value in zip(dimensions[::2], dimensions[1::2]):
            if REFERENCE.fullmatch(value):
                resource, _ = synth.resolve(monitoring, value)
                assert resource.stack.startswith(f"payments-{env}-"), (title, value)
                checked += 1
            else:
                # The only literal dimensions: an API operation name, and the service our own code emits under.
                assert (name == "Operation" and namespace == "AWS/DynamoDB") or (
                    (namespace, name, value) == ("Payments", "service", "transaction-processing")
                ), (title, value)
    assert checked > 30


def test_alarms_watch_the_vpn_the_alb_itself_targets_rotation_and_dms(synth, configs, env):
    monitoring, network = synth.stack(env, "monitoring"), synth.stack(env, "network")
    compute, data = synth.stack(env, "compute"), synth.stack(env, "data")
    by_metric = {}
    for alarm in alarms(monitoring):
        by_metric.setdefault((alarm.get("namespace"), alarm.get("metric_name")), []).append(alarm)

    # https://docs.aws.amazon.com/vpn/latest/s2svpn/monitoring-cloudwatch-vpn.html: TunnelState per VpnId is 1
    # when every tunnel is up and between 0 and 1 when one is down.
    vpn_alarms = by_metric.get(("AWS/VPN", "TunnelState"), [])
    if configs[env].compute.vpn is None:
        assert vpn_alarms == []
    else:
        [vpn] = vpn_alarms
        connection = network.one("aws_vpn_connection")
        assert synth.resolve(monitoring, vpn["dimensions"]["VpnId"])[0].address == connection.address
        assert (vpn["comparison_operator"], vpn["threshold"], vpn["statistic"]) == ("LessThanThreshold", 1, "Minimum")
        assert vpn["treat_missing_data"] == "breaching"

    # https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html
    alb = compute.one("aws_lb")
    [elb_5xx] = by_metric[("AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count")]
    assert synth.resolve(monitoring, elb_5xx["dimensions"]["LoadBalancer"])[0].address == alb.address
    unhealthy = by_metric[("AWS/ApplicationELB", "UnHealthyHostCount")]
    groups = {synth.resolve(monitoring, a["dimensions"]["TargetGroup"])[0].address for a in unhealthy}
    assert groups == {g.address for g in compute.resources("aws_lb_target_group")}
    assert all(a["threshold"] == 0 and a["statistic"] == "Maximum" for a in unhealthy)

    errors = {synth.resolve(monitoring, a["dimensions"]["FunctionName"])[0].body["function_name"]
              for a in by_metric[("AWS/Lambda", "Errors")]}
    assert {f"payments-{env}-secret-rotation", f"payments-{env}-db-bootstrap"} <= errors

    # https://docs.aws.amazon.com/dms/latest/userguide/CHAP_Events.html: task failures are events, not metrics.
    subscriptions = [s.body for s in monitoring.resources("aws_dms_event_subscription")]
    tasks = data.resources("aws_dms_replication_task")
    assert len(subscriptions) == len(tasks)
    for subscription in subscriptions:
        assert subscription["source_type"] == "replication-task" and "failure" in subscription["event_categories"]
        assert monitoring.by_ref(subscription["sns_topic_arn"].replace(".arn}", ".id}")).body["name"].endswith(
            "-system-errors")

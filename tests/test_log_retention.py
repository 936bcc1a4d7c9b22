"""Log retention: VPC flow logs keep network.flow_logs.retention_days, every other CloudWatch log group keeps
logging.retention_days; both are validated against the catalog's min_log_retention_days."""

from __future__ import annotations

import pytest
import yaml

from app.config import ENVIRONMENTS_DIR, ConfigError, parse_environment

ENVIRONMENTS = ("dev", "staging", "prod")
DOMAINS = ("security", "network", "data", "compute", "api", "monitoring")


def test_prod_sets_the_two_retentions_apart_so_the_synth_shows_which_is_used(configs):
    prod = configs["prod"]
    assert prod.logging.retention_days != prod.network.flow_logs.retention_days


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_flow_logs_keep_their_retention_and_every_other_log_group_the_logging_one(synth, configs, env):
    config = configs[env]
    flow_log_groups = set()
    for flow_log in synth.stack(env, "network").resources("aws_flow_log"):
        flow_log_groups.add(flow_log.body["log_destination"].replace(".arn}", ".id}"))
    assert flow_log_groups
    retentions = {}
    for domain in DOMAINS:
        stack = synth.stack(env, domain)
        for group in stack.resources("aws_cloudwatch_log_group"):
            expected = (config.network.flow_logs.retention_days if domain == "network" and group.ref() in
                        flow_log_groups else config.logging.retention_days)
            retentions[group.address] = (group.body["retention_in_days"], expected)
    assert len(retentions) > len(flow_log_groups)
    assert {address: actual for address, (actual, _) in retentions.items()} == {
        address: expected for address, (_, expected) in retentions.items()}


def test_a_missing_or_short_logging_retention_is_refused():
    document = yaml.safe_load((ENVIRONMENTS_DIR / "dev.yaml").read_text())
    document["logging"] = {"retention_days": 180}
    with pytest.raises(ConfigError) as short:
        parse_environment(ENVIRONMENTS_DIR / "dev.yaml", yaml.safe_dump(document))
    assert [p.split(": ", 1)[1] for p in short.value.problems] == [
        "logging.retention_days: 180 is not allowed; expected a CloudWatch retention of at least 365 days: "
        "365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653"]
    del document["logging"]
    with pytest.raises(ConfigError) as missing:
        parse_environment(ENVIRONMENTS_DIR / "dev.yaml", yaml.safe_dump(document))
    assert [p.split(": ", 1)[1] for p in missing.value.problems] == [
        "logging: missing; this field is required", "logging.retention_days: missing; this field is required"]

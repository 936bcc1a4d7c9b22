"""Network stack: 9 subnets in 3 AZs and 3 tiers, no internet route from the database tier, flow logs,
NAT count from config, closed default security group, database NACL and private service endpoints."""

from __future__ import annotations

import json

import pytest

from app.config import SUBNET_TIERS

ENVIRONMENTS = ("dev", "staging", "prod")


@pytest.fixture(params=ENVIRONMENTS)
def env(request):
    return request.param


def tier_of(subnet) -> str:
    return subnet.body["tags"]["Tier"]


def test_nine_subnets_three_per_tier_in_three_distinct_azs(synth, configs, env):
    network = synth.stack(env, "network")
    subnets = network.resources("aws_subnet")
    assert len(subnets) == 9
    assert {s.body["availability_zone"] for s in subnets} == set(configs[env].availability_zones)
    for tier in SUBNET_TIERS:
        in_tier = [s for s in subnets if tier_of(s) == tier]
        assert len(in_tier) == 3
        assert len({s.body["availability_zone"] for s in in_tier}) == 3
        assert sorted(s.body["cidr_block"] for s in in_tier) == sorted(configs[env].network.subnets(tier))
    assert all(s.body["map_public_ip_on_launch"] is False for s in subnets)


def route_tables_of(network, tier: str) -> set[str]:
    subnet_refs = {s.ref() for s in network.resources("aws_subnet") if tier_of(s) == tier}
    return {
        a.body["route_table_id"]
        for a in network.resources("aws_route_table_association")
        if a.body["subnet_id"] in subnet_refs
    }


def test_every_subnet_is_associated_with_its_tier_route_table(synth, env):
    network = synth.stack(env, "network")
    associated = {a.body["subnet_id"] for a in network.resources("aws_route_table_association")}
    assert associated == {s.ref() for s in network.resources("aws_subnet")}
    tables = [route_tables_of(network, tier) for tier in SUBNET_TIERS]
    assert all(tables) and not (tables[0] & tables[1] or tables[0] & tables[2] or tables[1] & tables[2])


def test_database_route_tables_have_no_route_at_all(synth, env):
    network = synth.stack(env, "network")
    database_tables = route_tables_of(network, "database")
    routes_to_db = [r for r in network.resources("aws_route") if r.body["route_table_id"] in database_tables]
    assert routes_to_db == []
    for ref in database_tables:
        assert not network.by_ref(ref).body.get("route"), "inline routes on a database route table"
    endpoint_tables = {t for e in network.resources("aws_vpc_endpoint") for t in e.body.get("route_table_ids", [])}
    assert not endpoint_tables & database_tables


def test_default_routes_go_to_igw_from_public_and_nat_from_private(synth, env):
    network = synth.stack(env, "network")
    igw = network.one("aws_internet_gateway").ref()
    public, private = route_tables_of(network, "public"), route_tables_of(network, "private")
    defaults = [r for r in network.resources("aws_route") if r.body.get("destination_cidr_block") == "0.0.0.0/0"]
    assert {r.body["route_table_id"] for r in defaults} == public | private
    for route in defaults:
        if route.body["route_table_id"] in public:
            assert route.body["gateway_id"] == igw
        else:
            assert route.body["nat_gateway_id"].startswith("${aws_nat_gateway.")


def test_nat_gateway_count_follows_config(synth, configs, env):
    network = synth.stack(env, "network")
    nats = network.resources("aws_nat_gateway")
    assert len(nats) == configs[env].network.nat_gateways
    public_subnets = {s.ref() for s in network.resources("aws_subnet") if tier_of(s) == "public"}
    assert all(n.body["subnet_id"] in public_subnets for n in nats)
    used = {r.body["nat_gateway_id"] for r in network.resources("aws_route") if "nat_gateway_id" in r.body}
    assert used == {n.ref() for n in nats}


def test_nat_count_differs_between_dev_and_prod(configs):
    assert (configs["dev"].network.nat_gateways, configs["prod"].network.nat_gateways) == (1, 3)


def test_flow_logs_capture_all_traffic_into_encrypted_year_long_log_group(synth, configs, env):
    network = synth.stack(env, "network")
    flow_log = network.one("aws_flow_log").body
    assert flow_log["traffic_type"] == "ALL"
    assert flow_log["vpc_id"] == network.one("aws_vpc").ref()
    group = network.by_ref(flow_log["log_destination"].replace(".arn}", ".id}")).body
    assert group["retention_in_days"] == configs[env].network.flow_logs.retention_days >= 365
    assert group["kms_key_id"].startswith("${data.terraform_remote_state.")  # the logs CMK of the security stack
    role = network.by_ref(flow_log["iam_role_arn"].replace(".arn}", ".id}")).body
    trust = json.loads(role["assume_role_policy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    assert "aws:SourceAccount" in trust["Condition"]["StringEquals"]
    policy = json.loads(network.one("aws_iam_role_policy").body["policy"])
    for statement in policy["Statement"]:
        assert "*" not in statement["Resource"] and all("*" not in a for a in statement["Action"])


def test_default_security_group_has_no_rules(synth, env):
    default_sg = synth.stack(env, "network").one("aws_default_security_group").body
    assert default_sg["ingress"] == [] and default_sg["egress"] == []


def test_database_nacl_admits_postgres_from_private_tier_only(synth, configs, env):
    network = synth.stack(env, "network")
    acl = network.one("aws_network_acl")
    database_subnets = {s.ref() for s in network.resources("aws_subnet") if tier_of(s) == "database"}
    assert set(acl.body["subnet_ids"]) == database_subnets
    rules = [r.body for r in network.resources("aws_network_acl_rule")]
    assert all(r["network_acl_id"] == acl.ref() and r["rule_action"] == "allow" for r in rules)
    inbound_from_outside_tier = [
        r for r in rules if not r["egress"] and r["cidr_block"] not in configs[env].network.database_subnets
    ]
    private = set(configs[env].network.private_subnets)
    migration = configs[env].data.migration
    onprem = set(migration.source.cidrs) if migration.enabled else set()
    assert {r["cidr_block"] for r in inbound_from_outside_tier} == private | onprem
    for rule in inbound_from_outside_tier:
        if rule["cidr_block"] in private:
            assert (rule["protocol"], rule["from_port"], rule["to_port"]) == ("tcp", 5432, 5432)
        else:  # replies to the DMS instance's connections to the on-prem source, and nothing else
            assert (rule["protocol"], rule["from_port"], rule["to_port"]) == ("tcp", 1024, 65535)
            [outbound] = [r for r in rules if r["egress"] and r["cidr_block"] == rule["cidr_block"]]
            assert (outbound["from_port"], outbound["to_port"]) == (migration.source.port, migration.source.port)
    assert not any(r["cidr_block"] == "0.0.0.0/0" for r in rules)


def test_vpn_exists_while_a_slot_is_onprem_and_never_routes_the_database_tier_to_the_internet(synth, configs, env):
    network = synth.stack(env, "network")
    vpn = configs[env].compute.vpn
    connections = network.resources("aws_vpn_connection")
    assert len(connections) == (1 if vpn else 0)
    if vpn is None:
        return
    connection = connections[0].body
    for tunnel in (1, 2):
        assert connection[f"tunnel{tunnel}_ike_versions"] == ["ikev2"]
        assert all(g >= 20 for g in connection[f"tunnel{tunnel}_phase1_dh_group_numbers"])
    gateway = network.one("aws_customer_gateway").body
    assert gateway["ip_address"] == vpn.customer_gateway_ip
    propagated = {p.body["route_table_id"] for p in network.resources("aws_vpn_gateway_route_propagation")}
    assert route_tables_of(network, "private") <= propagated
    assert (route_tables_of(network, "database") <= propagated) is configs[env].data.migration.enabled


def test_service_endpoints_are_private_and_reachable_only_from_the_vpc(synth, configs, env):
    # provider bindings: imported by the test, not at collection
    from app.components.network import GATEWAY_ENDPOINT_SERVICES, INTERFACE_ENDPOINT_SERVICES

    network = synth.stack(env, "network")
    endpoints = {e.body["service_name"].rsplit(".", 1)[1]: e.body for e in network.resources("aws_vpc_endpoint")}
    assert set(endpoints) == set(GATEWAY_ENDPOINT_SERVICES) | set(INTERFACE_ENDPOINT_SERVICES)
    private_subnets = {s.ref() for s in network.resources("aws_subnet") if tier_of(s) == "private"}
    sg = network.one("aws_security_group")
    for service in INTERFACE_ENDPOINT_SERVICES:
        endpoint = endpoints[service]
        assert endpoint["vpc_endpoint_type"] == "Interface" and endpoint["private_dns_enabled"] is True
        assert set(endpoint["subnet_ids"]) == private_subnets and endpoint["security_group_ids"] == [sg.ref()]
    for service in GATEWAY_ENDPOINT_SERVICES:
        assert set(endpoints[service]["route_table_ids"]) == route_tables_of(network, "private")
    [ingress] = network.resources("aws_vpc_security_group_ingress_rule")
    assert ingress.body["security_group_id"] == sg.ref()
    assert (ingress.body["cidr_ipv4"], ingress.body["from_port"], ingress.body["to_port"]) == (
        configs[env].network.vpc_cidr,
        443,
        443,
    )
    assert sg.body["egress"] == []

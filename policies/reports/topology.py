"""The architecture of one environment as the synth describes it: nodes placed in network bands, and edges.

Nothing here knows a resource name. The request path is followed through references, starting at every
REST API: its VPC-link integrations, the load balancers a VPC link targets, each load balancer's listeners
and rules, the target groups they forward to (by weight) and what is attached to those (another load
balancer, a Lambda alias, IP addresses). Function-to-function and function-to-data-store edges come from
the IAM statements of each function's role, database reachability from security-group ingress rules, and
the migration path from DMS tasks. A node's band is the ``Tier`` tag of the subnets it is placed in;
blocks outside the VPC are AWS regional services, and IP targets outside every VPC CIDR are on premises.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from dataclasses import dataclass, field

from policies.blocks import block_list, first_block
from policies.iam import AnnotatedStatement
from policies.model import Model, View, interpolations
from policies.reports.synth import referrers, refs, shown, slot_name, tags_of, weighted_forwards
from policies.scope import environment_of

EDGE, REGIONAL, ONPREM = "edge", "regional", "onprem"
TIER_ORDER = ("public", "private", "database")
LB_TYPES = ("aws_lb", "aws_alb")
TG_TYPES = ("aws_lb_target_group", "aws_alb_target_group")
ATTACHMENT_TYPES = ("aws_lb_target_group_attachment", "aws_alb_target_group_attachment")
STORE_TYPES = ("aws_rds_cluster", "aws_dynamodb_table", "aws_s3_bucket", "aws_sns_topic")
SUBNET_GROUP_TYPES = ("aws_db_subnet_group", "aws_dms_replication_subnet_group")
SNS_ARN = re.compile(r":sns:[^:]*:[^:]*:([^:/]+)$")


@dataclass
class Node:
    id: str
    band: str
    kind: str
    title: str
    details: list[str]
    style: str  # path, slot-<name>, compute, store, network, external
    address: str | None = None


@dataclass
class Edge:
    source: str
    target: str
    label: str
    style: str  # request, data, network


@dataclass
class Topology:
    environment: str
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    bands: list[str] = field(default_factory=list)
    band_notes: dict[str, list[str]] = field(default_factory=dict)
    vpc_note: str = ""

    def add(self, node: Node) -> Node:
        return self.nodes.setdefault(node.id, node)

    def connect(self, source: str, target: str, label: str, style: str) -> None:
        for edge in self.edges:
            if (edge.source, edge.target, edge.style) == (source, target, style):
                if label and label not in edge.label.split(" · "):
                    edge.label = f"{edge.label} · {label}" if edge.label else label
                return
        self.edges.append(Edge(source, target, label, style))

    @property
    def vpc_bands(self) -> list[str]:
        return [band for band in self.bands if band not in (EDGE, REGIONAL, ONPREM)]


def _attr(view: View, key: str, default: str = "") -> str:
    value = view["attributes"].get(key)
    return default if value is None else shown(value)


def _references(view: View, target: View, via: str) -> bool:
    # Identity, not ==: views link to each other, so comparing them by value would walk the whole graph.
    return any(found is target for found in refs(view, via=via))


def _label(view: View) -> str:
    for key in ("name", "function_name", "bucket", "cluster_identifier", "replication_instance_id", "identifier"):
        if isinstance(view["attributes"].get(key), str):
            return shown(view["attributes"][key])
    return shown(tags_of(view).get("Name") or view["name"])


class _Builder:
    def __init__(self, model: Model, environment: str):
        self.model, self.environment = model, environment
        self.topology = Topology(environment)
        self.views = [v for v in model.views if environment_of(v["stack"]) == environment and v["kind"] == "resource"]
        self.subnet_tier: dict[int, str] = {}
        self.expanded: set[str] = set()
        self.networks = []
        for view in self.of("aws_subnet"):
            self.subnet_tier[id(view)] = str(tags_of(view).get("Tier") or "subnets")
        for view in self.of("aws_vpc"):
            try:
                self.networks.append(ipaddress.ip_network(view["attributes"].get("cidr_block", "")))
            except ValueError:
                continue

    def of(self, *types: str) -> list[View]:
        return [view for view in self.views if view["type"] in types]

    def tier(self, view: View) -> str | None:
        """The most common Tier of the subnets a block is placed in, directly or through a subnet group."""
        tiers: Counter[str] = Counter()
        for target in refs(view):
            if id(target) in self.subnet_tier:
                tiers[self.subnet_tier[id(target)]] += 1
            elif target["type"] in SUBNET_GROUP_TYPES:
                tiers.update(self.subnet_tier[id(t)] for t in refs(target) if id(t) in self.subnet_tier)
        return tiers.most_common(1)[0][0] if tiers else None

    def node(self, view: View, kind: str, style: str, details: list[str], band: str | None = None) -> Node:
        return self.topology.add(Node(id=view["address"], band=band or self.tier(view) or REGIONAL, kind=kind,
                                      title=_label(view), details=details, style=style, address=view["address"]))

    # ------------------------------------------------------------------ request path
    def build(self) -> Topology:
        apis = self.of("aws_api_gateway_rest_api")
        if apis:
            domains = [f"{_attr(d, 'domain_name')} ({_attr(d, 'security_policy', 'default TLS')})"
                       for d in self.of("aws_api_gateway_domain_name")]
            self.topology.add(Node(id="clients", band=EDGE, kind="Clients", title="API callers",
                                   details=domains or ["execute-api endpoint"], style="external"))
        for api in apis:
            self.api(api)
        for function in self.of("aws_lambda_function"):
            self.function(function)
        for task in self.of("aws_dms_replication_task"):
            self.migration(task)
        for store in self.of(*STORE_TYPES):
            self.store(store)
        self.security_group_edges()
        self.network()
        return self.topology

    def waf(self, view: View) -> list[str]:
        return [f"WAF {_label(acl)}" for association in self.of("aws_wafv2_web_acl_association")
                if _references(association, view, "resource_arn") for acl in refs(association, via="web_acl_arn")]

    def api(self, api: View) -> None:
        methods = self.of("aws_api_gateway_method")
        auth = sorted({_attr(m, "authorization") for m in methods if _references(m, api, "rest_api_id")})
        endpoint = first_block(api["attributes"].get("endpoint_configuration"))
        types = ", ".join(shown(t) for t in endpoint.get("types", []))
        stages = [s for s in self.of("aws_api_gateway_stage") if _references(s, api, "rest_api_id")]
        node = self.node(api, "REST API", "path", [f"{types or 'EDGE'} endpoint", f"auth {', '.join(auth) or '-'}"]
                         + [w for s in stages for w in self.waf(s)], band=EDGE)
        self.topology.connect("clients", node.id, "HTTPS", "request")
        for integration in self.of("aws_api_gateway_integration"):
            if not _references(integration, api, "rest_api_id"):
                continue
            for link in refs(integration, via="connection_id", types=("aws_api_gateway_vpc_link",)):
                balancers = list(refs(link, via="target_arns", types=LB_TYPES))
                band = self.tier(balancers[0]) if balancers else None
                link_node = self.node(link, "VPC link", "path", [f"{len(balancers)} target(s)"], band=band)
                self.topology.connect(node.id, link_node.id, _attr(integration, "type", "integration"), "request")
                for balancer in balancers:
                    self.topology.connect(link_node.id, self.balancer(balancer).id, "", "request")

    def balancer(self, balancer: View) -> Node:
        if balancer["address"] in self.expanded:
            return self.topology.nodes[balancer["address"]]
        self.expanded.add(balancer["address"])
        kind = {"network": "Network LB", "gateway": "Gateway LB"}.get(
            _attr(balancer, "load_balancer_type", "application"), "Application LB")
        listeners = list(referrers(balancer, ("aws_lb_listener", "aws_alb_listener"), via="load_balancer_arn"))
        details = [("internal" if balancer["attributes"].get("internal") else "internet-facing")]
        details += [f"{_attr(li, 'protocol')}:{_attr(li, 'port')} {_attr(li, 'ssl_policy')}".strip()
                    for li in listeners]
        if balancer["attributes"].get("drop_invalid_header_fields"):
            details.append("drops invalid headers")
        node = self.node(balancer, kind, "path", details + self.waf(balancer))
        for listener in listeners:
            for index, action in enumerate(block_list(listener["attributes"].get("default_action"))):
                if isinstance(action, dict) and action.get("type") == "forward":
                    for group in refs(listener, via=f"default_action[{index}].target_group_arn", types=TG_TYPES):
                        self.forward(node, group, f"{_attr(listener, 'protocol')}:{_attr(listener, 'port')}")
            for rule in referrers(listener, ("aws_lb_listener_rule", "aws_alb_listener_rule"), via="listener_arn"):
                for pairs in weighted_forwards(rule):
                    total = sum(weight for _, weight in pairs) or 1
                    for group, weight in pairs:
                        slot = slot_name(group)
                        group_node = self.node(group, f"target group · {slot}", f"slot-{slot}",
                                               [f"{_attr(group, 'target_type', 'instance')} targets",
                                                f"weight {weight} of {total}"], band=node.band)
                        self.topology.connect(node.id, group_node.id, f"{100.0 * weight / total:.0f}%", "request")
                        self.targets(group_node, group)
        return node

    def forward(self, source: Node, group: View, label: str) -> None:
        """A single target group behind a listener is drawn as an edge to what it holds."""
        for attachment in referrers(group, ATTACHMENT_TYPES, via="target_group_arn"):
            for target in refs(attachment, via="target_id"):
                if target["type"] in LB_TYPES:
                    self.topology.connect(source.id, self.balancer(target).id, label, "request")

    def targets(self, group_node: Node, group: View) -> None:
        addresses = []
        for attachment in referrers(group, ATTACHMENT_TYPES, via="target_group_arn"):
            targets = list(refs(attachment, via="target_id"))
            for target in targets:
                functions = [target] if target["type"] == "aws_lambda_function" else list(
                    refs(target, via="function_name", types=("aws_lambda_function",)))
                for function in functions:
                    alias = f"alias {_attr(target, 'name')}" if target["type"] == "aws_lambda_alias" else "invoke"
                    self.topology.connect(group_node.id, self.function(function).id, alias, "request")
                if target["type"] in LB_TYPES:
                    self.topology.connect(group_node.id, self.balancer(target).id, "", "request")
            if not targets:
                addresses.append(_attr(attachment, "target_id") + (
                    f":{_attr(attachment, 'port')}" if "port" in attachment["attributes"] else ""))
        if addresses:
            band = ONPREM if not any(self.inside_vpc(a.split(":")[0]) for a in addresses) else group_node.band
            node = self.topology.add(Node(id=f"{group_node.id}#targets", band=band, kind="IP targets",
                                          title=f"{len(addresses)} address(es)", details=addresses, style="external"))
            self.topology.connect(group_node.id, node.id, "", "request")

    def inside_vpc(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return True  # not an IP literal: nothing says it is outside
        return any(ip in network for network in self.networks)

    # ------------------------------------------------------------------ compute and data
    def function(self, function: View) -> Node:
        if function["address"] in self.topology.nodes:
            return self.topology.nodes[function["address"]]
        attributes = function["attributes"]
        aliases = sorted(_attr(a, "name") for a in referrers(function, ("aws_lambda_alias",), via="function_name"))
        details = [f"{_attr(function, 'runtime', 'runtime ?')} {'/'.join(attributes.get('architectures') or [])}"]
        if attributes.get("reserved_concurrent_executions") is not None:
            details.append(f"reserved concurrency {_attr(function, 'reserved_concurrent_executions')}")
        if aliases:
            details.append("aliases " + ", ".join(aliases))
        node = self.node(function, "Lambda", "compute", details)
        for role in refs(function, via="role", types=("aws_iam_role",)):
            self.permissions(node, role)
        return node

    def statements(self, role: View) -> list[tuple[View, AnnotatedStatement]]:
        holders = [role, *referrers(role, ("aws_iam_role_policy",), via="role")]
        return [(holder, statement) for holder in holders for document in holder["policy_documents"]
                if document.get("kind") == "identity" for statement in document.get("statements", [])
                if statement.get("effect") == "Allow"]

    def permissions(self, node: Node, role: View) -> None:
        topics = {_attr(t, "name"): t for t in self.of("aws_sns_topic")}
        for holder, statement in self.statements(role):
            actions = statement.get("actions", [])
            verbs = sorted({a.split(":", 1)[-1] for a in actions})
            for resource in statement.get("resources", []):
                targets = [t for e in interpolations(resource) for t, _ in self.model.resolve(holder["stack"], e)]
                match = SNS_ARN.search(resource)
                if match and match.group(1) in topics:
                    targets.append(topics[match.group(1)])
                for target in targets:
                    if target["type"] in ("aws_lambda_alias", "aws_lambda_function") and any(
                            a.startswith("lambda:Invoke") for a in actions):
                        functions = [target] if target["type"] == "aws_lambda_function" else list(
                            refs(target, via="function_name", types=("aws_lambda_function",)))
                        for function in functions:
                            if function["address"] != node.id:
                                self.topology.connect(node.id, self.function(function).id, "invoke", "request")
                    elif target["type"] in STORE_TYPES:
                        self.topology.connect(node.id, self.store(target).id, ", ".join(verbs[:3]) + (
                            "…" if len(verbs) > 3 else ""), "data")

    def store(self, view: View) -> Node:
        attributes = view["attributes"]
        if view["type"] == "aws_rds_cluster":
            instances = list(referrers(view, ("aws_rds_cluster_instance",), via="cluster_identifier"))
            details = [f"{_attr(view, 'engine')} {_attr(view, 'engine_version')}".strip(),
                       f"{len(instances)} instance(s)"]
            return self.node(view, "Aurora cluster", "store", details)
        if view["type"] == "aws_dynamodb_table":
            pitr = first_block(attributes.get("point_in_time_recovery")).get("enabled")
            return self.node(view, "DynamoDB table", "store",
                             [_attr(view, "billing_mode", "PROVISIONED")] + (["PITR"] if pitr else []))
        if view["type"] == "aws_s3_bucket":
            return self.node(view, "S3 bucket", "store", ["object lock"] if attributes.get("object_lock_enabled")
                             else [])
        return self.node(view, "SNS topic", "store", [])

    def security_group_edges(self) -> None:
        """Who can open connections to a data store: ingress rules naming a source security group."""
        for rule in self.of("aws_vpc_security_group_ingress_rule", "aws_security_group_rule"):
            if rule["type"] == "aws_security_group_rule" and rule["attributes"].get("type") != "ingress":
                continue
            sources = list(refs(rule, via="referenced_security_group_id")) + list(
                refs(rule, via="source_security_group_id"))
            destinations = list(refs(rule, via="security_group_id"))
            port = _attr(rule, "from_port") or _attr(rule, "to_port")
            protocol = _attr(rule, "ip_protocol") or _attr(rule, "protocol")
            for destination in destinations:
                for store in referrers(destination, STORE_TYPES):
                    for source in sources:
                        for client in referrers(source, ("aws_lambda_function", "aws_dms_replication_instance")):
                            if client["address"] in self.topology.nodes:
                                self.topology.connect(client["address"], self.store(store).id,
                                                      f"{protocol}/{port}", "network")

    def migration(self, task: View) -> None:
        instances = list(refs(task, via="replication_instance_arn"))
        if not instances:
            return
        instance = self.node(instances[0], "DMS replication", "compute",
                             [_attr(instances[0], "replication_instance_class")])
        for endpoint in refs(task, via="source_endpoint_arn"):
            stores = [self.store(store) for store in refs(endpoint, types=STORE_TYPES)]
            server = " ".join(filter(None, (_attr(endpoint, "server_name"), _attr(endpoint, "port"))))
            sources = stores or [self.topology.add(Node(
                id=endpoint["address"], band=ONPREM, kind="DMS source",
                title=f"{_attr(endpoint, 'engine_name')} database {_attr(endpoint, 'database_name')}".strip(),
                details=[d for d in (server, f"TLS {_attr(endpoint, 'ssl_mode', 'none')}") if d], style="external",
                address=endpoint["address"]))]
            for source in sources:
                self.topology.connect(source.id, instance.id, _attr(task, "migration_type"), "data")
        for endpoint in refs(task, via="target_endpoint_arn"):
            for store in refs(endpoint, types=STORE_TYPES):
                self.topology.connect(instance.id, self.store(store).id, "replicate", "data")

    # ------------------------------------------------------------------ network facts
    def network(self) -> None:
        topology = self.topology
        for vpc in self.of("aws_vpc"):
            zones = sorted({_attr(s, "availability_zone") for s in self.of("aws_subnet")})
            topology.vpc_note = f"VPC {_label(vpc)} {_attr(vpc, 'cidr_block')} · {len(zones)} AZs"
        default_routes: dict[int, set[str]] = {}
        for route in self.of("aws_route"):
            if route["attributes"].get("destination_cidr_block") != "0.0.0.0/0":
                continue
            for table in refs(route, via="route_table_id"):
                for key, name in (("gateway_id", "internet gateway"), ("nat_gateway_id", "NAT gateway"),
                                  ("transit_gateway_id", "transit gateway")):
                    if key in route["attributes"]:
                        default_routes.setdefault(id(table), set()).add(name)
        tiers: dict[str, list[View]] = {}
        for subnet in self.of("aws_subnet"):
            tiers.setdefault(self.subnet_tier[id(subnet)], []).append(subnet)
        for tier, subnets in tiers.items():
            routes: set[str] = set()
            for subnet in subnets:
                for association in referrers(subnet, ("aws_route_table_association",), via="subnet_id"):
                    for table in refs(association, via="route_table_id"):
                        routes |= default_routes.get(id(table), set())
            cidrs = ", ".join(f"{_attr(s, 'availability_zone')} {_attr(s, 'cidr_block')}" for s in
                              sorted(subnets, key=lambda s: _attr(s, "availability_zone")))
            topology.band_notes[tier] = [f"{len(subnets)} subnets: {cidrs}",
                                         "default route: " + (" / ".join(sorted(routes)) if routes else
                                                              "none (no route to the internet)")]
        for gateway in self.of("aws_internet_gateway"):
            topology.add(Node(gateway["address"], "public" if "public" in tiers else EDGE, "Internet gateway",
                              _label(gateway), [], "network", gateway["address"]))
        for nat in self.of("aws_nat_gateway"):
            node = self.node(nat, "NAT gateway", "network", [])
            node.title = _attr(next(iter(refs(nat, via="subnet_id")), nat), "availability_zone") or node.title
        endpoints: dict[str, list[str]] = {}
        for endpoint in self.of("aws_vpc_endpoint"):
            endpoints.setdefault(_attr(endpoint, "vpc_endpoint_type", "Gateway"), []).append(
                _attr(endpoint, "service_name").rsplit(".", 1)[-1])
        if endpoints:
            topology.band_notes[REGIONAL] = ["reached through VPC endpoints: " + "; ".join(
                f"{kind.lower()} {', '.join(sorted(names))}" for kind, names in sorted(endpoints.items()))]
        for connection in self.of("aws_vpn_connection"):
            gateways = list(refs(connection, via="customer_gateway_id"))
            peer = _attr(gateways[0], "ip_address") if gateways else "?"
            versions = sorted({shown(v) for key, value in connection["attributes"].items()
                               if key.endswith("ike_versions") and isinstance(value, list) for v in value})
            topology.band_notes.setdefault(ONPREM, []).append(
                f"site-to-site VPN to {peer} ({', '.join(versions) or 'IKE'})")
        present = {node.band for node in topology.nodes.values()} | set(topology.band_notes)
        ordered_tiers = [t for t in TIER_ORDER if t in tiers] + sorted(set(tiers) - set(TIER_ORDER))
        topology.bands = [b for b in (EDGE, *ordered_tiers, REGIONAL, ONPREM) if b in present or b in tiers]


def build_topology(model: Model, environment: str) -> Topology:
    return _Builder(model, environment).build()

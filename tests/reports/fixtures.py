"""Small hand-made inputs for the report tests: a synth whose names share nothing with the real app (so a
report that hard-coded a name would show it), and results documents built row by row.

The synth has one stack per environment, ``acme-<env>-core``: a REST API -> VPC link -> NLB -> ALB whose
listener rule splits traffic between an IP target group ("blue", on-prem addresses) and a Lambda alias
("green"), a function that writes a DynamoDB table and invokes a second function whose name is hostile
markup, and the weights mirrored in SSM.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HOSTILE = '<script>alert("pwned")</script>'
HOSTILE_PATH = "<img src=x onerror=alert(1)>"
TAGS = {"Project": "acme", "Environment": "", "CostCenter": "cc-1", "Owner": "team@example.com",
        "DataClassification": "restricted", "PciScope": "in-scope", "ManagedBy": "cdktf"}
WEIGHTS = {"dev": (0, 100), "prod": (70, 30)}


def _block(stack: str, path: str, body: dict[str, Any], tags: bool = True) -> dict[str, Any]:
    block = {"//": {"metadata": {"path": f"{stack}/{path}", "uniqueId": path}}, **body}
    if tags:
        block["tags"] = {**TAGS, "Environment": stack.split("-")[1], **body.get("tags", {})}
    return block


def stack_document(environment: str) -> dict[str, Any]:
    stack = f"acme-{environment}-core"
    blue, green = WEIGHTS[environment]
    subnets = {f"app-{zone}": _block(stack, f"app-{zone}", {
        "vpc_id": "${aws_vpc.net.id}", "cidr_block": f"10.9.{index}.0/24", "availability_zone": f"eu-west-1{zone}",
        "tags": {"Tier": "private"}}) for index, zone in enumerate("ab")}
    subnets |= {f"db-{zone}": _block(stack, f"db-{zone}", {
        "vpc_id": "${aws_vpc.net.id}", "cidr_block": f"10.9.{10 + index}.0/24", "availability_zone": f"eu-west-1{zone}",
        "tags": {"Tier": "database"}}) for index, zone in enumerate("ab")}
    private = ["${aws_subnet.app-a.id}", "${aws_subnet.app-b.id}"]
    policy = {"Version": "2012-10-17", "Statement": [
        {"Sid": "Orders", "Effect": "Allow", "Action": ["dynamodb:PutItem"],
         "Resource": ["${aws_dynamodb_table.orders.arn}"]},
        {"Sid": "Helper", "Effect": "Allow", "Action": ["lambda:InvokeFunction"],
         "Resource": ["${aws_lambda_function.helper.arn}"]}]}
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                      "Principal": {"Service": "lambda.amazonaws.com"}}]}
    resource = {
        "aws_vpc": {"net": _block(stack, "net", {"cidr_block": "10.9.0.0/16",
                                                 "tags": {"Name": f"acme-{environment}"}})},
        "aws_subnet": subnets,
        "aws_api_gateway_rest_api": {"gw": _block(stack, "gw", {"name": f"acme-{environment}-gateway",
                                                                "endpoint_configuration": {"types": ["REGIONAL"]}})},
        "aws_api_gateway_vpc_link": {"link": _block(stack, "link", {"name": f"acme-{environment}-link",
                                                                    "target_arns": ["${aws_lb.front.arn}"]})},
        "aws_api_gateway_integration": {"proxy": _block(stack, "proxy", {
            "rest_api_id": "${aws_api_gateway_rest_api.gw.id}", "connection_type": "VPC_LINK",
            "connection_id": "${aws_api_gateway_vpc_link.link.id}", "type": "HTTP_PROXY", "http_method": "ANY",
            "resource_id": "${aws_api_gateway_rest_api.gw.root_resource_id}", "integration_http_method": "ANY",
            "uri": "https://orders.internal/"}, tags=False)},
        "aws_lb": {
            "front": _block(stack, "front", {"name": f"acme-{environment}-front", "load_balancer_type": "network",
                                             "internal": True, "subnets": private}),
            "inner": _block(stack, "inner", {"name": f"acme-{environment}-inner", "load_balancer_type": "application",
                                             "internal": True, "subnets": private, "drop_invalid_header_fields": True}),
        },
        "aws_lb_target_group": {
            "to-inner": _block(stack, "to-inner", {"name": "to-inner", "target_type": "alb", "port": 443,
                                                   "protocol": "TCP"}),
            "old": _block(stack, "old", {"name": f"acme-{environment}-old", "target_type": "ip",
                                         "tags": {"Slot": "blue", "SlotKind": "onprem"}}),
            "new": _block(stack, "new", {"name": f"acme-{environment}-new", "target_type": "lambda",
                                         "tags": {"Slot": "green", "SlotKind": "lambda"}}),
        },
        "aws_lb_target_group_attachment": {
            "inner": _block(stack, "inner-att", {"target_group_arn": "${aws_lb_target_group.to-inner.arn}",
                                                 "target_id": "${aws_lb.inner.arn}"}, tags=False),
            "legacy": _block(stack, "legacy", {"target_group_arn": "${aws_lb_target_group.old.arn}",
                                               "target_id": "192.168.50.10", "port": 8443}, tags=False),
            "fn": _block(stack, "fn", {"target_group_arn": "${aws_lb_target_group.new.arn}",
                                       "target_id": "${aws_lambda_alias.live.arn}"}, tags=False),
        },
        "aws_lb_listener": {
            "front-tcp": _block(stack, "front-tcp", {
                "load_balancer_arn": "${aws_lb.front.arn}", "protocol": "TCP", "port": 443,
                "default_action": [{"type": "forward", "target_group_arn": "${aws_lb_target_group.to-inner.arn}"}]}),
            "inner-https": _block(stack, "inner-https", {
                "load_balancer_arn": "${aws_lb.inner.arn}", "protocol": "HTTPS", "port": 443,
                "ssl_policy": "ELBSecurityPolicy-TLS13-1-2-2021-06",
                "default_action": [{"type": "fixed-response", "fixed_response": {"status_code": "404",
                                                                                 "content_type": "text/plain"}}]}),
        },
        "aws_lb_listener_rule": {"split": _block(stack, "split", {
            "listener_arn": "${aws_lb_listener.inner-https.arn}", "priority": 5,
            "action": [{"type": "forward", "forward": {"target_group": [
                {"arn": "${aws_lb_target_group.old.arn}", "weight": blue},
                {"arn": "${aws_lb_target_group.new.arn}", "weight": green}]}}],
            "condition": [{"path_pattern": {"values": ["/orders*"]}}]})},
        "aws_lambda_function": {
            "checkout": _block(stack, "checkout", {
                "function_name": f"acme-{environment}-checkout", "runtime": "python3.12", "handler": "h.main",
                "role": "${aws_iam_role.checkout.arn}", "reserved_concurrent_executions": 5,
                "vpc_config": {"subnet_ids": private, "security_group_ids": []}}),
            "helper": _block(stack, HOSTILE_PATH, {
                "function_name": HOSTILE, "runtime": "python3.12", "handler": "h.main",
                "role": "${aws_iam_role.checkout.arn}", "vpc_config": {"subnet_ids": private}}),
        },
        "aws_lambda_alias": {"live": _block(stack, "live", {
            "name": "live", "function_name": "${aws_lambda_function.checkout.function_name}",
            "function_version": "${aws_lambda_function.checkout.version}"}, tags=False)},
        "aws_iam_role": {"checkout": _block(stack, "role", {"name": f"acme-{environment}-checkout",
                                                            "assume_role_policy": json.dumps(trust)})},
        "aws_iam_role_policy": {"checkout": _block(stack, "role-policy", {
            "role": "${aws_iam_role.checkout.id}", "policy": json.dumps(policy)}, tags=False)},
        "aws_dynamodb_table": {"orders": _block(stack, "orders", {
            "name": f"acme-{environment}-orders", "hash_key": "id", "billing_mode": "PAY_PER_REQUEST",
            "attribute": [{"name": "id", "type": "S"}]})},
        "aws_ssm_parameter": {"weights": _block(stack, "weights", {
            "name": f"/acme/{environment}/traffic/weights", "type": "String",
            "value": json.dumps({"blue": {"kind": "onprem", "weight": blue}, "green": {"kind": "lambda",
                                                                                       "weight": green}})})},
    }
    # One taggable resource without its tags, for the coverage section.
    del resource["aws_dynamodb_table"]["orders"]["tags"]["Owner"]
    return {"//": {"metadata": {"stackName": stack, "version": "0.21.0"}},
            "provider": {"aws": [{"region": "eu-west-1"}]}, "resource": resource,
            "terraform": {"required_providers": {"aws": {"source": "aws", "version": "5.100.0"}}}}


def write_synth(directory: Path, environments: tuple[str, ...] = ("dev", "prod")) -> Path:
    """The stacks and the manifest.json that lists them (the gate refuses a synth without one)."""
    stacks = {}
    for environment in environments:
        name = f"acme-{environment}-core"
        path = directory / "stacks" / name / "cdk.tf.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(stack_document(environment), indent=2))
        stacks[name] = {"name": name, "synthesizedStackPath": f"stacks/{name}/cdk.tf.json"}
    (directory / "manifest.json").write_text(json.dumps({"version": "0.21.0", "stacks": stacks}, indent=2))
    return directory


@dataclass(frozen=True)
class Control:
    id: str
    title: str
    requirements: tuple[str, ...]
    severity: str = "high"


@dataclass(frozen=True)
class Row:
    control: str
    environment: str | None  # None: a rule that could not run at all (no resource)
    type: str
    name: str
    verdict: str  # COMPLIANT, NON_COMPLIANT, EXCEPTED or ERROR
    observed: Any = None
    construct: str | None = None


def exception_entry(control: str, environment: str, type_: str, name: str, expires: str) -> dict[str, Any]:
    return {"control": control, "resource": f"acme-{environment}-core:{type_}.{name}",
            "justification": "Accepted for the test fixture because a compensating control exists elsewhere",
            "approver": "Jane Auditor <jane@example.com>", "expires": expires, "reference": "TICKET-1"}


CONTROLS = (
    Control("PCI-TST-001", "Tables are encrypted with a customer-managed key", ("3.5.1", "8.3.2"), "critical"),
    Control("PCI-TST-002", "Listener rules forward by weight", ("6.5.1",), "medium"),
    Control("PCI-TST-003", "Functions run inside the VPC", ("1.3.1", "1.4.2")),
    Control("PCI-TST-004", "Functions have reserved concurrency", ("2.2.1",), "low"),
    Control("PCI-TST-005", "Functions are traced", ("10.2.1",), "medium"),
    Control("PCI-TST-006", "Queues are encrypted", ("3.5.1",), "high"),
)


def _status(verdicts: set[str]) -> str:
    if verdicts & {"NON_COMPLIANT", "ERROR"}:
        return "FAIL"
    if "EXCEPTED" in verdicts:
        return "EXCEPTED"
    return "PASS" if verdicts else "NOT_APPLICABLE"


def results_document(synth_dir: Path, rows: list[Row], *, applied: list[dict[str, Any]] = (),
                     problems: list[dict[str, Any]] = (), started_at: str = "2026-06-01T10:00:00+00:00",
                     controls: tuple[Control, ...] = CONTROLS) -> dict[str, Any]:
    """A results document of the gate's schema, for the given rows (statuses and counts derived)."""
    applied_by_key = {(e["control"], e["resource"]): e for e in applied}
    results = []
    for row in rows:
        resource = None
        if row.environment is not None:
            stack = f"acme-{row.environment}-core"
            resource = {"address": f"{stack}:{row.type}.{row.name}", "stack": stack, "type": row.type,
                        "name": row.name, "construct_path": f"{stack}/{row.construct or row.name}"}
        evidence_verdict = {"EXCEPTED": "NON_COMPLIANT"}.get(row.verdict, row.verdict)
        control = next(c for c in controls if c.id == row.control)
        results.append({
            "control": row.control, "requirements": list(control.requirements), "verdict": row.verdict,
            "resource": resource, "layers": ["jmespath"],
            "evidence": [{"layer": "jmespath", "check": f"{row.control.lower()}-rule", "verdict": evidence_verdict,
                          "attribute": "kms_key_arn", "observed": row.observed if evidence_verdict != "COMPLIANT"
                          else None, "expected": "a customer-managed key", "message": f"{row.control.lower()}-rule"}],
            "exception": applied_by_key.get((row.control, resource["address"])) if resource and
            row.verdict == "EXCEPTED" else None,
        })
    control_rows = []
    for control in controls:
        verdicts = Counter(r["verdict"] for r in results if r["control"] == control.id)
        control_rows.append({
            "id": control.id, "title": control.title, "requirements": list(control.requirements),
            "severity": control.severity, "status": _status(set(verdicts)),
            "layers": {"declared": ["aspect", "jmespath"], "checked_post_synth": ["jmespath"] if verdicts else [],
                       "enforced_at_synth": True},
            "checks": {"aspect": [control.id.lower().replace("-", "_")], "checkov": [],
                       "jmespath": [f"{control.id.lower()}-rule"]},
            "counts": {v: verdicts.get(v, 0) for v in ("COMPLIANT", "NON_COMPLIANT", "EXCEPTED", "ERROR")},
            "remediation": f"Fix {control.title.lower()}.",
        })
    inputs = []
    for path in sorted(synth_dir.glob("stacks/*/cdk.tf.json")):
        document = json.loads(path.read_text())
        inputs.append({"stack": path.parent.name, "path": str(path),
                       "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                       "resources": sum(len(v) for v in document.get("resource", {}).values()),
                       "data_sources": sum(len(v) for v in document.get("data", {}).values())})
    sha = "0" * 64
    failed = any(c["status"] == "FAIL" for c in control_rows) or bool(problems)
    by_status = Counter(c["status"] for c in control_rows)
    by_verdict = Counter(r["verdict"] for r in results)
    return {
        "schema_version": "1.0.0",
        "run": {"tool": "python -m policies gate", "started_at": started_at, "finished_at": started_at,
                "duration_seconds": 1.5, "exit_code": 1 if failed else 0, "outcome": "FAIL" if failed else "PASS",
                "synth_dir": str(synth_dir), "report_dir": "/tmp/reports",
                "versions": {"python": "3.11.7", "checkov": "3.3.30", "jmespath": "1.1.0"},
                "timings_seconds": {"load": 0.1, "checkov": 1.0, "jmespath": 0.2, "merge": 0.1},
                "configuration": {"catalog": {"path": "policies/catalog.yaml", "sha256": sha},
                                  "register": {"path": "policies/exceptions.yaml", "sha256": sha},
                                  "allowlist": {"path": "policies/iam_wildcard_allowlist.yaml", "sha256": sha},
                                  "rules": [{"path": "policies/jmespath/x.yaml", "sha256": sha}],
                                  "checkov_checks": {"path": "policies/checkov", "sha256": sha}}},
        "inputs": inputs,
        "summary": {"controls": len(control_rows),
                    "by_status": {s: by_status.get(s, 0) for s in ("PASS", "FAIL", "EXCEPTED", "NOT_APPLICABLE")},
                    "rows": len(results),
                    "by_verdict": {v: by_verdict.get(v, 0)
                                   for v in ("COMPLIANT", "NON_COMPLIANT", "EXCEPTED", "ERROR")},
                    "register_problems": len(problems)},
        "controls": control_rows,
        "results": results,
        "exceptions": {"applied": list(applied), "problems": list(problems)},
        "comparison": None,
    }


def noncompliant_document(synth_dir: Path) -> dict[str, Any]:
    """Failing tables in prod; the hostile function excepted in dev but its prod exception expired; a rule
    that could not run at all; one control with nothing to check."""
    active = exception_entry("PCI-TST-003", "dev", "aws_lambda_function", "helper", "2026-12-31")
    expired = exception_entry("PCI-TST-003", "prod", "aws_lambda_function", "helper", "2026-05-01")
    rows = [
        Row("PCI-TST-001", "dev", "aws_dynamodb_table", "orders", "COMPLIANT"),
        Row("PCI-TST-001", "prod", "aws_dynamodb_table", "orders", "NON_COMPLIANT", {"kms_key_arn": None}),
        Row("PCI-TST-002", "dev", "aws_lb_listener_rule", "split", "COMPLIANT"),
        Row("PCI-TST-002", "prod", "aws_lb_listener_rule", "split", "COMPLIANT"),
        Row("PCI-TST-003", "dev", "aws_lambda_function", "checkout", "COMPLIANT"),
        Row("PCI-TST-003", "dev", "aws_lambda_function", "helper", "EXCEPTED", {"vpc_config": HOSTILE},
            HOSTILE_PATH),
        Row("PCI-TST-003", "prod", "aws_lambda_function", "checkout", "COMPLIANT"),
        Row("PCI-TST-003", "prod", "aws_lambda_function", "helper", "NON_COMPLIANT", {"vpc_config": HOSTILE},
            HOSTILE_PATH),
        Row("PCI-TST-004", "dev", "aws_lambda_function", "checkout", "COMPLIANT"),
        Row("PCI-TST-004", "prod", "aws_lambda_function", "checkout", "COMPLIANT"),
        Row("PCI-TST-005", None, "", "", "ERROR"),
    ]
    return results_document(synth_dir, rows, applied=[active],
                            problems=[{"entry": expired, "problems": ["expired on 2026-05-01"]}])

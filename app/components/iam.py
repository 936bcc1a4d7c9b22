"""IAM documents as plain JSON (``json.dumps`` keeps cdktf tokens inside strings, resolved at synth)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, TypedDict

# Actions AWS only authorizes on "Resource": "*" (they are not resource-scoped). Every other statement names
# exact ARNs. Each use of "*" must be covered by policies/iam_wildcard_allowlist.yaml (control PCI-IAM-001).
VPC_ENI_ACTIONS = (
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
)
XRAY_ACTIONS = ("xray:PutTraceSegments", "xray:PutTelemetryRecords")
# API Gateway's execution logging looks its log group up by listing (DescribeLogGroups is not resource-scoped).
LOG_DISCOVERY_ACTIONS = ("logs:DescribeLogGroups",)


class IamStatement(TypedDict, total=False):
    """One statement of an IAM policy (identity or resource policy) as it is serialized."""

    Sid: str
    Effect: str
    Principal: str | dict[str, str]
    Action: str | list[str]
    Resource: str | list[str]
    # {operator: {condition key: value or values}}; values may be cdktf tokens (strings).
    Condition: dict[str, dict[str, Any]]


def statement(sid: str, actions: Sequence[str], resources: Sequence[str], **condition: Any) -> IamStatement:
    body: IamStatement = {"Sid": sid, "Effect": "Allow", "Action": sorted(actions), "Resource": list(resources)}
    if condition:
        body["Condition"] = condition
    return body


def policy_document(statements: Sequence[IamStatement]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def service_trust_policy(service: str, *, source_account: str | None = None) -> str:
    trust: IamStatement = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    if source_account is not None:
        trust["Condition"] = {"StringEquals": {"aws:SourceAccount": source_account}}
    return json.dumps({"Version": "2012-10-17", "Statement": [trust]})

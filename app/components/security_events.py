"""The security events PCI DSS 10.2.1.x requires to be detected in the audit trail, as CloudWatch Logs metric
filter patterns over CloudTrail records (one metric filter and one alarm to ``system-errors`` each).

Plain data (no cdktf import): tests evaluate every pattern against real-shaped CloudTrail records with
``app.components.filter_pattern``. Every value is a quoted string; mixed ``&&``/``||`` are always parenthesized,
so precedence never decides what a pattern means.
"""

from __future__ import annotations

from dataclasses import dataclass

METRIC_NAMESPACE = "Payments/Security"


@dataclass(frozen=True)
class SecurityEvent:
    name: str  # metric and alarm suffix
    requirements: tuple[str, ...]
    description: str
    pattern: str


def metric_name(name_prefix: str, event: SecurityEvent) -> str:
    """The metric the audit stack's filter emits and the monitoring stack's alarm watches."""
    return f"{name_prefix}-{event.name}"


def _any_event(source: str, names: tuple[str, ...]) -> str:
    alternatives = " || ".join(f'($.eventName = "{name}")' for name in names)
    return f'{{ ($.eventSource = "{source}") && ({alternatives}) }}'


IAM_POLICY_CHANGES = (
    "DeleteGroupPolicy",
    "DeleteRolePolicy",
    "DeleteUserPolicy",
    "PutGroupPolicy",
    "PutRolePolicy",
    "PutUserPolicy",
    "CreatePolicy",
    "DeletePolicy",
    "CreatePolicyVersion",
    "DeletePolicyVersion",
    "SetDefaultPolicyVersion",
    "AttachRolePolicy",
    "DetachRolePolicy",
    "AttachUserPolicy",
    "DetachUserPolicy",
    "AttachGroupPolicy",
    "DetachGroupPolicy",
    "UpdateAssumeRolePolicy",
)
CLOUDTRAIL_CHANGES = (
    "CreateTrail",
    "UpdateTrail",
    "DeleteTrail",
    "StartLogging",
    "StopLogging",
    "PutEventSelectors",
    "PutInsightSelectors",
)
KMS_KEY_LOSS = ("DisableKey", "ScheduleKeyDeletion")
SECURITY_GROUP_CHANGES = (
    "AuthorizeSecurityGroupIngress",
    "AuthorizeSecurityGroupEgress",
    "RevokeSecurityGroupIngress",
    "RevokeSecurityGroupEgress",
    "ModifySecurityGroupRules",
    "CreateSecurityGroup",
    "DeleteSecurityGroup",
)
NACL_CHANGES = (
    "CreateNetworkAcl",
    "CreateNetworkAclEntry",
    "DeleteNetworkAcl",
    "DeleteNetworkAclEntry",
    "ReplaceNetworkAclEntry",
    "ReplaceNetworkAclAssociation",
)
ROUTE_TABLE_CHANGES = (
    "CreateRoute",
    "CreateRouteTable",
    "ReplaceRoute",
    "ReplaceRouteTableAssociation",
    "DeleteRouteTable",
    "DeleteRoute",
    "AssociateRouteTable",
    "DisassociateRouteTable",
)
VPC_CHANGES = (
    "CreateVpc",
    "DeleteVpc",
    "ModifyVpcAttribute",
    "AcceptVpcPeeringConnection",
    "CreateVpcPeeringConnection",
    "DeleteVpcPeeringConnection",
    "RejectVpcPeeringConnection",
    "AttachInternetGateway",
    "DetachInternetGateway",
    "CreateVpcEndpoint",
    "DeleteVpcEndpoints",
)

SECURITY_EVENTS = (
    SecurityEvent(
        "root-account-use",
        ("10.2.1.2", "8.2.2"),
        "The account root user made a call itself (not an AWS service acting for it)",
        '{ ($.userIdentity.type = "Root") && ($.userIdentity.invokedBy NOT EXISTS) '
        '&& ($.eventType != "AwsServiceEvent") }',
    ),
    SecurityEvent(
        "iam-policy-changes",
        ("10.2.1.5", "10.2.1.2"),
        "An IAM policy was created, changed, attached or detached",
        _any_event("iam.amazonaws.com", IAM_POLICY_CHANGES),
    ),
    SecurityEvent(
        "cloudtrail-changes",
        ("10.2.1.6",),
        "A trail was created, changed, stopped or deleted (audit logging paused or reconfigured)",
        _any_event("cloudtrail.amazonaws.com", CLOUDTRAIL_CHANGES),
    ),
    SecurityEvent(
        "console-signin-failures",
        ("10.2.1.4",),
        "A console sign-in failed",
        '{ ($.eventName = "ConsoleLogin") && ($.errorMessage = "Failed authentication") }',
    ),
    SecurityEvent(
        "kms-key-disabled-or-deleted",
        ("10.2.1.7", "3.6.1"),
        "A customer-managed KMS key was disabled or scheduled for deletion",
        _any_event("kms.amazonaws.com", KMS_KEY_LOSS),
    ),
    SecurityEvent(
        "security-group-changes",
        ("10.2.1.7", "1.2.2"),
        "A security group or one of its rules was created, changed or deleted",
        _any_event("ec2.amazonaws.com", SECURITY_GROUP_CHANGES),
    ),
    SecurityEvent(
        "nacl-changes",
        ("10.2.1.7", "1.2.2"),
        "A network ACL, an entry or an association was created, changed or deleted",
        _any_event("ec2.amazonaws.com", NACL_CHANGES),
    ),
    SecurityEvent(
        "route-table-changes",
        ("10.2.1.7", "1.2.2"),
        "A route table, a route or an association was created, changed or deleted",
        _any_event("ec2.amazonaws.com", ROUTE_TABLE_CHANGES),
    ),
    SecurityEvent(
        "vpc-changes",
        ("10.2.1.7", "1.2.2"),
        "A VPC, a peering, an internet gateway attachment or an endpoint was created, changed or deleted",
        _any_event("ec2.amazonaws.com", VPC_CHANGES),
    ),
    SecurityEvent(
        "unauthorized-api-calls",
        ("10.2.1.4",),
        "A call was refused for lack of authorization",
        '{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") }',
    ),
)

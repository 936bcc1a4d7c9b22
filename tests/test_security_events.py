"""Every security-event metric filter matches real-shaped CloudTrail records of its event and none of the benign
ones; the evaluator (tests/filter_pattern.py) is itself checked on the CloudWatch semantics it relies on."""

from __future__ import annotations

import copy

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from app.components.security_events import (
    CLOUDTRAIL_CHANGES,
    IAM_POLICY_CHANGES,
    KMS_KEY_LOSS,
    NACL_CHANGES,
    ROUTE_TABLE_CHANGES,
    SECURITY_EVENTS,
    SECURITY_GROUP_CHANGES,
    VPC_CHANGES,
)
from tests.filter_pattern import PatternError, matches, parse

PATTERNS = {event.name: event.pattern for event in SECURITY_EVENTS}
ACCOUNT = "111122223333"


def record(event_source: str, event_name: str, *, read_only: bool = False, **overrides) -> dict:
    """A CloudTrail management-event record as delivered to CloudWatch Logs (record format 1.09)."""
    base = {
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "AssumedRole",
            "principalId": "AROAEXAMPLEID:alice",
            "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/PlatformAdmin/alice",
            "accountId": ACCOUNT,
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": "AROAEXAMPLEID",
                    "arn": f"arn:aws:iam::{ACCOUNT}:role/PlatformAdmin",
                    "accountId": ACCOUNT,
                    "userName": "PlatformAdmin",
                },
                "attributes": {"creationDate": "2026-11-30T09:58:11Z", "mfaAuthenticated": "true"},
            },
        },
        "eventTime": "2026-11-30T10:00:00Z",
        "eventSource": event_source,
        "eventName": event_name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.10",
        "userAgent": "aws-cli/2.15.0 Python/3.11",
        "requestParameters": {},
        "responseElements": None,
        "requestID": "6f1c8e4b-1d2a-4c3b-9e8f-0a1b2c3d4e5f",
        "eventID": "0a1b2c3d-4e5f-6789-abcd-ef0123456789",
        "readOnly": read_only,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": ACCOUNT,
        "eventCategory": "Management",
    }
    base.update(overrides)
    return base


def matching(event: dict) -> set[str]:
    return {name for name, pattern in PATTERNS.items() if matches(pattern, event)}


ROOT_CONSOLE_LOGIN = record(
    "signin.amazonaws.com",
    "ConsoleLogin",
    userIdentity={"type": "Root", "principalId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:root", "accountId": ACCOUNT},
    responseElements={"ConsoleLogin": "Success"},
    additionalEventData={"MFAUsed": "Yes", "MobileVersion": "No"},
)
FAILED_CONSOLE_LOGIN = record(
    "signin.amazonaws.com",
    "ConsoleLogin",
    userIdentity={"type": "IAMUser", "principalId": "AIDAEXAMPLE", "accountId": ACCOUNT, "userName": "bob"},
    responseElements={"ConsoleLogin": "Failure"},
    errorMessage="Failed authentication",
    additionalEventData={"MFAUsed": "No", "LoginTo": "https://console.aws.amazon.com/"},
)

POSITIVES = [
    ("root-account-use", ROOT_CONSOLE_LOGIN),
    (
        "root-account-use",
        record(
            "iam.amazonaws.com",
            "CreateAccessKey",
            userIdentity={"type": "Root", "principalId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:root"},
        ),
    ),
    ("console-signin-failures", FAILED_CONSOLE_LOGIN),
    (
        "unauthorized-api-calls",
        record(
            "ec2.amazonaws.com",
            "RunInstances",
            errorCode="Client.UnauthorizedOperation",
            errorMessage="You are not authorized to perform this operation.",
        ),
    ),
    ("unauthorized-api-calls", record("s3.amazonaws.com", "GetObject", errorCode="AccessDenied")),
    (
        "unauthorized-api-calls",
        record(
            "kms.amazonaws.com",
            "Decrypt",
            errorCode="AccessDeniedException",
            errorMessage="User is not authorized to perform: kms:Decrypt",
        ),
    ),
    *[("iam-policy-changes", record("iam.amazonaws.com", name)) for name in IAM_POLICY_CHANGES],
    *[("cloudtrail-changes", record("cloudtrail.amazonaws.com", name)) for name in CLOUDTRAIL_CHANGES],
    *[("kms-key-disabled-or-deleted", record("kms.amazonaws.com", name)) for name in KMS_KEY_LOSS],
    *[("security-group-changes", record("ec2.amazonaws.com", name)) for name in SECURITY_GROUP_CHANGES],
    *[("nacl-changes", record("ec2.amazonaws.com", name)) for name in NACL_CHANGES],
    *[("route-table-changes", record("ec2.amazonaws.com", name)) for name in ROUTE_TABLE_CHANGES],
    *[("vpc-changes", record("ec2.amazonaws.com", name)) for name in VPC_CHANGES],
]

BENIGN = [
    record("ec2.amazonaws.com", "DescribeSecurityGroups", read_only=True),
    record("ec2.amazonaws.com", "DescribeRouteTables", read_only=True),
    record("ec2.amazonaws.com", "DescribeNetworkAcls", read_only=True),
    record("ec2.amazonaws.com", "DescribeVpcs", read_only=True),
    record("iam.amazonaws.com", "ListPolicies", read_only=True),
    record("iam.amazonaws.com", "GetRolePolicy", read_only=True),
    record("iam.amazonaws.com", "CreateRole"),  # a role, not a policy
    record("cloudtrail.amazonaws.com", "DescribeTrails", read_only=True),
    record("cloudtrail.amazonaws.com", "LookupEvents", read_only=True),
    record("kms.amazonaws.com", "EnableKey"),
    record("kms.amazonaws.com", "CancelKeyDeletion"),
    record("kms.amazonaws.com", "Decrypt", read_only=True),
    record("dynamodb.amazonaws.com", "PutItem"),
    record("signin.amazonaws.com", "ConsoleLogin", responseElements={"ConsoleLogin": "Success"}),
    record("s3.amazonaws.com", "GetObject", errorCode="NoSuchKey"),
    record("dynamodb.amazonaws.com", "GetItem", errorCode="ThrottlingException"),
    # The same event names from another service are not the security events (the source is part of it).
    record("rds.amazonaws.com", "CreateSecurityGroup"),
    record("ssm.amazonaws.com", "DeletePolicy"),
    record("networkmanager.amazonaws.com", "CreateRoute"),
    # Root actions taken by AWS services on the account's behalf are not root use.
    record(
        "iam.amazonaws.com",
        "CreateServiceLinkedRole",
        userIdentity={"type": "Root", "principalId": ACCOUNT, "invokedBy": "support.amazonaws.com"},
    ),
    record(
        "kms.amazonaws.com",
        "RotateKey",
        userIdentity={"type": "Root", "principalId": ACCOUNT, "accountId": ACCOUNT},
        eventType="AwsServiceEvent",
    ),
]


@pytest.mark.parametrize(("expected", "event"), POSITIVES, ids=[f"{n}:{e['eventName']}" for n, e in POSITIVES])
def test_each_security_event_is_matched_by_its_filter(expected, event):
    assert expected in matching(event)


@pytest.mark.parametrize("event", BENIGN, ids=[f"{e['eventSource']}:{e['eventName']}" for e in BENIGN])
def test_benign_records_match_no_security_filter(event):
    assert matching(event) == set()


def test_every_security_event_has_a_positive_sample():
    assert {name for name, _ in POSITIVES} == set(PATTERNS)


def test_only_the_intended_filter_fires_for_a_change_event():
    # A change by an authorized principal is one alert, not several.
    for expected, event in POSITIVES:
        if "errorCode" not in event and event["userIdentity"]["type"] != "Root":
            assert matching(event) == {expected}, event["eventName"]


_SERVICES = st.sampled_from(
    ["ec2", "iam", "kms", "cloudtrail", "s3", "dynamodb", "lambda", "rds", "sts", "logs", "secretsmanager"]
)
_READ_VERBS = st.sampled_from(["Describe", "List", "Get", "Lookup", "Head"])
_NOUN = st.from_regex(r"[A-Z][a-z]{2,10}([A-Z][a-z]{2,10}){0,2}", fullmatch=True)


@seed(15)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    service=_SERVICES, verb=_READ_VERBS, noun=_NOUN, identity=st.sampled_from(["AssumedRole", "IAMUser", "AWSService"])
)
def test_generated_read_only_calls_never_alert(service, verb, noun, identity):
    event = record(f"{service}.amazonaws.com", verb + noun, read_only=True)
    event["userIdentity"]["type"] = identity
    assert matching(event) == set()


@seed(15)
@settings(max_examples=200, deadline=None)
@given(
    case=st.sampled_from(POSITIVES),
    region=st.sampled_from(["us-east-1", "eu-west-1", "ap-southeast-2"]),
    extra=st.dictionaries(st.from_regex(r"[a-z][A-Za-z]{2,12}", fullmatch=True), st.text(max_size=20), max_size=3),
)
def test_positives_still_match_from_any_region_with_any_extra_fields(case, region, extra):
    expected, event = case
    event = copy.deepcopy(event)
    event["awsRegion"] = region
    event["requestParameters"] = extra
    for key in extra:
        event.setdefault(f"x{key}", extra[key])
    assert expected in matching(event)


# ----------------------------------------------------------------------------------------------- the evaluator


def test_evaluator_semantics_the_patterns_rely_on():
    event = {"a": "Root", "b": {"c": "x"}, "code": "Client.UnauthorizedOperation"}
    assert matches('{ $.a = "Root" }', event)
    assert not matches('{ $.a = "Roo" }', event)
    assert matches('{ $.code = "*UnauthorizedOperation" }', event)
    assert matches('{ $.code = "Client.*" }', event)
    assert not matches('{ $.code = "AccessDenied*" }', event)
    assert matches("{ $.missing NOT EXISTS }", event)
    assert not matches("{ $.b.c NOT EXISTS }", event)
    assert matches("{ $.b.c EXISTS }", event)
    # A comparison on a missing property is false, for = and != alike (CloudWatch Logs semantics).
    assert not matches('{ $.missing = "x" }', event)
    assert not matches('{ $.missing != "x" }', event)
    assert matches('{ ($.a = "Root") && (($.b.c = "y") || ($.b.c = "x")) }', event)


@pytest.mark.parametrize(
    "pattern",
    [
        '{ $.a = "x" && $.b = "y" || $.c = "z" }',  # precedence would decide: refused
        '{ $.a = "x" ',
        '$.a = "x"',
        "{ $.a > 3 }",
        '{ $.a = "x" } trailing',
        "{ a = 1 }",
    ],
)
def test_evaluator_refuses_what_it_cannot_read(pattern):
    with pytest.raises(PatternError):
        parse(pattern)


def test_every_shipped_pattern_parses():
    for event in SECURITY_EVENTS:
        parse(event.pattern)

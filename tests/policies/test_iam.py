"""IAM least privilege: the allow-list facts, and the two verdicts made from them (the synth-time Python
decision and the JMESPath rule) agree statement by statement."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from policies import iam
from policies.model import Model, StackFile

ALLOWLIST = iam.default_allowlist()
ROOT = "arn:${data.aws_partition.p.partition}:iam::${data.aws_caller_identity.c.account_id}:root"
ENI_MANAGEMENT = {"Effect": "Allow", "Action": ["ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces"],
                  "Resource": "*"}
ROOT_ADMINISTERS_KEY = {"Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "kms:*", "Resource": "*"}

# (statement, policy kind, least-privilege?)
CORPUS = [
    ({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}, "identity", True),
    ({"Effect": "Allow", "Action": "s3:Get*", "Resource": "arn:aws:s3:::b/*"}, "identity", True),
    ({"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::b/*"}, "identity", False),
    ({"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::b/*"}, "identity", False),
    ({"Effect": "Allow", "Action": "*:GetObject", "Resource": "arn:aws:s3:::b/*"}, "identity", False),
    ({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}, "identity", False),
    ({"Effect": "Allow", "NotAction": "iam:*", "Resource": "arn:aws:s3:::b"}, "identity", False),
    ({"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::b"}, "identity", False),
    ({"Effect": "Deny", "Action": "*", "Resource": "*"}, "identity", True),
    (ENI_MANAGEMENT, "identity", True),
    ({"Effect": "Allow", "Action": ["ec2:CreateNetworkInterface", "s3:GetObject"], "Resource": "*"}, "identity", False),
    ({"Effect": "Allow", "Action": "xray:PutTraceSegments", "Resource": "*"}, "identity", True),
    ({"Effect": "Allow", "Action": "xray:PutTraceSegments", "Resource": "*"}, "resource", False),
    ({"Effect": "Allow", "Action": "secretsmanager:GetRandomPassword", "Resource": "*"}, "identity", True),
    ({"Effect": "Allow", "Action": "logs:DescribeLogGroups", "Resource": "*"}, "identity", True),
    (ROOT_ADMINISTERS_KEY, "key", True),
    ({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:role/app"}, "Action": "kms:*",
      "Resource": "*"}, "key", False),
    (ROOT_ADMINISTERS_KEY, "identity", False),
    ({"Effect": "Allow", "Principal": {"Service": "logs.amazonaws.com"}, "Action": "kms:Decrypt", "Resource": "*"},
     "key", True),
    ({"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}, "trust", True),
    ({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}, "trust", False),
    ({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}, "resource",
     False),
    ({"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"]},
     "resource", True),
]
TYPE_OF_KIND = {"identity": ("aws_iam_role_policy", "policy"), "resource": ("aws_s3_bucket_policy", "policy"),
                "key": ("aws_kms_key", "policy"), "trust": ("aws_iam_role", "assume_role_policy")}


def annotated(statement: dict, kind: str) -> dict:
    [normalized] = iam.statements_from_json({"Statement": [statement]})
    return iam.annotate(normalized, kind, ALLOWLIST)


@pytest.mark.parametrize(("statement", "kind", "least_privilege"), CORPUS)
def test_the_python_decision(statement, kind, least_privilege):
    assert (iam.violations(annotated(statement, kind), include_principals=kind != "key") == []) == least_privilege


def test_the_jmespath_rule_agrees_with_the_python_decision_on_every_statement(policies):
    resources: dict = {}
    for index, (statement, kind, _) in enumerate(CORPUS):
        resource_type, attribute = TYPE_OF_KIND[kind]
        resources.setdefault(resource_type, {})[f"s{index}"] = {
            attribute: json.dumps({"Version": "2012-10-17", "Statement": [statement]})}
    model = Model([StackFile("s", Path("/nowhere/cdk.tf.json"), "", {"resource": resources})])
    [outcome] = [o for o in policies.engine.evaluate(model) if o.rule.id == "iam-least-privilege"]
    flagged = {int(view["name"][1:]) for view, _ in outcome.offenders}
    assert outcome.errors == []
    assert flagged == {index for index, (_, _, least) in enumerate(CORPUS) if not least}


def test_allow_list_facts_name_the_entry():
    eni = annotated(ENI_MANAGEMENT, "identity")
    assert eni["resource_wildcard_allowed_by"] == ["lambda-vpc-network-interfaces"]
    root = annotated(ROOT_ADMINISTERS_KEY, "key")
    assert root["wildcard_actions_allowed_by"] == ["kms-key-policy-account-root"]


def test_every_allow_list_entry_is_used_by_the_corpus():
    used = set()
    for statement, kind, least in CORPUS:
        if least:
            fact = annotated(statement, kind)
            used.update(fact["resource_wildcard_allowed_by"], fact["wildcard_actions_allowed_by"])
    assert {entry.name for entry in ALLOWLIST.entries} == used


@pytest.mark.parametrize("text", [
    "version: 1\nstatements: []\n",
    "version: 1\naws_managed_policies: {}\nstatements: [{name: x, policy_kinds: [identity], actions: ['*'], "
    "reason: because}]\n",
    "version: 1\naws_managed_policies: {}\nstatements: [{name: x, policy_kinds: [everything], actions: ['*'], "
    "reason: AWS really needs it here for sure}]\n",
])
def test_an_invalid_allow_list_is_rejected(text, tmp_path):
    (tmp_path / "allowlist.yaml").write_text(text)
    with pytest.raises(iam.AllowlistError):
        iam.load_allowlist(tmp_path / "allowlist.yaml")

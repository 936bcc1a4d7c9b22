"""Encryption at rest with customer-managed keys (PCI-ENC-*) and key management (PCI-KMS-*)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.aspects.pci.pack import rule
from app.aspects.pci.values import (
    block,
    environment_variable_names,
    is_customer_managed_key,
    is_number,
    is_pure_token,
    param,
)
from app.aspects.pci.verdict import COMPLIANT, NOT_APPLICABLE, Verdict, non_compliant, require
from policies import iam

CMK = "a customer-managed KMS key (not alias/aws/*)"


@rule("PCI-ENC-001", "aws_rds_cluster")
def rds_cluster_storage_encrypted_with_cmk(attributes: Mapping[str, Any]) -> Verdict:
    if attributes.get("storage_encrypted") is not True:
        return non_compliant("storage_encrypted", attributes.get("storage_encrypted"), "true")
    return require(
        is_customer_managed_key(attributes.get("kms_key_id")), "kms_key_id", attributes.get("kms_key_id"), CMK
    )


@rule("PCI-ENC-002", "aws_rds_cluster", "aws_rds_cluster_instance")
def performance_insights_encrypted_with_cmk(attributes: Mapping[str, Any]) -> Verdict:
    if attributes.get("performance_insights_enabled") in (None, False):
        return NOT_APPLICABLE
    key = attributes.get("performance_insights_kms_key_id")
    return require(is_customer_managed_key(key), "performance_insights_kms_key_id", key, CMK)


@rule("PCI-ENC-003", "aws_dynamodb_table")
def dynamodb_table_encrypted_with_cmk(attributes: Mapping[str, Any]) -> Verdict:
    encryption = block(attributes, "server_side_encryption")
    return require(
        encryption.get("enabled") is True and is_customer_managed_key(encryption.get("kms_key_arn")),
        "server_side_encryption",
        encryption or None,
        f"enabled = true with kms_key_arn {CMK}",
    )


def _key_attribute_is_cmk(attributes: Mapping[str, Any], key: str) -> Verdict:
    return require(is_customer_managed_key(attributes.get(key)), key, attributes.get(key), CMK)


@rule("PCI-ENC-005", "aws_sns_topic")
def sns_topic_encrypted_with_cmk(attributes: Mapping[str, Any]) -> Verdict:
    return _key_attribute_is_cmk(attributes, "kms_master_key_id")


@rule("PCI-ENC-006", "aws_sqs_queue")
def sqs_queue_encrypted_with_cmk(attributes: Mapping[str, Any]) -> Verdict:
    return _key_attribute_is_cmk(attributes, "kms_master_key_id")


@rule("PCI-ENC-007", "aws_cloudwatch_log_group")
def log_group_encrypted_with_cmk(attributes: Mapping[str, Any]) -> Verdict:
    return _key_attribute_is_cmk(attributes, "kms_key_id")


@rule("PCI-ENC-008", "aws_secretsmanager_secret")
def secret_encrypted_with_cmk(attributes: Mapping[str, Any]) -> Verdict:
    return _key_attribute_is_cmk(attributes, "kms_key_id")


@rule("PCI-ENC-009", "aws_ssm_parameter")
def ssm_secure_string_encrypted_with_cmk(attributes: Mapping[str, Any]) -> Verdict:
    if attributes.get("type") in ("String", "StringList"):
        return NOT_APPLICABLE
    return _key_attribute_is_cmk(attributes, "key_id")


@rule("PCI-ENC-010", "aws_lambda_function")
def lambda_environment_encrypted_with_cmk(attributes: Mapping[str, Any]) -> Verdict:
    if environment_variable_names(attributes) == []:
        return NOT_APPLICABLE
    return _key_attribute_is_cmk(attributes, "kms_key_arn")


@rule("PCI-KMS-001", "aws_kms_key")
def kms_key_rotation_enabled(attributes: Mapping[str, Any]) -> Verdict:
    if attributes.get("enable_key_rotation") is not True:
        return non_compliant("enable_key_rotation", attributes.get("enable_key_rotation"), "true")
    period = attributes.get("rotation_period_in_days")
    maximum = param("max_key_rotation_days")
    return require(
        period is None or (is_number(period) and period <= maximum),
        "rotation_period_in_days",
        period,
        f"unset (365) or <= {maximum}",
    )


@rule("PCI-KMS-002", "aws_kms_key")
def kms_key_policy_explicit_without_wildcard_principal(attributes: Mapping[str, Any]) -> Verdict:
    policy = attributes.get("policy")
    if not isinstance(policy, str) or not policy.strip():
        return non_compliant("policy", policy, "an explicit key policy")
    if is_pure_token(policy):
        return COMPLIANT  # a policy document construct: its statements are checked where it is defined
    try:
        statements = iam.parse_policy_json(policy)
    except iam.PolicyError as error:
        return non_compliant("policy", str(error), "a JSON key policy")
    wildcard = [
        s.get("sid") or "(no sid)"
        for s in statements
        if s["effect"] == "Allow" and any(p["type"] == "*" or "*" in p["identifiers"] for p in s["principals"])
    ]
    return require(not wildcard, "policy", {"statements_with_wildcard_principal": wildcard}, 'no "*" principal')

"""Encryption at rest with customer-managed keys (PCI-ENC-*): the synth-time aspect rules (pure functions)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.rules.registry import rule
from policies.rules.values import (
    block,
    environment_variable_names,
    is_customer_managed_key,
)
from policies.rules.verdict import NOT_APPLICABLE, Verdict, non_compliant, require

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

"""Lambda functions (PCI-LAM-*): the synth-time aspect rules (pure functions)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.predicates import disallowed_environment_variables
from policies.rules.registry import rule
from policies.rules.values import block, environment_variable_names, is_number, is_set, param
from policies.rules.verdict import Verdict, require, require_block_field


@rule("PCI-LAM-001", "aws_lambda_function")
def lambda_runs_in_vpc(attributes: Mapping[str, Any]) -> Verdict:
    vpc = block(attributes, "vpc_config")
    return require(is_set(vpc.get("subnet_ids")) and is_set(vpc.get("security_group_ids")), "vpc_config", vpc or None,
                   "subnet_ids and security_group_ids")


@rule("PCI-LAM-002", "aws_lambda_function")
def lambda_reserved_concurrency_set(attributes: Mapping[str, Any]) -> Verdict:
    reserved = attributes.get("reserved_concurrent_executions")
    return require(is_number(reserved) and reserved >= 1, "reserved_concurrent_executions", reserved, ">= 1")


@rule("PCI-LAM-003", "aws_lambda_function")
def lambda_active_tracing(attributes: Mapping[str, Any]) -> Verdict:
    return require_block_field(attributes, "tracing_config", "mode", "Active")


@rule("PCI-LAM-004", "aws_lambda_function")
def lambda_configuration_from_ssm(attributes: Mapping[str, Any]) -> Verdict:
    names = environment_variable_names(attributes)
    allowed, prefix = param("lambda_environment_allowed_keys"), param("lambda_environment_allowed_prefix")
    extra = ["<a token: unknown variables>"] if names is None else disallowed_environment_variables(names)
    return require(not extra, "environment.variables", extra, f"only {', '.join(allowed)} and {prefix}*")


@rule("PCI-LAM-005", "aws_lambda_function")
def lambda_runtime_supported(attributes: Mapping[str, Any]) -> Verdict:
    runtime = attributes.get("runtime")
    allowed = param("lambda_runtimes")
    return require(runtime in allowed, "runtime", runtime, "one of " + ", ".join(allowed))

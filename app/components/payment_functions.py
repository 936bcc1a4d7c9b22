"""The three payment functions (lambda_src/), each with its own role (exact ARNs), security group, encrypted
log group, and blue/green aliases; provisioned concurrency on the live (green) alias.

No dead-letter queues: Lambda sends only asynchronous invocations to a DLQ, and these functions are only ever
invoked synchronously (the ALB, and transaction_processing with RequestResponse), so a DLQ would stay empty
and its alarm could never fire. Failures surface as Errors alarms and, for payments, the failed-transactions
topic."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cdktf_cdktf_provider_aws.lambda_alias import LambdaAlias
from cdktf_cdktf_provider_aws.lambda_provisioned_concurrency_config import LambdaProvisionedConcurrencyConfig
from cdktf_cdktf_provider_aws.security_group import SecurityGroup
from cdktf_cdktf_provider_aws.vpc_security_group_egress_rule import VpcSecurityGroupEgressRule
from constructs import Construct

from app.components.lambda_function import FunctionSpec, SecureFunction
from app.config import FunctionConfig

SLOTS = ("blue", "green")
LIVE_SLOT = "green"


@dataclass(frozen=True)
class PaymentFunction:
    function: SecureFunction
    aliases: Mapping[str, LambdaAlias]
    security_group: SecurityGroup

    def alias_arn(self, slot: str) -> str:
        return self.aliases[slot].arn


@dataclass(frozen=True)
class FunctionNetwork:
    vpc_id: str
    vpc_cidr: str
    subnet_ids: Sequence[str]
    dynamodb_prefix_list_id: str


@dataclass(frozen=True)
class FunctionKeys:
    environment: str
    logs: str


def build_payment_function(
    scope: Construct,
    name: str,
    *,
    description: str,
    config: FunctionConfig,
    environment: Mapping[str, str],
    statements: Sequence[dict],
    uses_dynamodb: bool,
    name_prefix: str,
    network: FunctionNetwork,
    keys: FunctionKeys,
    layers: Sequence[str],
    log_retention_days: int,
    region: str,
    account_id: str,
    partition: str,
    extra_security_group_ids: Sequence[str] = (),
    pinned_versions: Mapping[str, int | None] | None = None,
) -> PaymentFunction:
    pinned_versions = pinned_versions or {}
    slug = name.replace("_", "-")
    function_name = f"{name_prefix}-{slug}"
    security_group = SecurityGroup(
        scope,
        f"{slug}-sg",
        vpc_id=network.vpc_id,
        name=function_name,
        # Egress is managed by separate rules only: an inline egress=[] would fight them on every apply.
        description=f"{function_name}: HTTPS to VPC endpoints" + (" and DynamoDB" if uses_dynamodb else ""),
        tags={"Name": function_name},
    )
    VpcSecurityGroupEgressRule(
        scope,
        f"{slug}-to-endpoints",
        security_group_id=security_group.id,
        cidr_ipv4=network.vpc_cidr,
        ip_protocol="tcp",
        from_port=443,
        to_port=443,
        description="HTTPS to the VPC interface endpoints",
    )
    if uses_dynamodb:
        VpcSecurityGroupEgressRule(
            scope,
            f"{slug}-to-dynamodb",
            security_group_id=security_group.id,
            prefix_list_id=network.dynamodb_prefix_list_id,
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            description="HTTPS to DynamoDB through the gateway endpoint",
        )
    spec = FunctionSpec(
        source=name,
        description=description,
        memory_mb=config.memory_mb,
        timeout_seconds=config.timeout_seconds,
        reserved_concurrency=config.reserved_concurrency,
        environment=environment,
    )
    function = SecureFunction(
        scope,
        slug,
        spec=spec,
        function_name=function_name,
        region=region,
        account_id=account_id,
        partition=partition,
        subnet_ids=network.subnet_ids,
        security_group_ids=[security_group.id, *extra_security_group_ids],
        environment_key_arn=keys.environment,
        logs_key_arn=keys.logs,
        log_retention_days=log_retention_days,
        layers=layers,
        statements=statements,
        publish=True,
    )
    aliases = {
        slot: LambdaAlias(
            scope,
            f"{slug}-{slot}",
            name=slot,
            function_name=function.function.function_name,
            # A pinned slot keeps serving the release it had; otherwise the slot runs the latest publication.
            function_version=str(pinned_versions[slot]) if pinned_versions.get(slot) else function.function.version,
            description=f"{slot} slot of {function_name}",
        )
        for slot in SLOTS
    }
    if config.provisioned_concurrency > 0:
        LambdaProvisionedConcurrencyConfig(
            scope,
            f"{slug}-provisioned",
            function_name=function.function.function_name,
            qualifier=aliases[LIVE_SLOT].name,
            provisioned_concurrent_executions=config.provisioned_concurrency,
        )
    return PaymentFunction(function=function, aliases=aliases, security_group=security_group)

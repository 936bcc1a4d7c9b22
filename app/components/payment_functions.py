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

from app.components.iam import IamStatement, statement
from app.components.lambda_function import FunctionSpec, SecureFunction
from app.components.log_groups import LogRetention
from app.config import FunctionConfig

SLOTS = ("blue", "green")
LIVE_SLOT = "green"
HTTPS_PORT = 443


@dataclass(frozen=True)
class PaymentFunction:
    name: str  # the source directory under lambda_src/, e.g. "payment_validation"
    function: SecureFunction
    aliases: Mapping[str, LambdaAlias]
    security_group: SecurityGroup

    @property
    def function_name(self) -> str:
        """The name as a literal (known at synth, no reference to the function resource)."""
        return self.function.function_name

    @property
    def deployed_name(self) -> str:
        """The name as a reference to the function resource (a token)."""
        return self.function.deployed_name

    @property
    def arn(self) -> str:
        return self.function.arn

    @property
    def role_arn(self) -> str:
        return self.function.role_arn

    def alias_arn(self, slot: str) -> str:
        return self.aliases[slot].arn

    def alias_name(self, slot: str) -> str:
        return self.aliases[slot].name

    def alias_arns(self) -> list[str]:
        return [self.alias_arn(slot) for slot in SLOTS]

    def metric_dimensions(self) -> dict[str, str]:
        return self.function.metric_dimensions()


def grant_invoke(sid: str, functions: Sequence[PaymentFunction]) -> IamStatement:
    """lambda:InvokeFunction on every slot alias of ``functions`` (a caller invokes the alias of its own slot)."""
    return statement(sid, ["lambda:InvokeFunction"], [arn for function in functions for arn in function.alias_arns()])


@dataclass(frozen=True)
class FunctionNetwork:
    vpc_id: str
    vpc_cidr: str
    subnet_ids: Sequence[str]
    dynamodb_prefix_list_id: str


@dataclass(frozen=True)
class PaymentFunctionEnvironment:
    """What the three payment functions of one environment share."""

    name_prefix: str
    network: FunctionNetwork
    environment_key_arn: str
    logs: LogRetention
    layers: Sequence[str]


@dataclass(frozen=True)
class PaymentFunctionProps:
    """What sets one payment function apart."""

    description: str
    config: FunctionConfig
    environment: Mapping[str, str]
    statements: Sequence[IamStatement]
    uses_dynamodb: bool
    extra_security_group_ids: Sequence[str] = ()
    pinned_versions: Mapping[str, int | None] | None = None


def build_payment_function(
    scope: Construct, name: str, *, props: PaymentFunctionProps, shared: PaymentFunctionEnvironment
) -> PaymentFunction:
    slug = name.replace("_", "-")
    function_name = f"{shared.name_prefix}-{slug}"
    security_group = _build_security_group(scope, slug, function_name, props=props, network=shared.network)
    function = SecureFunction(
        scope,
        slug,
        spec=FunctionSpec(
            source=name,
            description=props.description,
            memory_mb=props.config.memory_mb,
            timeout_seconds=props.config.timeout_seconds,
            reserved_concurrency=props.config.reserved_concurrency,
            environment=props.environment,
        ),
        function_name=function_name,
        subnet_ids=shared.network.subnet_ids,
        security_group_ids=[security_group.id, *props.extra_security_group_ids],
        environment_key_arn=shared.environment_key_arn,
        logs=shared.logs,
        layers=shared.layers,
        statements=props.statements,
        publish=True,
    )
    aliases = _build_slot_aliases(scope, slug, function, pinned_versions=props.pinned_versions or {})
    if props.config.provisioned_concurrency > 0:
        LambdaProvisionedConcurrencyConfig(
            scope,
            f"{slug}-provisioned",
            function_name=function.deployed_name,
            qualifier=aliases[LIVE_SLOT].name,
            provisioned_concurrent_executions=props.config.provisioned_concurrency,
        )
    return PaymentFunction(name=name, function=function, aliases=aliases, security_group=security_group)


def _build_security_group(
    scope: Construct, slug: str, function_name: str, *, props: PaymentFunctionProps, network: FunctionNetwork
) -> SecurityGroup:
    security_group = SecurityGroup(
        scope,
        f"{slug}-sg",
        vpc_id=network.vpc_id,
        name=function_name,
        # Egress is managed by separate rules only: an inline egress=[] would fight them on every apply.
        description=f"{function_name}: HTTPS to VPC endpoints" + (" and DynamoDB" if props.uses_dynamodb else ""),
        tags={"Name": function_name},
    )
    # (rule, description, CIDR, prefix list): one of the last two names the destination.
    destinations: list[tuple[str, str, str | None, str | None]] = [
        ("endpoints", "HTTPS to the VPC interface endpoints", network.vpc_cidr, None)
    ]
    if props.uses_dynamodb:
        destinations.append(
            ("dynamodb", "HTTPS to DynamoDB through the gateway endpoint", None, network.dynamodb_prefix_list_id)
        )
    for destination, description, cidr, prefix_list in destinations:
        VpcSecurityGroupEgressRule(
            scope,
            f"{slug}-to-{destination}",
            security_group_id=security_group.id,
            cidr_ipv4=cidr,
            prefix_list_id=prefix_list,
            ip_protocol="tcp",
            from_port=HTTPS_PORT,
            to_port=HTTPS_PORT,
            description=description,
        )
    return security_group


def _build_slot_aliases(
    scope: Construct, slug: str, function: SecureFunction, *, pinned_versions: Mapping[str, int | None]
) -> dict[str, LambdaAlias]:
    return {
        slot: LambdaAlias(
            scope,
            f"{slug}-{slot}",
            name=slot,
            function_name=function.deployed_name,
            # A pinned slot keeps serving the release it had; otherwise the slot runs the latest publication.
            function_version=str(pinned_versions[slot]) if pinned_versions.get(slot) else function.function.version,
            description=f"{slot} slot of {function.function_name}",
        )
        for slot in SLOTS
    }

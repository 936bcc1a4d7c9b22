"""A VPC Lambda function that is secure by default: its own role and log group, encrypted environment,
active tracing, reserved concurrency, arm64/python3.12, deterministic package."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cdktf import AssetType, TerraformAsset
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.lambda_function import (
    LambdaFunction,
    LambdaFunctionEnvironment,
    LambdaFunctionLoggingConfig,
    LambdaFunctionTracingConfig,
    LambdaFunctionVpcConfig,
)
from constructs import Construct

from app.components.iam import (
    VPC_ENI_ACTIONS,
    XRAY_ACTIONS,
    IamStatement,
    policy_document,
    service_trust_policy,
    statement,
)
from app.components.log_groups import LogRetention, encrypted_log_group
from app.packaging import build_lambda_package

RUNTIME = "python3.12"
ARCHITECTURE = "arm64"
POWERTOOLS_LAYER_ACCOUNT = "017000801446"


def powertools_layer_arn(region: str, version: int, partition: str = "aws") -> str:
    return (
        f"arn:{partition}:lambda:{region}:{POWERTOOLS_LAYER_ACCOUNT}:layer:"
        f"AWSLambdaPowertoolsPythonV3-{RUNTIME.replace('.', '')}-{ARCHITECTURE}:{version}"
    )


@dataclass(frozen=True)
class FunctionSpec:
    source: str  # directory under lambda_src/
    description: str
    memory_mb: int
    timeout_seconds: int
    reserved_concurrency: int
    environment: Mapping[str, str] = field(default_factory=dict)
    vendor: tuple[str, ...] = ()  # pure-Python distributions to ship in the zip
    handler: str = "handler.lambda_handler"  # module.function at the zip root
    # Files shipped at the zip root next to the code (name in the zip -> file), e.g. a CA bundle.
    extra_files: Mapping[str, Path] = field(default_factory=dict)


class SecureFunction(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        spec: FunctionSpec,
        function_name: str,
        subnet_ids: Sequence[str],
        security_group_ids: Sequence[str],
        environment_key_arn: str,
        logs: LogRetention,
        layers: Sequence[str],
        statements: Sequence[IamStatement],
        publish: bool = False,
    ) -> None:
        super().__init__(scope, id_)
        self.function_name = function_name
        self.log_group = encrypted_log_group(self, "logs", name=f"/aws/lambda/{function_name}", retention=logs)
        self.role, self.policy = self._build_role(statements)
        package = build_lambda_package(spec.source, vendor=spec.vendor, extra_files=spec.extra_files)
        asset = TerraformAsset(self, "package", path=str(package.path), type=AssetType.FILE)
        self.function = LambdaFunction(
            self,
            "function",
            function_name=function_name,
            description=spec.description,
            role=self.role.arn,
            runtime=RUNTIME,
            architectures=[ARCHITECTURE],
            handler=spec.handler,
            filename=asset.path,
            source_code_hash=package.source_code_hash,
            memory_size=spec.memory_mb,
            timeout=spec.timeout_seconds,
            reserved_concurrent_executions=spec.reserved_concurrency,
            kms_key_arn=environment_key_arn,
            layers=list(layers),
            environment=LambdaFunctionEnvironment(variables=dict(spec.environment)),
            vpc_config=LambdaFunctionVpcConfig(
                subnet_ids=list(subnet_ids), security_group_ids=list(security_group_ids)
            ),
            tracing_config=LambdaFunctionTracingConfig(mode="Active"),
            publish=publish,
            logging_config=LambdaFunctionLoggingConfig(log_format="JSON", log_group=self.log_group.name),
            # The policy must exist before the function: Lambda checks the ENI permissions at creation.
            depends_on=[self.policy, self.log_group],
        )
        self.arn: str = self.function.arn

    def _build_role(self, statements: Sequence[IamStatement]) -> tuple[IamRole, IamRolePolicy]:
        """The function's own role: its log group, its network interfaces, X-Ray, and ``statements``."""
        role = IamRole(
            self,
            "role",
            name=f"{self.function_name}-role",
            description=f"Execution role of {self.function_name}",
            assume_role_policy=service_trust_policy("lambda.amazonaws.com"),
        )
        base = [
            statement("WriteOwnLogGroup", ["logs:CreateLogStream", "logs:PutLogEvents"], [f"{self.log_group.arn}:*"]),
            statement("ManageVpcNetworkInterfaces", VPC_ENI_ACTIONS, ["*"]),
            statement("PublishTraces", XRAY_ACTIONS, ["*"]),
        ]
        policy = IamRolePolicy(
            self, "policy", role=role.id, name="least-privilege", policy=policy_document([*base, *statements])
        )
        return role, policy

    @property
    def deployed_name(self) -> str:
        """The function's name as a reference (a token): a consumer in another stack gets a remote-state read."""
        return self.function.function_name

    @property
    def role_arn(self) -> str:
        return self.role.arn

    def metric_dimensions(self) -> dict[str, str]:
        """The dimensions of this function's AWS/Lambda metrics (Errors, Throttles, Duration, ...)."""
        return {"FunctionName": self.deployed_name}

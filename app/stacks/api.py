"""payments-<env>-api: the public edge. A regional REST API (request validation, IAM authorization, WAF,
TLS 1.2 custom domain) reaches the private ALB through a VPC link to an internal NLB whose target is the ALB:
REST API VPC links accept only NLBs in hashicorp/aws 5.100.0."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from cdktf import ITerraformDependable, TerraformResourceLifecycle
from cdktf_cdktf_provider_aws.api_gateway_account import ApiGatewayAccount
from cdktf_cdktf_provider_aws.api_gateway_base_path_mapping import ApiGatewayBasePathMapping
from cdktf_cdktf_provider_aws.api_gateway_deployment import ApiGatewayDeployment
from cdktf_cdktf_provider_aws.api_gateway_domain_name import (
    ApiGatewayDomainName,
    ApiGatewayDomainNameEndpointConfiguration,
)
from cdktf_cdktf_provider_aws.api_gateway_integration import ApiGatewayIntegration, ApiGatewayIntegrationTlsConfig
from cdktf_cdktf_provider_aws.api_gateway_method import ApiGatewayMethod
from cdktf_cdktf_provider_aws.api_gateway_method_settings import (
    ApiGatewayMethodSettings,
    ApiGatewayMethodSettingsSettings,
)
from cdktf_cdktf_provider_aws.api_gateway_model import ApiGatewayModel
from cdktf_cdktf_provider_aws.api_gateway_request_validator import ApiGatewayRequestValidator
from cdktf_cdktf_provider_aws.api_gateway_resource import ApiGatewayResource
from cdktf_cdktf_provider_aws.api_gateway_rest_api import ApiGatewayRestApi, ApiGatewayRestApiEndpointConfiguration
from cdktf_cdktf_provider_aws.api_gateway_stage import ApiGatewayStage, ApiGatewayStageAccessLogSettings
from cdktf_cdktf_provider_aws.api_gateway_vpc_link import ApiGatewayVpcLink
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.lb import Lb
from cdktf_cdktf_provider_aws.lb_listener import LbListener, LbListenerDefaultAction
from cdktf_cdktf_provider_aws.lb_target_group import LbTargetGroup, LbTargetGroupHealthCheck
from cdktf_cdktf_provider_aws.lb_target_group_attachment import LbTargetGroupAttachment
from cdktf_cdktf_provider_aws.wafv2_web_acl_association import Wafv2WebAclAssociation
from constructs import Construct

from app.components.iam import LOG_DISCOVERY_ACTIONS, policy_document, service_trust_policy, statement
from app.components.log_groups import encrypted_log_group
from app.components.waf import PaymentsWebAcl
from app.stacks.base import PaymentsStack
from app.stacks.compute import ComputeStack
from app.stacks.foundation import Foundation

MODELS_DIR = Path(__file__).resolve().parent.parent / "api_models"
STAGE_NAME = "v1"
ACCESS_LOG_GROUP_PREFIX = "/payments/"
ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "extendedRequestId": "$context.extendedRequestId",
        "ip": "$context.identity.sourceIp",
        "caller": "$context.identity.caller",
        "user": "$context.identity.userArn",
        "requestTime": "$context.requestTime",
        "httpMethod": "$context.httpMethod",
        "resourcePath": "$context.resourcePath",
        "status": "$context.status",
        "protocol": "$context.protocol",
        "responseLength": "$context.responseLength",
        "responseLatency": "$context.responseLatency",
        "integrationLatency": "$context.integrationLatency",
        "integrationStatus": "$context.integrationStatus",
        "wafStatus": "$context.waf.status",
        "validationError": "$context.error.validationErrorString",
    },
    separators=(",", ":"),
)


@dataclass(frozen=True)
class Route:
    """One method of the REST API, proxied to the same path on the internal ALB."""

    name: str  # literal, so the construct ids (and Terraform addresses) are stable from synth to synth
    resource: ApiGatewayResource
    method: str
    parameters: Mapping[str, bool]  # method.request.{location}.{name} -> required
    path: str


class ApiStack(PaymentsStack):
    def __init__(self, scope: Construct, *, foundation: Foundation, compute: ComputeStack) -> None:
        config = foundation.config
        super().__init__(scope, config=config, domain="api")
        self.foundation = foundation
        self.backend = f"https://{config.compute.internal_hostname}"
        self.schema = (MODELS_DIR / "payment_request.json").read_text()
        self.nlb, self.vpc_link = self._build_vpc_link_to_alb(alb_arn=compute.alb.arn)
        self.rest_api = ApiGatewayRestApi(
            self,
            "rest-api",
            name=f"{self.name_prefix}-api",
            description="Payments API",
            endpoint_configuration=ApiGatewayRestApiEndpointConfiguration(types=["REGIONAL"]),
            disable_execute_api_endpoint=True,
        )
        self.methods, self.integrations = self._build_payment_routes()
        self.access_logs, self.execution_logs = self._build_log_groups()
        account = self._build_cloudwatch_logging_role()
        self.stage = self._build_deployment_and_stage(depends_on=[account, self.execution_logs])
        self.web_acl = self._attach_waf()
        self.custom_domain = self._build_custom_domain()
        self._outputs()

    def metric_dimensions(self) -> dict[str, str]:
        """The ApiName and Stage dimensions of the stage's AWS/ApiGateway metrics."""
        return {"ApiName": self.rest_api.name, "Stage": self.stage.stage_name}

    def _build_vpc_link_to_alb(self, *, alb_arn: str) -> tuple[Lb, ApiGatewayVpcLink]:
        """NLB (TCP 443, TLS passes through to the ALB, which terminates it) -> the ALB as its target."""
        nlb = Lb(
            self,
            "nlb",
            name=f"{self.name_prefix}-nlb",
            internal=True,
            load_balancer_type="network",
            subnets=self.foundation.vpc.subnet_ids("private"),
            enable_cross_zone_load_balancing=True,
            enable_deletion_protection=self.config.is_prod,
            tags={"Name": f"{self.name_prefix}-nlb"},
        )
        self.alb_target_group = LbTargetGroup(
            self,
            "alb-target",
            name=f"{self.name_prefix}-alb-target",
            target_type="alb",
            protocol="TCP",
            port=443,
            vpc_id=self.foundation.vpc.vpc_id,
            health_check=LbTargetGroupHealthCheck(
                enabled=True, protocol="HTTPS", path="/health", matcher="200-499", interval=30
            ),
            tags={"Name": f"{self.name_prefix}-alb-target"},
        )
        LbTargetGroupAttachment(
            self, "alb-target-attachment", target_group_arn=self.alb_target_group.arn, target_id=alb_arn, port=443
        )
        LbListener(
            self,
            "nlb-tcp-443",
            load_balancer_arn=nlb.arn,
            port=443,
            protocol="TCP",
            default_action=[LbListenerDefaultAction(type="forward", target_group_arn=self.alb_target_group.arn)],
        )
        vpc_link = ApiGatewayVpcLink(
            self,
            "vpc-link",
            name=f"{self.name_prefix}-vpc-link",
            target_arns=[nlb.arn],
            description="REST API -> internal NLB -> ALB",
        )
        return nlb, vpc_link

    def _build_payment_routes(self) -> tuple[list[ApiGatewayMethod], list[ApiGatewayIntegration]]:
        self.validator = ApiGatewayRequestValidator(
            self,
            "validator",
            rest_api_id=self.rest_api.id,
            name="body-and-parameters",
            validate_request_body=True,
            validate_request_parameters=True,
        )
        self.payment_model = ApiGatewayModel(
            self,
            "payment-request-model",
            rest_api_id=self.rest_api.id,
            name="PaymentRequest",
            content_type="application/json",
            schema=json.dumps(json.loads(self.schema), separators=(",", ":")),
        )
        v1 = ApiGatewayResource(
            self, "res-v1", rest_api_id=self.rest_api.id, parent_id=self.rest_api.root_resource_id, path_part="v1"
        )
        payments = ApiGatewayResource(
            self, "res-payments", rest_api_id=self.rest_api.id, parent_id=v1.id, path_part="payments"
        )
        payment = ApiGatewayResource(
            self, "res-payment", rest_api_id=self.rest_api.id, parent_id=payments.id, path_part="{transaction_id}"
        )
        routes = (
            Route("payments", payments, "POST", {"method.request.header.Idempotency-Key": True}, "/v1/payments"),
            Route(
                "payment",
                payment,
                "GET",
                {"method.request.path.transaction_id": True},
                "/v1/payments/{transaction_id}",
            ),
        )
        methods: list[ApiGatewayMethod] = []
        integrations: list[ApiGatewayIntegration] = []
        for route in routes:
            method = self._build_method(route)
            integrations.append(self._build_integration(route, method))
            methods.append(method)
        return methods, integrations

    def _build_method(self, route: Route) -> ApiGatewayMethod:
        return ApiGatewayMethod(
            self,
            f"{route.method.lower()}-{route.name}",
            rest_api_id=self.rest_api.id,
            resource_id=route.resource.id,
            http_method=route.method,
            authorization=self.config.api.authorization,
            request_validator_id=self.validator.id,
            request_parameters=dict(route.parameters),
            request_models={"application/json": self.payment_model.name} if route.method == "POST" else None,
        )

    def _build_integration(self, route: Route, method: ApiGatewayMethod) -> ApiGatewayIntegration:
        # method.request.{location}.{name} -> integration.request.{location}.{name} (the only valid form).
        integration_parameters = {
            "integration.request." + key.removeprefix("method.request."): key for key in route.parameters
        }
        return ApiGatewayIntegration(
            self,
            f"{route.method.lower()}-{route.name}-integration",
            rest_api_id=self.rest_api.id,
            resource_id=route.resource.id,
            http_method=method.http_method,
            type="HTTP_PROXY",
            integration_http_method=route.method,
            uri=f"{self.backend}{route.path}",
            connection_type="VPC_LINK",
            connection_id=self.vpc_link.id,
            request_parameters=integration_parameters,
            tls_config=ApiGatewayIntegrationTlsConfig(insecure_skip_verification=False),
            timeout_milliseconds=29000,
        )

    def _build_log_groups(self) -> tuple[CloudwatchLogGroup, CloudwatchLogGroup]:
        """The stage's access logs, and its execution logs: API Gateway creates that log group itself, so it is
        created first here to own encryption and retention."""
        groups = {
            "access-logs": f"{ACCESS_LOG_GROUP_PREFIX}{self.name_prefix}/api-access",
            "execution-logs": f"API-Gateway-Execution-Logs_{self.rest_api.id}/{STAGE_NAME}",
        }
        retention = self.foundation.log_retention()
        access, execution = (
            encrypted_log_group(self, construct_id, name=name, retention=retention)
            for construct_id, name in groups.items()
        )
        return access, execution

    def _build_cloudwatch_logging_role(self) -> ApiGatewayAccount:
        cloudwatch_role = IamRole(
            self,
            "apigw-cloudwatch-role",
            name=f"{self.name_prefix}-apigateway-cloudwatch",
            assume_role_policy=service_trust_policy("apigateway.amazonaws.com", source_account=self.account_id),
        )
        # The API Gateway CloudWatch role is a setting of the account and region, shared by every REST API there
        # (the last environment applied in an account sets it): it writes the execution logs of every API and the
        # access logs of every environment's stage (/payments/<stack>/api-access).
        log_group_arn = self.account_scope.arn("logs", "log-group")
        log_groups = [f"{log_group_arn}:API-Gateway-Execution-Logs_*", f"{log_group_arn}:{ACCESS_LOG_GROUP_PREFIX}*"]
        IamRolePolicy(
            self,
            "apigw-cloudwatch-policy",
            role=cloudwatch_role.id,
            name="execution-and-access-logs",
            policy=policy_document(
                [
                    statement(
                        "WriteExecutionAndAccessLogs",
                        [
                            "logs:CreateLogGroup",
                            "logs:CreateLogStream",
                            "logs:DescribeLogStreams",
                            "logs:PutLogEvents",
                            "logs:GetLogEvents",
                            "logs:FilterLogEvents",
                        ],
                        [*log_groups, *(f"{group}:log-stream:*" for group in log_groups)],
                    ),
                    statement("FindExecutionLogGroups", LOG_DISCOVERY_ACTIONS, ["*"]),
                ]
            ),
        )
        return ApiGatewayAccount(self, "apigw-account", cloudwatch_role_arn=cloudwatch_role.arn)

    def _build_deployment_and_stage(self, *, depends_on: Sequence[ITerraformDependable]) -> ApiGatewayStage:
        api_config = self.config.api
        # A new deployment whenever what the stage serves changes (the model, logging, auth or the backend).
        fingerprint = hashlib.sha256(
            json.dumps(
                [self.schema, ACCESS_LOG_FORMAT, api_config.authorization, self.backend], sort_keys=True
            ).encode()
        ).hexdigest()
        deployment = ApiGatewayDeployment(
            self,
            "deployment",
            rest_api_id=self.rest_api.id,
            triggers={"configuration": fingerprint},
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
            depends_on=[*self.methods, *self.integrations],
        )
        stage = ApiGatewayStage(
            self,
            "stage",
            rest_api_id=self.rest_api.id,
            deployment_id=deployment.id,
            stage_name=STAGE_NAME,
            xray_tracing_enabled=True,
            cache_cluster_enabled=False,
            access_log_settings=ApiGatewayStageAccessLogSettings(
                destination_arn=self.access_logs.arn, format=ACCESS_LOG_FORMAT
            ),
            depends_on=list(depends_on),
        )
        ApiGatewayMethodSettings(
            self,
            "method-settings",
            rest_api_id=self.rest_api.id,
            stage_name=stage.stage_name,
            method_path="*/*",
            settings=ApiGatewayMethodSettingsSettings(
                metrics_enabled=True,
                logging_level="INFO",
                data_trace_enabled=False,
                throttling_rate_limit=api_config.throttle_rate_limit,
                throttling_burst_limit=api_config.throttle_burst_limit,
            ),
        )
        return stage

    def _attach_waf(self) -> PaymentsWebAcl:
        web_acl = PaymentsWebAcl(
            self,
            "api-waf",
            name=f"{self.name_prefix}-api",
            logs=self.foundation.log_retention(),
            rate_limit_per_5_minutes=self.config.api.waf_rate_limit_per_5_minutes,
        )
        Wafv2WebAclAssociation(self, "api-waf-association", resource_arn=self.stage.arn, web_acl_arn=web_acl.arn)
        return web_acl

    def _build_custom_domain(self) -> ApiGatewayDomainName:
        api_config = self.config.api
        domain = ApiGatewayDomainName(
            self,
            "domain",
            domain_name=api_config.domain_name,
            regional_certificate_arn=api_config.certificate_arn,
            security_policy="TLS_1_2",
            endpoint_configuration=ApiGatewayDomainNameEndpointConfiguration(types=["REGIONAL"]),
        )
        ApiGatewayBasePathMapping(
            self,
            "base-path",
            api_id=self.rest_api.id,
            stage_name=self.stage.stage_name,
            domain_name=domain.domain_name,
        )
        return domain

    def _outputs(self) -> None:
        self.output("invoke_url", f"https://{self.config.api.domain_name}", "Public URL of the payments API (TLS 1.2+)")
        self.output("rest_api_id", self.rest_api.id, "REST API id")
        self.output("stage_name", self.stage.stage_name, "REST API stage")
        self.output("nlb_arn", self.nlb.arn, "Internal NLB behind the VPC link")
        self.output("vpc_link_id", self.vpc_link.id, "API Gateway VPC link")
        self.output(
            "regional_domain_name",
            self.custom_domain.regional_domain_name,
            "Target for the DNS alias record of the API's domain",
        )

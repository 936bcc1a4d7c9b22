"""The private ALB in front of the payment path: HTTPS only (TLS 1.2/1.3 policy), invalid headers dropped,
strictest desync mitigation, access logs, WAF; one listener rule forwards /v1/payments to the blue and green
target groups by weight. A slot is either the transaction_processing alias of that colour (lambda) or the
legacy on-prem service's IPs over the VPN (onprem)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cdktf_cdktf_provider_aws.lambda_permission import LambdaPermission
from cdktf_cdktf_provider_aws.lb import Lb, LbAccessLogs
from cdktf_cdktf_provider_aws.lb_listener import (
    LbListener,
    LbListenerDefaultAction,
    LbListenerDefaultActionFixedResponse,
)
from cdktf_cdktf_provider_aws.lb_listener_rule import (
    LbListenerRule,
    LbListenerRuleAction,
    LbListenerRuleActionForward,
    LbListenerRuleActionForwardStickiness,
    LbListenerRuleActionForwardTargetGroup,
    LbListenerRuleCondition,
    LbListenerRuleConditionPathPattern,
)
from cdktf_cdktf_provider_aws.lb_target_group import LbTargetGroup, LbTargetGroupHealthCheck
from cdktf_cdktf_provider_aws.lb_target_group_attachment import LbTargetGroupAttachment
from cdktf_cdktf_provider_aws.security_group import SecurityGroup
from cdktf_cdktf_provider_aws.vpc_security_group_egress_rule import VpcSecurityGroupEgressRule
from cdktf_cdktf_provider_aws.vpc_security_group_ingress_rule import VpcSecurityGroupIngressRule
from cdktf_cdktf_provider_aws.wafv2_web_acl_association import Wafv2WebAclAssociation
from constructs import Construct

from app.components.payment_functions import SLOTS, PaymentFunction
from app.config import ComputeConfig, TrafficSlot

PAYMENT_PATHS = ["/v1/payments", "/v1/payments/*"]


@dataclass(frozen=True)
class AlbNetwork:
    """Where the ALB sits and whom it talks to: HTTPS in from ``client_cidrs``, out to on-prem targets."""

    vpc_id: str
    subnet_ids: Sequence[str]
    client_cidrs: Sequence[str]
    onprem_cidrs: Sequence[str]


class BlueGreenAlb(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        config: ComputeConfig,
        name_prefix: str,
        network: AlbNetwork,
        entry_function: PaymentFunction,
        access_log_bucket: str,
        access_log_prefix: str,
        web_acl_arn: str,
        deletion_protection: bool,
    ) -> None:
        super().__init__(scope, id_)
        self._name_prefix = name_prefix
        self._network = network
        self.security_group = self._build_security_group()
        self.alb = Lb(
            self,
            "alb",
            name=f"{name_prefix}-alb",
            internal=True,
            load_balancer_type="application",
            subnets=list(network.subnet_ids),
            security_groups=[self.security_group.id],
            drop_invalid_header_fields=True,
            desync_mitigation_mode="strictest",
            enable_deletion_protection=deletion_protection,
            access_logs=LbAccessLogs(bucket=access_log_bucket, prefix=access_log_prefix, enabled=True),
            tags={"Name": f"{name_prefix}-alb"},
        )
        self.listener = self._build_https_listener(config)
        slots = {"blue": config.blue, "green": config.green}
        self.target_groups = {
            slot: (
                self._lambda_target_group(slot, spec, entry_function)
                if spec.kind == "lambda"
                else self._onprem_target_group(slot, spec)
            )
            for slot, spec in slots.items()
        }
        self.rule = self._build_weighted_rule(slots)
        Wafv2WebAclAssociation(self, "waf", resource_arn=self.alb.arn, web_acl_arn=web_acl_arn)
        self.arn: str = self.alb.arn
        self.dns_name: str = self.alb.dns_name
        # The LoadBalancer dimension of the AWS/ApplicationELB metrics.
        self.arn_suffix: str = self.alb.arn_suffix

    def target_group_arn(self, slot: str) -> str:
        return self.target_groups[slot].arn

    def target_group_arn_suffix(self, slot: str) -> str:
        """The TargetGroup dimension of the slot's AWS/ApplicationELB metrics."""
        return self.target_groups[slot].arn_suffix

    def metric_dimensions(self, slot: str | None = None) -> dict[str, str]:
        """AWS/ApplicationELB dimensions: the load balancer's own metrics, or one slot's target group."""
        dimensions = {"LoadBalancer": self.arn_suffix}
        if slot is not None:
            dimensions["TargetGroup"] = self.target_group_arn_suffix(slot)
        return dimensions

    def _build_security_group(self) -> SecurityGroup:
        security_group = SecurityGroup(
            self,
            "sg",
            vpc_id=self._network.vpc_id,
            name=f"{self._name_prefix}-alb",
            # Egress is managed by separate rules only: an inline egress=[] would fight them on every apply.
            description="Internal ALB: HTTPS from the NLB subnets; HTTPS to on-prem targets",
            tags={"Name": f"{self._name_prefix}-alb"},
        )
        for index, cidr in enumerate(self._network.client_cidrs):
            VpcSecurityGroupIngressRule(
                self,
                f"https-from-{index}",
                security_group_id=security_group.id,
                cidr_ipv4=cidr,
                ip_protocol="tcp",
                from_port=443,
                to_port=443,
                description="HTTPS from the internal NLB (private subnets)",
            )
        return security_group

    def _build_https_listener(self, config: ComputeConfig) -> LbListener:
        """HTTPS only; anything but the payment paths gets a 404 from the ALB itself."""
        return LbListener(
            self,
            "https",
            load_balancer_arn=self.alb.arn,
            port=443,
            protocol="HTTPS",
            ssl_policy=config.alb_ssl_policy,
            certificate_arn=config.alb_certificate_arn,
            default_action=[
                LbListenerDefaultAction(
                    type="fixed-response",
                    fixed_response=(
                        LbListenerDefaultActionFixedResponse(
                            content_type="application/json", status_code="404", message_body='{"message":"not found"}'
                        )
                    ),
                )
            ],
        )

    def _build_weighted_rule(self, slots: Mapping[str, TrafficSlot]) -> LbListenerRule:
        return LbListenerRule(
            self,
            "weighted-payments",
            listener_arn=self.listener.arn,
            priority=10,
            condition=[LbListenerRuleCondition(path_pattern=LbListenerRuleConditionPathPattern(values=PAYMENT_PATHS))],
            action=[
                LbListenerRuleAction(
                    type="forward",
                    forward=LbListenerRuleActionForward(
                        target_group=[
                            LbListenerRuleActionForwardTargetGroup(
                                arn=self.target_groups[slot].arn, weight=slots[slot].weight
                            )
                            for slot in SLOTS
                        ],
                        stickiness=LbListenerRuleActionForwardStickiness(enabled=False, duration=1),
                    ),
                )
            ],
        )

    def _lambda_target_group(self, slot: str, spec: TrafficSlot, entry_function: PaymentFunction) -> LbTargetGroup:
        """The entry function's alias of the slot's colour, invocable by this target group only."""
        name = f"{self._name_prefix}-{slot}"
        group = LbTargetGroup(
            self,
            f"tg-{slot}",
            name=name,
            target_type="lambda",
            tags={"Name": name, "Slot": slot, "SlotKind": spec.kind},
        )
        permission = LambdaPermission(
            self,
            f"tg-{slot}-invoke",
            function_name=entry_function.deployed_name,
            qualifier=entry_function.alias_name(slot),
            action="lambda:InvokeFunction",
            principal="elasticloadbalancing.amazonaws.com",
            source_arn=group.arn,
            statement_id=f"AlbTargetGroup{slot.capitalize()}",
        )
        LbTargetGroupAttachment(
            self,
            f"tg-{slot}-alias",
            target_group_arn=group.arn,
            target_id=entry_function.alias_arn(slot),
            depends_on=[permission],
        )
        return group

    def _onprem_target_group(self, slot: str, spec: TrafficSlot) -> LbTargetGroup:
        """The legacy service's IPs over the VPN, health-checked over HTTPS."""
        name = f"{self._name_prefix}-{slot}"
        group = LbTargetGroup(
            self,
            f"tg-{slot}",
            name=name,
            target_type="ip",
            protocol="HTTPS",
            port=spec.port,
            vpc_id=self._network.vpc_id,
            health_check=LbTargetGroupHealthCheck(
                enabled=True,
                protocol="HTTPS",
                path="/health",
                matcher="200",
                interval=15,
                healthy_threshold=3,
                unhealthy_threshold=3,
            ),
            tags={"Name": name, "Slot": slot, "SlotKind": spec.kind},
        )
        for index, address in enumerate(spec.targets):
            # Targets outside the VPC (over the VPN) must be registered with availability_zone = "all".
            LbTargetGroupAttachment(
                self,
                f"tg-{slot}-onprem-{index}",
                target_group_arn=group.arn,
                target_id=address,
                port=spec.port,
                availability_zone="all",
            )
        for index, cidr in enumerate(self._network.onprem_cidrs):
            VpcSecurityGroupEgressRule(
                self,
                f"to-onprem-{slot}-{index}",
                security_group_id=self.security_group.id,
                cidr_ipv4=cidr,
                ip_protocol="tcp",
                from_port=spec.port,
                to_port=spec.port,
                description="HTTPS to the legacy payment service over the VPN",
            )
        return group

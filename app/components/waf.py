"""A regional WAFv2 web ACL: AWS managed rule groups (common, known bad inputs, SQL injection, IP reputation)
and, where clients reach it directly, a per-IP rate limit; its logs go to a CMK-encrypted log group."""

from __future__ import annotations

from cdktf_cdktf_provider_aws.wafv2_web_acl import (
    Wafv2WebAcl,
    Wafv2WebAclDefaultAction,
    Wafv2WebAclDefaultActionAllow,
    Wafv2WebAclRule,
    Wafv2WebAclRuleAction,
    Wafv2WebAclRuleActionBlock,
    Wafv2WebAclRuleOverrideAction,
    Wafv2WebAclRuleOverrideActionNone,
    Wafv2WebAclRuleVisibilityConfig,
    Wafv2WebAclVisibilityConfig,
)
from cdktf_cdktf_provider_aws.wafv2_web_acl_logging_configuration import Wafv2WebAclLoggingConfiguration
from constructs import Construct

from app.components.log_groups import LogRetention, encrypted_log_group

MANAGED_RULE_GROUPS = (
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesSQLiRuleSet",
    "AWSManagedRulesAmazonIpReputationList",
)


def _visibility(metric: str) -> Wafv2WebAclRuleVisibilityConfig:
    return Wafv2WebAclRuleVisibilityConfig(
        cloudwatch_metrics_enabled=True, metric_name=metric, sampled_requests_enabled=True
    )


class PaymentsWebAcl(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        name: str,
        logs: LogRetention,
        rate_limit_per_5_minutes: int | None,
    ) -> None:
        super().__init__(scope, id_)
        rules = [
            Wafv2WebAclRule(
                name=group,
                priority=index,
                override_action=Wafv2WebAclRuleOverrideAction(none=Wafv2WebAclRuleOverrideActionNone()),
                statement={"managed_rule_group_statement": {"name": group, "vendor_name": "AWS"}},
                visibility_config=_visibility(f"{name}-{group}"),
            )
            for index, group in enumerate(MANAGED_RULE_GROUPS)
        ]
        if rate_limit_per_5_minutes is not None:
            rules.append(
                Wafv2WebAclRule(
                    name="rate-limit-per-client-ip",
                    priority=len(rules),
                    action=Wafv2WebAclRuleAction(block=Wafv2WebAclRuleActionBlock()),
                    statement={"rate_based_statement": {"limit": rate_limit_per_5_minutes, "aggregate_key_type": "IP"}},
                    visibility_config=_visibility(f"{name}-rate-limit"),
                )
            )
        self.acl = Wafv2WebAcl(
            self,
            "acl",
            name=name,
            scope="REGIONAL",
            description=f"{name}: managed protections",
            default_action=Wafv2WebAclDefaultAction(allow=Wafv2WebAclDefaultActionAllow()),
            rule=rules,
            visibility_config=Wafv2WebAclVisibilityConfig(
                cloudwatch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
            ),
        )
        # WAF requires log group names starting with aws-waf-logs-.
        self.log_group = encrypted_log_group(self, "logs", name=f"aws-waf-logs-{name}", retention=logs)
        Wafv2WebAclLoggingConfiguration(
            self, "logging", resource_arn=self.acl.arn, log_destination_configs=[self.log_group.arn]
        )
        self.arn: str = self.acl.arn

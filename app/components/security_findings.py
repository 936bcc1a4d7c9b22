"""Threat detection and findings (PCI DSS 10.7.2, 11.5.1, 12.10.5): a GuardDuty detector with S3, RDS and
Lambda protection, Security Hub with the PCI DSS v4.0.1 standard, and EventBridge rules that send GuardDuty
findings, Security Hub findings and AWS Config drift (a runtime rule of a catalog control turning
NON_COMPLIANT) to the system-errors topic. GuardDuty and Security Hub are account-wide: only the environment
that owns the account (baseline.account_owner) builds this."""

from __future__ import annotations

import json
from typing import Any

from cdktf_cdktf_provider_aws.cloudwatch_event_rule import CloudwatchEventRule
from cdktf_cdktf_provider_aws.cloudwatch_event_target import CloudwatchEventTarget
from cdktf_cdktf_provider_aws.guardduty_detector import GuarddutyDetector
from cdktf_cdktf_provider_aws.guardduty_detector_feature import GuarddutyDetectorFeature
from cdktf_cdktf_provider_aws.securityhub_account import SecurityhubAccount
from cdktf_cdktf_provider_aws.securityhub_standards_subscription import SecurityhubStandardsSubscription
from constructs import Construct

from app.components.iam import IamStatement
from app.components.kms import ServiceGrant

EVENTS_SERVICE = "events.amazonaws.com"
# GuardDuty protection plans (DetectorFeature names) for the services the platform runs.
GUARDDUTY_FEATURES = ("S3_DATA_EVENTS", "RDS_LOGIN_EVENTS", "LAMBDA_NETWORK_LOGS")
PCI_DSS_STANDARD = "standards/pci-dss/v/4.0.1"
# GuardDuty severity 4.0-6.9 is Medium; Low findings stay in the console.
MIN_GUARDDUTY_SEVERITY = 4


def rule_prefix(name_prefix: str) -> str:
    return f"{name_prefix}-security-"


def topic_key_grant(*, account_id: str) -> ServiceGrant:
    """EventBridge publishes to the KMS-encrypted system-errors topic: the key must let it (this account's rules)."""
    return ServiceGrant(
        sid="EventBridgePublishesToEncryptedTopics",
        service=EVENTS_SERVICE,
        actions=("kms:Decrypt", "kms:GenerateDataKey*"),
        conditions=(("StringEquals", "aws:SourceAccount", (account_id,)),),
    )


def topic_statement(*, topic_arn: str, partition: str, region: str, account_id: str, name_prefix: str) -> IamStatement:
    """The system-errors topic-policy statement admitting this environment's finding rules."""
    rules = f"arn:{partition}:events:{region}:{account_id}:rule/{rule_prefix(name_prefix)}*"
    return {
        "Sid": "EventBridgeSecurityFindingRules",
        "Effect": "Allow",
        "Principal": {"Service": EVENTS_SERVICE},
        "Action": "sns:Publish",
        "Resource": topic_arn,
        "Condition": {"ArnLike": {"aws:SourceArn": rules}},
    }


def finding_patterns(name_prefix: str) -> dict[str, dict[str, Any]]:
    """EventBridge event patterns by rule suffix."""
    return {
        "guardduty-findings": {
            "source": ["aws.guardduty"],
            "detail-type": ["GuardDuty Finding"],
            "detail": {"severity": [{"numeric": [">=", MIN_GUARDDUTY_SEVERITY]}]},
        },
        "securityhub-findings": {
            "source": ["aws.securityhub"],
            "detail-type": ["Security Hub Findings - Imported"],
            "detail": {
                "findings": {
                    "RecordState": ["ACTIVE"],
                    "Workflow": {"Status": ["NEW"]},
                    "Severity": {"Label": ["MEDIUM", "HIGH", "CRITICAL"]},
                }
            },
        },
        "config-drift": {
            "source": ["aws.config"],
            "detail-type": ["Config Rules Compliance Change"],
            "detail": {
                "messageType": ["ComplianceChangeNotification"],
                "configRuleName": [{"prefix": f"{name_prefix}-"}],
                "newEvaluationResult": {"complianceType": ["NON_COMPLIANT"]},
            },
        },
    }


class SecurityFindings(Construct):
    def __init__(self, scope: Construct, id_: str, *, name_prefix: str, partition: str, region: str, topic_arn: str):
        super().__init__(scope, id_)
        self.detector = GuarddutyDetector(
            self, "guardduty", enable=True, finding_publishing_frequency="FIFTEEN_MINUTES"
        )
        self.features = [
            GuarddutyDetectorFeature(
                self, f"guardduty-{feature.lower()}", detector_id=self.detector.id, name=feature, status="ENABLED"
            )
            for feature in GUARDDUTY_FEATURES
        ]
        self.security_hub = SecurityhubAccount(
            self,
            "security-hub",
            enable_default_standards=False,
            auto_enable_controls=True,
            control_finding_generator="SECURITY_CONTROL",
        )
        self.pci_standard = SecurityhubStandardsSubscription(
            self,
            "pci-dss",
            standards_arn=f"arn:{partition}:securityhub:{region}::{PCI_DSS_STANDARD}",
            depends_on=[self.security_hub],
        )
        self.rules: dict[str, CloudwatchEventRule] = {}
        for suffix, pattern in finding_patterns(name_prefix).items():
            rule = CloudwatchEventRule(
                self,
                f"rule-{suffix}",
                name=f"{rule_prefix(name_prefix)}{suffix}",
                description=f"{suffix} to the system-errors topic (PCI DSS 10.7.2, 12.10.5)",
                event_pattern=json.dumps(pattern),
            )
            CloudwatchEventTarget(self, f"target-{suffix}", rule=rule.name, arn=topic_arn, target_id="system-errors")
            self.rules[suffix] = rule

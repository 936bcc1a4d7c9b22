"""AWS Config (PCI DSS 10.2.1, 11.5.2, 12.5.1): a recorder of every supported resource type, including global
ones, delivering to the audit-log archive with its CMK, and the runtime rules of the coverage matrix
(policies/coverage.yaml) as AWS managed rules: a resource that drifts after deploy turns NON_COMPLIANT under a
rule whose description names the same control ids and PCI DSS requirements as the pre-deploy gate.
The recorder is account-wide (one per account and Region): only the account-owner environment builds this."""

from __future__ import annotations

import json
from collections.abc import Mapping

from cdktf_cdktf_provider_aws.config_config_rule import ConfigConfigRule, ConfigConfigRuleScope, ConfigConfigRuleSource
from cdktf_cdktf_provider_aws.config_configuration_recorder import (
    ConfigConfigurationRecorder,
    ConfigConfigurationRecorderRecordingGroup,
)
from cdktf_cdktf_provider_aws.config_configuration_recorder_status import ConfigConfigurationRecorderStatus
from cdktf_cdktf_provider_aws.config_delivery_channel import (
    ConfigDeliveryChannel,
    ConfigDeliveryChannelSnapshotDeliveryProperties,
)
from cdktf_cdktf_provider_aws.iam_service_linked_role import IamServiceLinkedRole
from constructs import Construct

from app.components.audit_delivery import CONFIG_SERVICE
from policies.catalog import Catalog
from policies.coverage import Coverage, input_parameters, rule_description

SNAPSHOT_FREQUENCY = "TwentyFour_Hours"


class ConfigRecorder(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        name_prefix: str,
        archive_bucket_name: str,
        archive_key_arn: str,
        catalog: Catalog,
        coverage: Coverage,
        runtime_values: Mapping[str, str],
        scoped_resources: Mapping[str, tuple[str, str]],
    ) -> None:
        super().__init__(scope, id_)
        # AWS Config's service-linked role carries AWS's own recording permissions (no policy of ours to keep
        # current with every new resource type).
        self.role = IamServiceLinkedRole(self, "service-linked-role", aws_service_name=CONFIG_SERVICE)
        self.recorder = ConfigConfigurationRecorder(
            self,
            "recorder",
            name=f"{name_prefix}-recorder",
            role_arn=self.role.arn,
            recording_group=ConfigConfigurationRecorderRecordingGroup(
                all_supported=True, include_global_resource_types=True
            ),
        )
        self.channel = ConfigDeliveryChannel(
            self,
            "delivery-channel",
            name=f"{name_prefix}-delivery",
            s3_bucket_name=archive_bucket_name,
            s3_kms_key_arn=archive_key_arn,
            snapshot_delivery_properties=ConfigDeliveryChannelSnapshotDeliveryProperties(
                delivery_frequency=SNAPSHOT_FREQUENCY
            ),
            depends_on=[self.recorder],
        )
        self.status = ConfigConfigurationRecorderStatus(
            self, "recorder-status", name=self.recorder.name, is_enabled=True, depends_on=[self.channel]
        )
        self.rules = self._build_rules(name_prefix, catalog, coverage, runtime_values, scoped_resources)

    def _build_rules(
        self,
        name_prefix: str,
        catalog: Catalog,
        coverage: Coverage,
        runtime_values: Mapping[str, str],
        scoped_resources: Mapping[str, tuple[str, str]],
    ) -> dict[str, ConfigConfigRule]:
        """The deployed rules of policies/coverage.yaml, each tagged with the controls it backs at runtime."""
        rules: dict[str, ConfigConfigRule] = {}
        for rule in coverage.deployed():
            parameters = input_parameters(rule, catalog, runtime_values)
            scope_ = None
            if rule.scope is not None:
                resource_type, resource_id = scoped_resources[rule.scope]
                scope_ = ConfigConfigRuleScope(
                    compliance_resource_types=[resource_type], compliance_resource_id=resource_id
                )
            controls = " ".join(rule.controls) or "runtime-only"
            rules[rule.rule.source_identifier] = ConfigConfigRule(
                self,
                f"rule-{rule.rule.config_rule_name}",
                name=f"{name_prefix}-{rule.rule.config_rule_name}",
                description=rule_description(rule, catalog),
                source=ConfigConfigRuleSource(owner="AWS", source_identifier=rule.rule.source_identifier),
                input_parameters=json.dumps(parameters, sort_keys=True) if parameters else None,
                scope=scope_,
                tags={"PciControls": controls},
                depends_on=[self.status],
            )
        return rules

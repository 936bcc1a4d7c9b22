"""The CloudTrail trail (PCI DSS 10.2): every Region's management events, read and write, with log file
validation, encrypted with the audit archive's CMK into the Object-Lock archive; data events for the archive
itself (10.2.1.3: access to audit logs) and for the transactions table (10.2.1.1: access to cardholder data);
a copy in a CMK-encrypted CloudWatch Logs group whose metric filters raise an alarm on system-errors for each
security event of app.components.security_events (10.4.1, 10.7); the alarms on those metrics live next to the
topic in the monitoring stack (SecurityEventAlarms)."""

from __future__ import annotations

from cdktf_cdktf_provider_aws.cloudtrail import (
    Cloudtrail,
    CloudtrailAdvancedEventSelector,
    CloudtrailAdvancedEventSelectorFieldSelector,
)
from cdktf_cdktf_provider_aws.cloudwatch_log_metric_filter import (
    CloudwatchLogMetricFilter,
    CloudwatchLogMetricFilterMetricTransformation,
)
from cdktf_cdktf_provider_aws.cloudwatch_metric_alarm import CloudwatchMetricAlarm
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from constructs import Construct

from app.components import audit_delivery
from app.components.iam import policy_document, service_trust_policy, statement
from app.components.log_groups import LogRetention, encrypted_log_group
from app.components.security_events import METRIC_NAMESPACE, SECURITY_EVENTS, metric_name

# One datapoint a 5-minute period: a single occurrence of a security event is an alert.
ALARM_PERIOD_SECONDS = 300


def _field(field: str, **match: list[str]) -> CloudtrailAdvancedEventSelectorFieldSelector:
    return CloudtrailAdvancedEventSelectorFieldSelector(field=field, **match)


class AuditTrail(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        name_prefix: str,
        account_id: str,
        archive_bucket_name: str,
        archive_bucket_arn: str,
        archive_key_arn: str,
        logs: LogRetention,
        transactions_table_arn: str,
    ) -> None:
        super().__init__(scope, id_)
        self.name = audit_delivery.trail_name(name_prefix)
        self.log_group = encrypted_log_group(self, "log-group", name=f"/aws/cloudtrail/{self.name}", retention=logs)
        delivery_policy = self._build_logs_delivery_role(name_prefix, account_id)
        self.trail = Cloudtrail(
            self,
            "trail",
            name=self.name,
            s3_bucket_name=archive_bucket_name,
            kms_key_id=archive_key_arn,
            is_multi_region_trail=True,
            include_global_service_events=True,
            enable_log_file_validation=True,
            enable_logging=True,
            cloud_watch_logs_group_arn=f"{self.log_group.arn}:*",
            cloud_watch_logs_role_arn=self.delivery_role.arn,
            advanced_event_selector=_event_selectors(archive_bucket_arn, transactions_table_arn),
            depends_on=[delivery_policy],
            tags={"Name": self.name},
        )
        self._build_security_metric_filters(name_prefix)
        self.arn: str = self.trail.arn
        self.log_group_name: str = self.log_group.name

    def _build_logs_delivery_role(self, name_prefix: str, account_id: str) -> IamRolePolicy:
        """The role CloudTrail assumes to write into the log group; the policy is what the trail waits for."""
        # CloudTrail names one stream per Region of a multi-Region trail: <account>_CloudTrail_<region>.
        streams = f"{self.log_group.arn}:log-stream:{account_id}_CloudTrail_*"
        self.delivery_role = IamRole(
            self,
            "logs-delivery-role",
            name=f"{name_prefix}-cloudtrail-logs",
            assume_role_policy=service_trust_policy(audit_delivery.CLOUDTRAIL_SERVICE, source_account=account_id),
        )
        return IamRolePolicy(
            self,
            "logs-delivery-policy",
            role=self.delivery_role.id,
            name="deliver-to-log-group",
            policy=policy_document(
                [statement("CloudTrailDeliversToItsLogGroup", ["logs:CreateLogStream", "logs:PutLogEvents"], [streams])]
            ),
        )

    def _build_security_metric_filters(self, name_prefix: str) -> None:
        self.metric_filters: dict[str, CloudwatchLogMetricFilter] = {}
        for event in SECURITY_EVENTS:
            metric = metric_name(name_prefix, event)
            self.metric_filters[event.name] = CloudwatchLogMetricFilter(
                self,
                f"filter-{event.name}",
                name=metric,
                log_group_name=self.log_group.name,
                pattern=event.pattern,
                metric_transformation=CloudwatchLogMetricFilterMetricTransformation(
                    name=metric, namespace=METRIC_NAMESPACE, value="1"
                ),
            )

    def security_metric_names(self) -> list[str]:
        """The metrics the security-event filters emit, in SECURITY_EVENTS order."""
        return [metric_filter.metric_transformation.name for metric_filter in self.metric_filters.values()]


def _event_selectors(archive_bucket_arn: str, transactions_table_arn: str) -> list[CloudtrailAdvancedEventSelector]:
    return [
        # No readOnly field: read and write management events alike.
        CloudtrailAdvancedEventSelector(
            name="Management events, read and write",
            field_selector=[_field("eventCategory", equal_to=["Management"])],
        ),
        CloudtrailAdvancedEventSelector(
            name="Every access to the audit-log archive's objects",
            field_selector=[
                _field("eventCategory", equal_to=["Data"]),
                _field("resources.type", equal_to=["AWS::S3::Object"]),
                _field("resources.ARN", starts_with=[f"{archive_bucket_arn}/"]),
            ],
        ),
        CloudtrailAdvancedEventSelector(
            name="Every item-level access to the transactions table",
            field_selector=[
                _field("eventCategory", equal_to=["Data"]),
                _field("resources.type", equal_to=["AWS::DynamoDB::Table"]),
                _field("resources.ARN", equal_to=[transactions_table_arn]),
            ],
        ),
    ]


class SecurityEventAlarms(Construct):
    """One alarm per security event on the metric the trail's filter emits (built in the monitoring stack, next
    to the topic it notifies, so that every layer of the gate sees the alarm -> topic wiring in one stack)."""

    def __init__(self, scope: Construct, id_: str, *, name_prefix: str, topic_arn: str):
        super().__init__(scope, id_)
        self.alarms: dict[str, CloudwatchMetricAlarm] = {
            event.name: CloudwatchMetricAlarm(
                self,
                event.name,
                alarm_name=f"{name_prefix}-security-{event.name}",
                alarm_description=f"PCI DSS {', '.join(event.requirements)}: {event.description}",
                namespace=METRIC_NAMESPACE,
                metric_name=metric_name(name_prefix, event),
                statistic="Sum",
                period=ALARM_PERIOD_SECONDS,
                evaluation_periods=1,
                threshold=1,
                comparison_operator="GreaterThanOrEqualToThreshold",
                # No matching event in a period means none happened.
                treat_missing_data="notBreaching",
                alarm_actions=[topic_arn],
            )
            for event in SECURITY_EVENTS
        }

"""payments-<env>-monitoring: SNS topics, alarms (p99 latency, error rates, saturation, business failures, the
blue/green deployment guard) and one dashboard, all built from the same construct references as the
resources they watch, so a renamed resource cannot leave a dangling alarm or widget.

Missing data is treated per alarm, deliberately:
- latency percentiles and error *rates*: "notBreaching" (no traffic is not an outage; percentiles ignore low
  sample counts) -- the API's own health is watched by the 5XX rate whenever requests exist;
- counts of bad events (errors, throttles, 5XX, unhealthy targets, failed payments, rotation errors):
  "notBreaching" (absence = zero);
- VPN tunnel state: "breaching" -- a tunnel that stops reporting is not known to be up.
- Aurora saturation (CPU, memory, connections, replica lag): "breaching" -- a database that stops reporting
  metrics is itself an incident.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypedDict

from cdktf_cdktf_provider_aws.cloudwatch_composite_alarm import CloudwatchCompositeAlarm
from cdktf_cdktf_provider_aws.cloudwatch_dashboard import CloudwatchDashboard
from cdktf_cdktf_provider_aws.cloudwatch_metric_alarm import (
    CloudwatchMetricAlarm,
    CloudwatchMetricAlarmMetricQuery,
    CloudwatchMetricAlarmMetricQueryMetric,
)
from cdktf_cdktf_provider_aws.dms_event_subscription import DmsEventSubscription
from cdktf_cdktf_provider_aws.sns_topic import SnsTopic
from cdktf_cdktf_provider_aws.sns_topic_policy import SnsTopicPolicy
from cdktf_cdktf_provider_aws.sns_topic_subscription import SnsTopicSubscription
from constructs import Construct

from app.components import security_findings
from app.components.audit_trail import SecurityEventAlarms
from app.components.iam import IamStatement
from app.components.payment_functions import SLOTS
from app.config import Subscription
from app.stacks.api import STAGE_NAME, ApiStack
from app.stacks.base import PaymentsStack
from app.stacks.compute import POWERTOOLS_METRICS_NAMESPACE, ComputeStack, failed_transactions_topic_name
from app.stacks.data import DataStack
from app.stacks.foundation import Foundation

# The payment functions publish their business metrics (Powertools) in the namespace compute configures.
BUSINESS_NAMESPACE = POWERTOOLS_METRICS_NAMESPACE
BUSINESS_SERVICE = "transaction-processing"

# A metric of one dimension set: (namespace, metric name, dimensions).
MetricRef = tuple[str, str, Mapping[str, str]]


class AlarmMetric(TypedDict, total=False):
    """What an alarm watches: one metric with a statistic, or metric math over queries."""

    namespace: str
    metric_name: str
    dimensions: Mapping[str, str]
    period: int
    statistic: str | None
    extended_statistic: str | None
    metric_query: list[CloudwatchMetricAlarmMetricQuery]


@dataclass
class AlarmAreas:
    by_area: dict[str, list[CloudwatchMetricAlarm]] = field(default_factory=dict)

    def add(self, area: str, alarm: CloudwatchMetricAlarm) -> CloudwatchMetricAlarm:
        self.by_area.setdefault(area, []).append(alarm)
        return alarm

    def areas(self) -> Iterable[tuple[str, list[CloudwatchMetricAlarm]]]:
        return self.by_area.items()


def flat_dimensions(dimensions: Mapping[str, str]) -> list[str]:
    """Dimensions as a dashboard metric row spells them: name, value, name, value, ..."""
    return [part for pair in dimensions.items() for part in pair]


@dataclass
class Dashboard:
    """CloudWatch dashboard widgets: full-width section headings, then graphs three to a row."""

    region: str
    period_seconds: int
    widgets: list[dict[str, Any]] = field(default_factory=list)

    def section(self, title: str) -> None:
        self.widgets.append({"type": "text", "width": 24, "height": 1, "properties": {"markdown": f"## {title}"}})

    def graph(
        self, title: str, metrics: list[list[Any]], *, stat: str = "Sum", annotations: dict[str, Any] | None = None
    ) -> None:
        properties: dict[str, Any] = {
            "title": title,
            "region": self.region,
            "stat": stat,
            "period": self.period_seconds,
            "view": "timeSeries",
            "metrics": metrics,
        }
        if annotations:
            properties["annotations"] = annotations
        self.widgets.append({"type": "metric", "width": 8, "height": 6, "properties": properties})


class MonitoringStack(PaymentsStack):
    def __init__(
        self, scope: Construct, *, foundation: Foundation, data: DataStack, compute: ComputeStack, api: ApiStack
    ) -> None:
        config = foundation.config
        super().__init__(scope, config=config, domain="monitoring")
        self.foundation = foundation
        self.settings = config.monitoring
        self.alarms = AlarmAreas()
        self._build_topics(data, compute)
        self._subscribe(self.failed_transactions, self.settings.failed_transactions_subscriptions)
        self._subscribe(self.system_errors, self.settings.system_errors_subscriptions)

        self._api_alarms(api)
        self._alb_alarms(compute)
        self._lambda_alarms(compute)
        self._data_alarms(data)
        self._connectivity_alarms(compute)
        self._failure_alarms(data)
        self._business_alarms()
        self._deployment_guard(compute)
        # PCI DSS 10.2.1.x: alarms on the audit stack's CloudTrail metric filters.
        self.security_alarms = SecurityEventAlarms(
            self, "security-events", name_prefix=self.name_prefix, topic_arn=self.system_errors.arn
        )
        self.dashboard = CloudwatchDashboard(
            self,
            "dashboard",
            dashboard_name=f"{self.name_prefix}-payments",
            dashboard_body=json.dumps(self._dashboard(api, compute, data)),
        )
        self._outputs()

    def _build_topics(self, data: DataStack, compute: ComputeStack) -> None:
        messaging_key = self.foundation.key_arn("messaging")
        self.system_errors = SnsTopic(
            self, "system-errors", name=f"{self.name_prefix}-system-errors", kms_master_key_id=messaging_key
        )
        self.failed_transactions = SnsTopic(
            self,
            "failed-transactions",
            name=failed_transactions_topic_name(self.config.environment),
            kms_master_key_id=messaging_key,
        )
        system_error_publishers: list[IamStatement] = []
        if data.migration is not None:
            system_error_publishers.append(
                {
                    "Sid": "DmsEventsOfThisAccount",
                    "Effect": "Allow",
                    "Principal": {"Service": "dms.amazonaws.com"},
                    "Action": "sns:Publish",
                    "Resource": self.system_errors.arn,
                    "Condition": {"StringEquals": {"aws:SourceAccount": self.account_id}},
                }
            )
        if self.config.baseline.account_owner:
            # The audit stack's EventBridge rules route security findings and Config drift here.
            system_error_publishers.append(
                security_findings.topic_statement(
                    topic_arn=self.system_errors.arn,
                    partition=self.partition,
                    region=self.config.region,
                    account_id=self.account_id,
                    name_prefix=self.name_prefix,
                )
            )
        self._restrict_publishers(self.system_errors, system_error_publishers)
        self._restrict_publishers(
            self.failed_transactions,
            [
                {
                    "Sid": "TransactionProcessingPublishes",
                    "Effect": "Allow",
                    "Principal": {"AWS": compute.processing.role_arn},
                    "Action": "sns:Publish",
                    "Resource": self.failed_transactions.arn,
                }
            ],
        )

    def _restrict_publishers(self, topic: SnsTopic, publishers: Sequence[IamStatement]) -> None:
        """The topic policy: this account's alarms and the given publishers, over TLS only."""
        statements: list[IamStatement] = [
            {
                "Sid": "CloudWatchAlarmsOfThisAccount",
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": "sns:Publish",
                "Resource": topic.arn,
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": self.account_id},
                    "ArnLike": {"aws:SourceArn": self.account_scope.arn("cloudwatch", "alarm:*")},
                },
            },
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "sns:Publish",
                "Resource": topic.arn,
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
            *publishers,
        ]
        SnsTopicPolicy(
            self,
            f"{topic.node.id}-policy",
            arn=topic.arn,
            policy=json.dumps({"Version": "2012-10-17", "Statement": statements}),
        )

    def _outputs(self) -> None:
        region = self.config.region
        self.output("dashboard_name", self.dashboard.dashboard_name, "CloudWatch dashboard of the environment")
        self.output(
            "dashboard_url",
            f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
            f"#dashboards:name={self.dashboard.dashboard_name}",
            "Console URL of the dashboard",
        )
        self.output("system_errors_topic_arn", self.system_errors.arn, "SNS topic for system errors")
        self.output("failed_transactions_topic_arn", self.failed_transactions.arn, "SNS topic for failed payments")
        for area, alarms in self.alarms.areas():
            self.output(f"alarms_{area}", [a.alarm_name for a in alarms], f"Alarm names: {area}")
        self.output(
            "deployment_guard_alarm",
            self.deployment_guard.alarm_name,
            "Composite alarm: when it fires during a traffic shift, roll the weights back",
        )

    def _subscribe(self, topic: SnsTopic, subscriptions: tuple[Subscription, ...]) -> None:
        for index, subscription in enumerate(subscriptions):
            SnsTopicSubscription(
                self,
                f"{topic.node.id}-subscription-{index}",
                topic_arn=topic.arn,
                protocol=subscription.protocol,
                endpoint=subscription.endpoint,
            )

    def _alarm(
        self,
        area: str,
        name: str,
        *,
        description: str,
        threshold: float,
        treat_missing_data: str,
        metric: AlarmMetric,
        topic: SnsTopic | None = None,
        comparison: str = "GreaterThanThreshold",
        evaluate_low_sample_count_percentiles: str | None = None,
    ) -> CloudwatchMetricAlarm:
        target = topic or self.system_errors
        settings = self.settings
        return self.alarms.add(
            area,
            CloudwatchMetricAlarm(
                self,
                f"alarm-{name}",
                alarm_name=f"{self.name_prefix}-{name}",
                alarm_description=description,
                comparison_operator=comparison,
                threshold=threshold,
                evaluation_periods=settings.evaluation_periods,
                datapoints_to_alarm=settings.datapoints_to_alarm,
                treat_missing_data=treat_missing_data,
                alarm_actions=[target.arn],
                ok_actions=[target.arn],
                evaluate_low_sample_count_percentiles=evaluate_low_sample_count_percentiles,
                **metric,
            ),
        )

    def _single(
        self,
        namespace: str,
        metric_name: str,
        dimensions: Mapping[str, str],
        *,
        statistic: str | None = None,
        extended_statistic: str | None = None,
    ) -> AlarmMetric:
        return {
            "namespace": namespace,
            "metric_name": metric_name,
            "dimensions": dimensions,
            "period": self.settings.period_seconds,
            "statistic": statistic,
            "extended_statistic": extended_statistic,
        }

    def _rate(self, numerator: MetricRef, denominator: MetricRef, label: str) -> AlarmMetric:
        """Metric math: 100 * errors / requests, 0 when there were no requests."""

        def query(query_id: str, spec: MetricRef) -> CloudwatchMetricAlarmMetricQuery:
            namespace, metric, dimensions = spec
            return CloudwatchMetricAlarmMetricQuery(
                id=query_id,
                return_data=False,
                metric=(
                    CloudwatchMetricAlarmMetricQueryMetric(
                        namespace=namespace,
                        metric_name=metric,
                        dimensions=dict(dimensions),
                        period=self.settings.period_seconds,
                        stat="Sum",
                    )
                ),
            )

        return {
            "metric_query": [
                query("errors", numerator),
                query("requests", denominator),
                CloudwatchMetricAlarmMetricQuery(
                    id="rate", expression="IF(requests > 0, 100 * errors / requests, 0)", label=label, return_data=True
                ),
            ]
        }

    def _api_alarms(self, api: ApiStack) -> None:
        stage = api.metric_dimensions()
        settings = self.settings
        for metric, threshold in (
            ("Latency", settings.api_latency_p99_ms),
            ("IntegrationLatency", settings.api_integration_latency_p99_ms),
        ):
            self._alarm(
                "api",
                f"api-{metric.lower()}-p99",
                threshold=threshold,
                treat_missing_data="notBreaching",
                description=f"p99 {metric} of stage {STAGE_NAME} above {threshold} ms",
                evaluate_low_sample_count_percentiles="ignore",
                metric=self._single("AWS/ApiGateway", metric, stage, extended_statistic="p99"),
            )
        for code, percent in (("5XX", settings.api_5xx_rate_percent), ("4XX", settings.api_4xx_rate_percent)):
            self._alarm(
                "api",
                f"api-{code.lower()}-rate",
                threshold=percent,
                treat_missing_data="notBreaching",
                description=f"{code} responses above {percent}% of API requests",
                metric=self._rate(
                    ("AWS/ApiGateway", f"{code}Error", stage), ("AWS/ApiGateway", "Count", stage), f"{code} rate %"
                ),
            )

    def _alb_alarms(self, compute: ComputeStack) -> None:
        for slot in SLOTS:
            self._target_group_alarm(
                compute,
                slot,
                "target-5xx",
                "HTTPCode_Target_5XX_Count",
                statistic="Sum",
                threshold=self.settings.target_5xx_count,
                description=f"5XX from the {slot} target group",
            )

    def _target_group_alarm(
        self,
        compute: ComputeStack,
        slot: str,
        name: str,
        metric: str,
        *,
        statistic: str,
        threshold: float,
        description: str,
    ) -> None:
        """A count of bad events of one slot's target group (absence = zero)."""
        self._alarm(
            "alb",
            f"alb-{slot}-{name}",
            threshold=threshold,
            treat_missing_data="notBreaching",
            description=description,
            metric=self._single("AWS/ApplicationELB", metric, compute.alb.metric_dimensions(slot), statistic=statistic),
        )

    def _lambda_alarms(self, compute: ComputeStack) -> None:
        for payment_function in compute.functions():
            dimensions = payment_function.metric_dimensions()
            slug = payment_function.name.replace("_", "-")
            for metric in ("Errors", "Throttles"):
                self._alarm(
                    "lambda",
                    f"{slug}-{metric.lower()}",
                    threshold=0,
                    treat_missing_data="notBreaching",
                    description=f"{metric} of {slug}",
                    metric=self._single("AWS/Lambda", metric, dimensions, statistic="Sum"),
                )
            timeout_seconds = self.config.compute.functions[payment_function.name].timeout_seconds
            limit = timeout_seconds * 1000 * self.settings.lambda_duration_p99_ratio
            self._alarm(
                "lambda",
                f"{slug}-duration-p99",
                threshold=limit,
                treat_missing_data="notBreaching",
                description=f"p99 duration of {slug} near its timeout",
                evaluate_low_sample_count_percentiles="ignore",
                metric=self._single("AWS/Lambda", "Duration", dimensions, extended_statistic="p99"),
            )

    def _data_alarms(self, data: DataStack) -> None:
        settings = self.settings
        cluster = data.aurora.metric_dimensions()
        for name, metric, statistic, threshold, comparison in (
            ("aurora-cpu", "CPUUtilization", "Average", settings.aurora_cpu_percent, "GreaterThanThreshold"),
            (
                "aurora-connections",
                "DatabaseConnections",
                "Maximum",
                settings.aurora_max_connections,
                "GreaterThanThreshold",
            ),
            (
                "aurora-replica-lag",
                "AuroraReplicaLag",
                "Maximum",
                settings.aurora_replica_lag_ms,
                "GreaterThanThreshold",
            ),
            (
                "aurora-freeable-memory",
                "FreeableMemory",
                "Minimum",
                settings.aurora_min_freeable_memory_mb * 1024 * 1024,
                "LessThanThreshold",
            ),
        ):
            self._alarm(
                "database",
                name,
                threshold=threshold,
                treat_missing_data="breaching",
                comparison=comparison,
                description=f"Aurora {metric} ({statistic}) beyond {threshold}",
                metric=self._single("AWS/RDS", metric, cluster, statistic=statistic),
            )
        for table_name in data.tables.names():
            for metric in ("ReadThrottleEvents", "WriteThrottleEvents"):
                self._alarm(
                    "database",
                    f"dynamodb-{table_name}-{metric.lower()}",
                    threshold=0,
                    treat_missing_data="notBreaching",
                    description=f"DynamoDB {metric} on {table_name}",
                    metric=self._single(
                        "AWS/DynamoDB", metric, data.tables.metric_dimensions(table_name), statistic="Sum"
                    ),
                )

    def _connectivity_alarms(self, compute: ComputeStack) -> None:
        """The VPN carries the onprem slot and the DMS source; the ALB's own 5XX and unhealthy targets are what
        the target 5XX alarms cannot see (no target answered at all)."""
        vpn = self.foundation.vpn
        if vpn is not None:
            # AWS/VPN TunnelState per connection: 1 when every tunnel is up, between 0 and 1 when one is down.
            self._alarm(
                "connectivity",
                "vpn-tunnel-down",
                threshold=1,
                comparison="LessThanThreshold",
                treat_missing_data="breaching",
                description="A site-to-site VPN tunnel to on-prem is down (redundancy lost, or the link)",
                metric=self._single("AWS/VPN", "TunnelState", {"VpnId": vpn.connection_id}, statistic="Minimum"),
            )
        self._alarm(
            "alb",
            "alb-elb-5xx",
            threshold=self.settings.target_5xx_count,
            treat_missing_data="notBreaching",
            description="5XX generated by the ALB itself (no healthy target, target timeout or refusal)",
            metric=self._single(
                "AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", compute.alb.metric_dimensions(), statistic="Sum"
            ),
        )
        for slot in SLOTS:
            self._target_group_alarm(
                compute,
                slot,
                "unhealthy-targets",
                "UnHealthyHostCount",
                statistic="Maximum",
                threshold=0,
                description=f"Unhealthy targets in the {slot} target group",
            )

    def _failure_alarms(self, data: DataStack) -> None:
        """A failed rotation step or bootstrap is an error of its function (Secrets Manager publishes no rotation
        metric); DMS reports task failures only as events, so the system-errors topic subscribes to them."""
        for name, dimensions in data.app_secret.metric_dimensions().items():
            self._alarm(
                "database",
                f"{name}-errors",
                threshold=0,
                treat_missing_data="notBreaching",
                description=f"{name} failed (see its log group)",
                metric=self._single("AWS/Lambda", "Errors", dimensions, statistic="Sum"),
            )
        if data.migration is not None:
            DmsEventSubscription(
                self,
                "dms-task-failures",
                name=f"{self.name_prefix}-dms-task-failures",
                sns_topic_arn=self.system_errors.arn,
                source_type="replication-task",
                source_ids=[data.migration.task_id],
                event_categories=["failure", "state change"],
                enabled=True,
            )

    def _business_alarms(self) -> None:
        self._alarm(
            "business",
            "failed-payments",
            threshold=self.settings.failed_transactions_per_period,
            treat_missing_data="notBreaching",
            topic=self.failed_transactions,
            description="Failed payments (FAILED status) above the tolerated count",
            metric=self._single(BUSINESS_NAMESPACE, "PaymentFailed", {"service": BUSINESS_SERVICE}, statistic="Sum"),
        )

    def _deployment_guard(self, compute: ComputeStack) -> None:
        dimensions = compute.alb.metric_dimensions("green")
        spec: MetricRef = ("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", dimensions)
        rate = self._alarm(
            "deployment",
            "green-5xx-rate",
            threshold=self.settings.green_5xx_rate_percent,
            treat_missing_data="notBreaching",
            description="5XX rate of the green slot",
            metric=self._rate(spec, ("AWS/ApplicationELB", "RequestCount", dimensions), "green 5XX %"),
        )
        latency = self._alarm(
            "deployment",
            "green-p99",
            threshold=self.settings.green_p99_ms / 1000,
            treat_missing_data="notBreaching",
            description="p99 response time of the green slot",
            evaluate_low_sample_count_percentiles="ignore",
            metric=self._single("AWS/ApplicationELB", "TargetResponseTime", dimensions, extended_statistic="p99"),
        )
        self.deployment_guard = CloudwatchCompositeAlarm(
            self,
            "deployment-guard",
            alarm_name=f"{self.name_prefix}-deployment-guard",
            alarm_description="Green slot unhealthy: shift the ALB weights back to blue (README, migration runbook)",
            alarm_rule=f"ALARM({rate.alarm_name}) OR ALARM({latency.alarm_name})",
            alarm_actions=[self.system_errors.arn],
            ok_actions=[self.system_errors.arn],
        )

    def _dashboard(self, api: ApiStack, compute: ComputeStack, data: DataStack) -> dict[str, Any]:
        board = Dashboard(region=self.config.region, period_seconds=self.settings.period_seconds)
        self._api_widgets(board, api)
        self._traffic_widgets(board, compute)
        self._lambda_widgets(board, compute)
        self._database_widgets(board, data)
        self._business_widgets(board)
        return {"widgets": board.widgets}

    def _api_widgets(self, board: Dashboard, api: ApiStack) -> None:
        stage = flat_dimensions(api.metric_dimensions())
        board.section("API")
        board.graph(
            "Latency p50 / p90 / p99 (ms)",
            [["AWS/ApiGateway", "Latency", *stage, {"stat": p}] for p in ("p50", "p90", "p99")],
            stat="p99",
        )
        board.graph("Requests", [["AWS/ApiGateway", "Count", *stage]])
        board.graph(
            "4XX / 5XX rate (%)",
            [
                ["AWS/ApiGateway", "4XXError", *stage, {"id": "e4", "visible": False}],
                ["AWS/ApiGateway", "5XXError", *stage, {"id": "e5", "visible": False}],
                ["AWS/ApiGateway", "Count", *stage, {"id": "n", "visible": False}],
                [{"expression": "IF(n > 0, 100 * e4 / n, 0)", "label": "4XX %"}],
                [{"expression": "IF(n > 0, 100 * e5 / n, 0)", "label": "5XX %"}],
            ],
        )

    def _traffic_widgets(self, board: Dashboard, compute: ComputeStack) -> None:
        board.section("Traffic split (blue / green)")
        lb = compute.alb.arn_suffix
        groups = {slot: compute.alb.target_group_arn_suffix(slot) for slot in SLOTS}
        for title, metric, stat in (
            ("Requests per slot", "RequestCount", "Sum"),
            ("Target response time p99 (s)", "TargetResponseTime", "p99"),
            ("Target 5XX per slot", "HTTPCode_Target_5XX_Count", "Sum"),
        ):
            rows = [
                ["AWS/ApplicationELB", metric, "TargetGroup", groups[s], "LoadBalancer", lb, {"label": s}]
                for s in SLOTS
            ]
            board.graph(title, rows, stat=stat)

    def _lambda_widgets(self, board: Dashboard, compute: ComputeStack) -> None:
        config = self.config
        board.section("Lambda")
        functions = compute.functions()
        for metric, stat in (("Invocations", "Sum"), ("Errors", "Sum"), ("Throttles", "Sum"), ("Duration", "p99")):
            board.graph(
                f"{metric} ({stat})",
                [["AWS/Lambda", metric, *flat_dimensions(f.metric_dimensions())] for f in functions],
                stat=stat,
            )
        board.graph(
            "Concurrent executions vs reserved",
            [["AWS/Lambda", "ConcurrentExecutions", *flat_dimensions(f.metric_dimensions())] for f in functions],
            stat="Maximum",
            annotations={
                "horizontal": [
                    {
                        "label": f"reserved {f.deployed_name}",
                        "value": config.compute.functions[f.name].reserved_concurrency,
                    }
                    for f in functions
                ]
            },
        )

    def _database_widgets(self, board: Dashboard, data: DataStack) -> None:
        board.section("Database performance")
        cluster = flat_dimensions(data.aurora.metric_dimensions())
        board.graph("Aurora CPU (%)", [["AWS/RDS", "CPUUtilization", *cluster]], stat="Average")
        board.graph("Aurora connections", [["AWS/RDS", "DatabaseConnections", *cluster]], stat="Maximum")
        board.graph("Aurora replica lag (ms)", [["AWS/RDS", "AuroraReplicaLag", *cluster]], stat="Maximum")
        board.graph(
            "Aurora read / write latency (s)",
            [["AWS/RDS", "ReadLatency", *cluster], ["AWS/RDS", "WriteLatency", *cluster]],
            stat="Average",
        )
        board.graph(
            "Aurora read / write IOPS",
            [["AWS/RDS", "ReadIOPS", *cluster], ["AWS/RDS", "WriteIOPS", *cluster]],
            stat="Average",
        )
        board.graph("Aurora freeable memory (bytes)", [["AWS/RDS", "FreeableMemory", *cluster]], stat="Minimum")
        tables = list(data.tables.names().values())
        board.graph(
            "DynamoDB latency (ms)",
            [
                ["AWS/DynamoDB", "SuccessfulRequestLatency", "TableName", t, "Operation", op]
                for t in tables
                for op in ("GetItem", "PutItem", "Query")
            ],
            stat="Average",
        )
        board.graph(
            "DynamoDB consumed capacity",
            [
                ["AWS/DynamoDB", metric, "TableName", t]
                for t in tables
                for metric in ("ConsumedReadCapacityUnits", "ConsumedWriteCapacityUnits")
            ],
        )
        board.graph(
            "DynamoDB throttles",
            [
                ["AWS/DynamoDB", metric, "TableName", t]
                for t in tables
                for metric in ("ReadThrottleEvents", "WriteThrottleEvents")
            ],
        )

    def _business_widgets(self, board: Dashboard) -> None:
        board.section("Business")
        board.graph(
            "Payments approved / declined / failed",
            [
                [BUSINESS_NAMESPACE, metric, "service", BUSINESS_SERVICE]
                for metric in ("PaymentApproved", "PaymentDeclined", "PaymentFailed")
            ],
        )

"""PCI-MON-002: CloudWatch alarms notify an SNS topic"""

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult

from policies.checkov_support import PciCheck, strings, value, verdict


class AlarmHasActions(PciCheck):
    def __init__(self) -> None:
        super().__init__("CKV_PCI_023", ["aws_cloudwatch_metric_alarm"], CheckCategories.LOGGING,
                         evaluated=["alarm_actions", "actions_enabled"])

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        return verdict(value(conf, "actions_enabled") is not False and bool(strings(conf, "alarm_actions")))


check = AlarmHasActions()

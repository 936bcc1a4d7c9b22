"""PCI-RDS-005: Aurora clusters accept only TLS connections (rds.force_ssl = 1)"""

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult

from policies.checkov_support import PASSED, PciCheck, blocks, value, verdict


class ClusterParameterGroupForcesSsl(PciCheck):
    def __init__(self) -> None:
        super().__init__("CKV_PCI_021", ["aws_rds_cluster_parameter_group"], CheckCategories.NETWORKING,
                         evaluated=["family", "parameter"])

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        family = value(conf, "family")
        if isinstance(family, str) and not family.startswith("aurora-postgresql") and "${" not in family:
            return PASSED  # other engines enforce TLS with other parameters
        return verdict(any(value(p, "name") == "rds.force_ssl" and str(value(p, "value")) == "1"
                           for p in blocks(conf, "parameter")))


check = ClusterParameterGroupForcesSsl()

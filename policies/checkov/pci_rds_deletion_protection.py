"""PCI-RDS-002: Production Aurora clusters have deletion protection"""

from checkov.common.models.enums import CheckCategories

from policies.checkov_support import PASSED, PciCheck, blocks, parameter, value, verdict


class ProductionRdsClusterDeletionProtected(PciCheck):
    def __init__(self):
        super().__init__("CKV_PCI_018", ["aws_rds_cluster"], CheckCategories.BACKUP_AND_RECOVERY,
                         evaluated=["tags", "deletion_protection"])

    def scan_resource_conf(self, conf):
        tags = blocks(conf, "tags")
        if tags and tags[0].get("Environment") in parameter("non_production_environments"):
            return PASSED
        return verdict(value(conf, "deletion_protection") is True)


check = ProductionRdsClusterDeletionProtected()

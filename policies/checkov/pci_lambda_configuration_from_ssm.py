"""PCI-LAM-004: Lambda configuration comes from SSM, not environment variables"""

from checkov.common.models.enums import CheckCategories

from policies.checkov_support import PciCheck, environment_variables, parameter, verdict


class LambdaConfigurationFromSsm(PciCheck):
    def __init__(self):
        super().__init__("CKV_PCI_030", ["aws_lambda_function"], CheckCategories.GENERAL_SECURITY,
                         evaluated=["environment"])

    def scan_resource_conf(self, conf):
        allowed, prefix = parameter("lambda_environment_allowed_keys"), parameter("lambda_environment_allowed_prefix")
        names = environment_variables(conf)
        return verdict(names is not None and all(n in allowed or n.startswith(prefix) for n in names))


check = LambdaConfigurationFromSsm()

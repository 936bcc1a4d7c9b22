"""The two IAM roles AWS DMS looks up by fixed name in every account that runs it: dms-vpc-role (manages the
replication instance's network interfaces) and dms-cloudwatch-logs-role (writes task logs to the
dms-tasks-<instance> log groups). One pair per account, so exactly one environment of each account owns them
(data.migration.account_dms_roles: create), and they live in the security stack: applied before the network
and data stacks, IAM has propagated the roles by the time DMS first assumes them (DMS rejects a replication
subnet group while dms-vpc-role is still invisible to it).

https://docs.aws.amazon.com/dms/latest/userguide/security-iam.html#CHAP_Security.APIRole"""

from __future__ import annotations

from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment
from constructs import Construct

from app.components.iam import service_trust_policy

# Role name -> the AWS-managed policy DMS expects on it.
DMS_ACCOUNT_ROLES = {
    "dms-vpc-role": "service-role/AmazonDMSVPCManagementRole",
    "dms-cloudwatch-logs-role": "service-role/AmazonDMSCloudWatchLogsRole",
}


class DmsAccountRoles(Construct):
    def __init__(self, scope: Construct, id_: str, *, account_id: str, partition: str):
        super().__init__(scope, id_)
        self.roles: dict[str, IamRole] = {}
        for name, policy in DMS_ACCOUNT_ROLES.items():
            role = IamRole(
                self,
                name,
                name=name,
                description="AWS DMS service role (name fixed by AWS; one per account, owned by this environment)",
                assume_role_policy=service_trust_policy("dms.amazonaws.com", source_account=account_id),
            )
            IamRolePolicyAttachment(
                self, f"{name}-policy", role=role.name, policy_arn=f"arn:{partition}:iam::aws:policy/{policy}"
            )
            self.roles[name] = role

"""The base of every stack: provider, backend and the aspects, all from the environment's config."""

from __future__ import annotations

from cdktf import Aspects, LocalBackend, S3Backend, TerraformOutput, TerraformStack
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition
from cdktf_cdktf_provider_aws.provider import AwsProvider
from constructs import Construct

from app.aspects import CostAllocationTagging
from app.aspects.pci import PciRulePack
from app.components.account import AccountScope
from app.config import EnvironmentConfig

# Local state lives outside cdktf.out/ (which every synth replaces), relative to the stack directory
# cdktf.out/stacks/<stack>/, so that `terraform apply` from there keeps state across re-synths.
LOCAL_STATE_DIR = "../../../.terraform-state"


class PaymentsStack(TerraformStack):
    """One domain of one environment: ``payments-<env>-<domain>``."""

    def __init__(self, scope: Construct, *, config: EnvironmentConfig, domain: str) -> None:
        super().__init__(scope, config.stack_name(domain))
        self.config = config
        self.domain = domain
        AwsProvider(self, "aws", region=config.region)
        self._configure_backend()
        Aspects.of(self).add(CostAllocationTagging(config.tags))
        Aspects.of(self).add(PciRulePack())
        identity = DataAwsCallerIdentity(self, "caller")
        self.account_id: str = identity.account_id
        self.partition: str = DataAwsPartition(self, "partition").partition
        self.account_scope = AccountScope(region=config.region, account_id=self.account_id, partition=self.partition)

    @property
    def name_prefix(self) -> str:
        return f"payments-{self.config.environment}"

    def _configure_backend(self) -> None:
        stack = self.config.stack_name(self.domain)
        backend = self.config.backend
        s3 = backend.s3
        if backend.type == "local" or s3 is None:  # the config loader requires backend.s3 for type s3
            LocalBackend(self, path=f"{LOCAL_STATE_DIR}/{stack}.tfstate")
            return
        state = S3Backend(
            self,
            bucket=s3.bucket,
            key=f"{s3.key_prefix}/{stack}.tfstate",
            region=s3.region,
            encrypt=True,
            kms_key_id=s3.kms_key_id,
            dynamodb_table=s3.dynamodb_table,
        )
        if s3.locking == "lockfile":
            state.add_override("use_lockfile", True)

    def output(self, name: str, value: object, description: str) -> TerraformOutput:
        return TerraformOutput(self, name, value=value, description=description)

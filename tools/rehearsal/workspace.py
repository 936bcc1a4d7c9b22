"""Working copies of the stacks, bound to the emulator by a Terraform override file, and terraform runs in them.

The synthesized ``cdk.tf.json`` is copied byte for byte; everything that binds it to the emulator lives in
``rehearsal_override.tf.json`` next to it (Terraform merges ``*_override.tf.json`` into the configuration):
the provider's endpoints and credentials, the backend, and the ``terraform_remote_state`` data sources
through which cdktf wires cross-stack references.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from tools import terraform_cli, terraform_runner
from tools.rehearsal.stacks import Stack, UsageError

OVERRIDE_FILE = "rehearsal_override.tf.json"
# The provider retries a 5xx 25 times with back-off; from the emulator a 5xx is an unimplemented API that will
# not succeed on a later attempt, so it fails in seconds instead of in minutes.
MAX_RETRIES = 3

# Longest prefix wins. Types that call no API (aws_iam_policy_document, aws_partition) map to None.
SERVICE_BY_PREFIX = {
    "aws_api_gateway_": "apigateway",
    "aws_appautoscaling_": "appautoscaling",
    "aws_acm_": "acm",
    "aws_backup_": "backup",
    "aws_caller_identity": "sts",
    "aws_cloudwatch_": "cloudwatch",
    "aws_cloudwatch_event_": "events",
    "aws_cloudwatch_log_": "logs",
    "aws_cloudtrail": "cloudtrail",
    "aws_config_": "configservice",
    "aws_customer_gateway": "ec2",
    "aws_db_": "rds",
    "aws_default_network_acl": "ec2",
    "aws_default_route_table": "ec2",
    "aws_default_security_group": "ec2",
    "aws_dms_": "dms",
    "aws_dynamodb_": "dynamodb",
    "aws_ec2_": "ec2",
    "aws_eip": "ec2",
    "aws_flow_log": "ec2",
    "aws_guardduty_": "guardduty",
    "aws_iam_": "iam",
    "aws_iam_policy_document": None,
    "aws_internet_gateway": "ec2",
    "aws_kms_": "kms",
    "aws_lambda_": "lambda",
    "aws_lb": "elbv2",
    "aws_nat_gateway": "ec2",
    "aws_network_acl": "ec2",
    "aws_partition": None,
    "aws_rds_": "rds",
    "aws_region": None,
    "aws_route": "ec2",
    "aws_s3_": "s3",
    "aws_secretsmanager_": "secretsmanager",
    "aws_securityhub_": "securityhub",
    "aws_security_group": "ec2",
    "aws_sns_": "sns",
    "aws_sqs_": "sqs",
    "aws_ssm_": "ssm",
    "aws_subnet": "ec2",
    "aws_vpc": "ec2",
    "aws_vpn_": "ec2",
    "aws_wafv2_": "wafv2",
}
# The provider looks up the account (sts, then iam) whatever the stack contains.
ALWAYS_USED = frozenset({"sts", "iam"})


def service_for(block_type: str) -> str | None:
    matches = [prefix for prefix in SERVICE_BY_PREFIX if block_type.startswith(prefix)]
    if not matches:
        raise UsageError(
            f"no emulator endpoint is known for {block_type}: add its prefix to SERVICE_BY_PREFIX in {__file__} "
            "(an unmapped service would be called at its real AWS endpoint)"
        )
    return SERVICE_BY_PREFIX[max(matches, key=len)]


def services_used(document: dict) -> set[str]:
    types = [t for section in ("resource", "data", "ephemeral") for t in document.get(section, {})]
    return {s for s in map(service_for, (t for t in types if t.startswith("aws_"))) if s} | ALWAYS_USED


@dataclass(frozen=True)
class LocalBackend:
    state_dir: Path

    def backend(self, stack: str) -> dict:
        return {"local": {"path": str(self.state_dir / f"{stack}.tfstate")}}

    def remote_state(self, stack: str) -> dict:
        return {"backend": "local", "config": {"path": str(self.state_dir / f"{stack}.tfstate")}}


@dataclass(frozen=True)
class S3Backend:
    """State in an emulated bucket, encrypted with a KMS key, locked with S3 conditional writes (use_lockfile)."""

    bucket: str
    key_prefix: str
    region: str
    kms_key_id: str
    endpoint: str

    def key(self, stack: str) -> str:
        return f"{self.key_prefix}/{stack}.tfstate"

    def _connection(self) -> dict:
        return {
            "region": self.region,
            "access_key": "testing",
            "secret_key": "testing",
            "skip_credentials_validation": True,
            "skip_requesting_account_id": True,
            "skip_metadata_api_check": True,
            "skip_region_validation": True,
            "use_path_style": True,
            "endpoints": {"s3": self.endpoint, "sts": self.endpoint, "iam": self.endpoint},
        }

    def backend(self, stack: str) -> dict:
        return {
            "s3": {
                **self._connection(),
                "bucket": self.bucket,
                "key": self.key(stack),
                "encrypt": True,
                "kms_key_id": self.kms_key_id,
                "use_lockfile": True,
            }
        }

    def remote_state(self, stack: str) -> dict:
        return {"backend": "s3", "config": {**self._connection(), "bucket": self.bucket, "key": self.key(stack)}}


def _referenced_stack(remote_state: dict) -> str:
    config = remote_state.get("config", {})
    location = config.get("path") or config.get("key")
    if not location:
        raise UsageError(f"a terraform_remote_state with neither path nor key: {remote_state}")
    return Path(location).name.removesuffix(".tfstate")


def override_document(document: dict, stack: str, endpoint: str, backend: LocalBackend | S3Backend) -> dict:
    endpoints = {service: endpoint for service in sorted(services_used(document))}
    connection = {
        "access_key": "testing",
        "secret_key": "testing",
        "skip_credentials_validation": True,
        # Not skip_requesting_account_id: the emulator answers sts:GetCallerIdentity, and without the account
        # id the provider reads security-group references as cross-account ("<account>/sg-..."), a false drift.
        "skip_metadata_api_check": "true",
        "s3_use_path_style": True,
        "max_retries": MAX_RETRIES,
        "endpoints": [endpoints],
    }
    providers = document.get("provider", {}).get("aws", [])
    override: dict = {
        "provider": {"aws": [{**connection, **({"alias": p["alias"]} if "alias" in p else {})} for p in providers]},
        "terraform": {"backend": backend.backend(stack)},
    }
    remote_states = document.get("data", {}).get("terraform_remote_state", {})
    if remote_states:
        override["data"] = {
            "terraform_remote_state": {
                name: backend.remote_state(_referenced_stack(block)) for name, block in remote_states.items()
            }
        }
    return override


def prepare_working_copy(stack: Stack, work_root: Path, endpoint: str, backend: LocalBackend | S3Backend) -> Path:
    target = work_root / stack.name
    shutil.copytree(stack.directory, target, ignore=shutil.ignore_patterns(".terraform", "*.tfstate*", ".validated*"))
    override = override_document(stack.document(), stack.name, endpoint, backend)
    (target / OVERRIDE_FILE).write_text(json.dumps(override, indent=1, sort_keys=True) + "\n")
    return target


# Variables that could point terraform at a real account, or at credentials other than the emulator's.
_AWS_ENVIRONMENT = (
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_ENDPOINT_URL",
)
# A proxy on the discard port: any request that is not for loopback (which Go never proxies) fails at once
# instead of reaching the internet, should an endpoint ever be missing from the override.
_DEAD_PROXY = "http://127.0.0.1:9"


class Terraform(terraform_runner.Terraform):
    """terraform isolated from every real account: no AWS credentials or profiles, and a dead proxy for anything
    not on loopback (``terraform init`` is exempt: it installs the provider from the mirror or the registry)."""

    def __init__(self, directory: Path, log_dir: Path):
        base = terraform_cli.terraform_env(terraform_cli.write_cli_config())
        for name in _AWS_ENVIRONMENT:
            base.pop(name, None)
        base["AWS_EC2_METADATA_DISABLED"] = "true"
        env = {**base, "HTTPS_PROXY": _DEAD_PROXY, "HTTP_PROXY": _DEAD_PROXY, "NO_PROXY": "127.0.0.1,localhost"}
        for name in ("https_proxy", "http_proxy", "no_proxy", "ALL_PROXY", "all_proxy"):
            env.pop(name, None)
        super().__init__(directory, log_dir, env=env, init_env=base)


def managed_resources(state: dict) -> list[dict]:
    """Managed resources of a ``terraform show -json`` state, child modules included."""
    found: list[dict] = []
    modules = [state.get("values", {}).get("root_module", {})]
    while modules:
        module = modules.pop()
        found.extend(r for r in module.get("resources", []) if r.get("mode") == "managed")
        modules.extend(module.get("child_modules", []))
    return found

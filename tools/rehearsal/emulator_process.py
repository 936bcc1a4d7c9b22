"""The emulator process: moto's own server, started once the emulated account holds what the stacks expect.

    python -m tools.rehearsal.emulator_process --port PORT --seed seed.json

Two kinds of preparation, both listed in README "Deploy rehearsal" and nothing else:

* Seeds. A real account holds things no stack creates: ACM certificates issued out of band (their ARNs are
  in the environment's config) and AWS-managed public Lambda layers (Powertools). moto refuses an HTTPS
  listener whose certificate, and a function whose layer, it does not know, and its API cannot create either
  under a given ARN; so they are put into moto's backends with exactly the ARNs the stacks use, and the
  artefact is applied unchanged and plans without drift.
* Emulator fixes: moto defects (a missing API, a crash) that no configuration of the stacks can avoid. Each
  fix names the moto behaviour it replaces; delete a fix and the rehearsal fails at that resource again.

It runs in its own process group, so that the rehearsal can always kill it, whatever state it is in.
"""

from __future__ import annotations

import argparse
import base64
import json
from pathlib import Path

from moto.core.config import default_user_config
from moto.core.models import DEFAULT_ACCOUNT_ID

# A rehearsal invokes two functions: Secrets Manager's RotateSecret (rotate_immediately) the rotation function,
# and the data stack's aws_lambda_invocation the database bootstrap. moto's default backend would try to run
# them in Docker; the no-Docker backend records the invocation and answers "Simple Lambda happy path OK"
# without running code, so the rehearsal proves the invocation is wired, not that the code works (the rotation
# and bootstrap code run against a real PostgreSQL in tests/test_secret_rotation.py and tests/test_db_bootstrap.py).
NO_DOCKER = {"use_docker": False}
AWS_DEFAULT_RDS_CA = "rds-ca-rsa2048-g1"
EMPTY_ZIP = base64.b64encode(b"PK\x05\x06" + b"\x00" * 18).decode()


def seed_certificate(arn: str) -> None:
    from moto.acm.models import CertBundle, acm_backends

    region = arn.split(":")[3]
    bundle = CertBundle.generate_cert("rehearsal.invalid", account_id=DEFAULT_ACCOUNT_ID, region=region)
    bundle.arn = arn
    acm_backends[DEFAULT_ACCOUNT_ID][region]._certificates[arn] = bundle


def seed_layer_version(arn: str) -> None:
    """moto finds a layer version by name and number, so versions 1..N of the layer are published."""
    from moto.awslambda.models import LayerVersion
    from moto.awslambda.utils import get_backend

    _, _, _, region, owner, _, name, version = arn.split(":")
    storage = get_backend(DEFAULT_ACCOUNT_ID, region)._layers
    for _ in range(int(version)):
        spec = {"LayerName": name, "Content": {"ZipFile": EMPTY_ZIP}, "Description": "rehearsal stand-in"}
        storage.put_layer_version(LayerVersion(spec, account_id=owner, region=region))


def fix_application_autoscaling_tags() -> None:
    """moto implements no tagging API for Application Auto Scaling: ListTagsForResource answers HTTP 500
    ("not implemented"), so the provider cannot read back any aws_appautoscaling_target (every taggable
    resource carries the cost-allocation tags). Tags given at registration or later are kept in memory."""
    from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse
    from moto.utilities.tagging_service import TaggingService

    store = TaggingService()
    register = ApplicationAutoScalingResponse.register_scalable_target

    def register_scalable_target(self) -> str:
        body = register(self)
        tags = self._get_param("Tags") or {}
        store.tag_resource(json.loads(body)["ScalableTargetARN"], [{"Key": k, "Value": v} for k, v in tags.items()])
        return body

    def tag_resource(self) -> str:
        tags = self._get_param("Tags") or {}
        store.tag_resource(self._get_param("ResourceARN"), [{"Key": k, "Value": v} for k, v in tags.items()])
        return "{}"

    def untag_resource(self) -> str:
        store.untag_resource_using_names(self._get_param("ResourceARN"), self._get_param("TagKeys") or [])
        return "{}"

    def list_tags_for_resource(self) -> str:
        return json.dumps({"Tags": store.get_tag_dict_for_resource(self._get_param("ResourceARN"))})

    ApplicationAutoScalingResponse.register_scalable_target = register_scalable_target
    ApplicationAutoScalingResponse.tag_resource = tag_resource
    ApplicationAutoScalingResponse.untag_resource = untag_resource
    ApplicationAutoScalingResponse.list_tags_for_resource = list_tags_for_resource


def fix_s3_logging_target_check() -> None:
    """moto validates PutBucketLogging against the target bucket's policy and crashes (HTTP 500,
    AttributeError) on any statement whose Principal is the string "*", as in every TLS-only policy; the
    check would also make the result depend on whether Terraform happened to write the target's policy
    first. The target-bucket checks that do not crash (existence, same region) are kept."""
    from moto.s3.models import FakeBucket

    FakeBucket._log_permissions_enabled_policy = staticmethod(lambda target_bucket, target_prefix: True)


def fix_cloudwatch_composite_alarms() -> None:
    """moto models composite alarms (an alarm with an AlarmRule; its PutMetricAlarm handler reads AlarmRule "to
    re-use this method for composite alarms") but routes no PutCompositeAlarm to it: HTTP 500, not implemented."""
    from moto.cloudwatch.responses import CloudWatchResponse

    CloudWatchResponse.put_composite_alarm = CloudWatchResponse.put_metric_alarm


def fix_rds_default_ca() -> None:
    """moto gives a new DB instance the CA "rds-ca-default"; AWS has given rds-ca-rsa2048-g1 since 2024. With
    moto's value the provider follows every create of an instance that names rds-ca-rsa2048-g1 with a
    ModifyDBInstance and fixed waits, about 2.5 minutes per rehearsal that a real apply does not spend."""
    from moto.rds.models import DBInstance

    init = DBInstance.__init__

    def __init__(self, *args, **kwargs) -> None:
        kwargs["ca_certificate_identifier"] = kwargs.get("ca_certificate_identifier") or AWS_DEFAULT_RDS_CA
        init(self, *args, **kwargs)

    DBInstance.__init__ = __init__


def fix_backup_selections_and_vault_policies() -> None:
    """moto's AWS Backup has plans, vaults and Vault Lock but no backup selections (Create/Get/Delete
    BackupSelection: HTTP 500, not implemented) and no vault access policies (Put/Get/DeleteBackupVaultAccess
    Policy: no route, HTTP 404). Both are kept in memory with the fields the API returns."""
    import uuid

    from moto.backup import urls
    from moto.backup.exceptions import ResourceNotFoundException
    from moto.backup.responses import BackupResponse
    from moto.core.utils import unix_time

    urls.url_paths.setdefault("{0}/backup-vaults/(?P<name>[^/]+)/access-policy$", urls.response.dispatch)

    def selections(self) -> dict:
        return self.backup_backend.__dict__.setdefault("rehearsal_selections", {})

    def policies(self) -> dict:
        return self.backup_backend.__dict__.setdefault("rehearsal_vault_policies", {})

    def selection_path(self) -> tuple[str, str]:
        parts = self.path.rstrip("/").split("/")
        plan = parts[parts.index("plans") + 1]
        return plan, parts[-1] if parts[-1] != "selections" else ""

    def create_backup_selection(self) -> str:
        plan, _ = selection_path(self)
        self.backup_backend.get_backup_plan(backup_plan_id=plan, version_id=None)  # 404 for an unknown plan
        params = json.loads(self.body)
        selection_id = str(uuid.uuid4())
        selections(self)[(plan, selection_id)] = {
            "BackupSelection": params["BackupSelection"],
            "SelectionId": selection_id,
            "BackupPlanId": plan,
            "CreationDate": unix_time(),
            "CreatorRequestId": params.get("CreatorRequestId"),
        }
        found = selections(self)[(plan, selection_id)]
        return json.dumps({key: found[key] for key in ("SelectionId", "BackupPlanId", "CreationDate")})

    def get_backup_selection(self) -> str:
        key = selection_path(self)
        if key not in selections(self):
            raise ResourceNotFoundException(msg=f"Backup selection {key[1]} not found")
        return json.dumps({k: v for k, v in selections(self)[key].items() if v is not None})

    def delete_backup_selection(self) -> str:
        key = selection_path(self)
        if selections(self).pop(key, None) is None:
            raise ResourceNotFoundException(msg=f"Backup selection {key[1]} not found")
        return "{}"

    def vault_name(self) -> str:
        return self.path.rstrip("/").split("/")[-2]

    def put_backup_vault_access_policy(self) -> str:
        vault = self.backup_backend.describe_backup_vault(vault_name(self))
        policies(self)[vault.backup_vault_name] = json.loads(self.body)["Policy"]
        return "{}"

    def get_backup_vault_access_policy(self) -> str:
        vault = self.backup_backend.describe_backup_vault(vault_name(self))
        if vault.backup_vault_name not in policies(self):
            raise ResourceNotFoundException(msg=f"Backup vault {vault.backup_vault_name} has no access policy")
        return json.dumps(
            {
                "BackupVaultName": vault.backup_vault_name,
                "BackupVaultArn": vault.backup_vault_arn,
                "Policy": policies(self)[vault.backup_vault_name],
            }
        )

    def delete_backup_vault_access_policy(self) -> str:
        policies(self).pop(vault_name(self), None)
        return "{}"

    for handler in (
        create_backup_selection,
        get_backup_selection,
        delete_backup_selection,
        put_backup_vault_access_policy,
        get_backup_vault_access_policy,
        delete_backup_vault_access_policy,
    ):
        setattr(BackupResponse, handler.__name__, handler)


def fix_backup_list_tags_path() -> None:
    """moto's AWS Backup ListTags takes the resource ARN from the second-to-last path segment, i.e. it expects
    GET /tags/{arn}/ with a trailing slash (as boto3 sends it); the provider sends GET /tags/{arn}, so moto reads
    the ARN as "tags", answers no tags, and every tagged vault and plan plans a tag change (found by the
    rehearsal). The ARN is read as everything after /tags/."""
    from urllib.parse import unquote

    from moto.backup.responses import BackupResponse

    def list_tags(self) -> str:
        resource_arn = unquote(self.path.split("/tags/", 1)[1].split("?", 1)[0].rstrip("/"))
        return json.dumps({"Tags": self.backup_backend.list_tags(resource_arn=resource_arn)})

    BackupResponse.list_tags = list_tags


def fix_security_hub_standards_and_configuration() -> None:
    """moto's Security Hub enables the hub but routes none of the standards APIs (BatchEnableStandards,
    GetEnabledStandards, BatchDisableStandards: HTTP 404) and has no UpdateSecurityHubConfiguration (HTTP 500),
    which the provider calls after every EnableSecurityHub. Subscriptions are kept in memory and are READY at once,
    as a real subscription becomes within minutes; the configuration is kept and returned by DescribeHub."""
    from moto.securityhub import urls
    from moto.securityhub.responses import SecurityHubResponse

    for path in ("{0}/standards/register$", "{0}/standards/get$", "{0}/standards/deregister$"):
        urls.url_paths.setdefault(path, SecurityHubResponse.dispatch)

    def subscriptions(self) -> dict:
        return self.securityhub_backend.__dict__.setdefault("rehearsal_standards", {})

    def subscription_arn(self, standards_arn: str) -> str:
        standard = standards_arn.split(":standards/", 1)[-1].split(":ruleset/", 1)[-1]
        return f"arn:aws:securityhub:{self.region}:{self.current_account}:subscription/{standard}"

    def batch_enable_standards(self) -> str:
        enabled = []
        for request in json.loads(self.body)["StandardsSubscriptionRequests"]:
            arn = subscription_arn(self, request["StandardsArn"])
            subscriptions(self)[arn] = {
                "StandardsSubscriptionArn": arn,
                "StandardsArn": request["StandardsArn"],
                "StandardsInput": request.get("StandardsInput", {}),
                "StandardsStatus": "READY",
            }
            enabled.append(subscriptions(self)[arn])
        return json.dumps({"StandardsSubscriptions": enabled})

    def get_enabled_standards(self) -> str:
        wanted = json.loads(self.body or "{}").get("StandardsSubscriptionArns")
        found = [s for arn, s in subscriptions(self).items() if not wanted or arn in wanted]
        return json.dumps({"StandardsSubscriptions": found})

    def batch_disable_standards(self) -> str:
        disabled = []
        for arn in json.loads(self.body)["StandardsSubscriptionArns"]:
            subscription = subscriptions(self).pop(arn, None)
            if subscription is not None:
                disabled.append({**subscription, "StandardsStatus": "DELETING"})
        return json.dumps({"StandardsSubscriptions": disabled})

    def configuration(self) -> dict:
        return self.securityhub_backend.__dict__.setdefault("rehearsal_configuration", {})

    def update_security_hub_configuration(self) -> str:
        params = json.loads(self.body or "{}")
        configuration(self).update(
            {key: params[key] for key in ("AutoEnableControls", "ControlFindingGenerator") if key in params}
        )
        return "{}"

    describe = SecurityHubResponse.describe_hub

    def describe_hub(self) -> str:
        return json.dumps({**json.loads(describe(self)), **configuration(self)})

    for handler in (
        batch_enable_standards,
        get_enabled_standards,
        batch_disable_standards,
        update_security_hub_configuration,
        describe_hub,
    ):
        setattr(SecurityHubResponse, handler.__name__, handler)


def fix_guardduty_detector_features() -> None:
    """moto's UpdateDetector replaces the detector's feature list with the request's, while AWS updates only the
    features named: the provider enables each protection plan with its own UpdateDetector call, so with moto
    only the last one would remain. Features are merged by name."""
    from moto.guardduty.models import Detector

    update = Detector.update

    def merged_update(self, enable, finding_publishing_frequency, data_sources, features) -> None:
        if features is not None:
            by_name = {feature.get("name"): feature for feature in self.features}
            by_name.update({feature.get("name"): feature for feature in features})
            features = list(by_name.values())
        update(self, enable, finding_publishing_frequency, data_sources, features)

    Detector.update = merged_update


EMULATOR_FIXES = (
    fix_application_autoscaling_tags,
    fix_s3_logging_target_check,
    fix_cloudwatch_composite_alarms,
    fix_rds_default_ca,
    fix_backup_selections_and_vault_policies,
    fix_backup_list_tags_path,
    fix_security_hub_standards_and_configuration,
    fix_guardduty_detector_features,
)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--seed", type=Path, required=True)
    args = parser.parse_args(argv)
    seed = json.loads(args.seed.read_text())
    default_user_config["lambda"] = dict(NO_DOCKER)
    for fix in EMULATOR_FIXES:
        fix()
    for certificate in seed["certificates"]:
        seed_certificate(certificate)
    for layer in seed["layers"]:
        seed_layer_version(layer)

    from moto.server import main as moto_server

    moto_server(["--host", "127.0.0.1", "--port", str(args.port)])


if __name__ == "__main__":
    main()

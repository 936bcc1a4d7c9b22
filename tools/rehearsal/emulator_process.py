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


EMULATOR_FIXES = (
    fix_application_autoscaling_tags,
    fix_s3_logging_target_check,
    fix_cloudwatch_composite_alarms,
    fix_rds_default_ca,
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

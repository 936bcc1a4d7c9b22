"""The emulator fixes the audit stack needs (tools/rehearsal/emulator_process.py) behave as the AWS APIs they
stand in for: backup selections and vault access policies round-trip, Security Hub standards subscriptions
become READY and go away, GuardDuty protection plans enabled one call at a time all stay enabled.
Run in a subprocess: the fixes patch moto's classes, and no other test should see them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from tests.conftest import REPO_ROOT

SCRIPT = textwrap.dedent(
    """
    import json
    import boto3
    from botocore.exceptions import ClientError
    from moto import mock_aws
    from tools.rehearsal import emulator_process

    before = {}
    with mock_aws():
        for name, call in (
            ("backup_selection", lambda: boto3.client("backup", "us-east-1").get_backup_selection(
                BackupPlanId="x", SelectionId="y")),
            ("standards", lambda: boto3.client("securityhub", "us-east-1").get_enabled_standards()),
            ("hub_configuration", lambda: boto3.client("securityhub", "us-east-1").update_security_hub_configuration(
                AutoEnableControls=True)),
        ):
            try:
                call()
                before[name] = "ok"
            except Exception as error:
                before[name] = type(error).__name__

    for fix in emulator_process.EMULATOR_FIXES:
        fix()
    out = {"before": before}
    with mock_aws():
        backup = boto3.client("backup", "us-east-1")
        backup.create_backup_vault(BackupVaultName="v")
        plan = backup.create_backup_plan(BackupPlan={"BackupPlanName": "p", "Rules": [
            {"RuleName": "daily", "TargetBackupVaultName": "v", "ScheduleExpression": "cron(0 5 * * ? *)"}]})
        selection = {"SelectionName": "s", "IamRoleArn": "arn:aws:iam::123456789012:role/b",
                     "Resources": ["arn:aws:dynamodb:us-east-1:123456789012:table/t"]}
        created = backup.create_backup_selection(BackupPlanId=plan["BackupPlanId"], BackupSelection=selection)
        got = backup.get_backup_selection(BackupPlanId=plan["BackupPlanId"], SelectionId=created["SelectionId"])
        out["selection"] = got["BackupSelection"]
        backup.delete_backup_selection(BackupPlanId=plan["BackupPlanId"], SelectionId=created["SelectionId"])
        try:
            backup.get_backup_selection(BackupPlanId=plan["BackupPlanId"], SelectionId=created["SelectionId"])
        except ClientError as error:
            out["selection_after_delete"] = error.response["Error"]["Code"]
        policy = json.dumps({"Version": "2012-10-17", "Statement": []})
        backup.put_backup_vault_access_policy(BackupVaultName="v", Policy=policy)
        out["policy"] = backup.get_backup_vault_access_policy(BackupVaultName="v")["Policy"] == policy
        backup.delete_backup_vault_access_policy(BackupVaultName="v")
        try:
            backup.get_backup_vault_access_policy(BackupVaultName="v")
        except ClientError as error:
            out["policy_after_delete"] = error.response["Error"]["Code"]

        hub = boto3.client("securityhub", "us-east-1")
        hub.enable_security_hub(EnableDefaultStandards=False, ControlFindingGenerator="SECURITY_CONTROL")
        hub.update_security_hub_configuration(AutoEnableControls=False)
        out["hub"] = hub.describe_hub()
        arn = "arn:aws:securityhub:us-east-1::standards/pci-dss/v/4.0.1"
        [subscription] = hub.batch_enable_standards(
            StandardsSubscriptionRequests=[{"StandardsArn": arn}])["StandardsSubscriptions"]
        out["subscription"] = subscription
        out["enabled"] = hub.get_enabled_standards(
            StandardsSubscriptionArns=[subscription["StandardsSubscriptionArn"]])["StandardsSubscriptions"]
        hub.batch_disable_standards(StandardsSubscriptionArns=[subscription["StandardsSubscriptionArn"]])
        out["enabled_after_disable"] = hub.get_enabled_standards()["StandardsSubscriptions"]

        guardduty = boto3.client("guardduty", "us-east-1")
        detector = guardduty.create_detector(Enable=True)["DetectorId"]
        for name in ("S3_DATA_EVENTS", "RDS_LOGIN_EVENTS", "LAMBDA_NETWORK_LOGS"):
            guardduty.update_detector(DetectorId=detector, Features=[{"Name": name, "Status": "ENABLED"}])
        guardduty.update_detector(DetectorId=detector, Features=[{"Name": "RDS_LOGIN_EVENTS", "Status": "DISABLED"}])
        out["features"] = {f["Name"]: f["Status"] for f in guardduty.get_detector(DetectorId=detector)["Features"]}

    # The provider's ListTags path has no trailing slash: GET /tags/{arn} (raw request to a moto server).
    import urllib.request
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    try:
        client = boto3.client("backup", "us-east-1", endpoint_url=f"http://{host}:{port}")
        vault = client.create_backup_vault(BackupVaultName="tagged", BackupVaultTags={"PciScope": "in-scope"})
        request = urllib.request.Request(
            f"http://{host}:{port}/tags/{vault['BackupVaultArn']}",
            headers={"Authorization": "AWS4-HMAC-SHA256 Credential=testing/20261201/us-east-1/backup/aws4_request, "
                                      "SignedHeaders=host, Signature=0"},
        )
        out["tags_without_slash"] = json.loads(urllib.request.urlopen(request).read())["Tags"]
        out["tags_with_slash"] = client.list_tags(ResourceArn=vault["BackupVaultArn"])["Tags"]
    finally:
        server.stop()
    print(json.dumps(out, default=str))
    """
)


def test_emulator_fixes_stand_in_for_the_missing_apis():
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1")
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    # Without the fixes moto cannot answer (the fixes are needed, not decoration).
    assert "ok" not in out["before"].values(), out["before"]
    assert out["selection"]["Resources"] == ["arn:aws:dynamodb:us-east-1:123456789012:table/t"]
    assert out["selection_after_delete"] == "ResourceNotFoundException"
    assert out["policy"] is True and out["policy_after_delete"] == "ResourceNotFoundException"
    assert out["hub"]["AutoEnableControls"] is False and out["hub"]["ControlFindingGenerator"] == "SECURITY_CONTROL"
    assert out["subscription"]["StandardsStatus"] == "READY"
    assert out["subscription"]["StandardsSubscriptionArn"].endswith(":subscription/pci-dss/v/4.0.1")
    assert [s["StandardsArn"] for s in out["enabled"]] == ["arn:aws:securityhub:us-east-1::standards/pci-dss/v/4.0.1"]
    assert out["enabled_after_disable"] == []
    assert out["tags_without_slash"] == out["tags_with_slash"] == {"PciScope": "in-scope"}
    assert out["features"] == {
        "S3_DATA_EVENTS": "ENABLED",
        "RDS_LOGIN_EVENTS": "DISABLED",
        "LAMBDA_NETWORK_LOGS": "ENABLED",
    }

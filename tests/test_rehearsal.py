"""The deploy rehearsal (tools/rehearse.py). The full seven-stack rehearsal runs in CI as `make rehearse`; here the
machinery is exercised on a small hand-written fixture stack, on the real emulator and terraform."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.synth import VERSIONS_FILE
from tools.rehearsal import drift, smoke
from tools.rehearsal.emulator import Emulator, port_open
from tools.rehearsal.stacks import Stack, UsageError, external_references, load_stacks
from tools.rehearsal.workspace import (
    OVERRIDE_FILE,
    LocalBackend,
    S3Backend,
    Terraform,
    override_document,
    service_for,
)
from tools.terraform_runner import PLAN_FILE

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURE_STACK = "payments-dev-fixture"
GOOD_TABLE, BROKEN_TABLE = "payments-dev-fixture-good", "payments-dev-fixture-broken"


def _table(name: str, pitr: bool) -> dict:
    return {
        "name": name,
        "billing_mode": "PAY_PER_REQUEST",
        "hash_key": "id",
        "attribute": [{"name": "id", "type": "S"}],
        "point_in_time_recovery": {"enabled": pitr},
        "server_side_encryption": {"enabled": True, "kms_key_arn": "${aws_kms_key.dynamodb.arn}"},
    }


def write_fixture(synth_dir: Path) -> Path:
    """A one-stack synth: a DynamoDB table with PITR and one without (everything else as the checks expect), with
    the synth's versions.tf.json beside it."""
    stack_dir = synth_dir / "stacks" / FIXTURE_STACK
    stack_dir.mkdir(parents=True)
    document = {
        "terraform": {
            "required_providers": {"aws": {"source": "aws", "version": "5.100.0"}},
            "backend": {"local": {"path": f"../../../.terraform-state/{FIXTURE_STACK}.tfstate"}},
        },
        "provider": {"aws": [{"region": "us-east-1"}]},
        "resource": {
            "aws_kms_key": {"dynamodb": {"description": "fixture", "deletion_window_in_days": 7}},
            "aws_kms_alias": {
                "dynamodb": {"name": "alias/payments-dev/dynamodb", "target_key_id": "${aws_kms_key.dynamodb.id}"}
            },
            "aws_dynamodb_table": {"good": _table(GOOD_TABLE, True), "broken": _table(BROKEN_TABLE, False)},
        },
    }
    (stack_dir / "cdk.tf.json").write_text(json.dumps(document, indent=2))
    (stack_dir / VERSIONS_FILE).write_text(json.dumps({"terraform": {"required_version": ">= 1.11"}}))
    manifest = {"stacks": {FIXTURE_STACK: {"workingDirectory": f"stacks/{FIXTURE_STACK}", "dependencies": []}}}
    (synth_dir / "manifest.json").write_text(json.dumps(manifest))
    return stack_dir


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


# -- without the emulator ---------------------------------------------------------------------------------------


def test_override_binds_provider_backend_and_remote_state_to_the_run(tmp_path):
    document = {
        "provider": {"aws": [{"region": "us-east-1"}]},
        "resource": {"aws_lambda_function": {}, "aws_cloudwatch_log_group": {}, "aws_vpc": {}},
        "data": {
            "aws_iam_policy_document": {},
            "terraform_remote_state": {
                "ref": {
                    "backend": "local",
                    "config": {"path": "../../../.terraform-state/payments-dev-network.tfstate"},
                }
            },
        },
        "ephemeral": {"aws_secretsmanager_random_password": {}},
    }
    override = override_document(document, "payments-dev-compute", "http://127.0.0.1:5555", LocalBackend(tmp_path))
    [provider] = override["provider"]["aws"]
    assert provider["endpoints"] == [
        {s: "http://127.0.0.1:5555" for s in ("ec2", "iam", "lambda", "logs", "secretsmanager", "sts")}
    ]
    assert (provider["access_key"], provider["secret_key"]) == ("testing", "testing")
    assert provider["skip_credentials_validation"] is True and provider["skip_metadata_api_check"] == "true"
    assert provider["s3_use_path_style"] is True
    assert "skip_requesting_account_id" not in provider  # see workspace.override_document
    assert override["terraform"]["backend"] == {"local": {"path": str(tmp_path / "payments-dev-compute.tfstate")}}
    assert override["data"]["terraform_remote_state"]["ref"] == {
        "backend": "local",
        "config": {"path": str(tmp_path / "payments-dev-network.tfstate")},
    }


def test_s3_override_locks_and_encrypts_state_and_reads_remote_state_from_the_bucket():
    backend = S3Backend("state-bucket", "payments-dev", "us-east-1", "arn:aws:kms:us-east-1:1:key/k", "http://127.0.0.1:1")
    document = {"data": {"terraform_remote_state": {"ref": {"config": {"path": "x/payments-dev-security.tfstate"}}}}}
    override = override_document(document, "payments-dev-network", "http://127.0.0.1:1", backend)
    s3 = override["terraform"]["backend"]["s3"]
    assert (s3["bucket"], s3["key"], s3["encrypt"], s3["use_lockfile"]) == (
        "state-bucket", "payments-dev/payments-dev-network.tfstate", True, True
    )
    assert s3["kms_key_id"] == backend.kms_key_id and s3["endpoints"]["s3"] == "http://127.0.0.1:1"
    remote = override["data"]["terraform_remote_state"]["ref"]
    assert remote["backend"] == "s3" and remote["config"]["key"] == "payments-dev/payments-dev-security.tfstate"


def test_a_service_without_a_known_endpoint_is_a_usage_error():
    with pytest.raises(UsageError, match="aws_bedrock_agent"):
        service_for("aws_bedrock_agent")
    assert service_for("aws_cloudwatch_log_group") == "logs"
    assert service_for("aws_cloudwatch_metric_alarm") == "cloudwatch"
    # The audit stack's services (the longest prefix wins over aws_cloudwatch_).
    assert service_for("aws_cloudwatch_event_rule") == "events"
    assert service_for("aws_config_config_rule") == "configservice"
    assert service_for("aws_cloudtrail") == "cloudtrail"
    types = ("aws_backup_selection", "aws_guardduty_detector_feature", "aws_securityhub_standards_subscription")
    assert [service_for(t) for t in types] == ["backup", "guardduty", "securityhub"]


def test_every_synthesized_type_of_every_environment_has_an_emulator_endpoint(synth_dir):
    for stack_file in (synth_dir / "stacks").glob("*/cdk.tf.json"):
        document = json.loads(stack_file.read_text())
        for section in ("resource", "data", "ephemeral"):
            for block_type in document.get(section, {}):
                if block_type.startswith("aws_"):
                    service_for(block_type)


def test_dev_stacks_apply_in_dependency_order_and_their_external_arns_are_seeded(synth_dir):
    stacks = load_stacks(synth_dir, "dev")
    assert [s.name.rsplit("-", 1)[1] for s in stacks] == [
        "security", "network", "data", "compute", "api", "monitoring", "audit"
    ]
    seed = external_references(stacks)
    assert len(seed["certificates"]) == 2  # the ALB's and the API domain's, from app/environments/dev.yaml
    assert [layer.split(":")[6] for layer in seed["layers"]] == ["AWSLambdaPowertoolsPythonV3-python312-arm64"]


def _change(actions, before, after, unknown=None, resource_type="aws_kms_key"):
    return {"mode": "managed", "type": resource_type, "address": f"{resource_type}.x",
            "change": {"actions": actions, "before": before, "after": after, "after_unknown": unknown or {}}}


def test_drift_is_judged_against_the_quirks_and_only_known_values_count():
    quirks = [drift.Quirk("aws_kms_key", "rotation_period_in_days", "moto returns 0")]
    plan = {"resource_changes": [
        _change(["update"], {"rotation_period_in_days": 0, "arn": "a"}, {"rotation_period_in_days": 365, "arn": None},
                {"arn": True}),
        _change(["no-op"], {"description": "a"}, {"description": "a"}),
    ]}
    verdict = drift.judge(drift.planned_changes(plan), quirks)
    assert verdict.drift == [] and len(verdict.tolerated) == 1
    plan["resource_changes"].append(_change(["update"], {"description": "a"}, {"description": "b"}))
    plan["resource_changes"].append(_change(["create"], None, {"alarm_name": "x"}, resource_type="aws_sns_topic"))
    verdict = drift.judge(drift.planned_changes(plan), quirks)
    assert verdict.drift == ["aws_kms_key.x: update (description)", "aws_sns_topic.x: create (the whole resource)"]


def test_every_quirk_names_type_attribute_and_reason():
    assert all(q.reason and q.attribute and q.resource_type.startswith("aws_") for q in drift.load_quirks())


HOSTILE_QUIRKS = {
    "missing reason": ("quirks:\n  - {resource_type: aws_kms_key, attribute: policy}\n", "lacks reason"),
    "blank reason": ("quirks:\n  - {resource_type: aws_kms_key, attribute: policy, reason: '  '}\n", "lacks reason"),
    "number for text": ("quirks:\n  - {resource_type: 7, attribute: policy, reason: r}\n", "lacks resource_type"),
    "entry not a mapping": ("quirks:\n  - aws_kms_key\n", "quirks\\[0\\] is 'aws_kms_key'"),
    "unknown field": ("quirks:\n  - {resource_type: a, attribute: b, reason: c, scope: all}\n", "unknown field"),
    "no quirks list": ("quirks: {a: 1}\n", "expected a mapping with a `quirks:` list"),
    "top-level list": ("- 1\n", "expected a mapping"),
    "empty file": ("", "expected a mapping"),
    "duplicate key": ("quirks: []\nquirks: []\n", "duplicate key"),
    "not UTF-8": (b"quirks: [\xff]\n", "not UTF-8"),
    "alias bomb": ("a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\n" for p, c in zip("abcdefgh", "bcdefghi")), "YAML"),
}


@pytest.mark.parametrize("text, message", HOSTILE_QUIRKS.values(), ids=HOSTILE_QUIRKS.keys())
def test_a_malformed_quirks_file_is_refused_naming_the_problem(tmp_path, text, message):
    quirks_file = tmp_path / "quirks.yaml"
    quirks_file.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(drift.QuirksError, match=message) as refused:
        drift.load_quirks(quirks_file)
    assert str(quirks_file) in str(refused.value)


def test_a_malformed_quirks_file_stops_the_rehearsal_before_the_emulator_starts(tmp_path, monkeypatch, capsys):
    from tools import rehearse

    synth_dir = tmp_path / "synth"
    write_fixture(synth_dir)
    quirks_file = tmp_path / "quirks.yaml"
    quirks_file.write_text("quirks:\n  - {resource_type: aws_kms_key}\n")
    monkeypatch.setattr(drift, "QUIRKS_FILE", quirks_file)
    work_dir = tmp_path / "work"
    assert rehearse.main(["--synth-dir", str(synth_dir), "--work-dir", str(work_dir)]) == 2
    assert "lacks attribute, reason" in capsys.readouterr().err
    assert not work_dir.exists()


def test_no_synth_is_a_usage_error(tmp_path):
    from tools.rehearse import main

    assert main(["--synth-dir", str(tmp_path / "missing")]) == 2


def _hostile_synth(tmp_path: Path, name: str, working: str) -> Path:
    synth_dir = tmp_path / "synth"
    write_fixture(synth_dir)
    manifest = {"stacks": {name: {"workingDirectory": working, "dependencies": []}}}
    (synth_dir / "manifest.json").write_text(json.dumps(manifest))
    return synth_dir


@pytest.mark.parametrize("name, working", [
    ("payments-dev-../../../outside", f"stacks/{FIXTURE_STACK}"),   # the name becomes a directory under the work dir
    ("payments-dev-fixture/../../x", f"stacks/{FIXTURE_STACK}"),
    (FIXTURE_STACK, "../outside"),                                    # the stack is read from outside the synth
    (FIXTURE_STACK, "/etc"),
    (FIXTURE_STACK, "."),
    (FIXTURE_STACK, "stacks/escape"),                                 # a symlink out of the synth
    (FIXTURE_STACK, 7),
])
def test_manifest_paths_are_confined_to_the_synth_and_the_work_directory(tmp_path, capsys, name, working):
    from tools.rehearse import main

    outside = tmp_path / "outside"
    (outside / "stacks" / FIXTURE_STACK).mkdir(parents=True)
    (outside / "stacks" / FIXTURE_STACK / "cdk.tf.json").write_text("{}")
    synth_dir = _hostile_synth(tmp_path, name, working)
    (synth_dir / "stacks" / "escape").symlink_to(outside / "stacks" / FIXTURE_STACK)
    with pytest.raises(UsageError, match=r"not a plain name|outside|workingDirectory"):
        load_stacks(synth_dir, "dev")
    work = tmp_path / "work" / "deeper"
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    assert main(["--synth-dir", str(synth_dir), "--work-dir", str(work), "--skip-real-account-checks"]) == 2
    err = capsys.readouterr().err
    assert "manifest.json" in err and "Traceback" not in err
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before  # nothing written anywhere, work dir included


def test_a_malformed_manifest_is_a_usage_error(tmp_path):
    synth_dir = tmp_path / "synth"
    write_fixture(synth_dir)
    for text in ("[]", "{\"stacks\": []}", "not json", "{}"):
        (synth_dir / "manifest.json").write_text(text)
        with pytest.raises(UsageError, match="not a cdktf manifest"):
            load_stacks(synth_dir, "dev")


# -- on the emulator --------------------------------------------------------------------------------------------


@pytest.fixture
def rehearsed_fixture(tmp_path, configs, terraform):
    from tools.rehearse import Rehearsal

    synth_dir = tmp_path / "synth"
    stack_dir = write_fixture(synth_dir)
    rehearsal = Rehearsal(load_stacks(synth_dir, "dev"), configs["dev"], "local", tmp_path / "run",
                          quirks=drift.load_quirks(), skip_real_account_checks=True)
    return rehearsal, rehearsal.run(), stack_dir


def test_smoke_check_fails_for_the_table_without_pitr_and_the_emulator_is_gone(rehearsed_fixture):
    rehearsal, report, stack_dir = rehearsed_fixture
    checks = {c.name: c for c in report.checks}
    assert set(checks) == {"data.dynamodb-pitr", "data.dynamodb-gsis", "data.dynamodb-cmk",
                           "deploy.required-version"}, report
    assert checks["deploy.required-version"].ok
    pitr = checks["data.dynamodb-pitr"]
    assert not pitr.ok
    assert BROKEN_TABLE in pitr.message and "point-in-time recovery is DISABLED" in pitr.message
    assert GOOD_TABLE not in pitr.message
    assert checks["data.dynamodb-gsis"].ok and checks["data.dynamodb-cmk"].ok
    assert not report.passed and any("smoke checks" in f for f in report.failures)
    # Everything else of the rehearsal ran and passed, through the deploy path: preflight (its real-account checks
    # skipped, and said so), plan, plan gate, apply of the saved plan; then drift plan, destroy, nothing left.
    phases = {p.name: p for p in report.phases}
    assert all(phases[name].ok for name in ("preflight", "plan", "apply", "drift plan", "destroy", "leftovers")), \
        report.phases
    assert "real-account checks SKIPPED" in phases["preflight"].detail
    assert any("real-account checks SKIPPED" in line for line in report.preflight)
    assert report.plans[0] == f"{FIXTURE_STACK}: 4 to add, 0 to change, 0 to destroy, 0 to replace"
    assert (rehearsal.work_dir / FIXTURE_STACK / PLAN_FILE).is_file()  # what was applied is the saved plan
    copied = rehearsal.work_dir / FIXTURE_STACK
    for name in ("cdk.tf.json", VERSIONS_FILE):  # the deploy path carries the whole configuration
        assert (copied / name).read_bytes() == (stack_dir / name).read_bytes()
    assert (copied / OVERRIDE_FILE).is_file()
    assert rehearsal.emulator.process is None
    assert not pid_alive(rehearsal.emulator.pid) and not port_open(rehearsal.emulator.port)


def test_without_the_explicit_option_the_rehearsal_stops_at_the_real_account_checks(tmp_path, capsys):
    from tools.rehearse import main

    synth_dir = tmp_path / "synth"
    write_fixture(synth_dir)
    assert main(["--synth-dir", str(synth_dir), "--work-dir", str(tmp_path / "run")]) == 1
    out = capsys.readouterr().out
    assert "preflight dev: NOT READY" in out and "account.id: 111111111111 is a sample account id" in out
    assert "emulator: pid" not in out and "FAIL preflight" in out


def test_sigterm_stops_the_rehearsal_and_its_emulator(tmp_path, terraform):
    synth_dir = tmp_path / "synth"
    write_fixture(synth_dir)
    process = subprocess.Popen(
        [sys.executable, "-m", "tools.rehearse", "--synth-dir", str(synth_dir), "--work-dir", str(tmp_path / "run"),
         "--skip-real-account-checks"],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        deadline = time.monotonic() + 120
        line = ""
        while not line.startswith("emulator: pid") and time.monotonic() < deadline:
            line = process.stdout.readline()
            assert line or process.poll() is None, "the rehearsal ended before starting the emulator"
        pid, port = int(line.split()[2]), int(line.rsplit(":", 1)[1])
        assert pid_alive(pid) and port_open(port)
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=60)[0]
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 1, output
    assert "interrupted by SIGTERM" in output
    assert not pid_alive(pid) and not port_open(port)


def test_a_call_that_is_not_for_the_emulator_never_leaves_loopback(tmp_path, terraform):
    """Should an endpoint ever be missing, the provider's request goes to the dead loopback proxy, not to AWS."""
    stack, logs = tmp_path / "stack", tmp_path / "logs"
    stack.mkdir()
    logs.mkdir()
    with Emulator(tmp_path, {"certificates": [], "layers": []}, "us-east-1") as emulator:
        connection = {"access_key": "testing", "secret_key": "testing", "skip_credentials_validation": True,
                      "max_retries": 1, "endpoints": [{"sts": emulator.endpoint, "iam": emulator.endpoint}]}
        document = {
            "terraform": {"required_providers": {"aws": {"source": "aws", "version": "5.100.0"}}},
            "provider": {"aws": [{"region": "us-east-1", **connection}]},
            "resource": {"aws_sqs_queue": {"queue": {"name": "payments-dev-nowhere"}}},
        }
        (stack / "main.tf.json").write_text(json.dumps(document))
        runner = Terraform(stack, logs)
        assert runner.init().ok
        assert runner.plan("plan", "nowhere.tfplan").returncode == 2
        apply = runner.apply_plan("nowhere.tfplan")
    assert not apply.ok
    error = " ".join(apply.errors().split())  # terraform wraps long diagnostics
    assert "sqs.us-east-1.amazonaws.com" in error and "proxyconnect tcp: dial tcp 127.0.0.1:9" in error



# -- the read-backs of issue 14's fixes, on the emulator ----------------------------------------------------------


def _stack_with(tmp_path: Path, resources: dict) -> Stack:
    directory = tmp_path / "stacks" / "payments-dev-readback"
    directory.mkdir(parents=True)
    (directory / "cdk.tf.json").write_text(json.dumps({"resource": resources}))
    return Stack("payments-dev-readback", directory, ())


@pytest.fixture
def emulator(tmp_path):
    with Emulator(tmp_path, {"certificates": [], "layers": []}, "us-east-1") as running:
        yield running


def _api_with_integration(emulator: Emulator, key: str) -> str:
    apigateway = emulator.client("apigateway")
    api = apigateway.create_rest_api(name="payments-dev-api")["id"]
    root = apigateway.get_resources(restApiId=api)["items"][0]["id"]
    apigateway.put_method(restApiId=api, resourceId=root, httpMethod="POST", authorizationType="AWS_IAM",
                          requestParameters={"method.request.header.Idempotency-Key": True})
    apigateway.put_integration(restApiId=api, resourceId=root, httpMethod="POST", type="HTTP_PROXY",
                               integrationHttpMethod="POST", uri="https://backend.internal/v1/payments",
                               requestParameters={key: "method.request.header.Idempotency-Key"})
    return api


@pytest.mark.parametrize("key, problem", [
    ("integration.request.header.Idempotency-Key", None),
    # the key app/stacks/api.py synthesized before issue 14 (split('.', 2) kept the word "request")
    ("integration.request.request.header.Idempotency-Key", "is not integration.request.<location>.<name>"),
    ("integration.request.body.Idempotency-Key", "is not integration.request.<location>.<name>"),
])
def test_integration_parameter_keys_are_read_back(tmp_path, configs, emulator, key, problem):
    _api_with_integration(emulator, key)
    stack = _stack_with(tmp_path, {
        "aws_api_gateway_rest_api": {"api": {"name": "payments-dev-api"}},
        "aws_api_gateway_integration": {"post": {"request_parameters": {key: "method.request.header.Idempotency-Key"}}},
    })
    [result] = [r for r in smoke.run_checks(emulator, configs["dev"], [stack], {})
                if r.name == "api.integration-parameters"]
    assert result.ok is (problem is None), result
    if problem:
        assert repr(key) in result.message and problem in result.message


@pytest.mark.parametrize("resources, allowed", [
    # before issue 14: only the execution log groups
    (["arn:aws:logs:us-east-1:123456789012:log-group:API-Gateway-Execution-Logs_*"], False),
    (["arn:aws:logs:us-east-1:123456789012:log-group:/payments/*",
      "arn:aws:logs:us-east-1:123456789012:log-group:/payments/*:log-stream:*"], True),
    # IAM's * spans ":" too: the group pattern covers its streams
    (["arn:aws:logs:us-east-1:123456789012:log-group:/payments/*"], True),
    # the group only: its streams cannot be written (PutLogEvents is on the stream)
    (["arn:aws:logs:us-east-1:123456789012:log-group:/payments/payments-dev-api/api-access"], False),
])
def test_the_api_gateway_account_role_is_read_back_against_the_access_log_group(tmp_path, configs, emulator,
                                                                                resources, allowed):
    iam, apigateway = emulator.client("iam"), emulator.client("apigateway")
    role = iam.create_role(RoleName="payments-dev-apigateway-cloudwatch", AssumeRolePolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                 "Principal": {"Service": "apigateway.amazonaws.com"}}]}))["Role"]
    iam.put_role_policy(RoleName=role["RoleName"], PolicyName="logs", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": resources,
                                                 "Action": ["logs:CreateLogStream", "logs:PutLogEvents"]}]}))
    apigateway.update_account(patchOperations=[{"op": "replace", "path": "/cloudwatchRoleArn", "value": role["Arn"]}])
    api = _api_with_integration(emulator, "integration.request.header.Idempotency-Key")
    deployment = apigateway.create_deployment(restApiId=api)["id"]
    group = "arn:aws:logs:us-east-1:123456789012:log-group:/payments/payments-dev-api/api-access"
    apigateway.create_stage(restApiId=api, stageName="v1", deploymentId=deployment)
    apigateway.update_stage(restApiId=api, stageName="v1", patchOperations=[
        {"op": "replace", "path": "/accessLogSettings/destinationArn", "value": group},
        {"op": "replace", "path": "/accessLogSettings/format", "value": "$context.requestId"}])
    stack = _stack_with(tmp_path, {"aws_api_gateway_rest_api": {"api": {"name": "payments-dev-api"}},
                                   "aws_api_gateway_account": {"account": {}}})
    [result] = [r for r in smoke.run_checks(emulator, configs["dev"], [stack], {})
                if r.name == "api.account-cloudwatch-role"]
    assert result.ok is allowed, result
    if not allowed:
        assert "payments-dev-apigateway-cloudwatch" in result.message and group in result.message


def test_required_version_is_read_from_the_configuration_that_was_applied(tmp_path, configs):
    copy = tmp_path / "payments-dev-fixture"
    copy.mkdir()
    (copy / "cdk.tf.json").write_text(json.dumps({"terraform": {"required_providers": {}}}))
    applied = {"payments-dev-fixture": Terraform(copy, tmp_path)}
    stack = _stack_with(tmp_path, {})
    [result] = [r for r in smoke.run_checks(None, configs["dev"], [stack], applied)
                if r.name == "deploy.required-version"]
    assert not result.ok and "payments-dev-fixture: no required_version" in result.message
    (copy / "versions.tf.json").write_text(json.dumps({"terraform": {"required_version": ">= 1.11"}}))
    [result] = [r for r in smoke.run_checks(None, configs["dev"], [stack], applied)
                if r.name == "deploy.required-version"]
    assert result.ok, result


@pytest.mark.parametrize("own_secret", [True, False])
def test_the_dms_target_endpoints_secret_is_read_back_and_is_not_the_master_secret(tmp_path, configs, emulator,
                                                                                    own_secret):
    rds, dms = emulator.client("rds"), emulator.client("dms")
    cluster = rds.create_db_cluster(DBClusterIdentifier="payments-dev-aurora", Engine="aurora-postgresql",
                                    MasterUsername="payments_admin", ManageMasterUserPassword=True)["DBCluster"]
    master = cluster["MasterUserSecret"]["SecretArn"]
    migration = emulator.client("secretsmanager").create_secret(Name="payments-dev/migration",
                                                                SecretString="{}")["ARN"]
    # the target as app/components/migration.py wrote it before issue 14: the RDS-managed master secret
    secret = migration if own_secret else master
    dms.create_endpoint(EndpointIdentifier="payments-dev-aurora-target", EndpointType="target",
                        EngineName="aurora-postgresql", DatabaseName="payments",
                        PostgreSQLSettings={"SecretsManagerSecretId": secret,
                                            "SecretsManagerAccessRoleArn": "arn:aws:iam::123456789012:role/dms"})
    stack = _stack_with(tmp_path, {"aws_dms_endpoint": {"target": {}}})
    [result] = [r for r in smoke.run_checks(emulator, configs["dev"], [stack], {})
                if r.name == "data.dms-target-secret"]
    assert result.ok is own_secret, result
    if not own_secret:
        assert "payments-dev-aurora-target" in result.message and master in result.message

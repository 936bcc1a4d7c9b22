"""Remote state on the emulator: an S3 bucket encrypted with a KMS key, locked by S3 native locking.

S3 native locking (``use_lockfile``, Terraform >= 1.10) writes ``<key>.tflock`` with a conditional PUT
(``If-None-Match: *``), which moto implements; no DynamoDB lock table is needed.
"""

from __future__ import annotations

import subprocess
import time

from botocore.exceptions import ClientError

from app.config import EnvironmentConfig
from tools.rehearsal.emulator import Emulator
from tools.rehearsal.workspace import S3Backend, Terraform

LOCK_WAIT_SECONDS = 60
LOCK_ERROR = "Error acquiring the state lock"


def create_state_bucket(emulator: Emulator, config: EnvironmentConfig) -> S3Backend:
    """The bucket and key a platform team creates once per account, before the first stack."""
    kms, s3 = emulator.client("kms"), emulator.client("s3")
    key = kms.create_key(Description=f"payments-{config.environment} terraform state (rehearsal)")["KeyMetadata"]
    account = emulator.client("sts").get_caller_identity()["Account"]
    bucket = f"payments-{config.environment}-tfstate-{account}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key["Arn"]}}]
        },
    )
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True,
        },
    )
    return S3Backend(bucket, f"payments-{config.environment}", config.region, key["Arn"], emulator.endpoint)


def owned_identifiers(backend: S3Backend) -> set[str]:
    return {backend.bucket, backend.kms_key_id.rsplit("/", 1)[-1]}


def _head(emulator: Emulator, backend: S3Backend, key: str) -> dict | None:
    try:
        return emulator.client("s3").head_object(Bucket=backend.bucket, Key=key)
    except ClientError:
        return None


def check_encrypted_state(emulator: Emulator, backend: S3Backend, stacks: list[str]) -> list[str]:
    problems = []
    for stack in stacks:
        key = backend.key(stack)
        head = _head(emulator, backend, key)
        if head is None:
            problems.append(f"no state object s3://{backend.bucket}/{key}")
        elif head.get("ServerSideEncryption") != "aws:kms" or head.get("SSEKMSKeyId") != backend.kms_key_id:
            problems.append(f"s3://{backend.bucket}/{key}: encryption {head.get('ServerSideEncryption')} with "
                            f"{head.get('SSEKMSKeyId')}; expected aws:kms with {backend.kms_key_id}")
        if _head(emulator, backend, f"{key}.tflock") is not None:
            problems.append(f"s3://{backend.bucket}/{key}.tflock is still there: a lock was not released")
    return problems


def check_lock_refuses_second_run(emulator: Emulator, backend: S3Backend, terraform: Terraform) -> list[str]:
    """Hold the stack's lock with one terraform (``console`` keeps it while it waits for input), show that a
    concurrent plan and apply are refused, then that they run once the holder has gone."""
    lock_key = f"{backend.key(terraform.stack)}.tflock"
    holder = terraform.start("lock-holder", ["console", "-no-color"])
    problems = []
    try:
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while _head(emulator, backend, lock_key) is None:
            if holder.poll() is not None or time.monotonic() > deadline:
                return [f"the first terraform never held the lock (no s3://{backend.bucket}/{lock_key}); "
                        f"see {terraform.log_dir}/{terraform.stack}.lock-holder.log"]
            time.sleep(0.2)
        for phase, args in (
            ("second-plan", ["plan", "-input=false", "-no-color", "-lock-timeout=0s"]),
            ("second-apply", ["apply", "-auto-approve", "-input=false", "-no-color", "-lock-timeout=0s"]),
        ):
            second = terraform.command(phase, args)
            if second.ok or LOCK_ERROR not in second.log.read_text():
                problems.append(f"a concurrent `terraform {args[0]}` was not refused by the lock "
                                f"(exit {second.returncode}; see {second.log})")
    finally:
        holder.stdin.close()
        try:
            holder.wait(timeout=30)
        except subprocess.TimeoutExpired:
            holder.kill()
            holder.wait()
    if _head(emulator, backend, lock_key) is not None:
        problems.append(f"s3://{backend.bucket}/{lock_key} remained after the holder exited")
    after = terraform.plan("plan-after-lock", "after-lock.tfplan")
    if after.returncode not in (0, 2):  # 2: the stack's emulator quirks, already judged by the drift plan
        problems.append(f"after the lock was released, plan still failed (exit 1; see {after.log})")
    return problems

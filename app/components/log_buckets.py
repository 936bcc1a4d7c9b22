"""S3 buckets for logs that must outlive any incident: versioned, lifecycle-managed (>= 90 days hot, nothing
expires before a year), public access blocked, bucket-owner enforced, TLS-only, optionally Object Locked."""

from __future__ import annotations

import json
from collections.abc import Sequence

from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket
from cdktf_cdktf_provider_aws.s3_bucket_lifecycle_configuration import (
    S3BucketLifecycleConfiguration,
    S3BucketLifecycleConfigurationRule,
    S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload,
    S3BucketLifecycleConfigurationRuleExpiration,
    S3BucketLifecycleConfigurationRuleFilter,
    S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration,
    S3BucketLifecycleConfigurationRuleTransition,
)
from cdktf_cdktf_provider_aws.s3_bucket_logging import S3BucketLoggingA
from cdktf_cdktf_provider_aws.s3_bucket_object_lock_configuration import (
    S3BucketObjectLockConfigurationA,
    S3BucketObjectLockConfigurationRuleA,
    S3BucketObjectLockConfigurationRuleDefaultRetentionA,
)
from cdktf_cdktf_provider_aws.s3_bucket_ownership_controls import (
    S3BucketOwnershipControls,
    S3BucketOwnershipControlsRule,
)
from cdktf_cdktf_provider_aws.s3_bucket_policy import S3BucketPolicy
from cdktf_cdktf_provider_aws.s3_bucket_public_access_block import S3BucketPublicAccessBlock
from cdktf_cdktf_provider_aws.s3_bucket_server_side_encryption_configuration import (
    S3BucketServerSideEncryptionConfigurationA,
    S3BucketServerSideEncryptionConfigurationRuleA,
    S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA,
)
from cdktf_cdktf_provider_aws.s3_bucket_versioning import S3BucketVersioningA, S3BucketVersioningVersioningConfiguration
from constructs import Construct

from app.components.iam import IamStatement
from app.config import AuditArchiveConfig

# Elastic Load Balancing's log-delivery accounts for regions that predate the logdelivery service principal.
ELB_LOG_DELIVERY_ACCOUNTS = {
    "us-east-1": "127311923021",
    "us-east-2": "033677994240",
    "us-west-1": "027434742980",
    "us-west-2": "797873946194",
    "eu-west-1": "156460612806",
    "eu-central-1": "054676820928",
}


def _deny_insecure_transport(bucket_arn: str) -> IamStatement:
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


class LogBucket(Construct):
    """``kms_key_arn=None`` means SSE-S3, only for AWS log deliveries that cannot write to SSE-KMS buckets."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        bucket_name: str,
        lifecycle: AuditArchiveConfig,
        kms_key_arn: str | None,
        object_lock: bool,
        extra_statements: Sequence[IamStatement] = (),
        access_log_bucket: LogBucket | None = None,
        access_log_prefix: str = "",
    ) -> None:
        super().__init__(scope, id_)
        self.bucket = S3Bucket(
            self,
            "bucket",
            bucket=bucket_name,
            object_lock_enabled=object_lock or None,
            force_destroy=False,
            tags={"Name": bucket_name},
        )
        self.arn: str = self.bucket.arn
        self.name: str = self.bucket.bucket
        self._block_public_access()
        self.versioning = S3BucketVersioningA(
            self,
            "versioning",
            bucket=self.bucket.id,
            versioning_configuration=S3BucketVersioningVersioningConfiguration(status="Enabled"),
        )
        self._build_encryption(kms_key_arn)
        if object_lock:
            self._build_object_lock(lifecycle)
        self._build_lifecycle(lifecycle)
        self.policy = S3BucketPolicy(
            self,
            "policy",
            bucket=self.bucket.id,
            policy=json.dumps(
                {"Version": "2012-10-17", "Statement": self._policy_statements(kms_key_arn, extra_statements)}
            ),
        )
        if access_log_bucket is not None:
            S3BucketLoggingA(
                self,
                "access-logging",
                bucket=self.bucket.id,
                target_bucket=access_log_bucket.bucket.id,
                target_prefix=access_log_prefix,
            )

    def _block_public_access(self) -> None:
        """No public ACL or policy, and ACLs disabled: the bucket owner owns every object."""
        S3BucketPublicAccessBlock(
            self,
            "public-access-block",
            bucket=self.bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
        )
        S3BucketOwnershipControls(
            self,
            "ownership",
            bucket=self.bucket.id,
            rule=S3BucketOwnershipControlsRule(object_ownership="BucketOwnerEnforced"),
        )

    def _build_encryption(self, kms_key_arn: str | None) -> None:
        by_default = S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
            sse_algorithm="aws:kms" if kms_key_arn else "AES256", kms_master_key_id=kms_key_arn
        )
        S3BucketServerSideEncryptionConfigurationA(
            self,
            "encryption",
            bucket=self.bucket.id,
            rule=[
                S3BucketServerSideEncryptionConfigurationRuleA(
                    apply_server_side_encryption_by_default=by_default, bucket_key_enabled=bool(kms_key_arn)
                )
            ],
        )

    def _build_object_lock(self, lifecycle: AuditArchiveConfig) -> None:
        S3BucketObjectLockConfigurationA(
            self,
            "object-lock",
            bucket=self.bucket.id,
            rule=S3BucketObjectLockConfigurationRuleA(
                default_retention=(
                    S3BucketObjectLockConfigurationRuleDefaultRetentionA(
                        mode=lifecycle.object_lock_mode, days=lifecycle.object_lock_retention_days
                    )
                )
            ),
            depends_on=[self.versioning],
        )

    def _build_lifecycle(self, lifecycle: AuditArchiveConfig) -> None:
        S3BucketLifecycleConfiguration(
            self,
            "lifecycle",
            bucket=self.bucket.id,
            depends_on=[self.versioning],
            rule=[
                S3BucketLifecycleConfigurationRule(
                    id="retain-then-archive",
                    status="Enabled",
                    filter=[S3BucketLifecycleConfigurationRuleFilter(prefix="")],
                    transition=[
                        S3BucketLifecycleConfigurationRuleTransition(days=t.days, storage_class=t.storage_class)
                        for t in lifecycle.transitions
                    ],
                    expiration=[S3BucketLifecycleConfigurationRuleExpiration(days=lifecycle.expiration_days)],
                    noncurrent_version_expiration=[
                        S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(
                            noncurrent_days=lifecycle.noncurrent_version_expiration_days
                        )
                    ],
                    abort_incomplete_multipart_upload=[
                        S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(days_after_initiation=7)
                    ],
                )
            ],
        )

    def _policy_statements(
        self, kms_key_arn: str | None, extra_statements: Sequence[IamStatement]
    ) -> list[IamStatement]:
        """TLS only, the given writers, and (SSE-KMS) no upload under another key or none."""
        statements = [_deny_insecure_transport(self.arn), *extra_statements]
        if kms_key_arn:
            statements += [
                {
                    "Sid": "DenyUploadsNotEncryptedWithTheBucketKey",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:PutObject",
                    "Resource": f"{self.arn}/*",
                    "Condition": {"StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption": "aws:kms"}},
                },
                {
                    "Sid": "DenyUploadsWithAnotherKmsKey",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:PutObject",
                    "Resource": f"{self.arn}/*",
                    "Condition": {
                        "StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption-aws-kms-key-id": kms_key_arn}
                    },
                },
            ]
        return statements


class LogArchive(Construct):
    """The audit-log archive (SSE-KMS, Object Lock) and the service-log bucket receiving its S3 server access
    logs and the ALB access logs. AWS delivers both of those only to SSE-S3 buckets: the service-log bucket's
    encryption is a recorded exception to "CMK everywhere" (policies/exceptions.yaml), not a silent gap."""

    S3_ACCESS_LOG_PREFIX = "s3-access/audit/"
    ALB_LOG_PREFIX = "alb"

    @staticmethod
    def audit_bucket_name(name_prefix: str, account_id: str) -> str:
        return f"{name_prefix}-audit-logs-{account_id}"

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        config: AuditArchiveConfig,
        name_prefix: str,
        account_id: str,
        partition: str,
        region: str,
        audit_key_arn: str,
        audit_writers: Sequence[IamStatement] = (),
    ):
        super().__init__(scope, id_)
        service_logs_name = f"{name_prefix}-service-logs-{account_id}"
        audit_name = self.audit_bucket_name(name_prefix, account_id)
        audit_arn = f"arn:{partition}:s3:::{audit_name}"
        service_logs_arn = f"arn:{partition}:s3:::{service_logs_name}"
        self.service_logs = LogBucket(
            self,
            "service-logs",
            bucket_name=service_logs_name,
            lifecycle=config,
            kms_key_arn=None,
            object_lock=False,
            extra_statements=self._service_log_writers(
                service_logs_arn, audit_arn=audit_arn, account_id=account_id, partition=partition, region=region
            ),
        )
        self.audit = LogBucket(
            self,
            "audit",
            bucket_name=audit_name,
            lifecycle=config,
            kms_key_arn=audit_key_arn,
            object_lock=True,
            extra_statements=audit_writers,
            access_log_bucket=self.service_logs,
            access_log_prefix=self.S3_ACCESS_LOG_PREFIX,
        )
        self.audit_name: str = self.audit.name
        self.audit_arn: str = self.audit.arn
        self.service_logs_name: str = self.service_logs.name

    def _service_log_writers(
        self, service_logs_arn: str, *, audit_arn: str, account_id: str, partition: str, region: str
    ) -> list[IamStatement]:
        """S3 server access logs of the audit bucket, and the ALB's access logs, each under its own prefix."""
        elb_account = ELB_LOG_DELIVERY_ACCOUNTS.get(region)
        elb_principal = (
            {"AWS": f"arn:{partition}:iam::{elb_account}:root"}
            if elb_account
            else {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}
        )
        return [
            {
                "Sid": "S3ServerAccessLogsFromTheAuditBucket",
                "Effect": "Allow",
                "Principal": {"Service": "logging.s3.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": f"{service_logs_arn}/{self.S3_ACCESS_LOG_PREFIX}*",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": account_id},
                    "ArnLike": {"aws:SourceArn": audit_arn},
                },
            },
            {
                "Sid": "AlbAccessLogs",
                "Effect": "Allow",
                "Principal": elb_principal,
                "Action": "s3:PutObject",
                "Resource": f"{service_logs_arn}/{self.ALB_LOG_PREFIX}/AWSLogs/{account_id}/*",
            },
        ]

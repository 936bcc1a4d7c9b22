"""Who may write into the audit-log archive, and use its key: the CloudTrail trail and AWS Config.

The archive (payments-<env>-data) and its key (payments-<env>-security) are built before the trail and the
recorder (payments-<env>-audit), so the grants name the writers by their deterministic names and ARNs instead
of cross-stack references; the audit stack builds them with the same functions, so the two cannot disagree.
Statements follow the AWS CloudTrail User Guide ("Amazon S3 bucket policy for CloudTrail", "Configure AWS KMS
key policies for CloudTrail") and the AWS Config Developer Guide ("Permissions for the Amazon S3 bucket",
"Permissions for the KMS key"), each scoped by aws:SourceArn or aws:SourceAccount against confused deputies.
"""

from __future__ import annotations

from app.components.iam import IamStatement
from app.components.kms import ServiceGrant

CLOUDTRAIL_SERVICE = "cloudtrail.amazonaws.com"
CONFIG_SERVICE = "config.amazonaws.com"
# Both services write below AWSLogs/<account>/ (Config: AWSLogs/<account>/Config/); no key prefix is configured.
AWS_LOGS_PREFIX = "AWSLogs"


def trail_name(name_prefix: str) -> str:
    return f"{name_prefix}-trail"


def trail_arn(*, partition: str, region: str, account_id: str, name_prefix: str) -> str:
    """A multi-Region trail's ARN names its home Region (the environment's)."""
    return f"arn:{partition}:cloudtrail:{region}:{account_id}:trail/{trail_name(name_prefix)}"


def bucket_statements(*, bucket_arn: str, trail: str, account_id: str, config_delivery: bool) -> list[IamStatement]:
    """Bucket-policy statements letting the trail (and, when this environment runs AWS Config, the delivery
    channel) check the bucket and write their log files under AWSLogs/<account>/."""
    statements: list[IamStatement] = [
        {
            "Sid": "CloudTrailAclCheck",
            "Effect": "Allow",
            "Principal": {"Service": CLOUDTRAIL_SERVICE},
            "Action": "s3:GetBucketAcl",
            "Resource": bucket_arn,
            "Condition": {"StringEquals": {"aws:SourceArn": trail}},
        },
        {
            "Sid": "CloudTrailWritesLogFiles",
            "Effect": "Allow",
            "Principal": {"Service": CLOUDTRAIL_SERVICE},
            "Action": "s3:PutObject",
            "Resource": f"{bucket_arn}/{AWS_LOGS_PREFIX}/{account_id}/*",
            "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control", "aws:SourceArn": trail}},
        },
    ]
    if config_delivery:
        source = {"StringEquals": {"aws:SourceAccount": account_id}}
        statements += [
            {
                "Sid": "ConfigBucketPermissionsCheck",
                "Effect": "Allow",
                "Principal": {"Service": CONFIG_SERVICE},
                "Action": "s3:GetBucketAcl",
                "Resource": bucket_arn,
                "Condition": source,
            },
            {
                "Sid": "ConfigBucketExistenceCheck",
                "Effect": "Allow",
                "Principal": {"Service": CONFIG_SERVICE},
                "Action": "s3:ListBucket",
                "Resource": bucket_arn,
                "Condition": source,
            },
            {
                "Sid": "ConfigDeliversSnapshotsAndHistory",
                "Effect": "Allow",
                "Principal": {"Service": CONFIG_SERVICE},
                "Action": "s3:PutObject",
                "Resource": f"{bucket_arn}/{AWS_LOGS_PREFIX}/{account_id}/Config/*",
                "Condition": {
                    "StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control", "aws:SourceAccount": account_id}
                },
            },
        ]
    return statements


def key_grants(*, partition: str, account_id: str, trail: str, config_delivery: bool) -> list[ServiceGrant]:
    """Key-policy grants on the archive's CMK: CloudTrail encrypts log and digest files for this trail only;
    the audit bucket uses an S3 Bucket Key, so CloudTrail also needs kms:Decrypt to create or update the trail;
    AWS Config encrypts what it delivers for this account."""
    by_trail = (("StringEquals", "aws:SourceArn", (trail,)),)
    grants = [
        ServiceGrant(
            sid="CloudTrailEncryptsLogFiles",
            service=CLOUDTRAIL_SERVICE,
            actions=("kms:GenerateDataKey*",),
            conditions=(
                *by_trail,
                (
                    "StringLike",
                    "kms:EncryptionContext:aws:cloudtrail:arn",
                    (f"arn:{partition}:cloudtrail:*:{account_id}:trail/*",),
                ),
            ),
        ),
        ServiceGrant(
            sid="CloudTrailDecryptsWithTheBucketKey",
            service=CLOUDTRAIL_SERVICE,
            actions=("kms:Decrypt",),
            conditions=by_trail,
        ),
        ServiceGrant(
            sid="CloudTrailDescribesKey", service=CLOUDTRAIL_SERVICE, actions=("kms:DescribeKey",), conditions=by_trail
        ),
    ]
    if config_delivery:
        grants.append(
            ServiceGrant(
                sid="ConfigEncryptsDeliveries",
                service=CONFIG_SERVICE,
                actions=("kms:Decrypt", "kms:GenerateDataKey"),
                conditions=(("StringEquals", "aws:SourceAccount", (account_id,)),),
            )
        )
    return grants

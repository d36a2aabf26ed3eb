"""Backup tier: a versioned, KMS-encrypted S3 bucket laid out as daily/ and weekly/ with Glacier lifecycle."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components._common import HardenedBucket, account_key_policy, assume_role_policy, bucket_arn, json_output, kms_key
from components._validation import CLOUDWATCH_RETENTION_DAYS, Checker, bounded

DAILY_PREFIX = "daily/"
WEEKLY_PREFIX = "weekly/"
ABORT_MULTIPART_DAYS = 7
_MAX_DAYS = 3650
LifecycleRule = aws.s3.BucketLifecycleConfigurationRuleArgsDict


@dataclass(frozen=True)
class BackupSettings:
    daily_glacier_after_days: int = bounded(0, _MAX_DAYS, default=30)
    daily_retention_days: int = bounded(1, _MAX_DAYS, default=120)
    weekly_deep_archive_after_days: int = bounded(0, _MAX_DAYS, default=7)
    weekly_retention_days: int = bounded(1, _MAX_DAYS, default=365)
    noncurrent_version_days: int = bounded(1, _MAX_DAYS, default=30)
    replication_region: str = ""

    def __post_init__(self) -> None:
        c = Checker("backup settings")
        c.declared(self, "daily_glacier_after_days", "daily_retention_days")
        c.require(self.daily_retention_days > self.daily_glacier_after_days, "daily_retention_days",
                  self.daily_retention_days,
                  f"must be greater than daily_glacier_after_days ({self.daily_glacier_after_days})")
        c.declared(self, "weekly_deep_archive_after_days", "weekly_retention_days")
        c.require(self.weekly_retention_days > self.weekly_deep_archive_after_days,
                  "weekly_retention_days", self.weekly_retention_days,
                  "must be greater than weekly_deep_archive_after_days "
                  f"({self.weekly_deep_archive_after_days})")
        c.declared(self, "noncurrent_version_days")
        c.region("replication_region", self.replication_region, optional=True)
        c.raise_if_any()

    def lifecycle_rules(self) -> list[LifecycleRule]:
        daily: LifecycleRule = {"id": "daily", "status": "Enabled", "filter": {"prefix": DAILY_PREFIX},
                       "expiration": {"days": self.daily_retention_days}}
        if self.daily_glacier_after_days:
            daily["transitions"] = [{"days": self.daily_glacier_after_days, "storage_class": "GLACIER"}]
        return [
            daily,
            {"id": "weekly", "status": "Enabled", "filter": {"prefix": WEEKLY_PREFIX},
             "transitions": [{"days": self.weekly_deep_archive_after_days,
                              "storage_class": "DEEP_ARCHIVE"}],
             "expiration": {"days": self.weekly_retention_days}},
            *_housekeeping_rules(self.noncurrent_version_days),
        ]


def _housekeeping_rules(noncurrent_days: int) -> list[LifecycleRule]:
    # An empty prefix is the whole bucket; an explicit filter keeps the rule unambiguous.
    return [
        {"id": "noncurrent-versions", "status": "Enabled", "filter": {"prefix": ""},
         "noncurrent_version_expiration": {"noncurrent_days": noncurrent_days},
         "expiration": {"expired_object_delete_marker": True}},
        {"id": "abort-incomplete-multipart", "status": "Enabled", "filter": {"prefix": ""},
         "abort_incomplete_multipart_upload": {"days_after_initiation": ABORT_MULTIPART_DAYS}},
    ]


@dataclass(frozen=True)
class BackupBucketArgs:
    #: Lifecycle days per prefix and the replication region (from stack config).
    settings: BackupSettings
    #: Tags for every taggable child.
    tags: dict[str, str]
    #: Expiry of the S3 server access logs, days: one of CloudWatch's values; default 30.
    log_retention_days: int = 30

    def __post_init__(self) -> None:
        c = Checker("backup bucket args")
        c.one_of("log_retention_days", self.log_retention_days, CLOUDWATCH_RETENTION_DAYS)
        c.raise_if_any()


class BackupBucket(pulumi.ComponentResource):
    """Where pg_dump archives land: daily/ to GLACIER, weekly/ to DEEP_ARCHIVE, access-logged."""

    def __init__(self, name: str, args: BackupBucketArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:storage:BackupBucket", name, None, opts)
        s = args.settings
        tags = args.tags
        child = pulumi.ResourceOptions(parent=self)

        key = kms_key(f"{name}-key", f"{name}: backup objects", tags, child, policy=account_key_policy(self))
        primary = HardenedBucket(f"{name}-bucket", tags=tags, opts=child, key=key, data_class="backup",
                                  lifecycle_rules=s.lifecycle_rules())

        logs = _access_logs(name, primary.bucket, tags, child, args.log_retention_days)

        self.replica_bucket_arn = None
        if s.replication_region:
            self.replica_bucket_arn = self._replicate(name, s, tags, key, primary, child,
                                                      args.log_retention_days)

        b = primary.bucket
        writer = aws.iam.Policy(
            f"{name}-writer-policy",
            description=f"Write-only access for the backup job to {name} (daily/ and weekly/)",
            policy=json_output({
                "Version": "2012-10-17",
                "Statement": [
                    {"Sid": "PutBackups", "Effect": "Allow",
                     "Action": ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
                     "Resource": [pulumi.Output.concat(b.arn, "/", DAILY_PREFIX, "*"),
                                  pulumi.Output.concat(b.arn, "/", WEEKLY_PREFIX, "*")]},
                    # kms:Decrypt is needed to complete SSE-KMS multipart uploads, not to read.
                    {"Sid": "EncryptBackups", "Effect": "Allow",
                     "Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Resource": key.arn},
                ],
            }),
            tags=tags, opts=child)

        backups = [pulumi.Output.concat(b.arn, "/", DAILY_PREFIX, "*"),
                   pulumi.Output.concat(b.arn, "/", WEEKLY_PREFIX, "*")]
        operator = aws.iam.Policy(
            f"{name}-operator-policy",
            description=f"`python -m ops backup|verify` on {name}: write, read back, list, and delete "
                        "only the object versions a failed run wrote",
            policy=json_output({
                "Version": "2012-10-17",
                "Statement": [
                    {"Sid": "Backups", "Effect": "Allow",
                     "Action": ["s3:PutObject", "s3:GetObject", "s3:GetObjectVersion", "s3:DeleteObjectVersion",
                                "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
                     "Resource": backups},
                    {"Sid": "ListBackups", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": b.arn,
                     "Condition": {"StringLike": {"s3:prefix": [f"{DAILY_PREFIX}*", f"{WEEKLY_PREFIX}*"]}}},
                    {"Sid": "EncryptBackups", "Effect": "Allow",
                     "Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Resource": key.arn},
                ],
            }),
            tags=tags, opts=child)

        self.bucket_name = b.bucket
        self.bucket_arn = b.arn
        self.operator_policy_arn = operator.arn
        self.kms_key_arn = key.arn
        self.log_bucket_name = logs.bucket.bucket
        self.writer_policy_arn = writer.arn
        self.register_outputs({
            "bucket_name": self.bucket_name,
            "bucket_arn": self.bucket_arn,
            "kms_key_arn": self.kms_key_arn,
            "log_bucket_name": self.log_bucket_name,
            "replica_bucket_arn": self.replica_bucket_arn,
            "writer_policy_arn": self.writer_policy_arn,
        })

    def _replicate(self, name, s, tags, key, primary, child, log_retention_days) -> pulumi.Output[str]:
        region = s.replication_region
        # The replication role reaches both keys through its IAM policy, which the account statement
        # of account_key_policy lets count.
        replica_key = kms_key(f"{name}-replica-key", f"{name}: replica in {region}", tags, child,
                              region=region, policy=account_key_policy(self))
        replica = HardenedBucket(f"{name}-replica", tags=tags, opts=child, key=replica_key,
                                  data_class="backup-replica", region=region,
                                  lifecycle_rules=s.lifecycle_rules())
        # Access logs stay in the replica's region: S3 delivers server access logs only in-region.
        _access_logs(f"{name}-replica", replica.bucket, tags, child, log_retention_days, region=region)
        src, dst = primary.bucket, replica.bucket
        role = aws.iam.Role(f"{name}-replication-role", assume_role_policy=assume_role_policy("s3.amazonaws.com"),
                            tags=tags, opts=child)
        aws.iam.RolePolicy(
            f"{name}-replication-policy", role=role.id,
            policy=json_output({
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"],
                     "Resource": src.arn},
                    {"Effect": "Allow",
                     "Action": ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl",
                                "s3:GetObjectVersionTagging"],
                     "Resource": pulumi.Output.concat(src.arn, "/*")},
                    {"Effect": "Allow", "Action": ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
                     "Resource": pulumi.Output.concat(dst.arn, "/*")},
                    {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key.arn},
                    {"Effect": "Allow", "Action": ["kms:Encrypt", "kms:GenerateDataKey"],
                     "Resource": replica_key.arn},
                ],
            }),
            opts=child)
        aws.s3.BucketReplicationConfig(
            f"{name}-replication", bucket=src.id, role=role.arn,
            rules=[{
                "id": "everything", "status": "Enabled", "priority": 1, "filter": {"prefix": ""},
                "delete_marker_replication": {"status": "Enabled"},
                "source_selection_criteria": {"sse_kms_encrypted_objects": {"status": "Enabled"}},
                "destination": {"bucket": dst.arn, "storage_class": "STANDARD",
                                "encryption_configuration": {"replica_kms_key_id": replica_key.arn}},
            }],
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(
                depends_on=[primary.versioning, replica.versioning])))
        return dst.arn


def _access_logs(name: str, source: aws.s3.Bucket, tags, opts, retention_days: int,
                 region: str | None = None) -> HardenedBucket:
    """An SSE-S3 log bucket (server access log targets cannot use SSE-KMS) and the source's logging."""
    def allow_log_delivery(log_bucket):
        # ARNs from the buckets' names (components/_common.py bucket_arn): known in preview.
        return [{
            "Sid": "AllowS3ServerAccessLogs", "Effect": "Allow",
            "Principal": {"Service": "logging.s3.amazonaws.com"}, "Action": "s3:PutObject",
            "Resource": pulumi.Output.concat(bucket_arn(opts.parent, log_bucket), "/*"),
            "Condition": {"ArnLike": {"aws:SourceArn": bucket_arn(opts.parent, source)}},
        }]

    logs = HardenedBucket(
        f"{name}-logs", tags=tags, opts=opts, data_class="logs", region=region,
        extra_statements=allow_log_delivery,
        lifecycle_rules=[
            {"id": "expire-logs", "status": "Enabled", "filter": {"prefix": ""},
             "expiration": {"days": retention_days}},
            *_housekeeping_rules(1),
        ])
    aws.s3.BucketLogging(
        f"{name}-access-logging", bucket=source.id, target_bucket=logs.bucket.id, region=region,
        target_prefix="s3-access/",
        target_object_key_format={"partitioned_prefix": {"partition_date_source": "EventTime"}},
        opts=opts)
    return logs

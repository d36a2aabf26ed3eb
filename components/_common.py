"""Small builders several tiers share: a rotating KMS key, the IAM trust document, a hardened bucket,
an encrypted log group."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

import pulumi
import pulumi_aws as aws

# A bucket policy statement; values may be Outputs (ARNs), which json_output resolves.
Statement = dict[str, object]


class _Slot(int):
    """Where json_output's n-th Output leaf goes back in."""


def json_output(value: object) -> pulumi.Output[str]:
    """`pulumi.Output.json_dumps(value)` for dicts (str keys), lists and tuples whose leaves may be
    Outputs: the same string, secrecy, dependencies and unknown-ness (any unknown leaf makes it unknown),
    through one Output.all over the leaves. The SDK lifts every nested container into an Output of its
    own and each of those walks its whole value for unknowns (pulumi/output.py from_input and
    _OutputData.__post_init__), quadratic in the document: an ECS task definition took a quarter of a
    staging evaluation."""
    leaves: list[pulumi.Output[object]] = []

    def hollow(v: object) -> object:
        if isinstance(v, pulumi.Output):
            leaves.append(v)
            return _Slot(len(leaves) - 1)
        if isinstance(v, dict):
            return {k: hollow(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [hollow(x) for x in v]
        return v

    def fill(v: object, values: list[object]) -> object:
        if isinstance(v, _Slot):
            return values[v]
        if isinstance(v, dict):
            return {k: fill(x, values) for k, x in v.items()}
        if isinstance(v, list):
            return [fill(x, values) for x in v]
        return v

    template = hollow(value)
    return pulumi.Output.all(*leaves).apply(lambda values: json.dumps(fill(template, values)))

# The tag on a secret that Secrets Manager does not rotate, saying why and how it is rotated instead
# (the policy pack's secrets-rotation rule reads it). Tag values allow letters, digits, spaces and
# _ . : / = + - @ only.
ROTATION_EXEMPT_TAG = "RotationExempt"


def rotation_exempt(tags: dict[str, str], reason: str) -> dict[str, str]:
    return {**tags, ROTATION_EXEMPT_TAG: reason}


# ---- ARNs a preview knows ---------------------------------------------------------------------
# The provider turns a policy document into one JSON string in Check, before the policy pack sees it,
# and that string is unknown in preview if any value in it is (pulumi-terraform-bridge
# pkg/tfbridge/transforms.go TransformJSONDocument; the engine hands Check's output to the analyzers,
# pulumi pkg/resource/deploy/step_generator.go): passing the document as an object instead of
# Output.json_dumps changes nothing there. A new resource's `arn` is unknown until it exists, but its
# name is not (the provider auto-names it in Check), so an ARN whose format AWS documents is built from
# the name, the account and the region: documents that name only such ARNs are judged in preview.
def partition_and_account(parent: pulumi.Resource) -> tuple[pulumi.Output[str], pulumi.Output[str]]:
    identity = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=parent))
    return identity.arn.apply(lambda arn: arn.split(":")[1]), identity.account_id


def regional_arn(parent: pulumi.Resource, service: str, resource: pulumi.Input[str],
                 region: str | None = None) -> pulumi.Output[str]:
    """arn:<partition>:<service>:<region>:<account>:<resource> (None: the provider's region), e.g.
    service "sns" with a topic's name, "logs" with "log-group:<name>" (the ARN a LogGroup exports, without
    the API's ":*")."""
    partition, account = partition_and_account(parent)
    where: pulumi.Input[str] = region or aws.get_region_output(
        opts=pulumi.InvokeOutputOptions(parent=parent)).region
    return pulumi.Output.concat("arn:", partition, ":", service, ":", where, ":", account, ":", resource)


def bucket_arn(parent: pulumi.Resource, bucket: aws.s3.Bucket) -> pulumi.Output[str]:
    """The bucket's ARN, arn:<partition>:s3:::<name> (S3 ARNs carry neither region nor account)."""
    partition, _ = partition_and_account(parent)
    return pulumi.Output.concat("arn:", partition, ":s3:::", bucket.bucket)


def kms_key(name: str, description: str, tags: dict[str, str], opts: pulumi.ResourceOptions, *,
            policy: pulumi.Input[str], region: str | None = None) -> aws.kms.Key:
    """A customer-managed key with yearly rotation, the longest deletion window and an explicit key
    policy (key_policy): required, so no key falls back to the default policy scanners flag."""
    return aws.kms.Key(name, description=description, enable_key_rotation=True,
                       deletion_window_in_days=30, region=region, policy=policy, tags=tags, opts=opts)


def key_policy(identity: pulumi.Output[aws.GetCallerIdentityResult], *statements: Statement) -> pulumi.Output[str]:
    """A KMS key policy: the account administers the key (as AWS's default policy does), plus
    `statements` for the services that must use it. `identity` is get_caller_identity_output()."""
    root = identity.arn.apply(lambda arn: "arn:{1}:iam::{4}:root".format(*arn.split(":")))
    return json_output({"Version": "2012-10-17", "Statement": [
        {"Sid": "AccountAdministers", "Effect": "Allow", "Action": "kms:*", "Resource": "*",
         "Principal": {"AWS": root}},
        *statements,
    ]})


def account_key_policy(parent: pulumi.Resource) -> pulumi.Output[str]:
    """key_policy with no service statement: what AWS gives a key created without a policy (AWS KMS
    Developer Guide, "Default key policy": the account may do kms:*, so IAM policies in the account
    decide who uses the key). For keys that services use through the caller's IAM permissions (S3
    replication, RDS, Secrets Manager): written out, so the policy pack and scanners can read it
    (Checkov CKV2_AWS_64) and nobody can widen it outside the program."""
    return key_policy(aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=parent)))


def logs_key_statement(identity: pulumi.Output[aws.GetCallerIdentityResult],
                       region: pulumi.Input[str]) -> Statement:
    """Lets CloudWatch Logs in `region` use a key for this account's log groups, and nothing else
    (CloudWatch Logs User Guide, "Encrypt log data in CloudWatch Logs using AWS KMS": the service
    principal logs.<region>.amazonaws.com, held to log groups by the encryption context it sends)."""
    partition = identity.arn.apply(lambda arn: arn.split(":")[1])
    return {
        "Sid": "CloudWatchLogsUseKey", "Effect": "Allow",
        "Principal": {"Service": pulumi.Output.concat("logs.", region, ".amazonaws.com")},
        "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
        "Resource": "*",
        "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": pulumi.Output.format(
            "arn:{0}:logs:{1}:{2}:log-group:*", partition, region, identity.account_id)}},
    }


def logs_key_policy(parent: pulumi.Resource, region: str | None = None) -> pulumi.Output[str]:
    """key_policy for a key that also encrypts log groups in `region` (None: the provider's region).
    The key must live in that region: CloudWatch Logs uses only keys of its own region."""
    invoke = pulumi.InvokeOutputOptions(parent=parent)
    identity = aws.get_caller_identity_output(opts=invoke)
    where: pulumi.Input[str] = region or aws.get_region_output(opts=invoke).region
    return key_policy(identity, logs_key_statement(identity, where))


def encrypted_log_group(name: str, *, retention_days: int, tags: dict[str, str], parent: pulumi.Resource,
                        region: str | None = None, key: aws.kms.Key | None = None,
                        purpose: str = "") -> aws.cloudwatch.LogGroup:
    """A log group encrypted with `key` (whose policy has logs_key_statement for `region`), or with a
    key of its own, `{name}-key`, in the group's region when `key` is None."""
    child = pulumi.ResourceOptions(parent=parent)
    if key is None:
        key = kms_key(f"{name}-key", f"{purpose or name}: CloudWatch log group", tags, child, region=region,
                      policy=logs_key_policy(parent, region))
    return aws.cloudwatch.LogGroup(name, retention_in_days=retention_days, kms_key_id=key.arn, region=region,
                                   tags=tags, opts=child)


def assume_role_policy(service: str) -> str:
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                       "Principal": {"Service": service}}],
    })


class HardenedBucket:
    """Bucket plus the split pulumi-aws 7 resources every bucket here gets."""

    def __init__(self, name: str, *, tags: dict[str, str], opts: pulumi.ResourceOptions, data_class: str,
                 region: str | None = None, key: aws.kms.Key | None = None,
                 lifecycle_rules: Sequence[aws.s3.BucketLifecycleConfigurationRuleArgsDict],
                 extra_statements: Callable[[aws.s3.Bucket], list[Statement]] | None = None,
                 defer_policy: bool = False):
        # DataClass tells the policy pack what the bucket holds (backup rules, log-bucket exemptions).
        self.bucket = aws.s3.Bucket(name, force_destroy=False, region=region,
                                    tags={**tags, "DataClass": data_class}, opts=opts)
        b = self.bucket
        parent = opts.parent
        if parent is None:
            raise ValueError(f"{name}: HardenedBucket needs opts.parent (its component)")
        self.arn = bucket_arn(parent, b)  # b.arn's value, known in preview (bucket_arn)
        aws.s3.BucketOwnershipControls(f"{name}-ownership", bucket=b.id, region=region,
                                       rule={"object_ownership": "BucketOwnerEnforced"}, opts=opts)
        self.public_access_block = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access", bucket=b.id, region=region, block_public_acls=True,
            block_public_policy=True, ignore_public_acls=True, restrict_public_buckets=True, opts=opts)
        self.versioning = aws.s3.BucketVersioning(
            f"{name}-versioning", bucket=b.id, region=region,
            versioning_configuration={"status": "Enabled"}, opts=opts)
        # Server access log targets cannot use SSE-KMS, so the log bucket (key=None) uses SSE-S3.
        default: aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgsDict = (
            {"sse_algorithm": "aws:kms", "kms_master_key_id": key.arn} if key else {"sse_algorithm": "AES256"})
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption", bucket=b.id, region=region,
            rules=[{"apply_server_side_encryption_by_default": default,
                    "bucket_key_enabled": key is not None,
                    "blocked_encryption_types": ["SSE-C"]}],
            opts=opts)
        statements: list[Statement] = [{
            "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": [self.arn, pulumi.Output.concat(self.arn, "/*")],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }]
        if key is not None:
            statements += [
                {"Sid": "DenyNonKmsUploads", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
                 "Resource": pulumi.Output.concat(self.arn, "/*"),
                 "Condition": {"StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption": "aws:kms"}}},
                {"Sid": "DenyOtherKmsKeys", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
                 "Resource": pulumi.Output.concat(self.arn, "/*"),
                 "Condition": {"StringNotEqualsIfExists": {
                     "s3:x-amz-server-side-encryption-aws-kms-key-id": key.arn}}},
            ]
        self._name, self._region, self._opts, self._statements = name, region, opts, statements
        self.policy: aws.s3.BucketPolicy | None = None
        if not defer_policy:
            self.attach_policy(extra_statements(b) if extra_statements else [])
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle", bucket=b.id, region=region, rules=lifecycle_rules,
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[self.versioning])))

    def attach_policy(self, extra_statements: list[Statement]) -> aws.s3.BucketPolicy:
        """The bucket policy: the TLS/KMS guards plus `extra_statements`. Deferred when the extra
        statements name a resource that itself needs the bucket (a CloudFront distribution)."""
        policy = self.policy = aws.s3.BucketPolicy(
            f"{self._name}-policy", bucket=self.bucket.id, region=self._region,
            policy=json_output({"Version": "2012-10-17", "Statement": self._statements + extra_statements}),
            opts=pulumi.ResourceOptions.merge(self._opts, pulumi.ResourceOptions(
                depends_on=[self.public_access_block])))
        return policy


def ecr_repository(name: str, tags: dict[str, str], key: aws.kms.Key, opts: pulumi.ResourceOptions, *,
                   keep: int) -> aws.ecr.Repository:
    """`{name}-repo`: scan on push, immutable tags, the tier's KMS key, and a lifecycle policy that
    keeps the newest `keep` images (the ones a rollback can reach)."""
    repo = aws.ecr.Repository(
        f"{name}-repo", image_tag_mutability="IMMUTABLE", force_delete=False,
        image_scanning_configuration={"scan_on_push": True},
        encryption_configurations=[{"encryption_type": "KMS", "kms_key": key.arn}],
        tags=tags, opts=opts)
    aws.ecr.LifecyclePolicy(f"{name}-repo-lifecycle", repository=repo.name, policy=json.dumps({"rules": [{
        "rulePriority": 1, "description": f"keep the last {keep} images",
        "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": keep},
        "action": {"type": "expire"}}]}), opts=opts)
    return repo

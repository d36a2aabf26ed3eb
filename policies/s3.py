"""S3 buckets. pulumi-aws 7 splits a bucket's settings into separate resources, so each rule looks
at a bucket together with the versioning/encryption/... resources that reference it."""

from __future__ import annotations

from _rules import Stack, as_list, is_set, policy_document, stack_rule, statements, tags_of
from _types import (
    BUCKET,
    BUCKET_ENCRYPTION,
    BUCKET_LIFECYCLE,
    BUCKET_LOGGING,
    BUCKET_OWNERSHIP_CONTROLS,
    BUCKET_POLICY,
    BUCKET_PUBLIC_ACCESS_BLOCK,
    BUCKET_REPLICATION,
    BUCKET_VERSIONING,
    LOAD_BALANCER,
)

GLACIER_CLASSES = {"GLACIER", "GLACIER_IR", "DEEP_ARCHIVE"}


def data_class(bucket) -> str:
    return tags_of(bucket.props).get("DataClass", "")


def companions(stack: Stack, bucket, typ: str) -> list:
    return stack.referencing(bucket, typ, "bucket")


def is_log_destination(stack: Stack, bucket) -> bool:
    """ALB access logs and S3 server access logs can only be written with SSE-S3 (AES256)."""
    return bool(stack.referencing(bucket, LOAD_BALANCER, "accessLogs")
                or stack.referencing(bucket, BUCKET_LOGGING, "targetBucket"))


@stack_rule(
    "s3-versioning", "Every bucket has versioning enabled.",
    severity="high", checkov=["CKV_AWS_21"], securityhub="S3.14",
    fix='Add aws.s3.BucketVersioning with status "Enabled" (components/_common.py HardenedBucket does).')
def _versioning(stack: Stack, report, cfg):
    for b in stack.of_type(BUCKET):
        found = companions(stack, b, BUCKET_VERSIONING)
        if not any((v.props.get("versioningConfiguration") or {}).get("status") == "Enabled" for v in found):
            report("has no BucketVersioning with status Enabled.", b.urn)


@stack_rule(
    "s3-sse-kms", "Buckets encrypt with SSE-KMS (customer-managed key); log destinations may use SSE-S3.",
    severity="high", checkov=["CKV_AWS_145"], securityhub="S3.17",
    fix='Add BucketServerSideEncryptionConfiguration with sseAlgorithm "aws:kms" and kmsMasterKeyId; '
        "only buckets that receive ALB or S3 access logs may use AES256, which AWS requires there.")
def _sse_kms(stack: Stack, report, cfg):
    for b in stack.of_type(BUCKET):
        found = companions(stack, b, BUCKET_ENCRYPTION)
        defaults = [(r.get("applyServerSideEncryptionByDefault") or {})
                    for e in found for r in as_list(e.props.get("rules"))]
        kms = [d for d in defaults if str(d.get("sseAlgorithm", "")).startswith("aws:kms")]
        if kms and all(is_set(d, "kmsMasterKeyId") for d in kms):
            continue
        if not kms and any(d.get("sseAlgorithm") == "AES256" for d in defaults) and is_log_destination(stack, b):
            continue
        what = "no default encryption" if not defaults else (
            "SSE-KMS without kmsMasterKeyId (AWS-managed key)" if kms else "SSE-S3 on a bucket that is not a log destination")
        report(f"{what}.", b.urn)


@stack_rule(
    "s3-public-access-block", "Every bucket blocks public ACLs and policies (all four settings).",
    severity="critical", checkov=["CKV2_AWS_6", "CKV_AWS_53", "CKV_AWS_54", "CKV_AWS_55", "CKV_AWS_56"],
    securityhub="S3.8",
    fix="Add BucketPublicAccessBlock with blockPublicAcls, blockPublicPolicy, ignorePublicAcls and "
        "restrictPublicBuckets all true; serve public content through CloudFront with OAC.")
def _public_access(stack: Stack, report, cfg):
    keys = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    for b in stack.of_type(BUCKET):
        found = companions(stack, b, BUCKET_PUBLIC_ACCESS_BLOCK)
        if not found:
            report("has no BucketPublicAccessBlock.", b.urn)
            continue
        off = sorted({k for p in found for k in keys if p.props.get(k) is not True})
        if off:
            report(f"public access block settings not true: {', '.join(off)}.", b.urn)


@stack_rule(
    "s3-owner-enforced", "Bucket ACLs are disabled (object ownership BucketOwnerEnforced).",
    severity="medium", checkov=["CKV2_AWS_65"], securityhub="S3.12",
    fix='Add BucketOwnershipControls with rule.objectOwnership "BucketOwnerEnforced".')
def _owner_enforced(stack: Stack, report, cfg):
    for b in stack.of_type(BUCKET):
        found = companions(stack, b, BUCKET_OWNERSHIP_CONTROLS)
        if not any((o.props.get("rule") or {}).get("objectOwnership") == "BucketOwnerEnforced" for o in found):
            report("does not enforce bucket-owner object ownership (ACLs still apply).", b.urn)


def _denies_plain_http(doc: dict) -> bool:
    for s in statements(doc):
        actions = as_list(s.get("Action"))
        cond = (s.get("Condition") or {}).get("Bool") or {}
        if (s.get("Effect") == "Deny" and s.get("Principal") in ("*", {"AWS": "*"})
                and ("s3:*" in actions or "*" in actions)
                and str(cond.get("aws:SecureTransport")).lower() == "false"):
            return True
    return False


@stack_rule(
    "s3-tls-only", "Bucket policies deny every request made without TLS.",
    severity="high", securityhub="S3.5",
    fix='Add a BucketPolicy statement: Effect Deny, Principal "*", Action "s3:*", Resource the bucket '
        'and bucket/*, Condition {"Bool": {"aws:SecureTransport": "false"}}.')
def _tls_only(stack: Stack, report, cfg):
    for b in stack.of_type(BUCKET):
        docs = [policy_document(p.props.get("policy")) for p in companions(stack, b, BUCKET_POLICY)]
        if not any(_denies_plain_http(d) for d in docs):
            report("has no policy statement denying aws:SecureTransport=false.", b.urn)


def _enabled_rules(stack: Stack, bucket) -> list:
    return [r for lc in companions(stack, bucket, BUCKET_LIFECYCLE) for r in as_list(lc.props.get("rules"))
            if r.get("status") == "Enabled"]


@stack_rule(
    "s3-backup-lifecycle", "Backup buckets move objects to a Glacier class and abort stale multipart uploads.",
    severity="medium", checkov=["CKV2_AWS_61", "CKV_AWS_300"], securityhub="S3.13",
    config={"dataClasses": {"type": "array", "items": {"type": "string"}, "default": ["backup", "backup-replica"],
                            "description": "DataClass tag values that mark backup buckets."}},
    fix="Keep backupDailyGlacierAfterDays / backupWeeklyDeepArchiveAfterDays above 0 in one of the "
        "rules and the abort-incomplete-multipart rule (components/backup_bucket.py).")
def _backup_lifecycle(stack: Stack, report, cfg):
    for b in stack.of_type(BUCKET):
        if data_class(b) not in cfg["dataClasses"]:
            continue
        rules = _enabled_rules(stack, b)
        classes = {t.get("storageClass") for r in rules for t in as_list(r.get("transitions"))}
        if not classes & GLACIER_CLASSES:
            report("holds backups but no enabled lifecycle rule moves them to "
                   "GLACIER, GLACIER_IR or DEEP_ARCHIVE.", b.urn)
        if not any(r.get("abortIncompleteMultipartUpload") for r in rules):
            report("holds backups but never aborts incomplete multipart uploads "
                   "(failed dump uploads would be billed forever).", b.urn)


@stack_rule(
    "s3-replication", "Backup buckets replicate to a second region.",
    severity="high", checkov=["CKV_AWS_144"], securityhub="S3.7",
    config={"dataClasses": {"type": "array", "items": {"type": "string"}, "default": ["backup"],
                            "description": "DataClass tag values whose buckets must replicate."}},
    fix="pulumi config set backupReplicationRegion <region> (e.g. us-west-2).")
def _replication(stack: Stack, report, cfg):
    for b in stack.of_type(BUCKET):
        if data_class(b) not in cfg["dataClasses"]:
            continue
        found = companions(stack, b, BUCKET_REPLICATION)
        if not any(r.get("status") == "Enabled" for c in found for r in as_list(c.props.get("rules"))):
            report("holds backups in one region only: no enabled replication rule.", b.urn)


@stack_rule(
    "s3-access-logging", "Buckets log server access, except buckets that are themselves log destinations.",
    severity="medium", checkov=["CKV_AWS_18"], securityhub="S3.9",
    config={"exemptDataClasses": {
        "type": "array", "items": {"type": "string"}, "default": ["logs", "static-assets"],
        "description": "DataClass tags exempt: log buckets (logging them recurses) and static assets "
                       "read only through CloudFront, whose access logs record every read."}},
    fix="Add aws.s3.BucketLogging to an in-region log bucket (components/backup_bucket.py _access_logs).")
def _access_logging(stack: Stack, report, cfg):
    for b in stack.of_type(BUCKET):
        if data_class(b) in cfg["exemptDataClasses"]:
            continue
        if not companions(stack, b, BUCKET_LOGGING):
            report("has no server access logging.", b.urn)

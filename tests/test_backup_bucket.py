import json

import pytest
from conftest import evaluate

from components._validation import InvalidArgs
from components.backup_bucket import BackupSettings


def rules(graph, name="backups-bucket-lifecycle"):
    return {r["id"]: r for r in graph.named(name).input("rules")}


def test_lifecycle_follows_the_seed_layout(staging, production):
    prod = rules(production)
    assert prod["daily"]["filter"] == {"prefix": "daily/"}
    assert prod["daily"]["transitions"] == [{"days": 30, "storageClass": "GLACIER"}]
    assert prod["daily"]["expiration"] == {"days": 120}
    assert prod["weekly"]["filter"] == {"prefix": "weekly/"}
    assert prod["weekly"]["transitions"] == [{"days": 7, "storageClass": "DEEP_ARCHIVE"}]
    assert prod["weekly"]["expiration"] == {"days": 365}
    assert prod["noncurrent-versions"]["noncurrentVersionExpiration"] == {"noncurrentDays": 30}
    assert prod["abort-incomplete-multipart"]["abortIncompleteMultipartUpload"] == {"daysAfterInitiation": 7}
    stg = rules(staging)
    assert "transitions" not in stg["daily"] and stg["daily"]["expiration"] == {"days": 7}
    assert stg["noncurrent-versions"]["noncurrentVersionExpiration"] == {"noncurrentDays": 7}


def test_every_lifecycle_rule_has_a_filter(any_stack):
    for lc in any_stack.of_type("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"):
        assert all("filter" in rule for rule in lc.input("rules")), lc.name


def test_lifecycle_waits_for_versioning(staging):
    lc = staging.named("backups-bucket-lifecycle")
    assert staging.named("backups-bucket-versioning").urn in lc.dependencies


def test_buckets_are_locked_down(any_stack):
    buckets = {b.outputs["id"]: b for b in any_stack.of_type("aws:s3/bucket:Bucket")}
    for kind, check in {
        "bucketPublicAccessBlock:BucketPublicAccessBlock": lambda r: all(
            r.input(k) is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                         "restrictPublicBuckets")),
        "bucketOwnershipControls:BucketOwnershipControls": lambda r: r.input("rule") == {
            "objectOwnership": "BucketOwnerEnforced"},
        "bucketVersioning:BucketVersioning": lambda r: r.input("versioningConfiguration")["status"] == "Enabled",
    }.items():
        found = any_stack.of_type(f"aws:s3/{kind}")
        assert {r.input("bucket") for r in found} == set(buckets), kind
        assert all(check(r) for r in found), kind
    assert all("bucket" not in b.inputs for b in buckets.values())  # auto-named, never hard-coded


def test_backups_use_the_kms_key_and_logs_use_sse_s3(staging):
    sse = staging.named("backups-bucket-encryption").input("rules")[0]
    assert sse["applyServerSideEncryptionByDefault"] == {
        "sseAlgorithm": "aws:kms", "kmsMasterKeyId": staging.named("backups-key").outputs["arn"]}
    assert sse["bucketKeyEnabled"] is True and sse["blockedEncryptionTypes"] == ["SSE-C"]
    logs = staging.named("backups-logs-encryption").input("rules")[0]
    assert logs["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "AES256"}


def test_policy_denies_plain_http_and_foreign_encryption(staging):
    policy = json.loads(staging.named("backups-bucket-policy").input("policy"))
    sids = {s["Sid"]: s for s in policy["Statement"]}
    assert sids["DenyInsecureTransport"]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert sids["DenyNonKmsUploads"]["Effect"] == "Deny"
    assert sids["DenyOtherKmsKeys"]["Condition"]["StringNotEqualsIfExists"][
        "s3:x-amz-server-side-encryption-aws-kms-key-id"] == staging.named("backups-key").outputs["arn"]
    logs = json.loads(staging.named("backups-logs-policy").input("policy"))
    delivery = next(s for s in logs["Statement"] if s["Sid"] == "AllowS3ServerAccessLogs")
    assert delivery["Condition"]["ArnLike"]["aws:SourceArn"] == staging.named("backups-bucket").outputs["arn"]


def test_access_logging_goes_to_the_log_bucket(staging):
    logging = staging.named("backups-access-logging")
    assert logging.input("bucket") == staging.named("backups-bucket").outputs["id"]
    assert logging.input("targetBucket") == staging.named("backups-logs").outputs["id"]
    assert rules(staging, "backups-logs-lifecycle")["expire-logs"]["expiration"] == {"days": 14}


def test_production_replicates_to_another_region(production, staging):
    replica = production.named("backups-replica")
    assert replica.input("region") == "us-west-2"
    repl = production.named("backups-replication")
    rule = repl.input("rules")[0]
    assert repl.input("role") == production.named("backups-replication-role").outputs["arn"]
    assert rule["destination"]["bucket"] == replica.outputs["arn"]
    assert rule["destination"]["encryptionConfiguration"]["replicaKmsKeyId"] == \
        production.named("backups-replica-key").outputs["arn"]
    assert rule["sourceSelectionCriteria"] == {"sseKmsEncryptedObjects": {"status": "Enabled"}}
    assert {production.named("backups-bucket-versioning").urn,
            production.named("backups-replica-versioning").urn} <= set(repl.dependencies)
    assert rules(production, "backups-replica-lifecycle") == rules(production)
    assert staging.of_type("aws:s3/bucketReplicationConfig:BucketReplicationConfig") == []


def test_writer_policy_can_only_write_backups(staging):
    doc = json.loads(staging.named("backups-writer-policy").input("policy"))
    actions = {a for s in doc["Statement"] for a in s["Action"]}
    assert actions == {"s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts",
                       "kms:GenerateDataKey", "kms:Decrypt"}
    arn = staging.named("backups-bucket").outputs["arn"]
    assert doc["Statement"][0]["Resource"] == [f"{arn}/daily/*", f"{arn}/weekly/*"]


def test_operator_policy_covers_what_ops_backup_and_verify_do(staging):
    doc = json.loads(staging.named("backups-operator-policy").input("policy"))
    arn = staging.named("backups-bucket").outputs["arn"]
    objects, listing, kms = doc["Statement"]
    assert objects["Resource"] == [f"{arn}/daily/*", f"{arn}/weekly/*"]
    # upload (multipart), head/download, delete only exact versions a failed run wrote: never s3:DeleteObject
    assert set(objects["Action"]) == {"s3:PutObject", "s3:GetObject", "s3:GetObjectVersion", "s3:DeleteObjectVersion",
                                      "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"}
    assert listing["Action"] == "s3:ListBucket" and listing["Resource"] == arn
    assert listing["Condition"]["StringLike"]["s3:prefix"] == ["daily/*", "weekly/*"]
    assert set(kms["Action"]) == {"kms:GenerateDataKey", "kms:Decrypt"}
    assert staging.stack_outputs["backupOperatorPolicyArn"].startswith("arn:aws:iam::")


def test_disabled_backups_create_nothing():
    g = evaluate(backupBucketEnabled="false")
    assert [b.name for b in g.of_type("aws:s3/bucket:Bucket") if b.name.startswith("backups")] == []
    assert not [r for r in g.resources if r.name == "backups"]


@pytest.mark.parametrize("kwargs, field", [
    ({"daily_glacier_after_days": 30, "daily_retention_days": 30}, "daily_retention_days"),
    ({"daily_glacier_after_days": -1}, "daily_glacier_after_days"),
    ({"weekly_deep_archive_after_days": 400, "weekly_retention_days": 365}, "weekly_retention_days"),
    ({"noncurrent_version_days": 0}, "noncurrent_version_days"),
    ({"replication_region": "west"}, "replication_region"),
])
def test_settings_refuse(kwargs, field):
    with pytest.raises(InvalidArgs) as info:
        BackupSettings(**kwargs)
    assert [p.field for p in info.value.problems] == [field]

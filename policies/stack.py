"""Whole-stack rules: what must exist together, and what must survive a mistaken delete.

The graph rules judge resource by resource (types=): an unknown value while judging one database
skips only that database. Protection is an option Analyze receives with each resource
(AnalyzeRequest.options.protect), so stateful-protected blocks before the resource exists."""

from __future__ import annotations

from _rules import Stack, is_set, resource_rule, stack_rule, tags_of
from _types import (
    BUCKET,
    BUCKET_V2,
    CACHE_REPLICATION_GROUP,
    DYNAMODB_TABLE,
    EFS_FILE_SYSTEM,
    METRIC_ALARM,
    RDS_CLUSTER,
    RDS_INSTANCE,
)

STATEFUL = [RDS_INSTANCE, CACHE_REPLICATION_GROUP, RDS_CLUSTER, DYNAMODB_TABLE, EFS_FILE_SYSTEM]


@stack_rule(
    "alarms-coverage", "Every database, replica and cache has CloudWatch alarms on it.",
    types=[RDS_INSTANCE, CACHE_REPLICATION_GROUP], severity="high",
    fix="Pass the instance or replication group to the Alarms component (DatabaseTarget/CacheTarget in "
        "__main__.py); components/alarms.py then creates its alarms.")
def _alarms(stack: Stack, target, report, cfg):
    if not stack.referencing(target, METRIC_ALARM, "dimensions"):
        report("has no CloudWatch alarm watching it.")


@stack_rule(
    "rds-read-replica", "Each primary database has read replicas.",
    types=[RDS_INSTANCE], severity="medium",
    config={"minimumReplicas": {"type": "integer", "minimum": 0, "default": 1,
                                "description": "Fewest read replicas per primary."}},
    fix="pulumi config set postgresReadReplicas <n> (replicas also serve DATABASE_READ_URL).")
def _read_replica(stack: Stack, db, report, cfg):
    if is_set(db.props, "replicateSourceDb"):
        return
    replicas = stack.referencing(db, RDS_INSTANCE, "replicateSourceDb")
    if len(replicas) < cfg["minimumReplicas"]:
        report(f"has {len(replicas)} read replica(s); at least {cfg['minimumReplicas']} required.")


@stack_rule(
    "backup-bucket-exists", "A stack with a database has a backup bucket for its dumps.",
    severity="high",
    fix="pulumi config set backupBucketEnabled true (the BackupBucket component tags its bucket DataClass=backup).")
def _backup_bucket(stack: Stack, report, cfg):
    if stack.of_type(RDS_INSTANCE) and not [b for b in stack.of_type(BUCKET, BUCKET_V2)
                                        if tags_of(b.props).get("DataClass") == "backup"]:
        report("the stack has an RDS database but no bucket tagged DataClass=backup for its pg_dump archives.")


@resource_rule(
    "stateful-protected", "Databases, caches and backup buckets are protected from deletion by Pulumi.",
    types=[*STATEFUL, BUCKET, BUCKET_V2], severity="high",
    config={"backupDataClasses": {"type": "array", "items": {"type": "string"},
                                  "default": ["backup", "backup-replica"],
                                  "description": "DataClass tags of buckets that must be protected."}},
    fix="pulumi config set protectStatefulResources true (the program passes protect=True to the data tier).")
def _protected(props, report, cfg, args):
    if args.resource_type in (BUCKET, BUCKET_V2) and tags_of(props).get("DataClass") not in cfg["backupDataClasses"]:
        return
    if not args.opts.protect:
        report("is not protected: `pulumi destroy` or a rename would delete its data.")

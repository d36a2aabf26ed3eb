"""ElastiCache (Redis/Valkey) replication groups: encryption, AUTH, failover, snapshots, placement."""

from __future__ import annotations

from _rules import count, is_set, resource_rule
from _types import CACHE_REPLICATION_GROUP


@resource_rule(
    "elasticache-encryption-at-rest", "Cache data at rest is encrypted with a customer-managed KMS key.",
    types=[CACHE_REPLICATION_GROUP], severity="high", checkov=["CKV_AWS_29", "CKV_AWS_191"], securityhub="ElastiCache.4",
    fix="Set atRestEncryptionEnabled=true and kmsKeyId (replacement: plan a snapshot restore).")
def _at_rest(props, report, cfg, args):
    if not props.get("atRestEncryptionEnabled"):
        report("atRestEncryptionEnabled is not true.")
    elif not is_set(props, "kmsKeyId"):
        report("at-rest encryption uses the AWS-managed key: set kmsKeyId.")


@resource_rule(
    "elasticache-encryption-in-transit", "Clients reach the cache over TLS only.",
    types=[CACHE_REPLICATION_GROUP], severity="high", checkov=["CKV_AWS_30"], securityhub="ElastiCache.5",
    fix='Set transitEncryptionEnabled=true and transitEncryptionMode="required"; use rediss:// URLs.')
def _in_transit(props, report, cfg, args):
    if not props.get("transitEncryptionEnabled"):
        report("transitEncryptionEnabled is not true.")
    elif props.get("transitEncryptionMode") == "preferred":
        report('transitEncryptionMode is "preferred": plaintext clients are still accepted.')


@resource_rule(
    "elasticache-auth", "The cache requires an AUTH token or RBAC user group.",
    types=[CACHE_REPLICATION_GROUP], severity="high", checkov=["CKV_AWS_31"], securityhub="ElastiCache.6",
    fix="Set authToken (components/redis.py stores a random one in Secrets Manager) or userGroupIds.")
def _auth(props, report, cfg, args):
    if not is_set(props, "authToken") and not count(props, "userGroupIds"):
        report("neither authToken nor userGroupIds is set: any client in the security group may connect.")


@resource_rule(
    "elasticache-failover", "Replication groups fail over automatically across AZs.",
    types=[CACHE_REPLICATION_GROUP], severity="high", securityhub="ElastiCache.3",
    fix="pulumi config set redisNodes 2 (or more): the component then enables automatic failover and Multi-AZ.")
def _failover(props, report, cfg, args):
    if not props.get("automaticFailoverEnabled") or not props.get("multiAzEnabled"):
        report("automaticFailoverEnabled and multiAzEnabled are not both true: a node or AZ failure "
               "loses the cache.")


@resource_rule(
    "elasticache-snapshot-retention", "The cache keeps automatic snapshots.",
    types=[CACHE_REPLICATION_GROUP], severity="medium", checkov=["CKV_AWS_134"], securityhub="ElastiCache.1",
    config={"minimumDays": {"type": "integer", "minimum": 1, "maximum": 35, "default": 1,
                            "description": "Fewest days of automatic snapshots."}},
    fix="pulumi config set redisSnapshotRetentionDays <days> (at least the pack's minimumDays).")
def _snapshots(props, report, cfg, args):
    days = int(props.get("snapshotRetentionLimit") or 0)
    if days < cfg["minimumDays"]:
        report(f"snapshotRetentionLimit is {days}; at least {cfg['minimumDays']} is required.")


@resource_rule(
    "elasticache-subnet-group", "Caches live in the stack's private subnet group, not the default one.",
    types=[CACHE_REPLICATION_GROUP], severity="medium", securityhub="ElastiCache.7",
    fix="Set subnetGroupName to the component's private subnet group.")
def _subnet_group(props, report, cfg, args):
    group = props.get("subnetGroupName") or ""
    if not group or group == "default":
        report(f"subnetGroupName is {group or 'unset'}: the default subnet group spans the default VPC.")

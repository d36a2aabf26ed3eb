"""ElastiCache: replication groups (Redis/Valkey), node-based clusters (aws.elasticache.Cluster:
Memcached, or a standalone Redis/Valkey node) and serverless caches. Encryption, AUTH, failover,
snapshots, placement, each where the engine and resource type support it (pulumi_aws 7
elasticache/cluster.py: a Cluster has no at-rest encryption or AUTH token, and its in-transit
encryption is Memcached's only; Redis/Valkey get those from a ReplicationGroup)."""

from __future__ import annotations

from _rules import count, is_set, resource_rule
from _types import CACHE_CLUSTER, CACHE_REPLICATION_GROUP, CACHE_SERVERLESS
from secretsmanager import customer_key_problem


def member(props) -> bool:
    """A Cluster that joins a replication group takes every setting from the group."""
    return is_set(props, "replicationGroupId")


def engine(props) -> str:
    return str(props.get("engine") or "redis")


def key_value(props) -> bool:
    return engine(props) in ("redis", "valkey")


@resource_rule(
    "elasticache-encryption-at-rest", "Cache data at rest is encrypted with a customer-managed KMS key.",
    types=[CACHE_REPLICATION_GROUP, CACHE_SERVERLESS], severity="high", checkov=["CKV_AWS_29", "CKV_AWS_191"],
    securityhub="ElastiCache.4",
    fix="Set atRestEncryptionEnabled=true and kmsKeyId on a replication group (replacement: plan a snapshot "
        "restore); kmsKeyId on a serverless cache.")
def _at_rest(props, report, cfg, args):
    # A serverless cache is always encrypted at rest; only the key is a choice.
    if args.resource_type == CACHE_REPLICATION_GROUP and not props.get("atRestEncryptionEnabled"):
        report("atRestEncryptionEnabled is not true.")
        return
    problem = customer_key_problem(props, "kmsKeyId")
    if problem:
        report(f"at-rest encryption: {problem}.")


@resource_rule(
    "elasticache-encryption-in-transit", "Clients reach the cache over TLS only.",
    types=[CACHE_REPLICATION_GROUP, CACHE_CLUSTER], severity="high", checkov=["CKV_AWS_30"],
    securityhub="ElastiCache.5",
    fix='Set transitEncryptionEnabled=true and transitEncryptionMode="required" (rediss:// URLs); run Redis '
        "or Valkey as a ReplicationGroup, since a standalone Cluster of them cannot encrypt in transit.")
def _in_transit(props, report, cfg, args):
    if args.resource_type == CACHE_CLUSTER:
        if member(props):
            return
        if key_value(props):
            report(f"a standalone {engine(props)} Cluster cannot use TLS: create a ReplicationGroup instead.")
        elif not props.get("transitEncryptionEnabled"):
            report("transitEncryptionEnabled is not true (Memcached 1.6.12 and later support it).")
    elif not props.get("transitEncryptionEnabled"):
        report("transitEncryptionEnabled is not true.")
    elif props.get("transitEncryptionMode") == "preferred":
        report('transitEncryptionMode is "preferred": plaintext clients are still accepted.')


@resource_rule(
    "elasticache-auth", "The cache requires an AUTH token or RBAC user group.",
    types=[CACHE_REPLICATION_GROUP, CACHE_SERVERLESS], severity="high", checkov=["CKV_AWS_31"],
    securityhub="ElastiCache.6",
    fix="Set authToken (components/redis.py stores a random one in Secrets Manager) or userGroupIds on a "
        "replication group; userGroupId on a Redis/Valkey serverless cache.")
def _auth(props, report, cfg, args):
    if args.resource_type == CACHE_SERVERLESS:
        if key_value(props) and not is_set(props, "userGroupId"):
            report("userGroupId is not set: any client in the security groups may connect as the default user.")
    elif not is_set(props, "authToken") and not count(props, "userGroupIds"):
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
    "elasticache-snapshot-retention", "Redis and Valkey caches keep automatic snapshots.",
    types=[CACHE_REPLICATION_GROUP, CACHE_CLUSTER, CACHE_SERVERLESS], severity="medium", checkov=["CKV_AWS_134"],
    securityhub="ElastiCache.1",
    config={"minimumDays": {"type": "integer", "minimum": 1, "maximum": 35, "default": 1,
                            "description": "Fewest days of automatic snapshots."}},
    fix="pulumi config set redisSnapshotRetentionDays <days> (at least the pack's minimumDays); "
        "snapshotRetentionLimit on a Cluster or serverless cache of your own.")
def _snapshots(props, report, cfg, args):
    if args.resource_type != CACHE_REPLICATION_GROUP and (member(props) or not key_value(props)):
        return  # Memcached keeps no snapshots; a member cluster follows its group
    days = int(props.get("snapshotRetentionLimit") or 0)
    if days < cfg["minimumDays"]:
        report(f"snapshotRetentionLimit is {days}; at least {cfg['minimumDays']} is required.")


def _placement_problems(resource_type: str, props) -> list[str]:
    problems = []
    if resource_type == CACHE_SERVERLESS:
        if not count(props, "subnetIds"):
            problems.append("subnetIds is empty: the cache lands in the default VPC's subnets")
    else:
        group = props.get("subnetGroupName") or ""
        if not group or group == "default":
            problems.append(f"subnetGroupName is {group or 'unset'}: the default subnet group spans the default VPC")
    if not count(props, "securityGroupIds"):
        problems.append("securityGroupIds is empty: the VPC's default security group applies")
    return problems


@resource_rule(
    "elasticache-subnet-group", "Caches live in the stack's private subnets and security groups, not the defaults.",
    types=[CACHE_REPLICATION_GROUP, CACHE_CLUSTER, CACHE_SERVERLESS], severity="medium", checkov=["CKV_AWS_323"],
    securityhub="ElastiCache.7",
    fix="Set subnetGroupName to the component's private subnet group (subnetIds on a serverless cache) and "
        "securityGroupIds to the cache tier's group.")
def _subnet_group(props, report, cfg, args):
    if args.resource_type == CACHE_CLUSTER and member(props):
        return
    for problem in _placement_problems(args.resource_type, props):
        report(problem + ".")

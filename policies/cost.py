"""Cost guard: database and cache sizes come from an allow-list per environment."""

from __future__ import annotations

from _rules import kind_of, resource_rule
from _types import CACHE_CLUSTER, CACHE_REPLICATION_GROUP, RDS_CLUSTER_INSTANCE, RDS_INSTANCE

PRODUCTION_DB = ["db.t4g.micro", "db.t4g.small", "db.t4g.medium", "db.t4g.large", "db.t3.micro", "db.t3.small",
                 "db.t3.medium", "db.t3.large", "db.m6g.large", "db.m6g.xlarge", "db.m7g.large", "db.m7g.xlarge",
                 "db.r6g.large", "db.r6g.xlarge", "db.r7g.large", "db.r7g.xlarge"]
PRODUCTION_CACHE = ["cache.t4g.micro", "cache.t4g.small", "cache.t4g.medium", "cache.t3.micro", "cache.t3.small",
                    "cache.t3.medium", "cache.m6g.large", "cache.m7g.large", "cache.r6g.large", "cache.r7g.large"]


@resource_rule(
    "cost-allowed-classes", "RDS and Aurora instance classes and ElastiCache node types come from the environment's "
                            "allow-list.",
    types=[RDS_INSTANCE, RDS_CLUSTER_INSTANCE, CACHE_REPLICATION_GROUP, CACHE_CLUSTER], severity="medium",
    config={
        "rdsInstanceClasses": {"type": "array", "items": {"type": "string"}, "default": PRODUCTION_DB,
                               "description": "Allowed RDS instance classes."},
        "cacheNodeTypes": {"type": "array", "items": {"type": "string"}, "default": PRODUCTION_CACHE,
                           "description": "Allowed ElastiCache node types."},
    },
    fix="Pick a class from the allow-list (pulumi config set postgresInstanceClass / redisNodeType), or "
        "widen the list for this environment in its policy pack config after a cost review.")
def _allowed(props, report, cfg, args):
    if args.resource_type == CACHE_CLUSTER and props.get("replicationGroupId"):
        return  # a member of a replication group: the group's nodeType is judged
    if args.resource_type in (RDS_INSTANCE, RDS_CLUSTER_INSTANCE):
        value, allowed, what = props.get("instanceClass"), cfg["rdsInstanceClasses"], "instanceClass"
    else:
        value, allowed, what = props.get("nodeType"), cfg["cacheNodeTypes"], "nodeType"
    if not isinstance(value, str):  # a wrong shape: named by kind, never by its proxy's repr
        report(f"{what} is {kind_of(value)}, not a class name; allowed here: {', '.join(allowed)}.")
    elif value not in allowed:
        report(f"{what} {value} is not in this environment's allow-list ({', '.join(allowed)}).")

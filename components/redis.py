"""Cache tier: ElastiCache replication group (Redis or Valkey), TLS with an auth token, KMS at rest."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypedDict

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components._aws_catalog import cache_node_types
from components._common import encrypted_log_group, kms_key, logs_key_policy, rotation_exempt
from components._validation import CLOUDWATCH_RETENTION_DAYS, Checker, bounded, choice
from components.alarm_targets import CacheTarget

PORT = 6379
ENGINE_VERSIONS = {"redis": ("6.2", "7.0", "7.1"), "valkey": ("7.2", "8.0", "8.1")}
MAXMEMORY_POLICIES = ("volatile-lru", "allkeys-lru", "volatile-lfu", "allkeys-lfu", "volatile-random",
                      "allkeys-random", "volatile-ttl", "noeviction")


@dataclass(frozen=True)
class RedisSettings:
    engine: str = choice(tuple(ENGINE_VERSIONS), default="redis")
    engine_version: str = "7.1"
    node_type: str = "cache.t4g.micro"
    cluster_mode: bool = False
    nodes: int = bounded(1, 6, default=1)
    shards: int = bounded(1, 500, default=1)
    replicas_per_shard: int = bounded(0, 5, default=1)
    snapshot_retention_days: int = bounded(0, 35, default=1)
    snapshot_window: str = "05:00-06:00"
    maintenance_window: str = "sun:06:30-sun:07:30"
    maxmemory_policy: str = choice(MAXMEMORY_POLICIES, default="volatile-lru")

    def __post_init__(self) -> None:
        c = Checker("redis settings")
        if c.declared(self, "engine"):
            c.one_of("engine_version", self.engine_version, ENGINE_VERSIONS[self.engine])
        c.known("node_type", self.node_type, cache_node_types(),
                "a current-generation ElastiCache node type (botocore's elasticache model)")
        c.declared(self, "nodes", "shards", "replicas_per_shard", "snapshot_retention_days")
        snap = c.daily_window("snapshot_window", self.snapshot_window, 60)
        maint = c.weekly_window("maintenance_window", self.maintenance_window, 60)
        c.windows_apart("snapshot_window", self.snapshot_window, snap, maint, "maintenance_window")
        c.declared(self, "maxmemory_policy")
        c.raise_if_any()

    @property
    def family(self) -> str:
        major = self.engine_version.split(".")[0]
        if self.engine == "valkey":
            return f"valkey{major}"
        return "redis6.x" if major == "6" else f"redis{major}"

    @property
    def node_count(self) -> int:
        if self.cluster_mode:
            return self.shards * (1 + self.replicas_per_shard)
        return self.nodes

    @property
    def highly_available(self) -> bool:
        """A replica exists that can take over: Multi-AZ and automatic failover make sense."""
        return self.replicas_per_shard > 0 if self.cluster_mode else self.nodes > 1


class _Shape(TypedDict, total=False):
    """The replication group's shape inputs: shards and replicas, or a node count spread over the AZs."""
    cluster_mode: str
    num_node_groups: int
    replicas_per_node_group: int
    num_cache_clusters: int
    preferred_cache_cluster_azs: pulumi.Output[list[str]]


@dataclass(frozen=True)
class RedisArgs:
    #: Engine, node type, shape, snapshots and windows (from stack config).
    settings: RedisSettings
    #: Tags for every taggable child.
    tags: dict[str, str]
    #: Private subnets of the cache subnet group; at least 2 AZs when highly available.
    subnet_ids: Sequence[pulumi.Input[str]]
    #: The cache security group (6379 from the app group).
    security_group_id: pulumi.Input[str]
    #: The subnets' AZs: nodes (without cluster mode) are spread over them in order.
    availability_zones: pulumi.Input[list[str]]
    #: Retention of the slow-log group, days: one of CloudWatch's values; default 30.
    log_retention_days: int = 30
    #: Apply modifications now instead of in the maintenance window; default False.
    apply_immediately: bool = False

    def __post_init__(self) -> None:
        c = Checker("redis args")
        c.require(len(self.subnet_ids) >= 2 or not self.settings.highly_available, "subnet_ids",
                  len(self.subnet_ids), "needs subnets in at least 2 AZs for Multi-AZ")
        c.one_of("log_retention_days", self.log_retention_days, CLOUDWATCH_RETENTION_DAYS)
        c.raise_if_any()


class Redis(pulumi.ComponentResource):
    """An encrypted, authenticated replication group; Multi-AZ whenever it has a replica."""

    def __init__(self, name: str, args: RedisArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:cache:Redis", name, None, opts)
        s = args.settings
        tags = args.tags
        child = pulumi.ResourceOptions(parent=self)

        key = kms_key(f"{name}-key", f"{name}: cache data at rest, auth token and slow log", tags, child,
                      policy=logs_key_policy(self))
        # ElastiCache auth tokens: 16-128 printable characters without / " @ or spaces.
        token = random.RandomPassword(f"{name}-auth-token", length=64, special=False, opts=child)
        secret = aws.secretsmanager.Secret(f"{name}-auth-token", description=f"{name} AUTH token",
                                           kms_key_id=key.arn, recovery_window_in_days=7, opts=child,
                                           tags=rotation_exempt(tags, "REDIS_URL embeds this token - rotate it with "
                                                                "pulumi up --replace on the token - docs/operations.md"))
        aws.secretsmanager.SecretVersion(f"{name}-auth-token-version", secret_id=secret.id,
                                         secret_string=token.result, opts=child)

        subnets = aws.elasticache.SubnetGroup(f"{name}-subnets", subnet_ids=args.subnet_ids,
                                              description=f"{name} private subnets", tags=tags,
                                              opts=child)
        parameters: list[aws.elasticache.ParameterGroupParameterArgsDict] = [
            {"name": "maxmemory-policy", "value": s.maxmemory_policy}]
        if s.cluster_mode:
            parameters.append({"name": "cluster-enabled", "value": "yes"})
        params = aws.elasticache.ParameterGroup(f"{name}-params", family=s.family,
                                                description=f"{name} {s.family}",
                                                parameters=parameters, tags=tags, opts=child)
        slow_log = encrypted_log_group(f"{name}-slow-log", retention_days=args.log_retention_days, key=key,
                                       tags=tags, parent=self)

        if s.cluster_mode:
            shape = _Shape(cluster_mode="enabled", num_node_groups=s.shards,
                           replicas_per_node_group=s.replicas_per_shard)
        else:
            shape = _Shape(num_cache_clusters=s.nodes,
                           preferred_cache_cluster_azs=pulumi.Output.from_input(
                               args.availability_zones).apply(
                               lambda zs: [zs[i % len(zs)] for i in range(s.nodes)]))

        self.replication_group = aws.elasticache.ReplicationGroup(
            f"{name}-group",
            description=f"{name} ({s.engine} {s.engine_version})",
            engine=s.engine,
            engine_version=s.engine_version,
            node_type=s.node_type,
            port=PORT,
            parameter_group_name=params.name,
            subnet_group_name=subnets.name,
            security_group_ids=[args.security_group_id],
            # Cluster mode requires automatic failover even with no replicas.
            automatic_failover_enabled=s.highly_available or s.cluster_mode,
            multi_az_enabled=s.highly_available,
            at_rest_encryption_enabled=True,
            kms_key_id=key.arn,
            transit_encryption_enabled=True,
            transit_encryption_mode="required",
            auth_token=token.result,
            auth_token_update_strategy="ROTATE",
            snapshot_retention_limit=s.snapshot_retention_days,
            snapshot_window=s.snapshot_window,
            maintenance_window=s.maintenance_window,
            auto_minor_version_upgrade=True,
            apply_immediately=args.apply_immediately,
            log_delivery_configurations=[{
                "destination": slow_log.name,
                "destination_type": "cloudwatch-logs",
                "log_format": "json",
                "log_type": "slow-log",
            }],
            tags=tags,
            **shape,
            opts=child,
        )
        rg = self.replication_group
        if s.cluster_mode:
            self.primary_endpoint = rg.configuration_endpoint_address
            self.reader_endpoint = rg.configuration_endpoint_address
        else:
            self.primary_endpoint = rg.primary_endpoint_address
            self.reader_endpoint = rg.reader_endpoint_address
        # ElastiCache names member clusters deterministically; alarms need them before they exist.
        if s.cluster_mode:
            suffixes = [f"-{g + 1:04d}-{n + 1:03d}" for g in range(s.shards)
                        for n in range(1 + s.replicas_per_shard)]
        else:
            suffixes = [f"-{n + 1:03d}" for n in range(s.nodes)]
        self.node_ids = [pulumi.Output.concat(rg.replication_group_id, sfx) for sfx in suffixes]
        self.alarm_target = CacheTarget([*self.node_ids], s.highly_available or s.cluster_mode)
        self.port = PORT
        self.kms_key_arn = key.arn
        self.auth_token_secret_arn = secret.arn
        self.url: pulumi.Output[str] = pulumi.Output.secret(pulumi.Output.format(
            "rediss://:{0}@{1}:{2}", token.result, self.primary_endpoint, PORT))
        self.register_outputs({
            "primary_endpoint": self.primary_endpoint,
            "reader_endpoint": self.reader_endpoint,
            "auth_token_secret_arn": self.auth_token_secret_arn,
            "url": self.url,
        })

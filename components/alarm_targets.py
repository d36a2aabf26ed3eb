"""What each tier hands the alarms: plain data about the things to watch.

Its own module so that the tiers that produce targets (postgres, redis, the app components) and
the Alarms component that consumes them depend on this file, not on each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi


@dataclass(frozen=True)
class DatabaseTarget:
    """One RDS instance to watch."""
    #: Prefix of its alarms' child names and descriptions, e.g. db-primary.
    label: str
    #: The RDS DBInstanceIdentifier (the alarms' dimension).
    identifier: pulumi.Input[str]
    #: True for a read replica: CPU and ReplicaLag only, no storage/memory/connection alarms.
    replica: bool
    #: Allocated storage, GiB: the free-storage threshold is a percentage of it.
    allocated_storage_gb: int
    #: The instance's max_connections: the connections threshold is a percentage of it.
    max_connections: int
    #: Region of the instance; "" (default) is the stack's region.
    region: str = ""


@dataclass(frozen=True)
class CacheTarget:
    """The ElastiCache nodes to watch."""
    #: Member cluster ids, one per node (the alarms' CacheClusterId dimension).
    node_ids: Sequence[pulumi.Input[str]]
    #: True when the group has replicas: adds a ReplicationLag alarm per node.
    replicated: bool


@dataclass(frozen=True)
class LoadBalancerTarget:
    """The ALB and its target group to watch."""
    #: The ALB's ARN suffix (app/<name>/<id>), the LoadBalancer dimension.
    arn_suffix: pulumi.Input[str]
    #: The target group's ARN suffix (targetgroup/<name>/<id>), the TargetGroup dimension.
    target_group_arn_suffix: pulumi.Input[str]


@dataclass(frozen=True)
class UptimeTarget:
    """The public URL a Route 53 health check requests over HTTPS."""
    #: Host name, e.g. example.com.
    fqdn: str
    #: Path, e.g. /api/health.
    path: str


@dataclass(frozen=True)
class BackupTarget:
    """The scheduled backup jobs to watch (components/backup_jobs.py)."""
    #: CloudWatch namespace the jobs publish to, e.g. Platform/Backups.
    namespace: str
    #: The metrics' Stack dimension: the stack's name.
    stack: str
    #: BackupAgeHours above this (and no job reporting for as long) alarms, hours.
    max_age_hours: int
    #: ARN of the ECS cluster the jobs run in (the task-failure rule's clusterArn).
    cluster_arn: pulumi.Input[str]
    #: The jobs' task definition families (the task-failure rule matches their group "family:<name>").
    task_families: Sequence[str]

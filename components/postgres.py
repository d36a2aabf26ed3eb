"""Data tier: RDS PostgreSQL primary, N read replicas, optional DR replica and RDS Proxy."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypedDict
from urllib.parse import quote

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components._aws_catalog import rds_instance_classes
from components._common import account_key_policy, assume_role_policy, json_output, kms_key, rotation_exempt
from components._validation import Checker, bounded, choice
from components.alarm_targets import DatabaseTarget

PORT = 5432
_VERSION = re.compile(r"^(\d+)(\.\d+)?$")
_PARAM = re.compile(r"^([a-z_][a-z0-9_.]*)=(.+)$")
_IDENT = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
MAJORS = range(13, 18)
MONITORING_INTERVALS = (0, 1, 5, 10, 15, 30, 60)
# Parameters PostgreSQL reads only at start: RDS needs apply_method=pending-reboot for them.
STATIC_PARAMETERS = frozenset({
    "shared_preload_libraries", "max_connections", "max_worker_processes", "max_wal_senders",
    "max_replication_slots", "max_locks_per_transaction", "max_prepared_transactions",
    "track_activity_query_size", "autovacuum_max_workers", "shared_buffers", "huge_pages",
    "rds.logical_replication", "max_logical_replication_workers",
})
LOG_EXPORTS = ("postgresql", "upgrade")
CA_CERTIFICATE = "rds-ca-rsa2048-g1"
# PostgreSQL read replicas keep automated backups only from 14.1 (RDS User Guide, "Working with read
# replicas for Amazon RDS for PostgreSQL"); the DR replica keeps them so a promoted copy has PITR.
REPLICA_BACKUPS_FROM = (14, 1)
# AWS-owned runbook that turns deletion protection on (ModifyDBInstance) and asserts it took.
# CreateDBInstanceReadReplica accepts DeletionProtection but ignores it, and the provider's create
# path does not follow up with a ModifyDBInstance for it (terraform-provider-aws skips its
# TestAccRDSInstance_ReplicateSourceDB_deletionProtection for exactly this).
ENABLE_DELETION_PROTECTION_RUNBOOK = "AWSConfigRemediation-EnableRDSInstanceDeletionProtection"
# The app's login and its alternate (the alternating-users rotation, components/rotation/handler.py),
# and the group role that owns the app's objects (components/db_rotation.py APP_GROUP).
APP_LOGIN = "app_user"
APP_ROLES = (APP_LOGIN, APP_LOGIN + "_clone", "app_owner")
# Without rotation (Vercel reads DATABASE_URL at deploy; a NAT-less VPC), the master secret says why.
NOT_ROTATED = ("DATABASE_URL embeds this password and is read at deploy - rotate it with pulumi up --replace "
               "on the password and redeploy - docs/operations.md")


@dataclass(frozen=True)
class PostgresSettings:
    engine_version: str = "16"
    instance_class: str = "db.t4g.micro"
    replica_instance_class: str = ""
    allocated_storage_gb: int = bounded(20, 65536, default=20)
    max_allocated_storage_gb: int = 100
    multi_az: bool = False
    read_replicas: int = bounded(0, 15, default=0)
    backup_retention_days: int = bounded(1, 35, default=7)
    backup_window: str = "03:00-04:00"
    maintenance_window: str = "sun:04:30-sun:05:30"
    deletion_protection: bool = True
    final_snapshot: bool = True
    max_connections: int = bounded(20, 5000, default=100)
    parameters: tuple[str, ...] = ()
    performance_insights_retention_days: int = 7
    database_insights_mode: str = choice(("standard", "advanced"), default="standard")
    monitoring_interval_seconds: int = choice(MONITORING_INTERVALS, default=60)
    database_name: str = "app"
    username: str = "app_admin"
    dr_region: str = ""
    dr_instance_class: str = ""
    proxy_enabled: bool = False
    proxy_pool_size: int = 25
    proxy_borrow_timeout_seconds: int = bounded(0, 3600, default=20)
    # The explicit opt-in for apps outside the VPC without private networking (Vercel without
    # Secure Compute): a public endpoint in the public subnets, TLS forced, allow-listed CIDRs only.
    publicly_accessible: bool = False
    # Days between rotations of the master and app login secrets (Secrets Manager
    # RotationRules.AutomaticallyAfterDays: 1 to 1000, botocore secretsmanager AutomaticallyRotateAfterDaysType).
    rotation_days: int = bounded(1, 1000, default=30)

    def __post_init__(self) -> None:
        c = Checker("postgres settings")
        m = c.match("engine_version", self.engine_version, _VERSION,
                    'must be a major ("16") or major.minor ("16.4") version')
        if m is not None:
            c.require(int(m[1]) in MAJORS, "engine_version", self.engine_version,
                      f"major version must be {MAJORS.start} to {MAJORS.stop - 1}")
        classes, what = rds_instance_classes(), "an RDS DB instance class (pulumi_aws.rds.InstanceType and the RDS User Guide)"
        c.known("instance_class", self.instance_class, classes, what)
        for fld in ("replica_instance_class", "dr_instance_class"):
            value = getattr(self, fld)
            if value:
                c.known(fld, value, classes, what + "; empty means the primary's class")
        c.declared(self, "allocated_storage_gb")
        if self.max_allocated_storage_gb != 0:
            c.require(self.allocated_storage_gb <= self.max_allocated_storage_gb <= 65536,
                      "max_allocated_storage_gb", self.max_allocated_storage_gb,
                      f"must be 0 (no autoscaling) or {self.allocated_storage_gb} to 65536")
        c.declared(self, "read_replicas", "backup_retention_days")
        backup = c.daily_window("backup_window", self.backup_window, 30)
        maint = c.weekly_window("maintenance_window", self.maintenance_window, 30)
        c.windows_apart("backup_window", self.backup_window, backup, maint, "maintenance_window")
        c.declared(self, "max_connections")
        for entry in self.parameters:
            c.matches("parameters", entry, _PARAM, 'entries must be "name=value"')
        pi = self.performance_insights_retention_days
        c.require(pi == 7 or (pi % 31 == 0 and 31 <= pi <= 731),
                  "performance_insights_retention_days", pi, "must be 7 or a multiple of 31 up to 731")
        if c.declared(self, "database_insights_mode"):
            c.require(self.database_insights_mode == "standard" or pi >= 465,
                      "database_insights_mode", self.database_insights_mode,
                      "advanced needs performance_insights_retention_days >= 465")
        c.declared(self, "monitoring_interval_seconds")
        c.require(bool(re.match(r"^[A-Za-z][A-Za-z0-9_]{0,62}$", self.database_name)),
                  "database_name", self.database_name,
                  "must start with a letter and hold letters, digits or _ (at most 63)")
        if c.matches("username", self.username, _IDENT,
                     "must start with a lowercase letter and hold a-z, 0-9 or _ (at most 63)"):
            c.require(not self.username.startswith(("rds", "pg_")), "username", self.username,
                      "must not start with rds or pg_ (reserved by RDS and PostgreSQL)")
            c.require(self.username not in APP_ROLES, "username", self.username,
                      f"must not be one of the app's roles ({', '.join(APP_ROLES)}): the rotation creates them")
        c.region("dr_region", self.dr_region, optional=True)
        c.in_range("proxy_pool_size", self.proxy_pool_size, 1, self.max_connections)
        c.declared(self, "proxy_borrow_timeout_seconds", "rotation_days")
        c.require(not (self.publicly_accessible and self.proxy_enabled), "publicly_accessible",
                  self.publicly_accessible, "cannot be combined with proxy_enabled (RDS Proxy is VPC-only)")
        c.raise_if_any()

    @property
    def major(self) -> int:
        return int(self.engine_version.split(".")[0])

    @property
    def family(self) -> str:
        return f"postgres{self.major}"

    @property
    def replica_backups_supported(self) -> bool:
        """Whether a read replica of this version may keep automated backups (14.1 and later).
        A major alone ("14") gets RDS's default minor, which is 14.1 or later."""
        major, _, minor = self.engine_version.partition(".")
        return (int(major), int(minor or 99)) >= REPLICA_BACKUPS_FROM

    def parameter_list(self) -> list[aws.rds.ParameterGroupParameterArgsDict]:
        """The seeds' settings, then config overrides; static ones wait for a reboot."""
        values = {
            "log_min_duration_statement": "1000",
            "log_statement": "mod",
            "log_connections": "1",
            "log_disconnections": "1",
            "rds.force_ssl": "1",
            "shared_preload_libraries": "pg_stat_statements",
            "max_connections": str(self.max_connections),
        }
        for entry in self.parameters:
            key, value = entry.split("=", 1)
            values[key.strip()] = value.strip()
        return [
            {"name": k, "value": v,
             "apply_method": "pending-reboot" if k in STATIC_PARAMETERS else "immediate"}
            for k, v in sorted(values.items())
        ]


class _InstanceShared(TypedDict):
    """Inputs every instance (primary, replicas, DR replica) shares; typed so `**common` is checked
    against aws.rds.Instance's parameters."""
    storage_type: str
    max_allocated_storage: int
    publicly_accessible: bool
    copy_tags_to_snapshot: bool
    performance_insights_enabled: bool
    performance_insights_retention_period: int
    monitoring_interval: int
    monitoring_role_arn: pulumi.Output[str] | None
    enabled_cloudwatch_logs_exports: list[str]
    iam_database_authentication_enabled: bool
    auto_minor_version_upgrade: bool
    ca_cert_identifier: str
    apply_immediately: bool
    tags: dict[str, str]


@dataclass(frozen=True)
class DrNetworking:
    """Where the cross-region replica lives: a subnet list and security group in that region."""

    #: The DR region, e.g. us-west-2 (settings.dr_region).
    region: str
    #: Private subnets in at least 2 AZs of that region.
    subnet_ids: Sequence[pulumi.Input[str]]
    #: The security group the DR replica gets in that region.
    security_group_id: pulumi.Input[str]


@dataclass(frozen=True)
class PostgresArgs:
    #: Engine, sizes, backups, replicas, DR and proxy (from stack config).
    settings: PostgresSettings
    #: Tags for every taggable child (copied to snapshots).
    tags: dict[str, str]
    #: The VPC the private reader/writer zone is attached to.
    vpc_id: pulumi.Input[str]
    #: Subnets of the DB subnet group, in at least 2 AZs (public ones only with publicly_accessible).
    subnet_ids: Sequence[pulumi.Input[str]]
    #: The database security group (5432 from the app and proxy groups).
    security_group_id: pulumi.Input[str]
    #: The subnets' AZs, in order: the primary takes the first, replicas the next ones.
    availability_zones: pulumi.Input[list[str]]
    #: The RDS Proxy's security group; required when settings.proxy_enabled; default None.
    proxy_security_group_id: pulumi.Input[str] | None = None
    #: Where the cross-region replica lives; given exactly when settings.dr_region is; default None.
    dr: DrNetworking | None = None
    #: Apply modifications now instead of in the maintenance window; default False.
    apply_immediately: bool = False
    #: The credentials are rotated (components/db_rotation.py): creates the app login's secret, which the
    #: proxy also accepts, and leaves the master secret without a RotationExempt tag; default False.
    rotated: bool = False

    def __post_init__(self) -> None:
        c = Checker("postgres args")
        c.require(len(self.subnet_ids) >= 2, "subnet_ids", len(self.subnet_ids),
                  "needs subnets in at least 2 AZs (RDS subnet groups require it)")
        c.require(not self.settings.proxy_enabled or self.proxy_security_group_id is not None,
                  "proxy_security_group_id", None, "is required when the proxy is enabled")
        c.require(bool(self.settings.dr_region) == (self.dr is not None), "dr",
                  self.dr, "must be given exactly when settings.dr_region is set")
        c.require(self.dr is None or self.settings.replica_backups_supported, "dr", self.settings.engine_version,
                  "needs engine_version 14.1 or later: the DR replica keeps automated backups, which "
                  "PostgreSQL read replicas support only from 14.1")
        c.raise_if_any()


class Postgres(pulumi.ComponentResource):
    """RDS PostgreSQL with encrypted storage, forced TLS, generated credentials and read replicas."""

    def __init__(self, name: str, args: PostgresArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:data:Postgres", name, None, opts)
        s = args.settings
        tags = args.tags
        child = pulumi.ResourceOptions(parent=self)

        key = kms_key(f"{name}-key", f"{name}: storage, Performance Insights and credentials",
                      tags, child, policy=account_key_policy(self))
        self.kms_key = key
        password = random.RandomPassword(
            f"{name}-password", length=40, special=True,
            # RDS refuses / @ " and space in master passwords.
            override_special="!#$%^&*()-_=+[]{}<>:?", min_lower=1, min_upper=1, min_numeric=1,
            opts=child)
        subnet_group = aws.rds.SubnetGroup(f"{name}-subnets", subnet_ids=args.subnet_ids,
                                           description=f"{name} private subnets", tags=tags,
                                           opts=child)
        # Auto-named, so a family change (major upgrade) builds the new group before the old
        # one is deleted and the instance switches over in between.
        params = aws.rds.ParameterGroup(f"{name}-params", family=s.family,
                                        description=f"{name} {s.family} seed settings",
                                        parameters=s.parameter_list(), tags=tags,
                                        opts=pulumi.ResourceOptions(parent=self,
                                                                    delete_before_replace=False))
        monitoring_role_arn = None
        if s.monitoring_interval_seconds:
            role = aws.iam.Role(f"{name}-monitoring-role",
                                assume_role_policy=assume_role_policy("monitoring.rds.amazonaws.com"),
                                tags=tags, opts=child)
            aws.iam.RolePolicyAttachment(
                f"{name}-monitoring-policy", role=role.name,
                policy_arn=aws.iam.ManagedPolicy.AMAZON_RDS_ENHANCED_MONITORING_ROLE, opts=child)
            monitoring_role_arn = role.arn

        common = _InstanceShared(
            storage_type="gp3",
            max_allocated_storage=s.max_allocated_storage_gb,
            publicly_accessible=s.publicly_accessible,
            copy_tags_to_snapshot=True,
            performance_insights_enabled=True,
            performance_insights_retention_period=s.performance_insights_retention_days,
            monitoring_interval=s.monitoring_interval_seconds,
            monitoring_role_arn=monitoring_role_arn,
            enabled_cloudwatch_logs_exports=list(LOG_EXPORTS),
            iam_database_authentication_enabled=True,
            auto_minor_version_upgrade=True,
            ca_cert_identifier=CA_CERTIFICATE,
            apply_immediately=args.apply_immediately,
            tags=tags,
        )
        # Storage autoscaling grows allocated_storage behind Pulumi's back; don't fight it.
        storage_opts = pulumi.ResourceOptions(parent=self, ignore_changes=["allocated_storage"])

        final_id = None
        if s.final_snapshot:
            suffix = random.RandomId(f"{name}-final-snapshot-suffix", byte_length=4, opts=child)
            final_id = pulumi.Output.concat(name, "-final-", suffix.hex)

        first_az = pulumi.Output.from_input(args.availability_zones).apply(lambda zs: zs[0])
        self.primary = aws.rds.Instance(
            f"{name}-primary",
            engine="postgres",
            engine_version=s.engine_version,
            allow_major_version_upgrade=True,
            instance_class=s.instance_class,
            allocated_storage=s.allocated_storage_gb,
            storage_encrypted=True,
            kms_key_id=key.arn,
            performance_insights_kms_key_id=key.arn,
            db_name=s.database_name,
            username=s.username,
            password=password.result,
            port=PORT,
            db_subnet_group_name=subnet_group.name,
            vpc_security_group_ids=[args.security_group_id],
            parameter_group_name=params.name,
            multi_az=s.multi_az,
            # Pin a single-AZ primary so replicas can be spread over the other AZs.
            availability_zone=None if s.multi_az else first_az,
            backup_retention_period=s.backup_retention_days,
            backup_window=s.backup_window,
            maintenance_window=s.maintenance_window,
            deletion_protection=s.deletion_protection,
            skip_final_snapshot=not s.final_snapshot,
            final_snapshot_identifier=final_id,
            delete_automated_backups=False,
            # Not in `common`: CreateDBInstanceReadReplica documents DatabaseInsightsMode as "not
            # supported", so replicas leave it to RDS.
            database_insights_mode=s.database_insights_mode,
            **common,
            opts=storage_opts,
        )

        self.replicas = self._read_replicas(name, args, key, params, common, child, storage_opts)

        self.dr_replica: aws.rds.Instance | None = None
        if args.dr is not None:
            self.dr_replica = self._dr_replica(name, s, args.dr, args.tags, common, child, storage_opts)

        secret = aws.secretsmanager.Secret(
            f"{name}-credentials", description=f"{name} master credentials (RDS secret format)",
            kms_key_id=key.arn, recovery_window_in_days=7, opts=child,
            tags=tags if args.rotated else rotation_exempt(tags, NOT_ROTATED))
        aws.secretsmanager.SecretVersion(
            f"{name}-credentials-version", secret_id=secret.id,
            secret_string=json_output({
                "engine": "postgres", "username": s.username, "password": password.result,
                "host": self.primary.address, "port": PORT, "dbname": s.database_name,
                "dbInstanceIdentifier": self.primary.identifier,
            }),
            opts=child)

        self.app_secret_arn: pulumi.Output[str] | None = None
        app_secret = self._app_secret(name, key, tags, child) if args.rotated else None
        if app_secret is not None:
            self.app_secret_arn = app_secret.arn

        writer_host = self.primary.address
        if s.proxy_enabled:
            writer_host = self._proxy(name, s, args, key, [secret] + ([app_secret] if app_secret else []), child)
        reader_host = self._reader_dns(name, args, writer_host, child)

        self.kms_key_arn = key.arn
        self.secret_arn = secret.arn
        self.port = PORT
        self.primary_address = self.primary.address
        self.writer_endpoint = writer_host
        self.reader_endpoint = reader_host
        self.replica_endpoints = [r.address for r in self.replicas]
        # RDS identifiers for `python -m ops smoke`: the primary, the replicas, the DR replica.
        self.instance_ids = {"primary": self.primary.identifier,
                             "replicas": [r.identifier for r in self.replicas],
                             "dr": self.dr_replica.identifier if self.dr_replica else None,
                             "drRegion": args.dr.region if args.dr else None}
        self.alarm_targets = self._alarm_targets(s)

        def url(host):
            return pulumi.Output.secret(pulumi.Output.all(host, password.result).apply(
                lambda hp: f"postgresql://{quote(s.username)}:{quote(hp[1], safe='')}@{hp[0]}:{PORT}/"
                           f"{s.database_name}?sslmode=require"))

        self.connection_url = url(writer_host)
        self.reader_connection_url = url(reader_host)
        # For clients outside the VPC (Vercel), which cannot resolve the private reader zone:
        # the first replica's own endpoint, or the writer when there is no replica.
        self.external_reader_connection_url = url(self.replicas[0].address if self.replicas else writer_host)

        self.register_outputs({
            "primary_address": self.primary_address,
            "writer_endpoint": self.writer_endpoint,
            "reader_endpoint": self.reader_endpoint,
            "replica_endpoints": self.replica_endpoints,
            "secret_arn": self.secret_arn,
            "app_secret_arn": self.app_secret_arn,
            "connection_url": self.connection_url,
            "reader_connection_url": self.reader_connection_url,
        })

    def _read_replicas(self, name: str, args: PostgresArgs, key: aws.kms.Key, params: aws.rds.ParameterGroup,
                       common: _InstanceShared, child: pulumi.ResourceOptions,
                       storage_opts: pulumi.ResourceOptions) -> list[aws.rds.Instance]:
        """Same-region read replicas, spread over the AZs after the primary's, deletion-protected with
        the primary (through the runbook, as the DR replica)."""
        s, tags = args.settings, args.tags

        def zone_after_primary(i: int) -> pulumi.Output[str]:
            return pulumi.Output.from_input(args.availability_zones).apply(lambda zs: zs[(i + 1) % len(zs)])

        replicas: list[aws.rds.Instance] = []
        for i in range(s.read_replicas):
            az = zone_after_primary(i)
            replicas.append(aws.rds.Instance(
                f"{name}-replica-{i}",
                replicate_source_db=self.primary.identifier,
                instance_class=s.replica_instance_class or s.instance_class,
                availability_zone=az,
                vpc_security_group_ids=[args.security_group_id],
                parameter_group_name=params.name,
                # What RDS gives a same-region replica anyway (the source's encryption and key),
                # stated so the replica is judged on its own inputs.
                storage_encrypted=True,
                kms_key_id=key.arn,
                performance_insights_kms_key_id=key.arn,
                backup_retention_period=0,
                skip_final_snapshot=True,
                # Sent, but ignored by CreateDBInstanceReadReplica; the runbook below applies it.
                deletion_protection=s.deletion_protection,
                **common,
                opts=storage_opts,
            ))
        if s.deletion_protection and replicas:
            region = aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self)).region
            role, policy = self._protection_role(name, "", region, tags, child)
            for i, replica in enumerate(replicas):
                self._protect_replica(f"{name}-replica-{i}", replica, None, role, policy, tags)
        return replicas

    def _alarm_targets(self, s: PostgresSettings) -> list[DatabaseTarget]:
        """The primary, each replica and the DR replica, with the sizes their alarm thresholds derive from."""
        def target(label: str, instance: aws.rds.Instance, replica: bool, region: str = "") -> DatabaseTarget:
            return DatabaseTarget(label, instance.identifier, replica, s.allocated_storage_gb, s.max_connections,
                                  region=region)

        targets = [target("db-primary", self.primary, False)]
        targets += [target(f"db-replica-{i}", r, True) for i, r in enumerate(self.replicas)]
        if self.dr_replica is not None:
            targets.append(target("db-dr-replica", self.dr_replica, True, region=s.dr_region))
        return targets

    def _dr_replica(self, name: str, s: PostgresSettings, dr: DrNetworking, tags: dict[str, str],
                    common: _InstanceShared, child: pulumi.ResourceOptions,
                    storage_opts: pulumi.ResourceOptions) -> aws.rds.Instance:
        key = kms_key(f"{name}-dr-key", f"{name}: DR replica storage in {dr.region}", tags,
                      child, region=dr.region, policy=account_key_policy(self))
        subnets = aws.rds.SubnetGroup(f"{name}-dr-subnets", subnet_ids=dr.subnet_ids,
                                      region=dr.region, description=f"{name} DR subnets",
                                      tags=tags, opts=child)
        params = aws.rds.ParameterGroup(f"{name}-dr-params", family=s.family, region=dr.region,
                                        description=f"{name} {s.family} seed settings (DR)",
                                        parameters=s.parameter_list(), tags=tags, opts=child)
        private: _InstanceShared = {**common, "publicly_accessible": False}  # the DR subnets are private
        replica = aws.rds.Instance(
            f"{name}-dr-replica",
            region=dr.region,
            # Cross-region replicas name their source by ARN.
            replicate_source_db=self.primary.arn,
            instance_class=s.dr_instance_class or s.instance_class,
            storage_encrypted=True,
            kms_key_id=key.arn,
            performance_insights_kms_key_id=key.arn,
            db_subnet_group_name=subnets.name,
            vpc_security_group_ids=[dr.security_group_id],
            parameter_group_name=params.name,
            # Backups on the DR copy so a promoted replica keeps point-in-time recovery.
            backup_retention_period=s.backup_retention_days,
            backup_window=s.backup_window,
            maintenance_window=s.maintenance_window,
            # Sent, but ignored by CreateDBInstanceReadReplica; the runbook below applies it.
            deletion_protection=s.deletion_protection,
            skip_final_snapshot=True,
            **private,
            opts=storage_opts,
        )
        if s.deletion_protection:
            role, policy = self._protection_role(name, "dr-", dr.region, tags, child)
            self._protect_replica(f"{name}-dr", replica, dr.region, role, policy, tags)
        return replica

    def _protection_role(self, name: str, label: str, region: pulumi.Input[str], tags: dict[str, str],
                         child: pulumi.ResourceOptions) -> tuple[aws.iam.Role, aws.iam.RolePolicy]:
        """The role SSM Automation assumes to turn deletion protection on for the replicas in `region`."""
        where = "the DR replica" if label else "the read replicas"
        role = aws.iam.Role(f"{name}-{label}protect-role", assume_role_policy=assume_role_policy("ssm.amazonaws.com"),
                            description=f"{name}: SSM Automation enables deletion protection on {where}",
                            tags=tags, opts=child)
        # Built from the account and region, not from the replica's ARN: the policy then exists
        # (and has propagated through IAM) long before the replica, whose create takes ~20 min,
        # and the runbook's first call does not race it. Modify is held to this stack's DB
        # instances by their tags (rds:db-tag, which covers read replicas).
        identity = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self))
        partition = identity.arn.apply(lambda arn: arn.split(":")[1])
        dbs = pulumi.Output.format("arn:{0}:rds:{1}:{2}:db:*", partition, region, identity.account_id)
        ours = {f"rds:db-tag/{k}": tags[k] for k in ("Project", "Stack") if k in tags}
        policy = aws.iam.RolePolicy(
            f"{name}-{label}protect-policy", role=role.id,
            policy=json_output({"Version": "2012-10-17", "Statement": [
                # DescribeDBInstances runs with a dbi-resource-id filter, which IAM authorises on db:*.
                {"Effect": "Allow", "Action": "rds:DescribeDBInstances", "Resource": dbs},
                {"Effect": "Allow", "Action": "rds:ModifyDBInstance", "Resource": dbs,
                 **({"Condition": {"StringEquals": ours}} if ours else {})},
                # The runbook page lists these among the role's required actions; scoped to this
                # runbook and to executions in this account and region.
                {"Effect": "Allow", "Action": "ssm:StartAutomationExecution", "Resource": pulumi.Output.format(
                    "arn:{0}:ssm:{1}::automation-definition/{2}:*", partition, region,
                    ENABLE_DELETION_PROTECTION_RUNBOOK)},
                {"Effect": "Allow", "Action": "ssm:GetAutomationExecution", "Resource": pulumi.Output.format(
                    "arn:{0}:ssm:{1}:{2}:automation-execution/*", partition, region, identity.account_id)},
            ]}),
            opts=child)
        return role, policy

    def _protect_replica(self, name: str, replica: aws.rds.Instance, region: str | None, role: aws.iam.Role,
                         policy: aws.iam.RolePolicy, tags: dict[str, str]) -> aws.ssm.Association:
        """Turn deletion protection on for a fresh replica within the same `pulumi up`.

        The association runs the AWS-owned runbook once when it is created and the provider waits
        for its success, so the replica is protected when the update ends. The instance's own
        deletion_protection input then matches AWS: a refresh finds no drift, and a plain `up`
        that still holds the create-time state sends one no-op ModifyDBInstance.
        """
        return aws.ssm.Association(
            f"{name}-deletion-protection",
            name=ENABLE_DELETION_PROTECTION_RUNBOOK,
            region=region,
            # No ApplyImmediately: deletion protection takes effect at once either way (the
            # runbook's last step asserts it with the default false), and true would also apply
            # whatever else is pending on the replica outside its maintenance window.
            parameters={"DbInstanceResourceId": replica.resource_id, "AutomationAssumeRole": role.arn},
            wait_for_success_timeout_seconds=900,
            tags=tags,
            # UpdateAssociation of a target-less Automation association is refused ("Must specify
            # both Automation Target Parameter Name and Targets", terraform-provider-aws#41251):
            # a new replica or role gets a new association instead, which re-runs the runbook.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy],
                                        replace_on_changes=["parameters", "waitForSuccessTimeoutSeconds"]))

    def _app_secret(self, name: str, key: aws.kms.Key, tags: dict[str, str],
                    child: pulumi.ResourceOptions) -> aws.secretsmanager.Secret:
        """The app login's secret. Its first version names only the login: the rotation that starts when
        its SecretRotation is created creates the login (as APP_LOGIN's alternate) and writes the
        password and URLs, and every later version is the rotation's, never Pulumi's."""
        secret = aws.secretsmanager.Secret(
            f"{name}-app-credentials", description=f"{name} app login (rotated, alternating users)",
            kms_key_id=key.arn, recovery_window_in_days=7, tags=tags, opts=child)
        aws.secretsmanager.SecretVersion(
            f"{name}-app-credentials-version", secret_id=secret.id,
            secret_string=json.dumps({"engine": "postgres", "username": APP_LOGIN}),
            # The rotation owns the value from its first run on.
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["secretString"]))
        return secret

    def _proxy(self, name, s, args, key, secrets, child) -> pulumi.Output[str]:
        role = aws.iam.Role(f"{name}-proxy-role", assume_role_policy=assume_role_policy("rds.amazonaws.com"),
                            tags=args.tags, opts=child)
        aws.iam.RolePolicy(
            f"{name}-proxy-secret-access", role=role.id,
            policy=json_output({
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
                     "Resource": secrets[0].arn if len(secrets) == 1 else [x.arn for x in secrets]},
                    {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key.arn},
                ],
            }),
            opts=child)
        proxy = aws.rds.Proxy(
            f"{name}-proxy",
            engine_family="POSTGRESQL",
            require_tls=True,
            role_arn=role.arn,
            vpc_subnet_ids=args.subnet_ids,
            vpc_security_group_ids=[args.proxy_security_group_id],
            idle_client_timeout=1800,
            debug_logging=False,
            # One auth per secret, each for the login it names (RDS API UserAuthConfig): the master, and
            # with rotation the app login, whose secret the proxy reads again after each rotation.
            auths=[{
                "auth_scheme": "SECRETS",
                "secret_arn": x.arn,
                "iam_auth": "DISABLED",
                "client_password_auth_type":
                    "POSTGRES_SCRAM_SHA_256" if s.major >= 14 else "POSTGRES_MD5",
                "description": "master credentials from Secrets Manager" if i == 0 else
                               "app login (rotated) from Secrets Manager",
            } for i, x in enumerate(secrets)],
            tags=args.tags,
            opts=child)
        # The seed's PgBouncer pool (25 of max_connections) as the proxy's share of connections.
        percent = max(1, min(100, math.ceil(100 * s.proxy_pool_size / s.max_connections)))
        target_group = aws.rds.ProxyDefaultTargetGroup(
            f"{name}-proxy-pool", db_proxy_name=proxy.name,
            connection_pool_config={
                "max_connections_percent": percent,
                "max_idle_connections_percent": max(1, percent // 2),
                "connection_borrow_timeout": s.proxy_borrow_timeout_seconds,
            },
            opts=child)
        aws.rds.ProxyTarget(f"{name}-proxy-target", db_proxy_name=proxy.name,
                            target_group_name=target_group.name,
                            db_instance_identifier=self.primary.identifier, opts=child)
        return proxy.endpoint

    def _reader_dns(self, name, args, writer_host, child):
        """One private name for reads that spreads over the replicas (the primary when none).

        RDS Proxy read-only endpoints serve only Aurora clusters, so for RDS instances a
        weighted private DNS record is the reader endpoint.
        """
        zone_name = f"{name}.internal"
        zone = aws.route53.Zone(f"{name}-zone", name=zone_name,
                                comment=f"{name}: stable writer/reader names inside the VPC",
                                vpcs=[{"vpc_id": args.vpc_id}], tags=args.tags, opts=child)
        aws.route53.Record(f"{name}-writer-record", zone_id=zone.zone_id, name=f"writer.{zone_name}",
                           type="CNAME", ttl=5, records=[writer_host], opts=child)
        reader = f"reader.{zone_name}"
        if not self.replicas:
            aws.route53.Record(f"{name}-reader-record", zone_id=zone.zone_id, name=reader,
                               type="CNAME", ttl=5, records=[self.primary.address], opts=child)
        for i, replica in enumerate(self.replicas):
            aws.route53.Record(f"{name}-reader-record-{i}", zone_id=zone.zone_id, name=reader,
                               type="CNAME", ttl=5, records=[replica.address],
                               set_identifier=f"replica-{i}", weighted_routing_policies=[{"weight": 1}],
                               opts=child)
        return pulumi.Output.from_input(reader)

"""Composition only: typed stack settings in, components out.

Every difference between stacks lives in Pulumi.<stack>.yaml; nothing here asks which stack it is.
"""

from typing import TypeVar

import pulumi
import pulumi_aws as aws

import stack_config
from components._dns_zone import DnsZone
from components.alarms import Alarms, AlarmsArgs
from components.app import DatabaseSecret, DataUrls, UploadsBucket
from components.backup_bucket import BackupBucket, BackupBucketArgs
from components.backup_jobs import BackupJobs, BackupJobsArgs
from components.cdn import Assets, AssetsArgs, Cdn, CdnArgs
from components.db_rotation import DatabaseRotation, DatabaseRotationArgs, EcsTarget
from components.dns import Dns, DnsArgs
from components.ecs_service import EcsService, EcsServiceArgs
from components.network import Network, NetworkArgs, NetworkSettings
from components.postgres import DrNetworking, Postgres, PostgresArgs
from components.redis import Redis, RedisArgs
from components.vercel_app import VercelApp, VercelAppArgs

T = TypeVar("T")


def export(**outputs: object) -> None:
    """Stack outputs, named as `pulumi stack output` and the ops commands read them."""
    for name, value in outputs.items():
        pulumi.export(name, value)


def required(value: T | None, what: str) -> T:
    """A value the enclosing branch guarantees: the network builds a tier's security group when the
    tier is on, and stack_config.load sets `ecs` exactly when appHosting is aws."""
    if value is None:
        raise RuntimeError(f"{what} is missing: a bug in the program, not in the stack's config")
    return value


cfg = stack_config.from_runtime()  # raises ConfigError before anything is registered
tags = cfg.tags
provider = aws.Provider("aws", region=cfg.aws_region)
with_aws = pulumi.ResourceOptions(providers=[provider])
stateful = pulumi.ResourceOptions(providers=[provider], protect=cfg.protect_stateful_resources)

peer = cfg.vercel if cfg.vercel and cfg.vercel.secure_compute else None
network = Network("network", NetworkArgs(
    cfg.network, tags, cfg.log_retention_days, database=cfg.postgres is not None,
    cache=cfg.redis is not None, proxy=bool(cfg.postgres and cfg.postgres.proxy_enabled), rotation=cfg.credentials_rotated,
    ops=cfg.backup_jobs_runnable,
    peer_cidr=peer.secure_compute_cidr if peer else "",
    peering_connection_id=peer.peering_connection_id if peer else ""), opts=with_aws)
export(vpcId=network.vpc_id, privateSubnetIds=network.private_subnet_ids,
       appSecurityGroupId=network.app_security_group_id)

db = dr = None
if cfg.postgres and cfg.postgres.dr_region:
    dr_net = Network("dr-network", NetworkArgs(
        NetworkSettings(vpc_cidr=cfg.dr_vpc_cidr, nat_gateways="none"), tags, cfg.log_retention_days,
        region=cfg.postgres.dr_region, cache=False), opts=with_aws)
    dr = DrNetworking(cfg.postgres.dr_region, dr_net.private_subnet_ids,
                      required(dr_net.database_security_group_id, "the DR network's database security group"))
if cfg.postgres:
    db = Postgres("postgres", PostgresArgs(
        cfg.postgres, tags, vpc_id=network.vpc_id,
        subnet_ids=network.public_subnet_ids if cfg.postgres.publicly_accessible else network.private_subnet_ids,
        security_group_id=required(network.database_security_group_id, "the database security group"),
        availability_zones=network.availability_zones,
        proxy_security_group_id=network.proxy_security_group_id, dr=dr,
        apply_immediately=cfg.apply_immediately, rotated=cfg.credentials_rotated), opts=stateful)
    export(databaseWriterEndpoint=db.writer_endpoint, databaseReaderEndpoint=db.reader_endpoint,
           databaseReplicaEndpoints=db.replica_endpoints, databaseSecretArn=db.secret_arn,
           databaseInstances=db.instance_ids, databaseUrl=db.connection_url, databaseReadUrl=db.reader_connection_url)
    if db.app_secret_arn is not None:
        export(databaseAppSecretArn=db.app_secret_arn)
elif cfg.external_database_url is not None:
    export(databaseUrl=cfg.external_database_url)
elif cfg.app.hosting != "none":
    # Allowed so a stack can plan before its secret is set, but never silently: the app would start without a database.
    pulumi.log.warn("postgresEnabled is false and externalDatabaseUrl is empty, so the app gets no DATABASE_URL. "
                    f"Set it: pulumi config set --secret externalDatabaseUrl <url> --stack {cfg.stack}")

cache = None
if cfg.redis:
    cache = Redis("redis", RedisArgs(
        cfg.redis, tags, subnet_ids=network.private_subnet_ids,
        security_group_id=required(network.cache_security_group_id, "the cache security group"),
        availability_zones=network.availability_zones, log_retention_days=cfg.log_retention_days,
        apply_immediately=cfg.apply_immediately), opts=stateful)
    export(redisPrimaryEndpoint=cache.primary_endpoint, redisReaderEndpoint=cache.reader_endpoint,
           redisUrl=cache.url, redisReplicationGroupId=cache.replication_group.replication_group_id)

backups = None
if cfg.backups:
    backups = BackupBucket("backups", BackupBucketArgs(cfg.backups, tags, cfg.log_retention_days), opts=stateful)
    export(backupBucketName=backups.bucket_name, backupKmsKeyArn=backups.kms_key_arn,
           backupWriterPolicyArn=backups.writer_policy_arn, backupOperatorPolicyArn=backups.operator_policy_arn)

data = DataUrls(database_url=db.connection_url if db else cfg.external_database_url,
               database_read_url=db.reader_connection_url if db else None,
               external_database_read_url=db.external_reader_connection_url if db else None,
               redis_url=cache.url if cache else None,
               database_secret=DatabaseSecret(db.app_secret_arn, db.kms_key_arn) if db and db.app_secret_arn else None)
app: VercelApp | EcsService | None = None
cdn = None
if cfg.app.hosting != "none":
    dns = DnsZone.for_settings(cfg.app.dns_provider, cfg.app.zone_name, cfg.cloudflare,
                               opts=pulumi.InvokeOutputOptions(provider=provider))
    assets = uploads = None
    if cfg.cdn:
        # Before the app, whose task writes uploads into it, and the CDN, which needs the app's origin.
        assets = Assets("cdn", AssetsArgs(tags, cfg.cdn.assets_path), opts=stateful)
        uploads = UploadsBucket(assets.bucket_name, assets.bucket_arn, assets.kms_key_arn, assets.uploads_prefix)
        export(assetsBucketName=assets.bucket_name)
    if cfg.vercel:
        app = VercelApp("app", VercelAppArgs(
            cfg.app, cfg.vercel, cfg.project_name, data, uploads=uploads,
            origin_secret=VercelApp.cdn_origin_secret("cdn-origin-secret") if cfg.cdn else None), opts=with_aws)
        export(vercelProjectId=app.project_id)
    else:
        app = EcsService("app", EcsServiceArgs(
            cfg.app, required(cfg.ecs, "ecs settings (appHosting aws)"), tags, cfg.project_name, data,
            vpc_id=network.vpc_id, public_subnet_ids=network.public_subnet_ids,
            private_subnet_ids=network.private_subnet_ids, app_security_group_id=network.app_security_group_id,
            dns=dns, rate_limits=cfg.rate_limits, stack=cfg.stack, log_retention_days=cfg.log_retention_days,
            uploads=uploads,
            origin_secret=EcsService.cdn_origin_secret("cdn-origin-secret") if cfg.cdn else None), opts=with_aws)
        # ecsClusterName and ecsServiceName: `python -m ops smoke` checks the service
        export(ecrRepositoryUrl=app.repository_url, loadBalancerDnsName=app.load_balancer_dns_name,
               ecsClusterName=app.cluster_name, ecsServiceName=app.service_name)
    export(appUrl=cfg.app.url, appEnvironmentKeys=app.environment_keys)
    if cfg.cdn and assets is not None:
        cdn = Cdn("cdn", CdnArgs(
            cfg.cdn, cfg.rate_limits, tags, cfg.app.domain, dns, app.origin_hostname,
            origin_is_load_balancer=app.origin_is_load_balancer, assets=assets, origin_secret=app.origin_secret,
            stack=cfg.stack, log_retention_days=cfg.log_retention_days,
            validation_record_fqdns=app.validation_record_fqdns), opts=with_aws)
        export(cdnDomainName=cdn.domain_name, cdnDistributionId=cdn.distribution_id)
    Dns("dns", DnsArgs(dns, cdn.site_target if cdn else app.site_target, cfg.cloudflare, cfg.rate_limits),
        opts=with_aws)

if db is not None and db.app_secret_arn is not None:
    DatabaseRotation("postgres-rotation", DatabaseRotationArgs(
        required(cfg.postgres, "postgres settings").rotation_days, tags, db.secret_arn, db.app_secret_arn,
        db.kms_key, network.private_subnet_ids,
        required(network.rotation_security_group_id, "the rotation security group"),
        writer_host=db.writer_endpoint, reader_host=db.reader_endpoint,
        ecs=EcsTarget(app.cluster_name, app.service_name) if isinstance(app, EcsService) else None,
        log_retention_days=cfg.log_retention_days), opts=with_aws)
jobs = None
if cfg.backup_jobs and cfg.backup_jobs_runnable and db and backups and cfg.postgres:
    # After the app: its ECS cluster, when there is one, runs the jobs too.
    jobs = BackupJobs("backup-jobs", BackupJobsArgs(
        cfg.backup_jobs, tags, cfg.project_name, stack=cfg.stack, region=cfg.aws_region,
        private_subnet_ids=network.private_subnet_ids, vpc_cidr=cfg.network.vpc_cidr,
        security_group_id=required(network.ops_security_group_id, "the backup jobs' security group"),
        database_secret_arn=db.secret_arn, database_kms_key_arn=db.kms_key_arn,
        bucket_name=backups.bucket_name, bucket_kms_key_arn=backups.kms_key_arn,
        postgres_major=cfg.postgres.major, log_retention_days=cfg.log_retention_days,
        cluster_name=app.cluster_name if isinstance(app, EcsService) else None), opts=with_aws)
    # The deploy workflow builds the ops image for this repository with PG_MAJOR (ops/Dockerfile).
    export(opsRepositoryUrl=jobs.repository_url, backupPgMajor=cfg.postgres.major,
           backupClusterName=jobs.cluster_name, backupTaskFamilies=jobs.task_families,
           backupScheduleGroup=jobs.schedule_group_name, backupLogGroupName=jobs.log_group_name)
elif cfg.postgres is None and cfg.backups:
    BackupJobs.none("backup-jobs", "none: the database is external (postgresEnabled false); the ops jobs dump "
                    "only RDS PostgreSQL, so back it up with its provider's tools", opts=with_aws)
elif cfg.backup_jobs:
    BackupJobs.none("backup-jobs", "none: natGateways is none, and the jobs' tasks reach ECR, S3 and Secrets "
                    "Manager through NAT (pulumi config set natGateways single)", opts=with_aws)

alarms = Alarms("alarms", AlarmsArgs(
    cfg.observability, tags, cfg.aws_region, name_prefix=cfg.project_name, databases=db.alarm_targets if db else [],
    cache=cache.alarm_target if cache else None, distribution_id=cdn.distribution_id if cdn else None,
    load_balancer=app.load_balancer_target if isinstance(app, EcsService) else None,
    uptime=app.uptime_target if app else None, backups=jobs.alarm_target if jobs else None), opts=with_aws)
export(alarmTopicArn=alarms.topic_arn, alarms=alarms.alarm_locations, awsRegion=cfg.aws_region,
       dashboardName=alarms.dashboard_name)

"""Composition only: typed stack settings in, components out.

Every difference between stacks lives in Pulumi.<stack>.yaml; nothing here asks which stack it is.
"""

import pulumi
import pulumi_aws as aws
import pulumi_random as random

import stack_config
from components._dns_zone import DnsZone, SiteTarget
from components.alarms import Alarms, AlarmsArgs, CacheTarget, DatabaseTarget, LoadBalancerTarget, UptimeTarget
from components.app import VERCEL_APEX_IP, VERCEL_CNAME, App, AppArgs, UploadsBucket
from components.backup_bucket import BackupBucket, BackupBucketArgs
from components.cdn import Assets, AssetsArgs, Cdn, CdnArgs
from components.dns import Dns, DnsArgs
from components.network import Network, NetworkArgs, NetworkSettings
from components.postgres import DrNetworking, Postgres, PostgresArgs
from components.redis import Redis, RedisArgs

cfg = stack_config.from_runtime()  # raises ConfigError before anything is registered
tags = cfg.tags
provider = aws.Provider("aws", region=cfg.aws_region)
with_aws = pulumi.ResourceOptions(providers=[provider])
stateful = pulumi.ResourceOptions(providers=[provider], protect=cfg.protect_stateful_resources)

secure_compute = cfg.vercel if cfg.vercel and cfg.vercel.secure_compute else None
network = Network("network", NetworkArgs(
    cfg.network, tags, cfg.log_retention_days, database=cfg.postgres is not None,
    cache=cfg.redis is not None, proxy=bool(cfg.postgres and cfg.postgres.proxy_enabled),
    peer_cidr=secure_compute.secure_compute_cidr if secure_compute else "",
    peering_connection_id=secure_compute.peering_connection_id if secure_compute else ""), opts=with_aws)
pulumi.export("vpcId", network.vpc_id)
pulumi.export("privateSubnetIds", network.private_subnet_ids)
pulumi.export("appSecurityGroupId", network.app_security_group_id)

db = cache = None
database_url = read_url = None
if cfg.postgres:
    dr = None
    if cfg.postgres.dr_region:
        dr_net = Network("dr-network", NetworkArgs(
            NetworkSettings(vpc_cidr=cfg.dr_vpc_cidr, nat_gateways="none"), tags, cfg.log_retention_days,
            region=cfg.postgres.dr_region, cache=False), opts=with_aws)
        dr = DrNetworking(cfg.postgres.dr_region, dr_net.private_subnet_ids, dr_net.database_security_group_id)
    db = Postgres("postgres", PostgresArgs(
        cfg.postgres, tags, vpc_id=network.vpc_id,
        subnet_ids=network.public_subnet_ids if cfg.postgres.publicly_accessible else network.private_subnet_ids,
        security_group_id=network.database_security_group_id,
        availability_zones=network.availability_zones,
        proxy_security_group_id=network.proxy_security_group_id, dr=dr,
        apply_immediately=cfg.apply_immediately), opts=stateful)
    pulumi.export("databaseWriterEndpoint", db.writer_endpoint)
    pulumi.export("databaseReaderEndpoint", db.reader_endpoint)
    pulumi.export("databaseReplicaEndpoints", db.replica_endpoints)
    pulumi.export("databaseSecretArn", db.secret_arn)
    pulumi.export("databaseInstances", db.instance_ids)
    pulumi.export("databaseUrl", db.connection_url)
    pulumi.export("databaseReadUrl", db.reader_connection_url)
    # Vercel cannot resolve the VPC's private reader zone; it reads from a replica's own endpoint.
    outside_vpc = cfg.app.hosting == "vercel"
    database_url = db.connection_url
    read_url = db.external_reader_connection_url if outside_vpc else db.reader_connection_url
elif cfg.external_database_url is not None:
    pulumi.export("databaseUrl", cfg.external_database_url)
    database_url = cfg.external_database_url
elif cfg.app.hosting != "none":
    # Allowed so a stack can plan before its secret is set, but never silently: the app would start without a database.
    pulumi.log.warn("postgresEnabled is false and externalDatabaseUrl is empty, so the app gets no DATABASE_URL. "
                    f"Set it: pulumi config set --secret externalDatabaseUrl <url> --stack {cfg.stack}")

if cfg.redis:
    cache = Redis("redis", RedisArgs(
        cfg.redis, tags, subnet_ids=network.private_subnet_ids,
        security_group_id=network.cache_security_group_id,
        availability_zones=network.availability_zones, log_retention_days=cfg.log_retention_days,
        apply_immediately=cfg.apply_immediately), opts=stateful)
    pulumi.export("redisPrimaryEndpoint", cache.primary_endpoint)
    pulumi.export("redisReaderEndpoint", cache.reader_endpoint)
    pulumi.export("redisUrl", cache.url)
    pulumi.export("redisReplicationGroupId", cache.replication_group.replication_group_id)

if cfg.backups:
    backups = BackupBucket("backups", BackupBucketArgs(cfg.backups, tags, cfg.log_retention_days),
                           opts=stateful)
    pulumi.export("backupBucketName", backups.bucket_name)
    pulumi.export("backupKmsKeyArn", backups.kms_key_arn)
    pulumi.export("backupWriterPolicyArn", backups.writer_policy_arn)
    pulumi.export("backupOperatorPolicyArn", backups.operator_policy_arn)

app = cdn = None
if cfg.app.hosting != "none":
    zone_id = cfg.cloudflare.zone_id if cfg.app.dns_provider == "cloudflare" else aws.route53.get_zone_output(
        name=cfg.app.zone_name, private_zone=False, opts=pulumi.InvokeOutputOptions(provider=provider)).zone_id
    dns = DnsZone(cfg.app.dns_provider, zone_id, proxied=bool(cfg.cloudflare and cfg.cloudflare.proxied))
    origin_secret = assets = uploads = None
    if cfg.cdn:
        # ALB: the header its listener rule checks. Vercel: the project's protection bypass, which
        # Vercel takes as exactly 32 alphanumerics (pulumiverse_vercel ProjectProtectionBypass.secret).
        origin_secret = random.RandomPassword("cdn-origin-secret", length=40 if cfg.app.hosting == "aws" else 32,
                                              special=False).result
    if cfg.cdn:
        # Before the app, whose task writes uploads into it, and the CDN, which needs the app's origin.
        assets = Assets("cdn", AssetsArgs(tags, cfg.cdn.assets_path), opts=stateful)  # holds uploads
        uploads = UploadsBucket(assets.bucket_name, assets.bucket_arn, assets.kms_key_arn, assets.uploads_prefix)
        pulumi.export("assetsBucketName", assets.bucket_name)
    app = App("app", AppArgs(
        cfg.app, tags, cfg.project_name, vercel=cfg.vercel, ecs=cfg.ecs,
        database_url=database_url, database_read_url=read_url, redis_url=cache.url if cache else None,
        vpc_id=network.vpc_id, public_subnet_ids=network.public_subnet_ids,
        private_subnet_ids=network.private_subnet_ids, app_security_group_id=network.app_security_group_id,
        dns=dns, log_retention_days=cfg.log_retention_days, behind_cdn=cfg.cdn is not None,
        origin_secret=origin_secret, uploads=uploads), opts=with_aws)
    pulumi.export("appUrl", cfg.app.url)
    pulumi.export("appEnvironmentKeys", app.environment_keys)
    if app.project_id is not None:
        pulumi.export("vercelProjectId", app.project_id)
    if app.repository_url is not None:
        pulumi.export("ecrRepositoryUrl", app.repository_url)
        pulumi.export("loadBalancerDnsName", app.load_balancer_dns_name)
        pulumi.export("ecsClusterName", app.cluster_name)  # `python -m ops smoke` checks the service
        pulumi.export("ecsServiceName", app.service_name)

    if cfg.cdn:
        cdn = Cdn("cdn", CdnArgs(
            cfg.cdn, cfg.rate_limits, tags, cfg.app.domain, dns, app.origin_hostname,
            origin_is_load_balancer=cfg.app.hosting == "aws", assets=assets, stack=cfg.stack,
            origin_secret=origin_secret,
            log_retention_days=cfg.log_retention_days, validation_record_fqdns=app.validation_record_fqdns),
            opts=with_aws)
        target = SiteTarget(cfg.app.domain, cdn.domain_name, cdn.hosted_zone_id, description="CloudFront")
        pulumi.export("cdnDomainName", cdn.domain_name)
        pulumi.export("cdnDistributionId", cdn.distribution_id)
    elif cfg.app.hosting == "aws":
        target = SiteTarget(cfg.app.domain, app.load_balancer_dns_name, app.load_balancer_zone_id,
                            description="load balancer")
    else:
        target = SiteTarget(cfg.app.domain, VERCEL_CNAME, apex_ip=VERCEL_APEX_IP, description="Vercel")
    Dns("dns", DnsArgs(dns, target, cfg.cloudflare, cfg.rate_limits), opts=with_aws)

databases = []
if db is not None:
    pg = cfg.postgres
    databases.append(DatabaseTarget("db-primary", db.primary.identifier, False, pg.allocated_storage_gb,
                                    pg.max_connections))
    databases += [DatabaseTarget(f"db-replica-{i}", r.identifier, True, pg.allocated_storage_gb, pg.max_connections)
                  for i, r in enumerate(db.replicas)]
    if db.dr_replica is not None:
        databases.append(DatabaseTarget("db-dr-replica", db.dr_replica.identifier, True, pg.allocated_storage_gb,
                                        pg.max_connections, region=pg.dr_region))
alarms = Alarms("alarms", AlarmsArgs(
    cfg.observability, tags, cfg.aws_region, name_prefix=cfg.project_name, databases=databases,
    cache=CacheTarget(cache.node_ids, cfg.redis.highly_available or cfg.redis.cluster_mode) if cache else None,
    distribution_id=cdn.distribution_id if cdn else None,
    load_balancer=LoadBalancerTarget(app.load_balancer_arn_suffix, app.target_group_arn_suffix)
    if app is not None and app.load_balancer_arn_suffix is not None else None,
    uptime=UptimeTarget(cfg.app.domain, cfg.app.health_check_path) if cfg.app.hosting != "none" else None),
    opts=with_aws)
pulumi.export("alarmTopicArn", alarms.topic_arn)
pulumi.export("alarms", alarms.alarm_locations)
pulumi.export("awsRegion", cfg.aws_region)
pulumi.export("dashboardName", alarms.dashboard_name)

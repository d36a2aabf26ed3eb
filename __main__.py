"""Composition only: typed stack settings in, components out.

Every difference between stacks lives in Pulumi.<stack>.yaml; nothing here asks which stack it is.
"""

import pulumi
import pulumi_aws as aws

import stack_config
from components.backup_bucket import BackupBucket, BackupBucketArgs
from components.network import Network, NetworkArgs, NetworkSettings
from components.postgres import DrNetworking, Postgres, PostgresArgs
from components.redis import Redis, RedisArgs

cfg = stack_config.from_runtime()  # raises ConfigError before anything is registered
tags = cfg.tags
provider = aws.Provider("aws", region=cfg.aws_region)
with_aws = pulumi.ResourceOptions(providers=[provider])
stateful = pulumi.ResourceOptions(providers=[provider], protect=cfg.protect_stateful_resources)

network = Network("network", NetworkArgs(
    cfg.network, tags, cfg.log_retention_days, database=cfg.postgres is not None,
    cache=cfg.redis is not None, proxy=bool(cfg.postgres and cfg.postgres.proxy_enabled)), opts=with_aws)
pulumi.export("vpcId", network.vpc_id)
pulumi.export("privateSubnetIds", network.private_subnet_ids)
pulumi.export("appSecurityGroupId", network.app_security_group_id)

if cfg.postgres:
    dr = None
    if cfg.postgres.dr_region:
        dr_net = Network("dr-network", NetworkArgs(
            NetworkSettings(vpc_cidr=cfg.dr_vpc_cidr, nat_gateways="none"), tags, cfg.log_retention_days,
            region=cfg.postgres.dr_region, cache=False), opts=with_aws)
        dr = DrNetworking(cfg.postgres.dr_region, dr_net.private_subnet_ids, dr_net.database_security_group_id)
    db = Postgres("postgres", PostgresArgs(
        cfg.postgres, tags, vpc_id=network.vpc_id, subnet_ids=network.private_subnet_ids,
        security_group_id=network.database_security_group_id,
        availability_zones=network.availability_zones,
        proxy_security_group_id=network.proxy_security_group_id, dr=dr,
        apply_immediately=cfg.apply_immediately), opts=stateful)
    pulumi.export("databaseWriterEndpoint", db.writer_endpoint)
    pulumi.export("databaseReaderEndpoint", db.reader_endpoint)
    pulumi.export("databaseReplicaEndpoints", db.replica_endpoints)
    pulumi.export("databaseSecretArn", db.secret_arn)
    pulumi.export("databaseUrl", db.connection_url)
    pulumi.export("databaseReadUrl", db.reader_connection_url)
elif cfg.external_database_url is not None:
    pulumi.export("databaseUrl", cfg.external_database_url)

if cfg.redis:
    cache = Redis("redis", RedisArgs(
        cfg.redis, tags, subnet_ids=network.private_subnet_ids,
        security_group_id=network.cache_security_group_id,
        availability_zones=network.availability_zones, log_retention_days=cfg.log_retention_days,
        apply_immediately=cfg.apply_immediately), opts=stateful)
    pulumi.export("redisPrimaryEndpoint", cache.primary_endpoint)
    pulumi.export("redisReaderEndpoint", cache.reader_endpoint)
    pulumi.export("redisUrl", cache.url)

if cfg.backups:
    backups = BackupBucket("backups", BackupBucketArgs(cfg.backups, tags, cfg.log_retention_days),
                           opts=stateful)
    pulumi.export("backupBucketName", backups.bucket_name)
    pulumi.export("backupKmsKeyArn", backups.kms_key_arn)
    pulumi.export("backupWriterPolicyArn", backups.writer_policy_arn)

"""RDS, Aurora and ElastiCache resources the program does not create, written as a user would
(policy_cases.Case): Aurora clusters and their instances and parameter groups, engines other than
PostgreSQL, replicas of databases outside the stack, RDS Proxy, ElastiCache Cluster and ServerlessCache."""

from __future__ import annotations

import pulumi_aws as aws
import pytest
from policy_cases import Case, assert_case, ids

TAGS = {"Project": "platform", "Environment": "production", "Owner": "platform-team", "ManagedBy": "pulumi"}
EXTERNAL = "arn:aws:rds:us-east-1:123456789012:db:legacy-primary"


def _key() -> aws.kms.Key:
    return aws.kms.Key("key", description="data", enable_key_rotation=True, tags=TAGS)


# ---- Aurora ---------------------------------------------------------------------------------------
def _cluster(**overrides):
    def program() -> None:
        key = _key()
        args = dict(engine="aurora-postgresql", engine_version="16.4", master_username="app_admin",
                    manage_master_user_password=True, master_user_secret_kms_key_id=key.arn,
                    storage_encrypted=True, kms_key_id=key.arn, backup_retention_period=30,
                    deletion_protection=True, final_snapshot_identifier="aurora-final",
                    iam_database_authentication_enabled=True, enabled_cloudwatch_logs_exports=["postgresql"],
                    db_cluster_parameter_group_name="aurora-tls", copy_tags_to_snapshot=True, tags=TAGS)
        args.update({k: (key.arn if v == "KEY" else v) for k, v in overrides.items()})
        aws.rds.Cluster("aurora", **args)
    return program


def _cluster_instance(**overrides):
    def program() -> None:
        key = _key()
        role = aws.iam.Role("monitoring", assume_role_policy="{}", tags=TAGS)
        args = dict(cluster_identifier="aurora", engine="aurora-postgresql", instance_class="db.r6g.large",
                    publicly_accessible=False, ca_cert_identifier="rds-ca-rsa2048-g1",
                    performance_insights_enabled=True, performance_insights_kms_key_id=key.arn,
                    monitoring_interval=60, monitoring_role_arn=role.arn, auto_minor_version_upgrade=True, tags=TAGS)
        args.update(overrides)
        aws.rds.ClusterInstance("aurora-1", **args)
    return program


def _cluster_params(force_ssl: bool):
    def program() -> None:
        params = [{"name": "log_min_duration_statement", "value": "1000"}]
        if force_ssl:
            params.append({"name": "rds.force_ssl", "value": "1"})
        aws.rds.ClusterParameterGroup("aurora-tls", family="aurora-postgresql16", parameters=params, tags=TAGS)
    return program


# ---- instances: other engines, replicas, proxy ------------------------------------------------------
def _instance(**overrides):
    def program() -> None:
        key = _key()
        args = dict(engine="mysql", instance_class="db.t4g.micro", allocated_storage=20, username="admin",
                    manage_master_user_password=True, master_user_secret_kms_key_id=key.arn,
                    storage_encrypted=True, kms_key_id=key.arn, backup_retention_period=30,
                    ca_cert_identifier="rds-ca-rsa4096-g1", tags=TAGS)
        args.update({k: (key.arn if v == "KEY" else v) for k, v in overrides.items()})
        aws.rds.Instance("db", **args)
    return program


def _replica(source: str, **overrides):
    """A replica; source "stack": of the primary in this program (by reference), else the literal
    `source` (app-primary is the in-stack primary's identifier). A second replica of the primary
    keeps rds-read-replica content in every twin."""
    def program() -> None:
        key = _key()
        primary = aws.rds.Instance("primary", identifier="app-primary", engine="postgres", instance_class="db.t4g.micro", allocated_storage=20,
                                   username="app_admin", manage_master_user_password=True,
                                   master_user_secret_kms_key_id=key.arn, storage_encrypted=True,
                                   kms_key_id=key.arn, backup_retention_period=30, deletion_protection=True,
                                   final_snapshot_identifier="app-final", tags=TAGS)
        args = dict(replicate_source_db=primary.identifier if source == "stack" else source,
                    instance_class="db.t4g.micro", storage_encrypted=True, kms_key_id=key.arn,
                    backup_retention_period=0, deletion_protection=True, skip_final_snapshot=True,
                    ca_cert_identifier="rds-ca-rsa2048-g1", tags=TAGS)
        aws.rds.Instance("replica-b", **{**args, "replicate_source_db": primary.identifier})
        args.update(overrides)
        aws.rds.Instance("replica", **args)
    return program


def _proxy(tls: bool):
    def program() -> None:
        aws.rds.Proxy("proxy", engine_family="POSTGRESQL", require_tls=tls,
                      role_arn="arn:aws:iam::123456789012:role/proxy", vpc_subnet_ids=["subnet-1", "subnet-2"],
                      auths=[{"auth_scheme": "SECRETS", "iam_auth": "DISABLED",
                              "secret_arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:db"}], tags=TAGS)
    return program


# ---- ElastiCache -----------------------------------------------------------------------------------
def _serverless(**overrides):
    def program() -> None:
        key = _key()
        args = dict(engine="valkey", kms_key_id=key.arn, security_group_ids=["sg-0123456789abcdef0"],
                    subnet_ids=["subnet-1", "subnet-2"], snapshot_retention_limit=7, user_group_id="app-users",
                    tags=TAGS)
        args.update(overrides)
        aws.elasticache.ServerlessCache("cache", **args)
    return program


def _node_cluster(**overrides):
    def program() -> None:
        args = dict(engine="memcached", node_type="cache.t4g.micro", num_cache_nodes=1, transit_encryption_enabled=True,
                    subnet_group_name="cache-private", security_group_ids=["sg-0123456789abcdef0"], tags=TAGS)
        args.update(overrides)
        aws.elasticache.Cluster("nodes", **args)
    return program


CASES = [
    # Aurora and Multi-AZ DB clusters
    Case("rds-storage-encrypted", _cluster(storage_encrypted=False), _cluster(), "storageEncrypted is not true",
         id="cluster"),
    Case("rds-storage-encrypted", _cluster(kms_key_id="alias/aws/rds"), _cluster(), "AWS-managed key alias/aws/rds",
         id="cluster-aws-managed-key"),
    Case("rds-backup-retention", _cluster(backup_retention_period=1), _cluster(), "backupRetentionPeriod is 1 days",
         id="cluster"),
    Case("rds-deletion-protection", _cluster(deletion_protection=False), _cluster(), "deletionProtection is not true",
         id="cluster"),
    Case("rds-deletion-protection", _cluster(final_snapshot_identifier=None, skip_final_snapshot=True), _cluster(),
         "no final snapshot", id="cluster-final-snapshot"),
    Case("rds-iam-auth", _cluster(iam_database_authentication_enabled=False), _cluster(),
         "iamDatabaseAuthenticationEnabled is not true", id="cluster"),
    Case("rds-log-exports", _cluster(enabled_cloudwatch_logs_exports=[]), _cluster(), 'does not include "postgresql"',
         id="cluster"),
    Case("rds-copy-tags-to-snapshot", _cluster(copy_tags_to_snapshot=False), _cluster(),
         "copyTagsToSnapshot is not true", id="cluster"),
    Case("rds-force-ssl", _cluster(db_cluster_parameter_group_name="default.aurora-postgresql16"), _cluster(),
         "dbClusterParameterGroupName is default.aurora-postgresql16", id="cluster"),
    Case("rds-force-ssl", _cluster_params(False), _cluster_params(True), "does not set rds.force_ssl=1",
         id="cluster-parameter-group"),
    Case("secrets-cmk", _cluster(master_user_secret_kms_key_id="alias/aws/secretsmanager"), _cluster(),
         "masterUserSecretKmsKeyId is the AWS-managed key", id="cluster-master-secret"),
    Case("rds-not-public", _cluster_instance(publicly_accessible=True), _cluster_instance(),
         "does not set allowPublic", id="cluster-instance"),
    Case("rds-enhanced-monitoring", _cluster_instance(monitoring_interval=0), _cluster_instance(),
         "monitoringInterval is 0", id="cluster-instance"),
    Case("rds-auto-minor-upgrade", _cluster_instance(auto_minor_version_upgrade=False), _cluster_instance(),
         "autoMinorVersionUpgrade is false", id="cluster-instance"),
    Case("rds-performance-insights-encrypted",
         _cluster_instance(performance_insights_kms_key_id="arn:aws:kms:us-east-1:123456789012:alias/aws/rds"),
         _cluster_instance(), "AWS-managed key arn:aws:kms:us-east-1:123456789012:alias/aws/rds",
         id="cluster-instance-aws-managed-key"),
    Case("rds-ca-certificate", _cluster_instance(ca_cert_identifier=None), _cluster_instance(),
         "caCertIdentifier is not set", id="cluster-instance"),
    Case("cost-allowed-classes", _cluster_instance(instance_class="db.r6i.32xlarge"), _cluster_instance(),
         "instanceClass db.r6i.32xlarge is not in", id="cluster-instance"),
    # other engines: judged on encryption, backups, the CA
    Case("rds-storage-encrypted", _instance(storage_encrypted=False), _instance(), "storageEncrypted is not true",
         id="mysql"),
    Case("rds-storage-encrypted", _instance(kms_key_id=None), _instance(), "kmsKeyId is not set", id="mysql-no-key"),
    Case("rds-backup-retention", _instance(backup_retention_period=0), _instance(), "backupRetentionPeriod is 0",
         id="mysql"),
    Case("rds-ca-certificate", _instance(ca_cert_identifier="rds-ca-2019"), _instance(),
         "caCertIdentifier is rds-ca-2019, not a current CA"),
    Case("secrets-cmk", _instance(master_user_secret_kms_key_id=None), _instance(),
         "masterUserSecretKmsKeyId is not set", id="instance-master-secret"),
    # replicas: of a database outside the stack, and of one inside
    Case("rds-replica-backups", _replica(EXTERNAL), _replica(EXTERNAL, backup_retention_period=30),
         "is a replica of a database outside the stack: backupRetentionPeriod is 0 days"),
    Case("rds-replica-backups", _replica("legacy-primary"), _replica("app-primary"), "outside the stack",
         id="literal-identifier"),
    Case("rds-replica-backups", _replica(EXTERNAL), _replica("stack"), "outside the stack", id="preview",
         preview=True),
    Case("rds-storage-encrypted", _replica(EXTERNAL, storage_encrypted=False), _replica(EXTERNAL),
         "storageEncrypted is not true", id="external-replica"),
    Case("rds-deletion-protection", _replica("stack", deletion_protection=False), _replica("stack"),
         "deletionProtection is not true", id="replica"),
    Case("rds-proxy-tls", _proxy(False), _proxy(True), "requireTls is not true"),
    # ElastiCache: serverless caches and node-based clusters
    Case("elasticache-encryption-at-rest", _serverless(kms_key_id=None), _serverless(), "kmsKeyId is not set",
         id="serverless"),
    Case("elasticache-encryption-at-rest", _serverless(kms_key_id="alias/aws/elasticache"), _serverless(),
         "AWS-managed key alias/aws/elasticache", id="serverless-aws-managed-key"),
    Case("elasticache-auth", _serverless(user_group_id=None), _serverless(), "userGroupId is not set",
         id="serverless"),
    Case("elasticache-snapshot-retention", _serverless(snapshot_retention_limit=0), _serverless(),
         "snapshotRetentionLimit is 0", id="serverless"),
    Case("elasticache-subnet-group", _serverless(subnet_ids=None), _serverless(), "subnetIds is empty",
         id="serverless"),
    Case("elasticache-subnet-group", _serverless(security_group_ids=None), _serverless(),
         "securityGroupIds is empty", id="serverless-security-groups"),
    Case("elasticache-encryption-in-transit", _node_cluster(transit_encryption_enabled=False), _node_cluster(),
         "transitEncryptionEnabled is not true (Memcached", id="memcached"),
    Case("elasticache-encryption-in-transit",
         _node_cluster(engine="redis", transit_encryption_enabled=None, snapshot_retention_limit=1),
         _node_cluster(engine="redis", transit_encryption_enabled=None, snapshot_retention_limit=1,
                       replication_group_id="cache-group"),
         "a standalone redis Cluster cannot use TLS", id="standalone-redis"),
    Case("elasticache-snapshot-retention", _node_cluster(engine="valkey", transit_encryption_enabled=None),
         _node_cluster(engine="valkey", transit_encryption_enabled=None, snapshot_retention_limit=1),
         "snapshotRetentionLimit is 0", id="cluster"),
    Case("elasticache-subnet-group", _node_cluster(subnet_group_name="default"), _node_cluster(),
         "subnetGroupName is default", id="cluster"),
    Case("cost-allowed-classes", _node_cluster(node_type="cache.r7g.16xlarge"), _node_cluster(),
         "nodeType cache.r7g.16xlarge is not in", id="cache-cluster"),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_case(pack, case):
    assert_case(pack, case)

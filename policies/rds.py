"""RDS and Aurora: encryption, exposure, backups, availability, observability, TLS.

Instances (rds.Instance), Aurora and Multi-AZ DB clusters (rds.Cluster with rds.ClusterInstance
members) and their parameter groups are judged on the same things. Rules about the engine's own
settings (log exports, rds.force_ssl) hold for PostgreSQL engines; encryption, exposure and backups
hold for every engine."""

from __future__ import annotations

from _rules import Stack, as_list, is_set, resource_rule, shown, stack_rule
from _types import (
    RDS_CLUSTER,
    RDS_CLUSTER_INSTANCE,
    RDS_CLUSTER_PARAMETER_GROUP,
    RDS_INSTANCE,
    RDS_PARAMETER_GROUP,
    RDS_PROXY,
    SG_INGRESS_RULE,
)
from network import world_open
from pulumi_policy.proxy import UnknownValueError
from secretsmanager import customer_key_problem

# The CAs RDS issues today (RDS User Guide, "Certificate authorities"); rds-ca-2019 expired in 2024.
CURRENT_CAS = ("rds-ca-rsa2048-g1", "rds-ca-rsa4096-g1", "rds-ca-ecc384-g1")
# Engines without IAM database authentication (RDS User Guide, "IAM database authentication":
# MariaDB, MySQL and PostgreSQL, and Aurora's MySQL and PostgreSQL, support it).
_NO_IAM_AUTH = ("oracle", "sqlserver", "db2", "custom-")


def is_replica(props) -> bool:
    return is_set(props, "replicateSourceDb")


def is_postgres(props) -> bool:
    """PostgreSQL or Aurora PostgreSQL. Replicas inherit the engine from their source and do not
    repeat it; an instance without an engine is what components/postgres.py would make."""
    engine = str(props.get("engine") or "postgres")
    return engine.startswith(("postgres", "aurora-postgresql")) or is_replica(props)


@resource_rule(
    "rds-storage-encrypted", "RDS instances and clusters encrypt storage with a customer-managed KMS key.",
    types=[RDS_INSTANCE, RDS_CLUSTER], severity="critical", checkov=["CKV_AWS_16", "CKV_AWS_96", "CKV_AWS_327"],
    securityhub="RDS.3",
    fix="Set storageEncrypted=true and kmsKeyId to the stack's key, replicas included (components/postgres.py "
        "does both); an unencrypted database must be recreated from an encrypted snapshot copy.")
def _storage_encrypted(props, report, cfg, args):
    # Replicas too: their source may live outside this stack, and stating the key costs nothing
    # (a same-region replica given its source's key is what RDS would make anyway).
    if not props.get("storageEncrypted"):
        report("storageEncrypted is not true.")
        return
    problem = customer_key_problem(props, "kmsKeyId")
    if problem:
        report(f"{problem} (aws/rds).")


def _public_instances_checked(stack: Stack, db, report) -> None:
    groups = stack.referenced(db, "parameterGroupName")
    if not any(_forces_ssl(g.props) for g in groups):
        report("is public but its parameter group does not set rds.force_ssl=1.")
    rules = [r for sg in stack.referenced(db, "vpcSecurityGroupIds")
             for r in stack.referencing(sg, SG_INGRESS_RULE, "securityGroupId")]
    cidrs = [r.props.get("cidrIpv4") or r.props.get("cidrIpv6") for r in rules]
    listed = [c for c in cidrs if c]
    # The same measure as sg-no-public-ingress (network.world_open): ranges split over several
    # rules (0.0.0.0/1 + 128.0.0.0/1) open the database as much as 0.0.0.0/0.
    if not listed or world_open(listed):
        report("is public but its security groups do not restrict ingress to an "
               "allow-list of CIDRs (none listed, or together wider than an allow-list: 0.0.0.0/0, ::/0, "
               "or ranges that add up to more than a /8 of public addresses).")


def _publicly_accessible(db) -> bool:
    props = db.props
    if db.resource_type != RDS_CLUSTER:
        return bool(props.get("publiclyAccessible"))
    # A Multi-AZ DB cluster (dbClusterInstanceClass set) has no ClusterInstance resources: the
    # setting is the cluster's, and "defaults to true when db_subnet_group_name is not set or is
    # default" (pulumi_aws/rds/cluster.py publicly_accessible). Aurora decides per ClusterInstance.
    if not is_set(props, "dbClusterInstanceClass"):
        return False
    if "publiclyAccessible" in list(props):
        return bool(props.get("publiclyAccessible"))
    return (props.get("dbSubnetGroupName") or "default") == "default"


@stack_rule(
    "rds-not-public", "RDS and Aurora instances are not publicly accessible; the opt-in needs TLS and a CIDR allow-list.",
    types=[RDS_INSTANCE, RDS_CLUSTER_INSTANCE, RDS_CLUSTER], severity="critical", checkov=["CKV_AWS_17"],
    securityhub="RDS.2",
    config={"allowPublic": {"type": "boolean", "default": False,
                            "description": "Permit publiclyAccessible instances (Vercel without Secure "
                                           "Compute) when TLS is forced and ingress is an allow-list."}},
    fix="Keep postgresPubliclyAccessible=false and reach the database through the VPC (Vercel Secure "
        "Compute). If the environment must allow it, set allowPublic in the pack config, force "
        "rds.force_ssl=1 and list client CIDRs in databaseAllowedCidrs.")
def _not_public(stack: Stack, db, report, cfg):
    if not _publicly_accessible(db):
        return
    if not cfg["allowPublic"]:
        report("is publicly accessible (publiclyAccessible=true, or a Multi-AZ DB cluster in the default "
               "subnet group) and this environment's pack config does not set allowPublic.")
    elif db.resource_type != RDS_INSTANCE:
        report("is a public Aurora instance or DB cluster: the allow-list check reads instance security "
               "groups, so allowPublic covers rds.Instance only.")
    else:
        _public_instances_checked(stack, db, report)


BACKUP_DAYS = {"minimumDays": {"type": "integer", "minimum": 1, "maximum": 35, "default": 30,
                               "description": "Shortest backup retention allowed (production 30, staging 7)."}}


def _too_few_backup_days(props, cfg, report) -> None:
    days = int(props.get("backupRetentionPeriod") or 0)
    if days < cfg["minimumDays"]:
        report(f"backupRetentionPeriod is {days} days; this environment needs at least {cfg['minimumDays']}.")


@resource_rule(
    "rds-backup-retention", "RDS primaries and clusters keep automated backups at least the environment's minimum.",
    types=[RDS_INSTANCE, RDS_CLUSTER], severity="high", checkov=["CKV_AWS_133"], securityhub="RDS.11",
    config=BACKUP_DAYS,
    fix="pulumi config set postgresBackupRetentionDays <days> (at least the pack's minimumDays).")
def _backup_retention(props, report, cfg, args):
    if args.resource_type == RDS_INSTANCE and is_replica(props):
        return  # rds-replica-backups: whether a replica needs its own depends on where its source lives
    _too_few_backup_days(props, cfg, report)


def _literal(props, key: str):
    """A value the program wrote itself, or None. A computed one (an auto-named identifier, unknown
    in preview) cannot be what a literal elsewhere names, so it is no match rather than unknown."""
    try:
        return props.get(key)
    except UnknownValueError:
        return None


def _source_in_stack(stack: Stack, replica) -> bool:
    if stack.referenced(replica, "replicateSourceDb"):
        return True  # computed from a resource of this program
    source = replica.props.get("replicateSourceDb")
    return any(source in (_literal(db.props, "identifier"), _literal(db.props, "arn"))
               for db in stack.of_type(RDS_INSTANCE) if db is not replica)


@stack_rule(
    "rds-replica-backups", "Read replicas of a database outside this stack keep backups like a primary.",
    types=[RDS_INSTANCE], severity="high", checkov=["CKV_AWS_133"], config=BACKUP_DAYS,
    fix="Set backupRetentionPeriod (PostgreSQL 14.1+) on a replica whose replicateSourceDb names a database "
        "this stack does not manage: nothing here backs that source up.")
def _replica_backups(stack: Stack, db, report, cfg):
    if is_replica(db.props) and not _source_in_stack(stack, db):
        _too_few_backup_days(db.props, cfg, lambda m: report(f"is a replica of a database outside the stack: {m}"))


@resource_rule(
    "rds-multi-az", "Primary RDS instances run Multi-AZ.",
    types=[RDS_INSTANCE], severity="high", checkov=["CKV_AWS_157"], securityhub="RDS.5",
    fix="pulumi config set postgresMultiAz true (a standby in a second AZ; failover in 1-2 minutes).")
def _multi_az(props, report, cfg, args):
    if not is_replica(props) and not props.get("multiAz"):
        report("multiAz is not true: one AZ outage takes the database down.")


@resource_rule(
    "rds-deletion-protection", "RDS instances (replicas included) and clusters have deletion protection; "
                               "primaries take a final snapshot.",
    types=[RDS_INSTANCE, RDS_CLUSTER], severity="high", checkov=["CKV_AWS_293", "CKV_AWS_139"], securityhub="RDS.8",
    fix="pulumi config set postgresDeletionProtection true and postgresFinalSnapshot true (replicas get "
        "deletion protection from the same setting).")
def _deletion_protection(props, report, cfg, args):
    if not props.get("deletionProtection"):
        report("deletionProtection is not true.")
    if args.resource_type == RDS_INSTANCE and is_replica(props):
        return  # RDS takes no final snapshot of a read replica
    if props.get("skipFinalSnapshot") or not is_set(props, "finalSnapshotIdentifier"):
        report("no final snapshot on delete (skipFinalSnapshot=true or no finalSnapshotIdentifier).")


@resource_rule(
    "rds-enhanced-monitoring", "RDS and Aurora instances publish Enhanced Monitoring (OS metrics).",
    types=[RDS_INSTANCE, RDS_CLUSTER_INSTANCE], severity="medium", checkov=["CKV_AWS_118"], securityhub="RDS.6",
    fix="Set monitoringInterval (1-60 s) and monitoringRoleArn; components/postgres.py uses 60 s.")
def _enhanced_monitoring(props, report, cfg, args):
    if not int(props.get("monitoringInterval") or 0) or not is_set(props, "monitoringRoleArn"):
        report("monitoringInterval is 0 or monitoringRoleArn is missing.")


@resource_rule(
    "rds-log-exports", "PostgreSQL instances and clusters export the postgresql log to CloudWatch Logs.",
    types=[RDS_INSTANCE, RDS_CLUSTER], severity="medium", checkov=["CKV_AWS_129", "CKV_AWS_324"],
    securityhub="RDS.9",
    fix='Set enabledCloudwatchLogsExports to include "postgresql" (and "upgrade" on instances).')
def _log_exports(props, report, cfg, args):
    if is_postgres(props) and "postgresql" not in as_list(props.get("enabledCloudwatchLogsExports")):
        report('enabledCloudwatchLogsExports does not include "postgresql".')


@resource_rule(
    "rds-iam-auth", "RDS instances and clusters accept IAM database authentication.",
    types=[RDS_INSTANCE, RDS_CLUSTER], severity="medium", checkov=["CKV_AWS_161", "CKV_AWS_162"],
    securityhub="RDS.10",
    fix="Set iamDatabaseAuthenticationEnabled=true (apps may then use short-lived tokens).")
def _iam_auth(props, report, cfg, args):
    if str(props.get("engine") or "").startswith(_NO_IAM_AUTH):
        return
    if not props.get("iamDatabaseAuthenticationEnabled"):
        report("iamDatabaseAuthenticationEnabled is not true.")


@resource_rule(
    "rds-auto-minor-upgrade", "RDS and Aurora instances take minor engine upgrades automatically.",
    types=[RDS_INSTANCE, RDS_CLUSTER_INSTANCE], severity="medium", checkov=["CKV_AWS_226"], securityhub="RDS.13",
    fix="Remove autoMinorVersionUpgrade=false; minor versions carry security fixes.")
def _auto_minor_upgrade(props, report, cfg, args):
    if props.get("autoMinorVersionUpgrade") is False:  # the provider's default is true
        report("autoMinorVersionUpgrade is false.")


@resource_rule(
    "rds-performance-insights-encrypted", "Performance Insights is on and encrypted with a customer-managed key.",
    types=[RDS_INSTANCE, RDS_CLUSTER_INSTANCE], severity="medium", checkov=["CKV_AWS_353", "CKV_AWS_354"],
    fix="Set performanceInsightsEnabled=true and performanceInsightsKmsKeyId to the database key.")
def _performance_insights(props, report, cfg, args):
    if not props.get("performanceInsightsEnabled"):
        report("performanceInsightsEnabled is not true.")
        return
    problem = customer_key_problem(props, "performanceInsightsKmsKeyId")
    if problem:
        report(f"Performance Insights: {problem}; set performanceInsightsKmsKeyId to the database key.")


@resource_rule(
    "rds-copy-tags-to-snapshot", "RDS and cluster snapshots inherit the database's tags.",
    types=[RDS_INSTANCE, RDS_CLUSTER], severity="low", checkov=["CKV2_AWS_60", "CKV_AWS_313"], securityhub="RDS.17",
    fix="Set copyTagsToSnapshot=true so snapshots keep owner and cost tags.")
def _copy_tags(props, report, cfg, args):
    if not props.get("copyTagsToSnapshot"):
        report("copyTagsToSnapshot is not true.")


def _forces_ssl(props) -> bool:
    return any(p.get("name") == "rds.force_ssl" and str(p.get("value")) == "1"
               for p in as_list(props.get("parameters")))


# Which property names the parameter group, per database type.
_GROUP_OF = {RDS_INSTANCE: "parameterGroupName", RDS_CLUSTER: "dbClusterParameterGroupName"}


@resource_rule(
    "rds-force-ssl", "PostgreSQL parameter groups (instance and cluster) force TLS, and databases do not use "
                     "the default group.",
    types=[RDS_INSTANCE, RDS_PARAMETER_GROUP, RDS_CLUSTER, RDS_CLUSTER_PARAMETER_GROUP], severity="high",
    checkov=["CKV2_AWS_69"],
    fix="Keep rds.force_ssl=1 in the stack's parameter group (components/postgres.py) and attach it "
        "with parameterGroupName (dbClusterParameterGroupName on a cluster).")
def _force_ssl(props, report, cfg, args):
    if args.resource_type in (RDS_PARAMETER_GROUP, RDS_CLUSTER_PARAMETER_GROUP):
        family = str(props.get("family") or "")
        if family.startswith(("postgres", "aurora-postgresql")) and not _forces_ssl(props):
            report("the parameter group does not set rds.force_ssl=1: clients may connect without TLS.")
    elif is_postgres(props):
        key = _GROUP_OF[args.resource_type]
        group = str(props.get(key) or "")
        if not group or group.startswith("default."):
            report(f"{key} is {group or 'unset'}: the default group does not force TLS.")


@resource_rule(
    "rds-ca-certificate", "RDS and Aurora instances name a current certificate authority.",
    types=[RDS_INSTANCE, RDS_CLUSTER_INSTANCE], severity="medium", checkov=["CKV_AWS_211"],
    fix=f"Set caCertIdentifier to one of {', '.join(CURRENT_CAS)} (components/postgres.py: CA_CERTIFICATE) "
        "and give clients that CA's bundle; the change restarts the instance in its maintenance window.")
def _ca_certificate(props, report, cfg, args):
    ca = props.get("caCertIdentifier")
    if not ca:
        report("caCertIdentifier is not set: the CA is whatever RDS defaults to when it creates the instance.")
    elif ca not in CURRENT_CAS:
        report(f"caCertIdentifier is {shown(ca)}, not a current CA ({', '.join(CURRENT_CAS)}).")


@resource_rule(
    "rds-proxy-tls", "RDS Proxy accepts only TLS connections.",
    types=[RDS_PROXY], severity="high", securityhub="RDS.43",
    fix="Set requireTls=true on the proxy (components/postgres.py does); clients then use sslmode=require.")
def _proxy_tls(props, report, cfg, args):
    if not props.get("requireTls"):
        report("requireTls is not true: clients may reach the proxy in plaintext.")

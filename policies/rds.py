"""RDS for PostgreSQL: encryption, exposure, backups, availability, observability, TLS."""

from __future__ import annotations

from _rules import Stack, as_list, cidr_open, is_set, resource_rule, stack_rule
from _types import RDS_INSTANCE, RDS_PARAMETER_GROUP, SG_INGRESS_RULE
from pulumi_policy.proxy import UnknownValueError


def is_replica(props) -> bool:
    return is_set(props, "replicateSourceDb")


def same_region_replica(props) -> bool:
    """A replica named by identifier (not ARN) lives in the source's region and inherits its
    encryption; an unknown source (preview) is checked like a cross-region one."""
    if not is_replica(props):
        return False
    try:
        return not str(props["replicateSourceDb"]).startswith("arn:")
    except UnknownValueError:
        return False


def is_postgres(props) -> bool:
    # Replicas inherit the engine from their source and do not repeat it.
    return (props.get("engine") or "postgres").startswith("postgres") or is_replica(props)


@resource_rule(
    "rds-storage-encrypted", "RDS storage is encrypted with a customer-managed KMS key.",
    types=[RDS_INSTANCE], severity="critical", checkov=["CKV_AWS_16"], securityhub="RDS.3",
    fix="Set storageEncrypted=true and kmsKeyId to the stack's key (components/postgres.py does both); "
        "an unencrypted instance must be recreated from an encrypted snapshot copy.")
def _storage_encrypted(props, report, cfg, args):
    if same_region_replica(props):
        return  # a same-region replica inherits the source's encryption and key
    if not props.get("storageEncrypted"):
        report("storageEncrypted is not true.")
    elif not is_set(props, "kmsKeyId"):
        report("storageEncrypted uses the AWS-managed aws/rds key: set kmsKeyId to a customer-managed key.")


@stack_rule(
    "rds-not-public", "RDS instances are not publicly accessible; the opt-in needs TLS and a CIDR allow-list.",
    severity="critical", checkov=["CKV_AWS_17"], securityhub="RDS.2",
    config={"allowPublic": {"type": "boolean", "default": False,
                            "description": "Permit publiclyAccessible instances (Vercel without Secure "
                                           "Compute) when TLS is forced and ingress is an allow-list."}},
    fix="Keep postgresPubliclyAccessible=false and reach the database through the VPC (Vercel Secure "
        "Compute). If the environment must allow it, set allowPublic in the pack config, force "
        "rds.force_ssl=1 and list client CIDRs in databaseAllowedCidrs.")
def _not_public(stack: Stack, report, cfg):
    for db in stack.of_type(RDS_INSTANCE):
        if not db.props.get("publiclyAccessible"):
            continue
        if not cfg["allowPublic"]:
            report("has publiclyAccessible=true and this environment's pack config does "
                   "not set allowPublic.", db.urn)
            continue
        groups = stack.referenced(db, "parameterGroupName")
        if not any(_forces_ssl(g.props) for g in groups):
            report("is public but its parameter group does not set rds.force_ssl=1.", db.urn)
        rules = [r for sg in stack.referenced(db, "vpcSecurityGroupIds")
                 for r in stack.referencing(sg, SG_INGRESS_RULE, "securityGroupId")]
        cidrs = [r.props.get("cidrIpv4") or r.props.get("cidrIpv6") for r in rules]
        if not [c for c in cidrs if c] or any(cidr_open(c) for c in cidrs):
            report("is public but its security groups do not restrict ingress to an "
                   "allow-list of CIDRs (none listed, or 0.0.0.0/0 / ::/0).", db.urn)


@resource_rule(
    "rds-backup-retention", "RDS automated backups are kept at least the environment's minimum.",
    types=[RDS_INSTANCE], severity="high", checkov=["CKV_AWS_133"], securityhub="RDS.11",
    config={"minimumDays": {"type": "integer", "minimum": 1, "maximum": 35, "default": 30,
                            "description": "Shortest backup retention allowed (production 30, staging 7)."}},
    fix="pulumi config set postgresBackupRetentionDays <days> (at least the pack's minimumDays).")
def _backup_retention(props, report, cfg, args):
    if same_region_replica(props):
        return  # same-region replicas take no automated backups; the primary's are what restore uses
    days = int(props.get("backupRetentionPeriod") or 0)
    if days < cfg["minimumDays"]:
        report(f"backupRetentionPeriod is {days} days; this environment needs at least {cfg['minimumDays']}.")


@resource_rule(
    "rds-multi-az", "Primary RDS instances run Multi-AZ.",
    types=[RDS_INSTANCE], severity="high", checkov=["CKV_AWS_157"], securityhub="RDS.5",
    fix="pulumi config set postgresMultiAz true (a standby in a second AZ; failover in 1-2 minutes).")
def _multi_az(props, report, cfg, args):
    if not is_replica(props) and not props.get("multiAz"):
        report("multiAz is not true: one AZ outage takes the database down.")


@resource_rule(
    "rds-deletion-protection", "Primary RDS instances have deletion protection and take a final snapshot.",
    types=[RDS_INSTANCE], severity="high", checkov=["CKV_AWS_293"], securityhub="RDS.8",
    fix="pulumi config set postgresDeletionProtection true and postgresFinalSnapshot true.")
def _deletion_protection(props, report, cfg, args):
    if is_replica(props):
        return
    if not props.get("deletionProtection"):
        report("deletionProtection is not true.")
    if props.get("skipFinalSnapshot") or not is_set(props, "finalSnapshotIdentifier"):
        report("no final snapshot on delete (skipFinalSnapshot=true or no finalSnapshotIdentifier).")


@resource_rule(
    "rds-enhanced-monitoring", "RDS instances publish Enhanced Monitoring (OS metrics).",
    types=[RDS_INSTANCE], severity="medium", checkov=["CKV_AWS_118"], securityhub="RDS.6",
    fix="Set monitoringInterval (1-60 s) and monitoringRoleArn; components/postgres.py uses 60 s.")
def _enhanced_monitoring(props, report, cfg, args):
    if not int(props.get("monitoringInterval") or 0) or not is_set(props, "monitoringRoleArn"):
        report("monitoringInterval is 0 or monitoringRoleArn is missing.")


@resource_rule(
    "rds-log-exports", "PostgreSQL instances export the postgresql log to CloudWatch Logs.",
    types=[RDS_INSTANCE], severity="medium", checkov=["CKV_AWS_129"], securityhub="RDS.9",
    fix='Set enabledCloudwatchLogsExports to include "postgresql" (and "upgrade").')
def _log_exports(props, report, cfg, args):
    if is_postgres(props) and "postgresql" not in as_list(props.get("enabledCloudwatchLogsExports")):
        report('enabledCloudwatchLogsExports does not include "postgresql".')


@resource_rule(
    "rds-iam-auth", "RDS instances accept IAM database authentication.",
    types=[RDS_INSTANCE], severity="medium", checkov=["CKV_AWS_161"], securityhub="RDS.10",
    fix="Set iamDatabaseAuthenticationEnabled=true (apps may then use short-lived tokens).")
def _iam_auth(props, report, cfg, args):
    if not props.get("iamDatabaseAuthenticationEnabled"):
        report("iamDatabaseAuthenticationEnabled is not true.")


@resource_rule(
    "rds-auto-minor-upgrade", "RDS instances take minor engine upgrades automatically.",
    types=[RDS_INSTANCE], severity="medium", checkov=["CKV_AWS_226"], securityhub="RDS.13",
    fix="Remove autoMinorVersionUpgrade=false; minor versions carry security fixes.")
def _auto_minor_upgrade(props, report, cfg, args):
    if props.get("autoMinorVersionUpgrade") is False:  # the provider's default is true
        report("autoMinorVersionUpgrade is false.")


@resource_rule(
    "rds-performance-insights-encrypted", "Performance Insights is on and encrypted with a customer-managed key.",
    types=[RDS_INSTANCE], severity="medium", checkov=["CKV_AWS_353", "CKV_AWS_354"],
    fix="Set performanceInsightsEnabled=true and performanceInsightsKmsKeyId to the database key.")
def _performance_insights(props, report, cfg, args):
    if not props.get("performanceInsightsEnabled"):
        report("performanceInsightsEnabled is not true.")
    elif not is_set(props, "performanceInsightsKmsKeyId"):
        report("Performance Insights uses the AWS-managed key: set performanceInsightsKmsKeyId.")


@resource_rule(
    "rds-copy-tags-to-snapshot", "RDS snapshots inherit the instance's tags.",
    types=[RDS_INSTANCE], severity="low", checkov=["CKV2_AWS_60"], securityhub="RDS.17",
    fix="Set copyTagsToSnapshot=true so snapshots keep owner and cost tags.")
def _copy_tags(props, report, cfg, args):
    if not props.get("copyTagsToSnapshot"):
        report("copyTagsToSnapshot is not true.")


def _forces_ssl(props) -> bool:
    return any(p.get("name") == "rds.force_ssl" and str(p.get("value")) == "1"
               for p in as_list(props.get("parameters")))


@resource_rule(
    "rds-force-ssl", "PostgreSQL parameter groups force TLS and instances do not use the default group.",
    types=[RDS_INSTANCE, RDS_PARAMETER_GROUP], severity="high", checkov=["CKV2_AWS_69"],
    fix="Keep rds.force_ssl=1 in the stack's parameter group (components/postgres.py) and attach it "
        "with parameterGroupName.")
def _force_ssl(props, report, cfg, args):
    if args.resource_type == RDS_PARAMETER_GROUP:
        if (props.get("family") or "").startswith("postgres") and not _forces_ssl(props):
            report("the parameter group does not set rds.force_ssl=1: clients may connect without TLS.")
    elif is_postgres(props):
        group = props.get("parameterGroupName") or ""
        if not group or group.startswith("default."):
            report(f"parameterGroupName is {group or 'unset'}: the default group does not force TLS.")

import json

import pytest
from conftest import config_error, evaluate

from components._validation import InvalidArgs
from components.postgres import PostgresSettings
from offline.evaluate import UNKNOWN, is_secret


def params(graph, name="postgres-params"):
    return {p["name"]: p for p in graph.named(name).input("parameters")}


def test_primary_is_encrypted_private_and_observable(any_stack):
    db = any_stack.named("postgres-primary")
    key = any_stack.named("postgres-key").outputs["arn"]
    assert db.input("engine") == "postgres" and db.input("engineVersion") == "16"
    assert db.input("storageType") == "gp3" and db.input("storageEncrypted") is True
    assert db.input("kmsKeyId") == key and db.input("performanceInsightsKmsKeyId") == key
    assert db.input("publiclyAccessible") is False
    assert db.input("performanceInsightsEnabled") is True
    assert db.input("databaseInsightsMode") == "standard"
    assert db.input("monitoringInterval") == 60
    assert db.input("monitoringRoleArn") == any_stack.named("postgres-monitoring-role").outputs["arn"]
    assert db.input("enabledCloudwatchLogsExports") == ["postgresql", "upgrade"]
    assert db.input("iamDatabaseAuthenticationEnabled") is True
    assert db.input("autoMinorVersionUpgrade") is True and db.input("copyTagsToSnapshot") is True
    assert db.input("dbSubnetGroupName") == any_stack.named("postgres-subnets").outputs["name"]
    assert db.input("parameterGroupName") == any_stack.named("postgres-params").outputs["name"]
    assert db.input("vpcSecurityGroupIds") == [any_stack.named("network-db-sg").outputs["id"]]
    assert db.ignore_changes == ["allocatedStorage"]
    assert is_secret(db.inputs["password"])


def test_parameter_group_carries_the_seed_settings(staging):
    p = params(staging)
    assert staging.named("postgres-params").input("family") == "postgres16"
    expected = {"log_min_duration_statement": "1000", "log_statement": "mod", "log_connections": "1",
                "log_disconnections": "1", "rds.force_ssl": "1",
                "shared_preload_libraries": "pg_stat_statements", "max_connections": "100"}
    assert {k: p[k]["value"] for k in expected} == expected
    assert p["shared_preload_libraries"]["applyMethod"] == "pending-reboot"
    assert p["log_statement"]["applyMethod"] == "immediate"
    assert staging.named("postgres-params").delete_before_replace is False
    assert "name" not in staging.named("postgres-params").inputs  # auto-named: create-before-delete


def test_extra_parameters_override_and_version_sets_the_family():
    g = evaluate(postgresEngineVersion="17.2",
                 postgresParameters=["log_min_duration_statement=250", "max_wal_senders=20"])
    p = params(g)
    assert g.named("postgres-params").input("family") == "postgres17"
    assert p["log_min_duration_statement"]["value"] == "250"
    assert p["max_wal_senders"]["applyMethod"] == "pending-reboot"
    assert g.named("postgres-primary").input("engineVersion") == "17.2"


def test_replicas_follow_config_and_spread_across_azs(staging, production):
    for graph, n in ((staging, 1), (production, 2)):
        primary = graph.named("postgres-primary")
        replicas = [r for r in graph.of_type("aws:rds/instance:Instance") if "-replica-" in r.name]
        assert len(replicas) == n
        assert {r.input("replicateSourceDb") for r in replicas} == {primary.outputs["identifier"]}
        azs = [r.input("availabilityZone") for r in replicas]
        assert len(set(azs)) == n
        assert primary.input("availabilityZone") not in azs
    assert production.named("postgres-primary").input("multiAz") is True
    assert production.named("postgres-primary").input("availabilityZone") is None
    assert staging.named("postgres-primary").input("availabilityZone") == "us-east-1a"


def test_five_replicas_wrap_around_the_azs():
    g = evaluate(postgresReadReplicas="5")
    azs = [g.named(f"postgres-replica-{i}").input("availabilityZone") for i in range(5)]
    assert azs == ["us-east-1b", "us-east-1a", "us-east-1b", "us-east-1a", "us-east-1b"]


def test_dr_replica_is_cross_region_with_its_own_key(production):
    dr = production.named("postgres-dr-replica")
    assert dr.input("region") == "us-west-2"
    assert dr.input("replicateSourceDb") == production.named("postgres-primary").outputs["arn"]
    assert dr.input("kmsKeyId") == production.named("postgres-dr-key").outputs["arn"]
    assert ":us-west-2:" in dr.input("kmsKeyId")
    assert dr.input("dbSubnetGroupName") == production.named("postgres-dr-subnets").outputs["name"]
    assert production.named("postgres-dr-subnets").input("subnetIds") == [
        production.named(f"dr-network-private-{i}").outputs["id"] for i in range(2)]
    assert dr.input("backupRetentionPeriod") == 30


def test_final_snapshot_and_deletion_protection_follow_config(staging, production):
    prod = production.named("postgres-primary")
    assert prod.input("deletionProtection") is True and prod.input("skipFinalSnapshot") is False
    suffix = production.named("postgres-final-snapshot-suffix").outputs["hex"]
    assert prod.input("finalSnapshotIdentifier") == f"postgres-final-{suffix}"
    assert prod.input("backupRetentionPeriod") == 30
    stg = staging.named("postgres-primary")
    assert stg.input("deletionProtection") is False and stg.input("skipFinalSnapshot") is True
    assert staging.of_type("random:index/randomId:RandomId") == []


def test_credentials_live_in_secrets_manager_under_the_db_key(staging):
    secret = staging.named("postgres-credentials")
    version = staging.named("postgres-credentials-version")
    assert secret.input("kmsKeyId") == staging.named("postgres-key").outputs["arn"]
    assert version.input("secretId") == secret.outputs["id"]
    assert is_secret(version.inputs["secretString"])
    assert '"username": "app_admin"' in version.input("secretString")


def test_proxy_requires_tls_and_sizes_the_pool_from_the_seed(production):
    proxy = production.named("postgres-proxy")
    assert proxy.input("requireTls") is True and proxy.input("engineFamily") == "POSTGRESQL"
    assert proxy.input("auths")[0]["secretArn"] == production.named("postgres-credentials").outputs["arn"]
    assert proxy.input("vpcSecurityGroupIds") == [production.named("network-proxy-sg").outputs["id"]]
    pool = production.named("postgres-proxy-pool").input("connectionPoolConfig")
    assert pool["maxConnectionsPercent"] == 25 and pool["connectionBorrowTimeout"] == 20
    target = production.named("postgres-proxy-target")
    assert target.input("dbInstanceIdentifier") == production.named("postgres-primary").outputs["identifier"]


def test_reader_name_spreads_over_replicas(production):
    records = [production.named(f"postgres-reader-record-{i}") for i in range(2)]
    assert [r.input("records") for r in records] == [
        [production.named(f"postgres-replica-{i}").outputs["address"]] for i in range(2)]
    assert all(r.input("weightedRoutingPolicies") == [{"weight": 1}] for r in records)
    zone = production.named("postgres-zone")
    assert zone.input("vpcs") == [{"vpcId": production.named("network-vpc").outputs["id"]}]


def test_without_replicas_the_reader_name_is_the_primary():
    g = evaluate(postgresReadReplicas="0")
    assert g.named("postgres-reader-record").input("records") == [g.named("postgres-primary").outputs["address"]]


def test_connection_urls_are_secret_and_point_at_the_writer(staging, production):
    for graph, host in ((staging, staging.named("postgres-primary").outputs["address"]),
                        (production, production.named("postgres-proxy").outputs["endpoint"])):
        url = graph.stack_outputs["databaseUrl"]
        assert is_secret(url)
        assert url["value"].startswith("postgresql://app_admin:")
        assert url["value"].endswith(f"@{host}:5432/app?sslmode=require")
        read = graph.stack_outputs["databaseReadUrl"]
        assert is_secret(read) and "@reader.postgres.internal:5432/" in read["value"]


def test_external_database_replaces_rds():
    g = evaluate(postgresEnabled="false", externalDatabaseUrl="libsql://group-spaces.turso.io",
                 secret=("externalDatabaseUrl",))
    assert g.of_type("aws:rds/instance:Instance") == []
    assert g.of_type("aws:ec2/securityGroup:SecurityGroup") and not any(
        "db-sg" in r.name for r in g.of_type("aws:ec2/securityGroup:SecurityGroup"))
    assert g.stack_outputs["databaseUrl"]["value"] == "libsql://group-spaces.turso.io"
    assert is_secret(g.stack_outputs["databaseUrl"])


def test_preview_leaves_computed_wiring_unknown():
    g = evaluate(preview=True)
    primary, replica = g.named("postgres-primary"), g.named("postgres-replica-0")
    assert primary.inputs["monitoringRoleArn"] == UNKNOWN  # role ARNs exist only after create
    assert primary.inputs["kmsKeyId"] == UNKNOWN
    # auto-names are known in a preview, as the provider's Check assigns them
    assert replica.input("replicateSourceDb").startswith("postgres-primary-")
    assert primary.input("engineVersion") == "16"


@pytest.mark.parametrize("kwargs, field", [
    ({"engine_version": "16.x"}, "engine_version"),
    ({"engine_version": "12"}, "engine_version"),
    ({"instance_class": "t3.medium"}, "instance_class"),
    ({"replica_instance_class": "r6g.large"}, "replica_instance_class"),
    ({"allocated_storage_gb": 10}, "allocated_storage_gb"),
    ({"max_allocated_storage_gb": 15}, "max_allocated_storage_gb"),
    ({"read_replicas": -1}, "read_replicas"),
    ({"read_replicas": 16}, "read_replicas"),
    ({"backup_retention_days": 0}, "backup_retention_days"),
    ({"backup_window": "3am"}, "backup_window"),
    ({"backup_window": "03:00-03:10"}, "backup_window"),
    ({"backup_window": "04:00-05:00", "maintenance_window": "sun:04:30-sun:05:30"}, "backup_window"),
    ({"maintenance_window": "sunday"}, "maintenance_window"),
    ({"max_connections": 10, "proxy_pool_size": 5}, "max_connections"),
    ({"parameters": ("no-equals",)}, "parameters"),
    ({"performance_insights_retention_days": 8}, "performance_insights_retention_days"),
    ({"database_insights_mode": "advanced"}, "database_insights_mode"),
    ({"database_insights_mode": "full"}, "database_insights_mode"),
    ({"monitoring_interval_seconds": 2}, "monitoring_interval_seconds"),
    ({"database_name": "1app"}, "database_name"),
    ({"username": "rdsadmin"}, "username"),
    ({"username": "Admin"}, "username"),
    ({"dr_region": "mars-1"}, "dr_region"),
    ({"proxy_pool_size": 101}, "proxy_pool_size"),
    ({"proxy_borrow_timeout_seconds": 4000}, "proxy_borrow_timeout_seconds"),
])
def test_settings_refuse(kwargs, field):
    with pytest.raises(InvalidArgs) as info:
        PostgresSettings(**kwargs)
    assert [p.field for p in info.value.problems] == [field]


def test_settings_defaults_are_secure():
    s = PostgresSettings()
    assert s.deletion_protection and s.final_snapshot and s.backup_retention_days >= 7
    assert s.family == "postgres16"


# ---- replicas: what CreateDBInstanceReadReplica takes (botocore rds 2014-10-31 model) ------------
# Parameters of CreateDBInstance that CreateDBInstanceReadReplica lacks, and DatabaseInsightsMode,
# which the replica API documents as "not supported". The provider copies backup settings and the
# maintenance window onto a replica with ModifyDBInstance after create, so those may stay.
REPLICA_REFUSED = ("engine", "engineVersion", "username", "password", "dbName", "multiAz",
                   "finalSnapshotIdentifier", "characterSetName", "databaseInsightsMode")


def replicas_of(graph):
    return [r for r in graph.of_type("aws:rds/instance:Instance") if r.input("replicateSourceDb") is not None]


def test_no_replica_carries_inputs_the_replica_api_refuses(production):
    replicas = replicas_of(production)
    assert {r.name for r in replicas} == {"postgres-replica-0", "postgres-replica-1", "postgres-dr-replica"}
    for r in replicas:
        sent = {k for k in REPLICA_REFUSED if r.inputs.get(k) is not None}
        assert sent == set(), f"{r.name} sends {sent}"
    assert production.named("postgres-primary").input("databaseInsightsMode") == "standard"


def test_dr_replica_is_protected_within_the_first_up(production):
    dr = production.named("postgres-dr-replica")
    assert dr.input("deletionProtection") is True
    # RDS ignores DeletionProtection on CreateDBInstanceReadReplica: the AWS-owned runbook turns it on.
    assoc = production.named("postgres-dr-deletion-protection")
    assert assoc.input("name") == "AWSConfigRemediation-EnableRDSInstanceDeletionProtection"
    assert assoc.input("region") == "us-west-2"
    role = production.named("postgres-dr-protect-role")
    # No ApplyImmediately: it would also apply the replica's other pending changes at once.
    assert assoc.input("parameters") == {"DbInstanceResourceId": dr.outputs["resourceId"],
                                         "AutomationAssumeRole": role.outputs["arn"]}
    assert assoc.input("waitForSuccessTimeoutSeconds") > 0  # the update ends only once it is protected
    assert json.loads(role.input("assumeRolePolicy"))["Statement"][0]["Principal"] == {"Service": "ssm.amazonaws.com"}


def test_in_region_replicas_are_protected_like_the_primary(production, staging):
    """Issue 15: production replicas carry deletion protection (rds-deletion-protection covers them);
    lowering postgresReadReplicas then starts by turning it off (README, Operations)."""
    role = production.named("postgres-protect-role")
    for i in (0, 1):
        replica = production.named(f"postgres-replica-{i}")
        assert replica.input("deletionProtection") is True
        assoc = production.named(f"postgres-replica-{i}-deletion-protection")
        assert assoc.input("region") is None  # the primary's (the provider's) region
        assert assoc.input("parameters") == {"DbInstanceResourceId": replica.outputs["resourceId"],
                                             "AutomationAssumeRole": role.outputs["arn"]}
    policy = json.loads(production.named("postgres-protect-policy").input("policy"))
    assert policy["Statement"][1]["Resource"] == "arn:aws:rds:us-east-1:123456789012:db:*"
    # Staging turns deletion protection off: its replica stays deletable, with no runbook.
    assert staging.named("postgres-replica-0").input("deletionProtection") is False
    assert not [r for r in staging.resources if r.name.endswith("deletion-protection")]


def test_replicas_state_their_encryption_and_key(production):
    key = production.named("postgres-key").outputs["arn"]
    for i in (0, 1):
        replica = production.named(f"postgres-replica-{i}")
        assert replica.input("storageEncrypted") is True and replica.input("kmsKeyId") == key


def test_the_protection_runbook_is_replaced_not_updated(production):
    # UpdateAssociation refuses a target-less Automation association (terraform-provider-aws#41251).
    assert _replace_on_changes("postgres-dr-deletion-protection") >= {"parameters", "waitForSuccessTimeoutSeconds"}


def _replace_on_changes(name: str) -> set[str]:
    from pulumi.runtime.mocks import MockMonitor

    seen: dict[str, list[str]] = {}
    register = MockMonitor.RegisterResource

    def recording(self, request):
        seen[request.name] = list(request.replaceOnChanges)
        return register(self, request)

    MockMonitor.RegisterResource = recording
    try:
        evaluate("production", fresh=True)
    finally:
        MockMonitor.RegisterResource = register
    return set(seen[name])


def test_the_runbook_role_exists_before_the_replica_and_modifies_only_this_stacks_instances(production):
    policy = production.named("postgres-dr-protect-policy")
    dr = production.named("postgres-dr-replica")
    # Not built from the replica: IAM has propagated by the time the runbook first runs.
    assert dr.urn not in policy.dependencies and dr.urn not in sum(policy.property_dependencies.values(), [])
    by_action = {s["Action"]: s for s in json.loads(policy.input("policy"))["Statement"]}
    assert by_action["rds:ModifyDBInstance"]["Resource"] == "arn:aws:rds:us-west-2:123456789012:db:*"
    assert by_action["rds:ModifyDBInstance"]["Condition"] == {
        "StringEquals": {"rds:db-tag/Project": "platform", "rds:db-tag/Stack": "production"}}
    assert dr.input("tags")["Stack"] == "production" and dr.input("tags")["Project"] == "platform"
    # The runbook page's required actions for the assume role, scoped to this runbook and region.
    assert by_action["ssm:StartAutomationExecution"]["Resource"] == (
        "arn:aws:ssm:us-west-2::automation-definition/AWSConfigRemediation-EnableRDSInstanceDeletionProtection:*")
    assert by_action["ssm:GetAutomationExecution"]["Resource"] == (
        "arn:aws:ssm:us-west-2:123456789012:automation-execution/*")


def test_unprotected_stacks_get_no_protection_runbook():
    g = evaluate("production", postgresDeletionProtection="false")
    assert g.named("postgres-dr-replica").input("deletionProtection") is False
    assert g.of_type("aws:ssm/association:Association") == []


@pytest.mark.parametrize("version", ["13", "13.12", "14.0"])
def test_dr_replica_needs_an_engine_that_keeps_replica_backups(version):
    msg = config_error(stack="production", postgresEngineVersion=version)
    assert msg.count("\n  - ") == 1, msg
    assert f"postgresEngineVersion = '{version}': must be 14.1 or later while postgresDrRegion is set" in msg
    assert "pulumi config set postgresEngineVersion 16 --stack production" in msg
    assert "pulumi config rm postgresDrRegion" in msg


def test_engine_14_and_later_may_have_a_dr_replica():
    for version in ("14", "14.1", "17"):
        assert PostgresSettings(engine_version=version, dr_region="us-west-2").replica_backups_supported
    g = evaluate("production", postgresEngineVersion="14")
    assert g.named("postgres-dr-replica").input("backupRetentionPeriod") == 30

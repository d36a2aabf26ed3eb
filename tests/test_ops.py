"""`python -m ops` against real parts: moto_server on 127.0.0.1 and a throwaway PostgreSQL cluster
(Debian's postgresql; `.ci/run` installs it), both started by tests/servers.py."""

from __future__ import annotations

import contextlib
import http.server
import io
import json
import os
import re
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from conftest import ROOT
from servers import PASSWORD, ROWS  # the servers' fixtures (aws_env, appdb) come through conftest


@pytest.fixture
def stack(aws_env, appdb, tmp_path):
    """A fresh backup bucket (versioned, SSE-KMS) and KMS key in moto, and the outputs file."""
    import uuid

    import boto3

    kms = boto3.client("kms").create_key(Description="backups")["KeyMetadata"]["Arn"]
    bucket = f"backups-{uuid.uuid4().hex[:10]}"
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    outputs = {"backupBucketName": bucket, "backupKmsKeyArn": kms, "databaseUrl": appdb, "awsRegion": "us-east-1"}
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(outputs))
    return {"outputs": outputs, "file": path, "s3": s3, "bucket": bucket, "kms": kms}


def ops(*args, env=None, process=False):
    """`python -m ops ARGS`: in this process through ops.__main__.main, the function the module runs
    (a new process imports boto3 and the SDKs again), or as a real process with process=True."""
    argv = [*map(str, args)]
    if process:
        done = subprocess.run([sys.executable, "-m", "ops", *argv], cwd=ROOT, capture_output=True,
                              text=True, timeout=300, env={**os.environ, **(env or {})})
    else:
        from ops.__main__ import main

        out, err = io.StringIO(), io.StringIO()
        with mock.patch.dict(os.environ, env or {}), contextlib.redirect_stdout(out), \
                contextlib.redirect_stderr(err):
            code = main(argv)
        done = subprocess.CompletedProcess(argv, code, out.getvalue(), err.getvalue())
    for stream in (done.stdout, done.stderr):  # credentials never reach the output
        assert PASSWORD not in stream and PASSWORD.replace("/", "%2F") not in stream
        assert "postgresql://admin" not in stream
    return done


def objects(s3, bucket) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []))


# ---- backup and verify -------------------------------------------------------------------------
def test_backup_and_verify_round_trip(stack, bigdb):
    s3, bucket = stack["s3"], stack["bucket"]
    stack["outputs"]["databaseUrl"] = bigdb  # its dump is over 5 MiB: uploaded in parts
    stack["file"].write_text(json.dumps(stack["outputs"]))
    done = ops("backup", "--outputs", stack["file"], "--stack", "staging", "--weekly", "--multipart-mb", "5",
               process=True)  # once as the real command; the other tests call its main() in this process
    assert done.returncode == 0, done.stderr
    assert "backup of admin@127.0.0.1:" in done.stdout and "/bigdb to s3://" in done.stdout
    today = datetime.now(UTC)
    keys = objects(s3, bucket)
    daily = [k for k in keys if k.startswith(f"daily/{today:%Y/%m/%d}/staging-")]
    weekly = [k for k in keys if k.startswith(f"weekly/{today.isocalendar().year}/W")]
    assert len(daily) == 2 and len(weekly) == 2  # dump + manifest, and their weekly copies
    dump_key = next(k for k in daily if k.endswith(".dump"))
    head = s3.head_object(Bucket=bucket, Key=dump_key)
    assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == stack["kms"]
    assert "-" in head["ETag"]  # a multipart upload (the dump is over 5 MiB)
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=dump_key.replace(".dump", ".manifest.json"))["Body"].read())
    assert manifest["tables"] == ROWS and manifest["totalRows"] == sum(ROWS.values())
    assert manifest["sizeBytes"] == head["ContentLength"] > 5 * 1024 * 1024
    assert len(manifest["sha256"]) == 64 and manifest["pgServerVersion"].split(".")[0].isdigit()
    assert "admin" not in json.dumps(manifest) and PASSWORD not in json.dumps(manifest)

    done = ops("verify", "--outputs", stack["file"])
    assert done.returncode == 0, done.stdout + done.stderr
    for line in ("PASS  freshness", "PASS  checksum", "PASS  restore", "PASS  cleanup"):
        assert line in done.stdout
    assert f"5 tables, {sum(ROWS.values())} rows match the manifest" in done.stdout
    from ops.common import Database

    with Database.from_url(stack["outputs"]["databaseUrl"]).connect() as conn:
        names = [r[0] for r in conn.execute("SELECT datname FROM pg_database").fetchall()]
    assert not [n for n in names if n.startswith("ops_verify_")]  # the scratch database is gone


def test_a_corrupted_dump_fails_verify(stack):
    assert ops("backup", "--outputs", stack["file"], "--no-weekly").returncode == 0
    s3, bucket = stack["s3"], stack["bucket"]
    key = next(k for k in objects(s3, bucket) if k.endswith(".dump"))
    body = bytearray(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    body[len(body) // 2] ^= 0xFF  # one flipped byte, same size
    s3.put_object(Bucket=bucket, Key=key, Body=bytes(body))
    done = ops("verify", "--outputs", stack["file"])
    assert done.returncode == 1
    assert "PASS  size" in done.stdout and "FAIL  checksum" in done.stdout and "differs from the manifest" in done.stdout
    assert "  restore" not in done.stdout  # a corrupted dump is not restored


def test_a_stale_backup_fails_verify(stack):
    assert ops("backup", "--outputs", stack["file"], "--no-weekly").returncode == 0
    s3, bucket = stack["s3"], stack["bucket"]
    key = next(k for k in objects(s3, bucket) if k.endswith(".manifest.json"))
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    manifest["createdAt"] = (datetime.now(UTC) - timedelta(hours=27)).isoformat()
    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(manifest).encode())
    done = ops("verify", "--outputs", stack["file"])
    assert done.returncode == 1
    assert "FAIL  freshness" in done.stdout and "27.0 h old (limit 26 h)" in done.stdout


def test_verify_without_any_backup_fails(stack):
    done = ops("verify", "--outputs", stack["file"])
    assert done.returncode == 1 and "FAIL  latest backup" in done.stdout


def test_a_failed_dump_uploads_nothing_and_hides_the_password(stack):
    bad = stack["outputs"]["databaseUrl"].replace("/appdb?", "/nosuchdb?")
    done = ops("backup", "--outputs", stack["file"], env={"DATABASE_URL": bad})
    assert done.returncode == 1
    assert done.stderr.startswith("error: backup failed:") and "nosuchdb" in done.stderr
    assert objects(stack["s3"], stack["bucket"]) == []


def test_a_failure_after_the_upload_leaves_no_object_version(stack):
    from ops.backup import backup
    from ops.common import Database

    class FailingManifest:  # the real client, except that writing the manifest fails
        def __init__(self, s3):
            self._s3 = s3

        def __getattr__(self, name):
            return getattr(self._s3, name)

        def put_object(self, **kwargs):
            raise ConnectionError("network down while writing the manifest")

    s3, bucket = stack["s3"], stack["bucket"]
    with pytest.raises(ConnectionError):
        backup(Database.from_url(stack["outputs"]["databaseUrl"]), bucket, stack["kms"], "staging",
               client=FailingManifest(s3))
    versions = s3.list_object_versions(Bucket=bucket)
    assert versions.get("Versions", []) == [] and versions.get("DeleteMarkers", []) == []


def test_missing_outputs_and_bad_urls_exit_2(stack, tmp_path):
    empty = tmp_path / "empty.json"
    empty.write_text("{}")
    done = ops("backup", "--outputs", empty)
    assert done.returncode == 2 and "the stack outputs have no `databaseUrl`" in done.stderr
    done = ops("backup", "--outputs", stack["file"], env={"DATABASE_URL": "mysql://x@y/z"})
    assert done.returncode == 2 and "is not a postgresql://" in done.stderr
    done = ops("verify")
    assert done.returncode == 2 and "--stack NAME" in done.stderr


# ---- smoke -------------------------------------------------------------------------------------
class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - the stdlib's name
        self.send_response(200 if self.path == "/api/health" else 404)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture
def live(aws_env, tmp_path):
    """What `pulumi up` of a small stack leaves in AWS, created in moto, with its outputs and config."""
    import uuid

    import boto3

    suffix = uuid.uuid4().hex[:6]
    rds = boto3.client("rds")
    rds.create_db_instance(DBInstanceIdentifier=f"pg-{suffix}", DBInstanceClass="db.t4g.micro", Engine="postgres",
                           MasterUsername="app_admin", MasterUserPassword="x" * 20, AllocatedStorage=20,
                           StorageEncrypted=True, MultiAZ=False)
    rds.create_db_instance_read_replica(DBInstanceIdentifier=f"pg-r0-{suffix}", SourceDBInstanceIdentifier=f"pg-{suffix}")
    boto3.client("elasticache").create_replication_group(
        ReplicationGroupId=f"redis-{suffix}", ReplicationGroupDescription="cache", Engine="redis",
        CacheNodeType="cache.t4g.micro", NumCacheClusters=1, TransitEncryptionEnabled=True,
        AtRestEncryptionEnabled=True, AuthToken="t" * 32)
    s3 = boto3.client("s3")
    bucket = f"backups-{suffix}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/backups"}}]})
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [
        {"ID": "daily", "Status": "Enabled", "Filter": {"Prefix": "daily/"}, "Expiration": {"Days": 7}},
        {"ID": "weekly", "Status": "Enabled", "Filter": {"Prefix": "weekly/"}, "Expiration": {"Days": 30}}]})
    topic = boto3.client("sns").create_topic(Name=f"alarms-{suffix}")["TopicArn"]
    cw = boto3.client("cloudwatch")
    names = [f"db-cpu-{suffix}", f"redis-memory-{suffix}"]
    for name in names:
        cw.put_metric_alarm(AlarmName=name, MetricName="CPUUtilization", Namespace="AWS/RDS", Statistic="Average",
                            Period=300, EvaluationPeriods=3, Threshold=80, ComparisonOperator="GreaterThanThreshold",
                            AlarmActions=[topic], OKActions=[topic], ActionsEnabled=False)
    dist = boto3.client("cloudfront").create_distribution(DistributionConfig={
        "CallerReference": suffix, "Comment": "", "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [{"Id": "alb", "DomainName": "alb.example.com", "CustomOriginConfig": {
            "HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only"}}]},
        "DefaultCacheBehavior": {"TargetOriginId": "alb", "ViewerProtocolPolicy": "redirect-to-https",
                                 "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6"}})["Distribution"]["Id"]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Health)
    # shutdown() waits for the loop's next poll: 0.5 s a test at the default interval
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    outputs = {"awsRegion": "us-east-1", "databaseInstances": {"primary": f"pg-{suffix}", "replicas": [f"pg-r0-{suffix}"],
                                                              "dr": None, "drRegion": None},
               "redisReplicationGroupId": f"redis-{suffix}", "backupBucketName": bucket, "alarmTopicArn": topic,
               "alarms": [{"name": n, "region": "us-east-1"} for n in names], "cdnDistributionId": dist,
               "appUrl": f"http://127.0.0.1:{server.server_address[1]}"}
    (tmp_path / "outputs.json").write_text(json.dumps(outputs))
    # The stack config it was deployed from: staging's shape, one replica, one cache node, alarms silent.
    (tmp_path / "Pulumi.smoke.yaml").write_text(
        "config:\n  platform:postgresReadReplicas: 1\n  platform:redisNodes: 1\n"
        "  platform:alarmActionsEnabled: false\n")
    yield {"dir": tmp_path, "s3": s3, "bucket": bucket, "outputs": outputs}
    server.shutdown()
    server.server_close()


def smoke(live):
    return ops("smoke", "--outputs", live["dir"] / "outputs.json", "--config", live["dir"] / "Pulumi.smoke.yaml")


def test_smoke_passes_on_a_stack_that_matches_its_config(live):
    done = smoke(live)
    assert done.returncode == 0, done.stdout + done.stderr
    for row in ("PASS  rds primary", "PASS  rds replica count", "PASS  rds replica 0", "PASS  redis replication group",
                "PASS  backup bucket versioning", "PASS  backup bucket lifecycle", "PASS  backup bucket encryption",
                "PASS  backup bucket public access block", "PASS  alarms in us-east-1", "PASS  cloudfront distribution",
                "PASS  app health"):
        assert row in done.stdout, row
    assert done.stdout.rstrip().endswith("11 passed, 0 failed")


def test_smoke_fails_on_a_bucket_without_lifecycle(live):
    live["s3"].delete_bucket_lifecycle(Bucket=live["bucket"])
    done = smoke(live)
    assert done.returncode == 1
    assert "FAIL  backup bucket lifecycle" in done.stdout and "no enabled rule for daily/, weekly/" in done.stdout
    assert done.stdout.rstrip().endswith("10 passed, 1 failed")


def test_smoke_fails_when_the_stack_differs_from_its_config(live):
    config = live["dir"] / "Pulumi.smoke.yaml"
    config.write_text(config.read_text().replace("postgresReadReplicas: 1", "postgresReadReplicas: 2")
                      .replace("alarmActionsEnabled: false", "alarmActionsEnabled: true"))
    outputs = json.loads((live["dir"] / "outputs.json").read_text())
    outputs["appUrl"] += "/down"  # the health URL answers 404
    (live["dir"] / "outputs.json").write_text(json.dumps(outputs))
    done = smoke(live)
    assert done.returncode == 1
    assert "FAIL  rds replica count" in done.stdout and "1 in the outputs, 2 configured" in done.stdout
    assert "FAIL  alarms in us-east-1" in done.stdout and "actions enabled is not True" in done.stdout
    assert "FAIL  app health" in done.stdout and "HTTP 404" in done.stdout


@pytest.fixture
def ecs_live(live):
    """The same stack hosting the app on ECS: its cluster and service in moto, their names in the outputs."""
    import boto3

    ecs = boto3.client("ecs")
    cluster = "app-cluster-" + live["bucket"].rsplit("-", 1)[1]
    ecs.create_cluster(clusterName=cluster)
    task = ecs.register_task_definition(family="platform-smoke-app", containerDefinitions=[
        {"name": "app", "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/app-repo:no-image-yet",
         "memory": 512}])["taskDefinition"]["taskDefinitionArn"]
    outputs = {**live["outputs"], "ecsClusterName": cluster, "ecsServiceName": "app-service"}
    config = live["dir"] / "Pulumi.smoke.yaml"
    config.write_text(config.read_text() + "  platform:appHosting: aws\n  platform:appDomain: staging.example.com\n"
                      "  platform:ecsDesiredCount: 2\n  platform:ecsMinCount: 1\n  platform:ecsMaxCount: 4\n")

    def deploy(desired: int, health_path: str = "") -> None:
        ecs.create_service(cluster=cluster, serviceName="app-service", taskDefinition=task, desiredCount=desired)
        (live["dir"] / "outputs.json").write_text(json.dumps({**outputs, "appUrl": outputs["appUrl"] + health_path}))

    return {**live, "config": config, "deploy": deploy}


def test_smoke_with_no_image_yet_passes_without_requesting_the_app(ecs_live):
    ecs_live["deploy"](0, "/down")  # the health URL would answer 404: it must not be requested
    done = smoke(ecs_live)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PASS  ecs service" in done.stdout and "app-service: ACTIVE, 0 tasks: no image deployed yet" in done.stdout
    assert "PASS  app health" in done.stdout and "no image deployed yet (ecsImage and ecsImageTag empty)" in done.stdout
    assert "HTTP 404" not in done.stdout
    assert done.stdout.rstrip().endswith("12 passed, 0 failed")


def test_smoke_with_an_image_wants_the_service_running(ecs_live):
    ecs_live["config"].write_text(ecs_live["config"].read_text() + "  platform:ecsImageTag: v1\n")
    ecs_live["deploy"](2)  # moto starts no task: 0 of 2 running
    done = ops("smoke", "--outputs", ecs_live["dir"] / "outputs.json", "--config", ecs_live["config"], "--wait", "0")
    assert done.returncode == 1
    assert re.search(r"FAIL  ecs service +app-service: ACTIVE, 0/2 tasks running; not all running after 0 s", done.stdout)
    assert "PASS  app health" in done.stdout and "HTTP 200" in done.stdout


def test_smoke_with_no_image_wants_no_task(ecs_live):
    ecs_live["deploy"](2)
    done = smoke(ecs_live)
    assert done.returncode == 1
    assert "FAIL  ecs service" in done.stdout and "2 desired, 0 running: no image is configured" in done.stdout


def test_backup_reads_the_rotated_password_from_the_credentials_secret(stack, tmp_path):
    """Secrets Manager rotates the master password (components/db_rotation.py), so `databaseUrl`
    keeps only the first one: with `databaseSecretArn` in the outputs, backup and verify log in with
    the secret as it is now (this failed on the old code, which read only the output)."""
    import boto3

    from ops.common import Database

    db = Database.from_url(stack["outputs"]["databaseUrl"])
    arn = boto3.client("secretsmanager").create_secret(Name=f"creds-{tmp_path.name}", SecretString=json.dumps({
        "engine": "postgres", "username": db.user, "password": db.password, "host": db.host, "port": db.port,
        "dbname": db.dbname}))["ARN"]
    stale = stack["outputs"]["databaseUrl"].replace(PASSWORD.replace("/", "%2F"), "rotated-away-1")
    assert stale != stack["outputs"]["databaseUrl"]
    outputs = {**stack["outputs"], "databaseUrl": stale, "databaseSecretArn": arn}
    path = tmp_path / "rotated.json"
    path.write_text(json.dumps(outputs))
    done = ops("backup", "--outputs", path, "--stack", "staging")
    assert done.returncode == 0, done.stderr
    assert ops("verify", "--outputs", path).returncode == 0

    outputs["databaseSecretArn"] = arn + "-gone"
    path.write_text(json.dumps(outputs))
    done = ops("backup", "--outputs", path, "--stack", "staging")
    assert done.returncode != 0 and "(databaseSecretArn)" in done.stderr and "GetSecretValue" in done.stderr

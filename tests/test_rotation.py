"""The rotation function (components/rotation/handler.py) against a real PostgreSQL (tests/servers.py's
throwaway cluster) and moto_server's Secrets Manager and ECS, driven step by step as Secrets Manager
drives it: RotateSecret makes the AWSPENDING version, then createSecret, setSecret, testSecret and
finishSecret run with its token."""

from __future__ import annotations

import json
import os
import time
import uuid
from unittest import mock

import pytest
from servers import free_port

STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")


def pg(url: str, **overrides):
    import pg8000.native

    from ops.common import Database

    db = Database.from_url(url)
    args = {"user": db.user, "password": db.password, "host": db.host, "port": db.port, "database": db.dbname,
            **overrides}
    return pg8000.native.Connection(**args)


def login(creds: dict, url: str | None = None):
    """A session with a secret version's credentials (its `url` when it has one)."""
    from ops.common import Database

    if url:
        db = Database.from_url(url)
        return pg(url), db
    return pg(f"postgresql://x@{creds['host']}:{creds['port']}/{creds['dbname']}", user=creds["username"],
              password=creds["password"]), None


class Stack:
    """One rotation setup: a master login owning a database (as RDS's master owns the one it creates),
    its secret, the app login's secret as the program writes it, and an ECS service."""

    def __init__(self, admin_url: str):
        import boto3

        from components.rotation import handler

        self.handler = handler
        tag = uuid.uuid4().hex[:8]
        self.master_user, self.db, self.group, self.app_user = f"m_{tag}", f"db_{tag}", f"g_{tag}", f"u_{tag}"
        self.master_password = "Init-" + uuid.uuid4().hex
        admin = pg(admin_url.replace("/appdb?", "/postgres?"))
        # Not a superuser: RDS's master has CREATEROLE and owns its database, nothing more.
        admin.run(f"CREATE ROLE {self.master_user} LOGIN CREATEROLE PASSWORD '{self.master_password}'")
        admin.run(f"CREATE DATABASE {self.db} OWNER {self.master_user}")
        admin.close()
        self.host, self.port = "127.0.0.1", pg(admin_url.replace("/appdb?", "/postgres?")).run("SHOW port")[0][0]
        self.sm = boto3.client("secretsmanager")
        self.ecs = boto3.client("ecs")
        self.master_arn = self.sm.create_secret(Name=f"master-{tag}", SecretString=json.dumps({
            "engine": "postgres", "username": self.master_user, "password": self.master_password,
            "host": self.host, "port": int(self.port), "dbname": self.db}))["ARN"]
        self.app_arn = self.sm.create_secret(Name=f"app-{tag}", SecretString=json.dumps({
            "engine": "postgres", "username": self.app_user}))["ARN"]
        for arn in (self.master_arn, self.app_arn):  # RotationEnabled, as SecretRotation leaves it
            self.sm.rotate_secret(SecretId=arn, RotationRules={"AutomaticallyAfterDays": 30}, RotateImmediately=False)
        cluster = self.ecs.create_cluster(clusterName=f"c-{tag}")["cluster"]["clusterName"]
        task = self.ecs.register_task_definition(family=f"t-{tag}", containerDefinitions=[
            {"name": "app", "image": "app:1", "memory": 512}])["taskDefinition"]["taskDefinitionArn"]
        self.service = self.ecs.create_service(cluster=cluster, serviceName=f"s-{tag}", taskDefinition=task,
                                               desiredCount=1)["service"]["serviceName"]
        self.cluster = cluster
        self.env = handler.Env({
            "MASTER_SECRET_ARN": self.master_arn, "APP_GROUP": self.group, "WRITER_HOST": self.host,
            "READER_HOST": self.host, "ECS_CLUSTER": cluster, "ECS_SERVICE": self.service, "DB_SSLMODE": "disable"})

    def step(self, arn: str, token: str, step: str) -> None:
        self.handler.lambda_handler({"SecretId": arn, "ClientRequestToken": token, "Step": step},
                                    env=self.env, sm=self.sm, ecs=self.ecs)

    def start(self, arn: str) -> str:
        """What RotateSecret does before it calls the function (Secrets Manager User Guide, "How rotation
        works"): a version under a new token, labelled AWSPENDING, with no value yet. moto's RotateSecret
        without a function ARN would instead make that empty version AWSCURRENT, so this is done on its
        backend, as its RotateSecret does it before invoking a function."""
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.secretsmanager.models import secretsmanager_backends

        secret = secretsmanager_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].secrets[arn]
        token = str(uuid.uuid4())
        secret.remove_version_stages_from_old_versions(["AWSPENDING"])
        secret.versions[token] = {"createdate": int(time.time()), "version_id": token, "version_stages": ["AWSPENDING"]}
        return token

    def rotate(self, arn: str, steps=STEPS) -> str:
        token = self.start(arn)
        for step in steps:
            self.step(arn, token, step)
        return token

    def value(self, arn: str, stage: str = "AWSCURRENT") -> dict:
        return json.loads(self.sm.get_secret_value(SecretId=arn, VersionStage=stage)["SecretString"])

    def stages(self, arn: str) -> dict[str, list[str]]:
        return self.sm.describe_secret(SecretId=arn)["VersionIdsToStages"]

    def connect(self, creds: dict):
        return pg(f"postgresql://x@{self.host}:{self.port}/{self.db}", user=creds["username"],
                  password=creds["password"])

    def connect_url(self, url: str):
        assert url.endswith("?sslmode=require")  # what the app gets; the local server has no TLS
        return pg(url.replace("sslmode=require", "sslmode=disable"))

    def deployment(self) -> str:
        return self.ecs.describe_services(cluster=self.cluster, services=[self.service])[
            "services"][0]["deployments"][0]["id"]


@pytest.fixture(scope="module")
def moto():
    """moto's server in this process (moto.server.ThreadedMotoServer, what moto_server runs): the tests
    reach it over HTTP like the function reaches AWS, and play Secrets Manager's own part of RotateSecret
    on its backend (see Stack.start)."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    env = {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1"}
    with mock.patch.dict(os.environ, env):
        yield
    server.stop()


@pytest.fixture
def stack(moto, postgres):
    return Stack(postgres)


def refused(connect) -> bool:
    import pg8000.native

    try:
        connect().close()
    except pg8000.native.DatabaseError as err:
        return err.args[0].get("C") == "28P01"  # invalid_password
    return False


def test_alternating_rotation_keeps_the_previous_login_working(stack):
    deployment = stack.deployment()
    first = stack.rotate(stack.app_arn)
    v1 = stack.value(stack.app_arn)
    assert v1["username"] == stack.app_user + "_clone"  # the first rotation creates the other login
    assert stack.stages(stack.app_arn)[first] == ["AWSCURRENT"]
    # The app's DATABASE_URL is the new login's, and connects; what it creates belongs to the group.
    app = stack.connect_url(v1["url"])
    app.run("CREATE TABLE notes (id int)")
    app.run("INSERT INTO notes VALUES (1)")
    assert app.run("SELECT tableowner FROM pg_tables WHERE tablename = 'notes'") == [[stack.group]]
    app.close()
    assert stack.connect_url(v1["readUrl"]).run("SELECT count(*) FROM notes") == [[1]]
    assert stack.deployment() != deployment  # finishSecret started a new ECS deployment
    deployment = stack.deployment()

    second = stack.rotate(stack.app_arn)
    v2 = stack.value(stack.app_arn)
    assert v2["username"] == stack.app_user and v2["password"] != v1["password"]
    stages = stack.stages(stack.app_arn)
    assert stages[second] == ["AWSCURRENT"] and stages[first] == ["AWSPREVIOUS"]
    assert stack.value(stack.app_arn, "AWSPREVIOUS") == v1
    # Tasks started before this rotation still hold v1: its login was not touched.
    old = stack.connect_url(v1["url"])
    assert old.run("SELECT count(*) FROM notes") == [[1]]
    old.close()
    new = stack.connect_url(v2["url"])
    new.run("INSERT INTO notes VALUES (2)")  # the table the other login created
    new.close()
    assert stack.deployment() != deployment

    stack.rotate(stack.app_arn)  # the third changes the clone's password: v1 stops working
    assert refused(lambda: stack.connect(v1))
    assert stack.connect(stack.value(stack.app_arn)).run("SELECT count(*) FROM notes") == [[2]]


def test_the_master_can_dump_what_the_app_logins_create(stack):
    """The backup jobs dump as the master (DATABASE_CREDENTIALS, components/backup_jobs.py). RDS's master
    is no superuser (CREATEROLE, rds_superuser: RDS User Guide, "Understanding the rds_superuser role"),
    so it reads the group's tables only as a member of the group: otherwise pg_dump stops at the first
    of them with "permission denied" and no backup is ever written once the app has a schema."""
    import subprocess

    from ops.backup import _pg_bin

    stack.rotate(stack.app_arn)
    app = stack.connect_url(stack.value(stack.app_arn)["url"])
    app.run("CREATE TABLE orders (id int)")
    app.run("INSERT INTO orders VALUES (1)")
    app.close()
    master = stack.value(stack.master_arn)
    done = subprocess.run([_pg_bin("pg_dump"), "--format=custom", "--no-password", "--no-sync", "-f", os.devnull,
                           "-h", stack.host, "-p", str(stack.port), "-U", master["username"], stack.db],
                          env={**os.environ, "PGPASSWORD": master["password"], "PGSSLMODE": "disable"},
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_each_step_is_idempotent(stack):
    token = stack.start(stack.app_arn)
    stack.step(stack.app_arn, token, "createSecret")
    pending = stack.value(stack.app_arn, "AWSPENDING")
    stack.step(stack.app_arn, token, "createSecret")
    assert stack.value(stack.app_arn, "AWSPENDING") == pending  # not a second password
    for step in ("setSecret", "setSecret", "testSecret", "testSecret", "finishSecret", "finishSecret"):
        stack.step(stack.app_arn, token, step)
    assert stack.value(stack.app_arn) == pending
    assert stack.stages(stack.app_arn)[token] == ["AWSCURRENT"]
    stack.connect(pending).close()


def test_a_failing_test_step_leaves_awscurrent_alone(stack):
    stack.rotate(stack.app_arn)
    current = stack.value(stack.app_arn)
    token = stack.start(stack.app_arn)
    stack.step(stack.app_arn, token, "createSecret")
    # setSecret never ran: the pending password is not the login's, so testSecret must fail.
    with pytest.raises(Exception, match="password authentication failed"):
        stack.step(stack.app_arn, token, "testSecret")
    assert stack.value(stack.app_arn) == current
    assert "AWSCURRENT" not in stack.stages(stack.app_arn)[token]
    stack.connect(current).close()


def test_the_master_rotates_as_a_single_user_and_the_app_rotation_follows(stack):
    old = stack.value(stack.master_arn)
    token = stack.rotate(stack.master_arn)
    new = stack.value(stack.master_arn)
    assert new["username"] == stack.master_user and new["password"] != old["password"]
    assert {k: v for k, v in new.items() if k != "password"} == {k: v for k, v in old.items() if k != "password"}
    assert stack.stages(stack.master_arn)[token] == ["AWSCURRENT"]
    assert refused(lambda: stack.connect(old))
    stack.connect(new).close()
    stack.rotate(stack.app_arn)  # setSecret logs in with the rotated master password
    stack.connect(stack.value(stack.app_arn)).close()
    assert stack.deployment() == stack.deployment()


def test_the_master_rotation_resumes_after_its_password_was_set(stack):
    """setSecret ran, then the function died before finishSecret: the retry, and the app rotation
    meanwhile, log in with the pending master password."""
    token = stack.start(stack.master_arn)
    stack.step(stack.master_arn, token, "createSecret")
    stack.step(stack.master_arn, token, "setSecret")
    assert refused(lambda: stack.connect(stack.value(stack.master_arn)))  # AWSCURRENT is stale now
    stack.rotate(stack.app_arn)
    stack.connect(stack.value(stack.app_arn)).close()
    stack.step(stack.master_arn, token, "setSecret")
    stack.step(stack.master_arn, token, "testSecret")
    stack.step(stack.master_arn, token, "finishSecret")
    stack.connect(stack.value(stack.master_arn)).close()


def test_steps_refuse_a_version_that_is_not_pending(stack):
    current = next(v for v, s in stack.stages(stack.app_arn).items() if "AWSCURRENT" in s)
    stack.step(stack.app_arn, current, "setSecret")  # AWSCURRENT already: nothing to do
    with pytest.raises(ValueError, match="no stage for rotation"):
        stack.step(stack.app_arn, str(uuid.uuid4()), "createSecret")


# ---- the program under mocks ---------------------------------------------------------------------
def statements(graph, name: str) -> dict[str, dict]:
    return {s["Sid"]: s for s in json.loads(graph.named(name).input("policy"))["Statement"]}


def test_both_secrets_rotate_with_the_function_on_the_configured_schedule(any_stack):
    g = any_stack
    fn = g.named("postgres-rotation-fn")
    master, app = g.named("postgres-credentials"), g.named("postgres-app-credentials")
    for label, secret in (("master", master), ("app", app)):
        rotation = g.named(f"postgres-rotation-{label}")
        assert rotation.input("secretId") == secret.outputs["arn"]
        assert rotation.input("rotationLambdaArn") == fn.outputs["arn"]
        assert rotation.input("rotationRules") == {"automaticallyAfterDays": 30}
        permission = g.named(f"postgres-rotation-invoke-{label}")
        assert permission.input("principal") == "secretsmanager.amazonaws.com"
        assert permission.input("sourceArn") == secret.outputs["arn"] and permission.input("function") == fn.outputs["name"]
        assert permission.urn in rotation.dependencies  # invocable before the first rotation starts
        assert "RotationExempt" not in (secret.input("tags") or {})
    assert app.input("kmsKeyId") == g.named("postgres-key").outputs["arn"]
    first = g.named("postgres-app-credentials-version")
    assert json.loads(first.input("secretString")) == {"engine": "postgres", "username": "app_user"}
    assert first.ignore_changes == ["secretString"]  # the rotation owns every later version


def test_the_function_runs_in_the_private_subnets_with_encrypted_logs(any_stack):
    g = any_stack
    fn = g.named("postgres-rotation-fn")
    assert fn.input("runtime") == "python3.12" and fn.input("handler") == "handler.lambda_handler"
    assert fn.input("timeout") == 60 and fn.input("memorySize") == 256
    private = [g.named(f"network-private-{i}").outputs["id"] for i in range(len(fn.input("vpcConfig")["subnetIds"]))]
    assert fn.input("vpcConfig") == {"subnetIds": private,
                                     "securityGroupIds": [g.named("network-rotation-sg").outputs["id"]]}
    env = fn.input("environment")["variables"]
    assert env["MASTER_SECRET_ARN"] == g.named("postgres-credentials").outputs["arn"]
    assert env["ECS_CLUSTER"] == g.named("app-cluster").outputs["name"]
    assert env["ECS_SERVICE"] == g.named("app-service").outputs["name"]
    assert env["READER_HOST"] == "reader.postgres.internal" and "DB_SSLMODE" not in env
    assert fn.input("kmsKeyArn") == g.named("postgres-key").outputs["arn"]
    logs = g.named("postgres-rotation-logs")
    assert fn.input("loggingConfig")["logGroup"] == logs.outputs["name"]
    assert logs.input("kmsKeyId") == g.named("postgres-rotation-logs-key").outputs["arn"]
    policy = json.loads(g.named("postgres-rotation-logs-key").input("policy"))  # CloudWatch Logs, log groups only
    logs_use = next(s for s in policy["Statement"] if s.get("Sid") == "CloudWatchLogsUseKey")
    assert logs_use["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}
    assert "kms:EncryptionContext:aws:logs:arn" in logs_use["Condition"]["ArnLike"]
    assert logs.input("retentionInDays") == {"staging": 14, "production": 365}[g.stack]
    # A VPC function is refused unless its role may create ENIs when it is created.
    assert {g.named("postgres-rotation-vpc-access").urn, g.named("postgres-rotation-policy").urn} <= set(fn.dependencies)


def test_writer_host_is_the_proxy_where_there_is_one(staging, production):
    assert production.named("postgres-rotation-fn").input("environment")["variables"]["WRITER_HOST"] == \
        production.named("postgres-proxy").outputs["endpoint"]
    assert staging.named("postgres-rotation-fn").input("environment")["variables"]["WRITER_HOST"] == \
        staging.named("postgres-primary").outputs["address"]


def test_the_role_holds_only_what_the_steps_call(any_stack):
    g = any_stack
    role = g.named("postgres-rotation-role")
    assert json.loads(role.input("assumeRolePolicy"))["Statement"][0]["Principal"] == {"Service": "lambda.amazonaws.com"}
    assert g.named("postgres-rotation-vpc-access").input("policyArn") == \
        "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
    s = statements(g, "postgres-rotation-policy")
    assert set(s) == {"RotateTheSecrets", "SecretsKey", "RedeployTheApp"}
    assert s["RotateTheSecrets"]["Resource"] == [g.named("postgres-credentials").outputs["arn"],
                                                 g.named("postgres-app-credentials").outputs["arn"]]
    assert sorted(s["RotateTheSecrets"]["Action"]) == [
        "secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue",
        "secretsmanager:UpdateSecretVersionStage"]
    assert s["SecretsKey"] == {"Sid": "SecretsKey", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                               "Resource": g.named("postgres-key").outputs["arn"]}
    cluster, service = g.named("app-cluster").outputs["name"], g.named("app-service").outputs["name"]
    assert s["RedeployTheApp"]["Action"] == "ecs:UpdateService"
    assert s["RedeployTheApp"]["Resource"] == f"arn:aws:ecs:us-east-1:123456789012:service/{cluster}/{service}"
    assert all(st["Effect"] == "Allow" and "*" not in json.dumps(st["Resource"]) for st in s.values())


def test_only_the_rotation_group_reaches_the_database_besides_the_app(any_stack):
    g = any_stack
    sg, db = g.named("network-rotation-sg").outputs["id"], g.named("network-db-sg").outputs["id"]
    ingress = g.named("network-db-from-rotation")
    assert (ingress.input("securityGroupId"), ingress.input("referencedSecurityGroupId")) == (db, sg)
    assert (ingress.input("fromPort"), ingress.input("toPort"), ingress.input("ipProtocol")) == (5432, 5432, "tcp")
    out = {r.name: r for r in g.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
           if r.input("securityGroupId") == sg}
    assert set(out) == {"network-rotation-to-db", "network-rotation-https-out"}
    assert out["network-rotation-to-db"].input("referencedSecurityGroupId") == db
    assert out["network-rotation-https-out"].input("fromPort") == 443


def test_ecs_reads_the_database_urls_from_the_rotated_secret(any_stack):
    g = any_stack
    app_secret = g.named("postgres-app-credentials").outputs["arn"]
    container = json.loads(g.named("app-task").input("containerDefinitions"))[0]
    refs = {s["name"]: s["valueFrom"] for s in container["secrets"]}
    assert refs["DATABASE_URL"] == f"{app_secret}:url::" and refs["DATABASE_READ_URL"] == f"{app_secret}:readUrl::"
    env = json.loads(g.named("app-env-version").input("secretString"))
    assert "DATABASE_URL" not in env and "DATABASE_READ_URL" not in env and "REDIS_URL" in env
    s = json.loads(g.named("app-execution-secrets").input("policy"))["Statement"]
    assert s[0]["Resource"] == [g.named("app-env").outputs["arn"], app_secret]
    assert s[1]["Resource"] == [g.named("app-key").outputs["arn"], g.named("postgres-key").outputs["arn"]]


def test_the_proxy_accepts_the_app_login(production):
    proxy = production.named("postgres-proxy")
    arns = [a["secretArn"] for a in proxy.input("auths")]
    assert arns == [production.named("postgres-credentials").outputs["arn"],
                    production.named("postgres-app-credentials").outputs["arn"]]
    access = json.loads(production.named("postgres-proxy-secret-access").input("policy"))["Statement"][0]
    assert access["Resource"] == arns


def test_preview_knows_the_graph(any_stack):
    from conftest import stack_graph

    preview = stack_graph(any_stack.stack, preview=True)
    assert {r.name for r in preview.resources if r.name.startswith("postgres-rotation")} == \
        {r.name for r in any_stack.resources if r.name.startswith("postgres-rotation")}


@pytest.mark.parametrize("example", ["generic-guide", "project-spark"])
def test_ecs_examples_rotate(example):
    from conftest import example_graph

    g = example_graph(example)
    assert len(g.of_type("aws:secretsmanager/secretRotation:SecretRotation")) == 2


@pytest.mark.parametrize("example", ["study-sphere", "contribux", "group-spaces"])
def test_vercel_and_external_database_examples_have_no_rotation(example):
    from conftest import example_graph

    g = example_graph(example)
    assert not g.of_type("aws:lambda/function:Function")
    assert not g.of_type("aws:secretsmanager/secretRotation:SecretRotation")
    assert not [r for r in g.resources if r.name in ("postgres-app-credentials", "network-rotation-sg")]
    if example != "group-spaces":  # Vercel reads DATABASE_URL at deploy: the master secret says so
        tags = g.named("postgres-credentials").input("tags")
        assert "read at deploy" in tags["RotationExempt"]


def test_rotation_days_come_from_config():
    from conftest import evaluate

    g = evaluate(postgresRotationDays="7")
    assert {r.input("rotationRules")["automaticallyAfterDays"]
            for r in g.of_type("aws:secretsmanager/secretRotation:SecretRotation")} == {7}


@pytest.mark.parametrize("value", ["0", "1001"])
def test_rotation_days_out_of_range_is_one_config_error(value):
    from conftest import config_error

    message = config_error(postgresRotationDays=value)
    assert "postgresRotationDays" in message and "1 to 1000" in message


def test_the_master_username_cannot_be_an_app_role():
    from conftest import config_error

    message = config_error(postgresUsername="app_user_clone")
    assert "postgresUsername" in message and "app_user_clone" in message


def test_a_natless_data_only_stack_keeps_the_exempt_tag():
    from conftest import evaluate, without_app

    g = evaluate(**without_app(), natGateways="none")
    assert not g.of_type("aws:lambda/function:Function")
    assert "RotationExempt" in g.named("postgres-credentials").input("tags")


def test_the_function_code_holds_the_handler_and_the_driver(tmp_path):
    """The archive the program uploads, unpacked: the handler imports pg8000 and scramp from it alone."""
    import subprocess
    import sys

    import pulumi

    from components.db_rotation import code_archive

    archive = code_archive()
    assets = archive.assets
    assert "handler.py" in assets and "pg8000/native.py" in assets and "scramp/core.py" in assets
    assert "six.py" in assets and not [k for k in assets if "__pycache__" in k or k.endswith(".pyc")]
    for name, asset in assets.items():
        assert isinstance(asset, pulumi.FileAsset)
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(open(asset.path, "rb").read())
    check = ("import sys; sys.path.insert(0, sys.argv[1]); import handler, pg8000, scramp, dateutil, asn1crypto; "
             "assert all(m.__file__.startswith(sys.argv[1]) for m in (handler, pg8000, scramp, dateutil, asn1crypto))")
    done = subprocess.run([sys.executable, "-c", check, str(tmp_path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_the_function_code_imports_without_the_deployers_site_packages(tmp_path):
    """As in Lambda: /var/task (the archive) and the runtime's boto3, no site-packages. pg8000 and scramp
    read their own version from their dist-info at import (importlib.metadata.version), so an archive
    without it fails every step with Runtime.ImportModuleError: PackageNotFoundError
    (aws/amazon-redshift-python-driver#200, the same scramp import in Lambda)."""
    import subprocess
    import sys

    from components.db_rotation import code_archive

    task, runtime = tmp_path / "task", tmp_path / "runtime"
    for name, asset in code_archive().assets.items():
        target = task / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(open(asset.path, "rb").read())
    (runtime / "boto3").mkdir(parents=True)
    (runtime / "boto3" / "__init__.py").write_text("")  # the runtime's boto3 (not what this test checks)
    check = ("import sys; sys.path[:0] = sys.argv[1:]; import handler, pg8000.native, scramp; "
             "assert pg8000.__file__.startswith(sys.argv[1]) and scramp.__file__.startswith(sys.argv[1])")
    # -I -S: no user or site packages, no PYTHONPATH: only the archive and the stub runtime.
    done = subprocess.run([sys.executable, "-I", "-S", "-c", check, str(task), str(runtime)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr

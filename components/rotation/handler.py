"""Secrets Manager rotation function for the stack's PostgreSQL credentials (components/db_rotation.py).

Secrets Manager calls it once per step with {SecretId, ClientRequestToken, Step}; a step may be called
again after a failure, so each one is idempotent (Secrets Manager User Guide, "Lambda rotation
functions": createSecret, setSecret, testSecret, finishSecret). Two kinds of secret:

- the master secret (MASTER_SECRET_ARN), RDS secret format: single user. setSecret logs in as the
  master (with the current password, or the pending one when an earlier try already set it) and
  changes its own password.
- any other secret, the app login: alternating users (Secrets Manager User Guide, "Rotation strategy:
  alternating users"). The logins <base> and <base>_clone take turns: each rotation sets a new password
  on the login the current version does not name, so clients holding the current credentials keep
  working until the rotation after this one. setSecret logs in as the master, creates the login when it
  is missing and makes it a member of the group role that owns the app's objects (GROUP), with that
  role as its session role, so tables either login creates belong to the group and both reach them.
  The version also holds `url` and `readUrl`, the DATABASE_URL and DATABASE_READ_URL the ECS task
  definition reads at start; finishSecret then starts a new deployment of ECS_SERVICE so new tasks use
  the new login while the running ones keep the old, still valid one.

Replicas need no step: PostgreSQL keeps roles and passwords in a shared catalog that physical
replication copies to every standby, in-region or cross-region.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import ssl
import string
from typing import Any
from urllib.parse import quote

import boto3  # type: ignore[import-untyped]  # in the Lambda runtime; ships no type information
import pg8000.native  # type: ignore[import-untyped]  # zipped with the function (pure Python)

logger = logging.getLogger()
logger.setLevel(logging.INFO)

CURRENT, PENDING, PREVIOUS = "AWSCURRENT", "AWSPENDING", "AWSPREVIOUS"
CLONE_SUFFIX = "_clone"
# The master password's alphabet (components/postgres.py): RDS refuses / @ " and space.
PASSWORD_CHARS = string.ascii_letters + string.digits + "!#$%^&*()-_=+[]{}<>:?"
PASSWORD_LENGTH = 40


class Env:
    """What the program sets on the function (components/db_rotation.py)."""

    def __init__(self, environ: dict[str, str] | os._Environ[str] = os.environ):
        self.master_secret_arn = environ["MASTER_SECRET_ARN"]
        self.group = environ.get("APP_GROUP", "app_owner")
        self.writer_host = environ.get("WRITER_HOST", "")
        self.reader_host = environ.get("READER_HOST", "")
        self.ecs_cluster = environ.get("ECS_CLUSTER", "")
        self.ecs_service = environ.get("ECS_SERVICE", "")
        # "require" (RDS forces TLS: rds.force_ssl=1) or "disable" (the tests' local server).
        self.sslmode = environ.get("DB_SSLMODE", "require")


def lambda_handler(event: dict[str, str], context: object = None, *, env: Env | None = None,
                   sm: Any = None, ecs: Any = None) -> None:
    arn, token, step = event["SecretId"], event["ClientRequestToken"], event["Step"]
    env = env or Env()
    sm = sm or boto3.client("secretsmanager")
    meta = sm.describe_secret(SecretId=arn)
    if not meta.get("RotationEnabled"):
        raise ValueError(f"secret {arn} is not enabled for rotation")
    stages = meta.get("VersionIdsToStages", {})
    if token not in stages:
        raise ValueError(f"secret version {token} has no stage for rotation of secret {arn}")
    if CURRENT in stages[token]:
        logger.info("version %s is already AWSCURRENT: nothing to do in %s", token, step)
        return
    if PENDING not in stages[token]:
        raise ValueError(f"secret version {token} is not AWSPENDING for rotation of secret {arn}")
    rotation = Rotation(sm, arn, token, env, ecs)
    steps = {"createSecret": rotation.create, "setSecret": rotation.set, "testSecret": rotation.test,
             "finishSecret": rotation.finish}
    if step not in steps:
        raise ValueError(f"invalid step {step!r}")
    steps[step]()


def new_password() -> str:
    while True:
        value = "".join(secrets.choice(PASSWORD_CHARS) for _ in range(PASSWORD_LENGTH))
        if (any(c.islower() for c in value) and any(c.isupper() for c in value)
                and any(c.isdigit() for c in value)):
            return value


def base_login(username: str) -> str:
    return username[: -len(CLONE_SUFFIX)] if username.endswith(CLONE_SUFFIX) else username


def other_login(username: str) -> str:
    """The login the next rotation sets: <base>_clone after <base>, <base> after <base>_clone."""
    base = base_login(username)
    return base + CLONE_SUFFIX if username == base else base


def database_url(user: str, password: str, host: str, port: int, dbname: str) -> str:
    return f"postgresql://{quote(user, safe='')}:{quote(password, safe='')}@{host}:{port}/{dbname}?sslmode=require"


class Rotation:
    def __init__(self, sm: Any, arn: str, token: str, env: Env, ecs: Any = None):
        self.sm, self.arn, self.token, self.env, self._ecs = sm, arn, token, env, ecs

    @property
    def single_user(self) -> bool:
        """Secrets Manager passes the secret's full ARN, as the program sets MASTER_SECRET_ARN."""
        return self.arn == self.env.master_secret_arn

    def value(self, secret_id: str, stage: str | None = None, version: str | None = None) -> dict[str, Any]:
        kwargs = {"SecretId": secret_id, **({"VersionStage": stage} if stage else {}),
                  **({"VersionId": version} if version else {})}
        return dict(json.loads(self.sm.get_secret_value(**kwargs)["SecretString"]))

    def pending(self) -> dict[str, Any] | None:
        """The AWSPENDING value of this rotation, or None while Secrets Manager's placeholder version
        (the token, labelled AWSPENDING, without a value) is all there is."""
        try:
            answer = self.sm.get_secret_value(SecretId=self.arn, VersionId=self.token, VersionStage=PENDING)
        except self.sm.exceptions.ResourceNotFoundException:
            return None
        return dict(json.loads(answer["SecretString"])) if answer.get("SecretString") else None

    # ---- createSecret ----------------------------------------------------------------------------
    def create(self) -> None:
        """A new AWSPENDING version under the token: the next login (alternating) or the same one
        (single user), a new password and, for the app login, its URLs. Kept if it exists already."""
        current = self.value(self.arn, CURRENT)
        if self.pending() is not None:
            logger.info("createSecret: AWSPENDING %s exists already", self.token)
            return
        password = new_password()
        if self.single_user:
            pending = {**current, "password": password}
        else:
            pending = self._app_version(current, other_login(current["username"]), password)
        self.sm.put_secret_value(SecretId=self.arn, ClientRequestToken=self.token,
                                 SecretString=json.dumps(pending), VersionStages=[PENDING])
        logger.info("createSecret: AWSPENDING %s created for login %s", self.token, pending["username"])

    def _app_version(self, current: dict[str, Any], user: str, password: str) -> dict[str, Any]:
        master = self.value(self.env.master_secret_arn, CURRENT)
        host, port, dbname = master["host"], int(master.get("port", 5432)), master["dbname"]
        writer, reader = self.env.writer_host or host, self.env.reader_host or host
        return {**current, "engine": "postgres", "username": user, "password": password, "host": host,
                "port": port, "dbname": dbname, "masterarn": self.env.master_secret_arn,
                "url": database_url(user, password, writer, port, dbname),
                "readUrl": database_url(user, password, reader, port, dbname)}

    # ---- setSecret -------------------------------------------------------------------------------
    def set(self) -> None:
        pending = self.pending()
        if pending is None:
            raise ValueError(f"setSecret: no AWSPENDING value for version {self.token}")
        if self.single_user:
            self._set_master(pending)
        else:
            self._set_app_login(pending)

    def _set_master(self, pending: dict[str, Any]) -> None:
        # Already set by an earlier try of this step: the pending password logs in.
        if self._connect(pending, quiet=True) is not None:
            logger.info("setSecret: the master already has the pending password")
            return
        conn = None
        for stage in (CURRENT, PREVIOUS):
            try:
                conn = self._connect(self.value(self.arn, stage), quiet=True)
            except self.sm.exceptions.ResourceNotFoundException:
                continue
            if conn is not None:
                break
        if conn is None:
            raise ValueError("setSecret: neither the pending, current nor previous master password logs in")
        with _closing(conn):
            conn.run(f"ALTER USER {pg8000.native.identifier(pending['username'])} WITH PASSWORD "
                     + pg8000.native.literal(pending["password"]))
        logger.info("setSecret: master password changed")

    def _set_app_login(self, pending: dict[str, Any]) -> None:
        conn = self._master_connection()
        login = pg8000.native.identifier(pending["username"])
        group = pg8000.native.identifier(self.env.group)
        dbname = pg8000.native.identifier(pending["dbname"])
        # Utility statements take no bind parameters: the password goes in as a quoted literal.
        password = pg8000.native.literal(pending["password"])
        with _closing(conn):
            if not conn.run("SELECT 1 FROM pg_roles WHERE rolname = :r", r=self.env.group):
                conn.run(f"CREATE ROLE {group} NOLOGIN")
            # The master (no superuser on RDS) reads the group's tables only as its member: the backup
            # jobs dump as the master (components/backup_jobs.py). It created the group, so it may.
            conn.run(f"GRANT {group} TO CURRENT_USER")
            # What the app needs: connect, and create and use objects in the public schema.
            conn.run(f"GRANT CONNECT, TEMPORARY ON DATABASE {dbname} TO {group}")
            conn.run(f"GRANT USAGE, CREATE ON SCHEMA public TO {group}")
            if conn.run("SELECT 1 FROM pg_roles WHERE rolname = :r", r=pending["username"]):
                conn.run(f"ALTER ROLE {login} WITH LOGIN PASSWORD {password}")
            else:
                conn.run(f"CREATE ROLE {login} WITH LOGIN PASSWORD {password}")
            conn.run(f"GRANT {group} TO {login}")
            # Every session of either login runs as the group: what one creates, the other owns too.
            conn.run(f"ALTER ROLE {login} SET role = {pg8000.native.literal(self.env.group)}")
        logger.info("setSecret: login %s set", pending["username"])

    def _master_connection(self) -> Any:
        """The master, with its current password or, while its own rotation is between setSecret and
        finishSecret, its pending one."""
        for stage in (CURRENT, PENDING):
            try:
                master = self.value(self.env.master_secret_arn, stage)
            except self.sm.exceptions.ResourceNotFoundException:
                continue
            conn = self._connect(master, quiet=True)
            if conn is not None:
                return conn
        raise ValueError("setSecret: the master secret's credentials do not log in")

    # ---- testSecret ------------------------------------------------------------------------------
    def test(self) -> None:
        pending = self.pending()
        if pending is None:
            raise ValueError(f"testSecret: no AWSPENDING value for version {self.token}")
        conn = self._connect(pending)
        with _closing(conn):
            conn.run("SELECT 1")
            if not self.single_user:
                role = conn.run("SELECT current_user")[0][0]
                if role != self.env.group:
                    raise ValueError(f"testSecret: {pending['username']} runs as {role}, not {self.env.group}")
        logger.info("testSecret: login %s works", pending["username"])

    # ---- finishSecret ----------------------------------------------------------------------------
    def finish(self) -> None:
        stages = self.sm.describe_secret(SecretId=self.arn)["VersionIdsToStages"]
        current = next((v for v, s in stages.items() if CURRENT in s), None)
        if current != self.token:
            self.sm.update_secret_version_stage(SecretId=self.arn, VersionStage=CURRENT,
                                                MoveToVersionId=self.token, RemoveFromVersionId=current)
        # Secrets Manager accepts either end state: AWSPENDING on the AWSCURRENT version, or on none.
        self.sm.update_secret_version_stage(SecretId=self.arn, VersionStage=PENDING,
                                            RemoveFromVersionId=self.token)
        logger.info("finishSecret: version %s is AWSCURRENT", self.token)
        if not self.single_user and self.env.ecs_cluster and self.env.ecs_service:
            ecs = self._ecs or boto3.client("ecs")
            ecs.update_service(cluster=self.env.ecs_cluster, service=self.env.ecs_service, forceNewDeployment=True)
            logger.info("finishSecret: new deployment of %s started", self.env.ecs_service)

    # ---- connections -----------------------------------------------------------------------------
    def _connect(self, creds: dict[str, Any], quiet: bool = False) -> Any:
        context: ssl.SSLContext | None = None
        if self.env.sslmode != "disable":
            # sslmode=require, as the app's URLs: encrypted, server certificate not verified (the
            # function's runtime does not hold the RDS CA bundle).
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        try:
            return pg8000.native.Connection(
                user=creds["username"], password=creds["password"], host=creds["host"],
                port=int(creds.get("port", 5432)), database=creds["dbname"], ssl_context=context, timeout=10)
        except pg8000.native.DatabaseError as err:
            if quiet:
                logger.info("login as %s refused: %s", creds.get("username"), err.args[0].get("M", err)
                            if err.args and isinstance(err.args[0], dict) else err)
                return None
            raise


class _closing:
    def __init__(self, conn: Any):
        self.conn = conn

    def __enter__(self) -> Any:
        return self.conn

    def __exit__(self, *exc: object) -> None:
        self.conn.close()

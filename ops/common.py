"""Stack outputs, database URLs without their secrets, results and exit codes shared by the commands."""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import unquote, urlsplit

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class OpsError(Exception):
    """A problem with the inputs (outputs, URLs, options): exit 2 with this one line."""


def load_outputs(stack: str | None, path: Path | None) -> dict:
    """`pulumi stack output --json --show-secrets` of the stack, or the same JSON from a file."""
    if path:
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError) as err:
            raise OpsError(f"cannot read stack outputs from {path}: {err}") from None
    if not stack:
        raise OpsError("name the stack (--stack NAME) or give its outputs (--outputs FILE)")
    try:
        done = subprocess.run(["pulumi", "stack", "output", "--json", "--show-secrets", "--stack", stack],
                              capture_output=True, text=True, timeout=120)
    except FileNotFoundError:
        raise OpsError("the pulumi CLI is not on PATH: install it, or pass --outputs FILE "
                       "(`pulumi stack output --json --show-secrets > FILE` where it is)") from None
    if done.returncode:
        raise OpsError(f"pulumi stack output failed for stack {stack}: {done.stderr.strip()[-500:]}")
    return json.loads(done.stdout)


def need(outputs: dict, key: str):
    if outputs.get(key) in (None, "", [], {}):
        raise OpsError(f"the stack outputs have no `{key}`: is this stack's tier enabled, and was it deployed "
                       "with this version of the program (`pulumi up`)?")
    return outputs[key]


@dataclass(frozen=True)
class Database:
    """A postgresql:// URL split into libpq parameters. str() and describe() never show the password."""

    host: str
    port: int
    user: str
    password: str
    dbname: str
    sslmode: str

    @classmethod
    def from_url(cls, url: str, what: str = "database URL") -> Database:
        parts = urlsplit(url or "")
        if parts.scheme not in ("postgres", "postgresql") or not parts.hostname:
            raise OpsError(f"the {what} is not a postgresql://user:password@host:port/dbname URL")
        query = dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p)
        return cls(host=parts.hostname, port=parts.port or 5432, user=unquote(parts.username or ""),
                   password=unquote(parts.password or ""), dbname=unquote(parts.path.lstrip("/")) or "postgres",
                   sslmode=query.get("sslmode", "prefer"))

    @classmethod
    def from_secret(cls, text: str, what: str, sslmode: str) -> Database:
        """The RDS secret format (engine, username, password, host, port, dbname), as ECS injects a
        Secrets Manager secret into a variable. Errors name the variable, never a value."""
        try:
            doc = json.loads(text)
        except ValueError:
            doc = None
        if not isinstance(doc, dict):
            raise OpsError(f"{what} is not a JSON object in the RDS secret format "
                           "(username, password, host, port, dbname)")
        missing = [k for k in ("username", "password", "host") if not doc.get(k)]
        if missing:
            raise OpsError(f"{what} has no {', '.join(missing)} (RDS secret format: username, password, host, "
                           "port, dbname)")
        try:
            port = int(doc.get("port") or 5432)
        except (TypeError, ValueError):
            raise OpsError(f"{what}: port is not a number") from None
        return cls(host=str(doc["host"]), port=port, user=str(doc["username"]), password=str(doc["password"]),
                   dbname=str(doc.get("dbname") or "postgres"), sslmode=sslmode)

    def describe(self) -> str:
        return f"{self.user}@{self.host}:{self.port}/{self.dbname}"

    __str__ = __repr__ = describe

    def with_db(self, dbname: str) -> Database:
        return Database(self.host, self.port, self.user, self.password, dbname, self.sslmode)

    def env(self) -> dict[str, str]:
        """libpq's environment for pg_dump/pg_restore: the password never goes on a command line."""
        return {**os.environ, "PGHOST": self.host, "PGPORT": str(self.port), "PGUSER": self.user,
                "PGPASSWORD": self.password, "PGDATABASE": self.dbname, "PGSSLMODE": self.sslmode,
                "PGCONNECT_TIMEOUT": "15"}

    def connect(self, **kwargs):
        import psycopg

        return psycopg.connect(host=self.host, port=self.port, user=self.user, password=self.password,
                               dbname=self.dbname, sslmode=self.sslmode, connect_timeout=15, **kwargs)


def redact(text: str, *secrets: str) -> str:
    """Remove passwords and whole connection URLs from a message before it is printed."""
    text = re.sub(r"(postgres(?:ql)?|rediss?)://[^\s'\"]+", r"\1://***", str(text))
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""  # the command or step that turns a FAIL (or a WARN) into a PASS
    warn: bool = False  # advisory: shown as WARN, never fails the run


# boto3 builds its client classes at run time from JSON service models: without boto3-stubs (not in
# the lock) a client has no static type, so this alias says where the untyped value comes from.
BotoClient = Any


def _boto3() -> ModuleType:
    """boto3, imported on first use: the other ops commands do not pay for it."""
    import boto3  # type: ignore[import-untyped]  # boto3 ships no type information (no py.typed)

    return boto3


def client(service: str, region: str | None) -> BotoClient:
    """A boto3 client. No region: the one boto3 finds (AWS_REGION, the profile)."""
    return _boto3().client(service, region_name=region)


def session_region() -> str | None:
    """The region boto3 resolves from the environment and profile, as the AWS CLI does."""
    region: str | None = _boto3().session.Session().region_name
    return region


def print_checks(title: str, checks: list[Check]) -> int:
    width = max(len(c.name) for c in checks) if checks else 0
    print(title)
    for c in checks:
        status = "FAIL" if not c.ok else "WARN" if c.warn else "PASS"
        print(f"  {status}  {c.name.ljust(width)}  {c.detail}")
        if c.fix and status != "PASS":
            for line in c.fix.splitlines():
                print(f"        fix: {line}")
    failed = [c for c in checks if not c.ok]
    warned = [c for c in checks if c.ok and c.warn]
    print(f"{len(checks) - len(failed) - len(warned)} passed, {len(failed)} failed"
          + (f", {len(warned)} warning{'s' * (len(warned) != 1)}" if warned else ""))
    return EXIT_FAILED if failed else EXIT_OK

"""`python -m ops job backup|backup --weekly|drill`: the ops image's entrypoint (ops/Dockerfile), run by the
stack's scheduled ECS tasks. Configured only by the task's environment (no stack outputs, no pulumi CLI):

  PLATFORM_STACK, AWS_REGION, BACKUP_BUCKET, BACKUP_KMS_KEY_ARN (backup), METRICS_NAMESPACE, PGSSLMODE
  (default verify-full; libpq also reads PGSSLROOTCERT, which the image sets), BACKUP_MAX_AGE_HOURS (26);
  DATABASE_CREDENTIALS and SCRATCH_DATABASE_CREDENTIALS (optional): Secrets Manager secrets in the RDS
  secret format (JSON: username, password, host, port, dbname), injected whole by ECS `secrets`.

Every run publishes CloudWatch metrics (namespace METRICS_NAMESPACE, one dimension Stack=PLATFORM_STACK),
on failure too; a metrics failure is reported and fails the run, never hides the job's own result.
Exit codes: 0 success; 1 the job (or its metrics) failed, one line on stderr; 2 the environment is
incomplete. No secret is ever printed.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ops.backup import age, backup, drop_database, latest_manifest, report, s3_client, verify
from ops.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, Check, Database, OpsError, client, print_checks, redact

# botocore cloudwatch 2010-08-01 service-2.json: StandardUnit enum (these four are in it), Dimensions
# max 30 (we send one), MetricData at most 1000 per PutMetricData call (we send at most four).
UNITS = {"BackupAgeHours": "None", "BackupSizeBytes": "Bytes", "BackupDurationSeconds": "Seconds",
         "DrillSucceeded": "Count", "DrillDurationSeconds": "Seconds"}
# libpq's sslmode values (PostgreSQL docs, 34.19.1 "SSL Support": the table of sslmode modes).
SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
DRILL_PREFIX = "restore_drill_"
DRILL_STAMP = "%Y%m%d_%H%M%S"  # digits only: an unquoted, lower-case identifier in psql
LEFTOVER_AFTER = timedelta(hours=24)  # a drill database this old was left by a killed run (SIGKILL, OOM)


class Terminated(Exception):
    """SIGTERM (ECS stops a task with it, then SIGKILL after the stop timeout): raised in the main thread,
    so a backup deletes what it wrote and a drill drops its database before the process ends."""


def _terminate(signum, frame):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # one is enough: a second must not cut the cleanup short
    raise Terminated("stopped by SIGTERM (ECS StopTask or the task's timeout)")


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Target:
    """Where the metrics go: read first, so a job with an incomplete environment still reports."""

    namespace: str
    stack: str
    region: str | None

    @classmethod
    def read(cls, env: Mapping[str, str]) -> Target:
        namespace, stack = _need(env, "METRICS_NAMESPACE"), _need(env, "PLATFORM_STACK")
        # PutMetricData Namespace: 1-255 characters, pattern [^:].* (botocore), and AWS/ is AWS's own.
        if len(namespace) > 255 or namespace.startswith((":", "AWS/")):
            raise OpsError(f"METRICS_NAMESPACE {namespace!r}: 1-255 characters, not starting with ':' or 'AWS/'")
        if len(stack) > 1024:  # DimensionValue: 1-1024 characters
            raise OpsError("PLATFORM_STACK is longer than a CloudWatch dimension value (1024 characters)")
        return cls(namespace, stack, env.get("AWS_REGION") or None)


@dataclass(frozen=True)
class JobEnv:
    bucket: str
    kms_key: str
    max_age: timedelta
    database: Database
    scratch: Database | None

    @classmethod
    def read(cls, env: Mapping[str, str], command: str) -> JobEnv:
        sslmode = env.get("PGSSLMODE") or "verify-full"
        if sslmode not in SSLMODES:
            raise OpsError(f"PGSSLMODE {sslmode!r} is not one of {', '.join(SSLMODES)}")
        try:
            hours = float(env.get("BACKUP_MAX_AGE_HOURS") or 26)
        except ValueError:
            hours = -1
        if not 0 < hours < 24 * 366:
            raise OpsError("BACKUP_MAX_AGE_HOURS must be a number of hours above 0 (default 26)")
        scratch = env.get("SCRATCH_DATABASE_CREDENTIALS")
        return cls(bucket=_need(env, "BACKUP_BUCKET"),
                   kms_key=_need(env, "BACKUP_KMS_KEY_ARN") if command == "backup" else "",
                   max_age=timedelta(hours=hours),
                   database=Database.from_secret(_need(env, "DATABASE_CREDENTIALS"), "DATABASE_CREDENTIALS", sslmode),
                   scratch=Database.from_secret(scratch, "SCRATCH_DATABASE_CREDENTIALS", sslmode) if scratch else None)


def _need(env: Mapping[str, str], name: str) -> str:
    if not env.get(name):
        raise OpsError(f"{name} is not set: the task definition sets it (docs/operations.md, Scheduled backups)")
    return env[name]


# ---- the two jobs: each returns its exit code and appends its metrics to `data` -----------------
def run_backup(env: JobEnv, target: Target, weekly: bool, data: dict[str, float]) -> int:
    s3 = s3_client(target.region)
    db, started, now = env.database, time.monotonic(), _now()
    print(f"backup of {db.describe()} to s3://{env.bucket}" + (" with its weekly copy" if weekly else ""), flush=True)
    try:
        # weekly=False, not None: the daily schedule never copies (backup() would on its weekly_day).
        m = backup(db, env.bucket, env.kms_key, target.stack, region=target.region, weekly=weekly, now=now, client=s3)
    except Exception as err:  # noqa: BLE001 - one line, then the age of the newest backup that exists
        data["BackupDurationSeconds"] = time.monotonic() - started
        _fail(f"backup failed: {type(err).__name__}: {redact(str(err), db.password)}")
        try:
            found = latest_manifest(s3, env.bucket, ("daily/",))
            if found:
                data["BackupAgeHours"] = _hours(age(found[1], _now()))
        except Exception as err2:  # noqa: BLE001 - the age metric is then missing, which the alarm treats as old
            print(f"metrics: the newest backup's age is unknown: {type(err2).__name__}: {err2}", file=sys.stderr)
        return EXIT_FAILED
    data.update(BackupSizeBytes=m["sizeBytes"], BackupDurationSeconds=time.monotonic() - started,
                BackupAgeHours=_hours(age(m, _now())))
    print("\n".join(report(m)))
    return EXIT_OK


def run_drill(env: JobEnv, target: Target, data: dict[str, float]) -> int:
    s3 = s3_client(target.region)
    server, started, now = env.scratch or env.database, time.monotonic(), _now()
    scratch = f"{DRILL_PREFIX}{now:{DRILL_STAMP}}"
    checks: list[Check] = []
    try:
        checks += drop_leftovers(server.with_db("postgres"), now)
        found = latest_manifest(s3, env.bucket)
        if found:
            data["BackupAgeHours"] = _hours(age(found[1], now))
            checks += verify(server, env.bucket, max_age=env.max_age, now=now, client=s3, found=found, scratch=scratch)
        else:
            checks.append(Check("latest backup", False, f"no manifest under daily/ or weekly/ in s3://{env.bucket}"))
    except Exception as err:  # noqa: BLE001 - a failed drill: its row, its metric, one line
        checks.append(Check("drill", False, f"{type(err).__name__}: {redact(str(err), server.password)}"))
    data.update(DrillSucceeded=float(all(c.ok for c in checks)), DrillDurationSeconds=time.monotonic() - started)
    code = print_checks(f"restore drill: latest backup in s3://{env.bucket}, restored on {server.host}:{server.port}"
                        f" as {scratch}", checks)
    if code:
        _fail("drill failed: " + "; ".join(f"{c.name}: {c.detail}" for c in checks if not c.ok))
    return code


def drop_leftovers(admin: Database, now: datetime) -> list[Check]:
    """Drop drill databases left by a run that was killed before its own cleanup (SIGKILL, OOM, a lost
    host): on the stack's own server each would hold a full copy of the data until someone noticed."""
    with admin.connect(autocommit=True) as conn:
        names = [r[0] for r in conn.execute("SELECT datname FROM pg_database WHERE starts_with(datname, %s)",
                                            (DRILL_PREFIX,)).fetchall()]
    stale = []
    for name in names:
        try:
            created = datetime.strptime(name.removeprefix(DRILL_PREFIX), DRILL_STAMP).replace(tzinfo=UTC)
        except ValueError:
            continue  # not one of ours
        if now - created > LEFTOVER_AFTER:
            drop_database(admin, name)
            stale.append(name)
    return [Check("leftovers", True, f"dropped {', '.join(stale)} (older than {LEFTOVER_AFTER})")] if stale else []


def _hours(delta: timedelta) -> float:
    return round(max(delta.total_seconds(), 0) / 3600, 3)


def _fail(line: str) -> None:
    print(f"error: {line}", file=sys.stderr, flush=True)


# ---- metrics ---------------------------------------------------------------------------------------
def publish(target: Target, data: dict[str, float]) -> None:
    """One PutMetricData call with every datum of the run, each with the single dimension Stack."""
    if not data:
        return
    at = _now()
    client("cloudwatch", target.region).put_metric_data(Namespace=target.namespace, MetricData=[
        {"MetricName": name, "Dimensions": [{"Name": "Stack", "Value": target.stack}], "Timestamp": at,
         "Value": float(value), "Unit": UNITS[name]} for name, value in sorted(data.items())])
    print(f"metrics: {target.namespace} Stack={target.stack}: "
          + ", ".join(f"{n}={v:g} {UNITS[n]}" for n, v in sorted(data.items())))


def run(command: str, weekly: bool = False, environ: Mapping[str, str] | None = None) -> int:
    env = os.environ if environ is None else environ
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:  # PID 1 in a container ignores it otherwise
        signal.signal(signal.SIGTERM, _terminate)
    try:
        target = Target.read(env)
    except OpsError as err:
        _fail(str(err))
        return EXIT_USAGE
    data: dict[str, float] = {}
    try:
        job = JobEnv.read(env, command)
        code = run_backup(job, target, weekly, data) if command == "backup" else run_drill(job, target, data)
    except OpsError as err:
        _fail(str(err))
        code = EXIT_USAGE
        if command == "drill":
            data["DrillSucceeded"] = 0
    try:
        publish(target, data)
    except Exception as err:  # noqa: BLE001 - reported; the job's own line (if any) was printed first
        _fail(f"metrics not published to {target.namespace}: {type(err).__name__}: {err}")
        return code or EXIT_FAILED
    return code

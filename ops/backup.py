"""`backup`: pg_dump to the stack's backup bucket; `verify`: restore the latest dump and compare.

Layout (what the bucket's lifecycle rules expect):
  daily/YYYY/MM/DD/<stack>-<UTC timestamp>.dump           custom-format dump (compressed)
  daily/YYYY/MM/DD/<stack>-<UTC timestamp>.manifest.json  sha256, size, versions, row counts
  weekly/YYYY/Www/...                                     server-side copies of both, once a week
The manifest is written after the dump and marks a complete backup; a run that fails deletes every
object version it wrote, so a reader never sees a dump without its manifest.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ops.common import BotoClient, Check, Database, OpsError, redact
from ops.common import client as boto3_client

MANIFEST = ".manifest.json"
MAX_AGE = timedelta(hours=26)
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def s3_client(region: str | None) -> BotoClient:
    # AWS_ENDPOINT_URL (boto3's own variable) points it at another endpoint, e.g. moto in the tests.
    return boto3_client("s3", region)


def _pg_bin(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise OpsError(f"{name} is not on PATH: install the PostgreSQL client (Debian: postgresql-client)")
    return found


def _run(cmd: list[str], db: Database, what: str) -> None:
    done = subprocess.run(cmd, env=db.env(), capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{what} failed (exit {done.returncode}): {redact(done.stderr.strip(), db.password)[-800:]}")


def _table_counts(conn) -> dict[str, int]:
    from psycopg import sql

    rows = conn.execute(
        "SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' "
        "AND table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2").fetchall()
    return {f"{schema}.{table}": conn.execute(sql.SQL("SELECT count(*) FROM {}.{}").format(
        sql.Identifier(schema), sql.Identifier(table))).fetchone()[0] for schema, table in rows}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _pg_dump_version() -> str:
    return subprocess.run([_pg_bin("pg_dump"), "--version"], capture_output=True, text=True).stdout.strip()


def backup(db: Database, bucket: str, kms_key: str, stack: str, *, region: str | None = None,
           weekly: bool | None = None, weekly_day: str = "sunday", multipart_mb: int = 64,
           now: datetime | None = None, client=None) -> dict:
    """Dump, upload, write the manifest; returns the manifest. Raises on any failure, after removing
    every object version this run wrote."""
    from boto3.s3.transfer import TransferConfig  # type: ignore[import-untyped]  # boto3 ships no type information
    from psycopg import IsolationLevel

    s3 = client or s3_client(region)
    now = now or datetime.now(UTC)
    name = f"{stack}-{now:%Y%m%dT%H%M%SZ}"
    key = f"daily/{now:%Y/%m/%d}/{name}.dump"
    encryption = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key}
    written: list[tuple[str, str | None]] = []
    with tempfile.TemporaryDirectory(prefix="ops-backup-") as tmp:
        dump = Path(tmp) / f"{name}.dump"
        # Row counts and the dump come from one snapshot: a REPEATABLE READ transaction exports it,
        # counts every table in it, and pg_dump reads the same snapshot while it stays open.
        with db.connect() as conn:
            conn.isolation_level = IsolationLevel.REPEATABLE_READ
            conn.read_only = True
            with conn.transaction():
                snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
                server_version = conn.execute("SHOW server_version").fetchone()[0]
                counts = _table_counts(conn)
                _run([_pg_bin("pg_dump"), "--format=custom", "--compress=6", f"--snapshot={snapshot}",
                      "--no-password", f"--file={dump}"], db, "pg_dump")
        size, digest = dump.stat().st_size, _sha256(dump)
        manifest = {
            "stack": stack, "database": f"{db.host}:{db.port}/{db.dbname}", "createdAt": now.isoformat(),
            "bucket": bucket, "key": key, "format": "pg_dump custom, compress=6", "sizeBytes": size,
            "sha256": digest, "pgServerVersion": server_version, "pgDump": _pg_dump_version(),
            "kmsKeyId": kms_key, "tables": counts, "totalRows": sum(counts.values()),
        }
        chunk = max(5, multipart_mb) * 1024 * 1024  # S3's smallest part is 5 MiB
        try:
            s3.upload_file(str(dump), bucket, key, Config=TransferConfig(multipart_threshold=chunk,
                                                                         multipart_chunksize=chunk),
                           ExtraArgs={**encryption, "Metadata": {"sha256": digest}})
            written.append((key, s3.head_object(Bucket=bucket, Key=key).get("VersionId")))
            keys = [key, key.removesuffix(".dump") + MANIFEST]
            put = s3.put_object(Bucket=bucket, Key=keys[1], Body=json.dumps(manifest, indent=2).encode(),
                                ContentType="application/json", **encryption)
            written.append((keys[1], put.get("VersionId")))
            if (weekly if weekly is not None else now.weekday() == WEEKDAYS.index(weekly_day)):
                iso = now.isocalendar()
                for source in keys:
                    target = f"weekly/{iso.year}/W{iso.week:02d}/{source.rsplit('/', 1)[1]}"
                    s3.copy({"Bucket": bucket, "Key": source}, bucket, target, ExtraArgs=encryption,
                            Config=TransferConfig(multipart_threshold=chunk, multipart_chunksize=chunk))
                    written.append((target, s3.head_object(Bucket=bucket, Key=target).get("VersionId")))
                manifest["weeklyKey"] = f"weekly/{iso.year}/W{iso.week:02d}/{name}.dump"
        except BaseException:
            for k, version in reversed(written):  # leave nothing behind, not even a noncurrent version
                s3.delete_object(Bucket=bucket, Key=k, **({"VersionId": version} if version else {}))
            raise
    return manifest


def latest_manifest(s3, bucket: str, prefixes: tuple[str, ...] = ("daily/", "weekly/")) -> tuple[str, dict] | None:
    """(key, manifest) of the newest complete backup: a dump without its manifest is not one."""
    found = []
    for prefix in prefixes:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            found += [o for o in page.get("Contents", []) if o["Key"].endswith(MANIFEST)]
    if not found:
        return None
    newest = max(found, key=lambda o: (o["LastModified"], o["Key"].startswith("daily/")))
    body = s3.get_object(Bucket=bucket, Key=newest["Key"])["Body"].read()
    return newest["Key"], json.loads(body)


def age(manifest: dict, now: datetime) -> timedelta:
    """How old the data of a backup is: from the snapshot the dump was taken from, not the upload."""
    return now - datetime.fromisoformat(manifest["createdAt"])


def verify(db: Database, bucket: str, *, region: str | None = None, max_age: timedelta = MAX_AGE,
           now: datetime | None = None, client=None, found: tuple[str, dict] | None = None,
           scratch: str | None = None) -> list[Check]:
    """Latest backup (or `found`, a latest_manifest result): fresh, size and checksum right, restores
    into the database `scratch` (default ops_verify_<random>), row counts equal the manifest."""
    s3 = client or s3_client(region)
    now = now or datetime.now(UTC)
    checks: list[Check] = []
    found = found or latest_manifest(s3, bucket)
    if not found:
        return [Check("latest backup", False, f"no {MANIFEST} under daily/ or weekly/ in s3://{bucket}")]
    manifest_key, manifest = found
    key = manifest["key"] if manifest_key.startswith("daily/") else manifest_key.removesuffix(MANIFEST) + ".dump"
    checks.append(Check("latest backup", True, f"s3://{bucket}/{key}"))
    old = age(manifest, now)
    checks.append(Check("freshness", old <= max_age,
                        f"{old.total_seconds() / 3600:.1f} h old (limit {max_age.total_seconds() / 3600:g} h)"))
    with tempfile.TemporaryDirectory(prefix="ops-verify-") as tmp:
        dump = Path(tmp) / "latest.dump"
        try:
            s3.download_file(bucket, key, str(dump))
        except Exception as err:  # noqa: BLE001 - reported as a failed check
            checks.append(Check("download", False, f"{type(err).__name__}: {err}"))
            return checks
        size = dump.stat().st_size
        checks.append(Check("size", size == manifest["sizeBytes"],
                            f"{size} bytes (manifest {manifest['sizeBytes']})"))
        digest = _sha256(dump)
        checks.append(Check("checksum", digest == manifest["sha256"],
                            f"sha256 {digest[:16]}… {'matches' if digest == manifest['sha256'] else 'differs from'} "
                            f"the manifest's {manifest['sha256'][:16]}…"))
        if not all(c.ok for c in checks[-2:]):
            return checks  # restoring a corrupted dump proves nothing
        checks += _restore_and_count(db, dump, manifest["tables"], scratch or f"ops_verify_{uuid.uuid4().hex[:12]}")
    return checks


def _restore_and_count(db: Database, dump: Path, expected: dict[str, int], scratch: str) -> list[Check]:
    """Restore into a new database `scratch` on db's server and count its rows; the database is
    dropped whatever happens after it was created (a failed restore or count, an exception, SIGTERM
    turned into one by the job); a name already in use is refused before anything is created."""
    from psycopg import sql

    admin = db.with_db("postgres")
    checks = []
    with admin.connect(autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (scratch,)).fetchone():
            raise RuntimeError(f"database {scratch} already exists: another drill or verify is using it")
    try:  # CREATE inside: a signal between its commit and the next statement still drops it
        with admin.connect(autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(scratch)))
        try:
            _run([_pg_bin("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error", "--no-password",
                  f"--dbname={scratch}", str(dump)], db.with_db(scratch), "pg_restore")
            checks.append(Check("restore", True, f"into scratch database {scratch}"))
        except RuntimeError as err:
            checks.append(Check("restore", False, str(err)))
            return checks
        with db.with_db(scratch).connect() as conn:
            actual = _table_counts(conn)
        wrong = {t: (n, actual.get(t)) for t, n in expected.items() if actual.get(t) != n}
        extra = sorted(set(actual) - set(expected))
        detail = (f"{len(expected)} tables, {sum(expected.values())} rows match the manifest" if not wrong and not extra
                  else "; ".join([f"{t}: manifest {n}, restored {a}" for t, (n, a) in sorted(wrong.items())]
                                 + [f"{t}: not in the manifest" for t in extra]))
        checks.append(Check("row counts", not wrong and not extra, detail))
    finally:
        drop_database(admin, scratch)
        checks.append(Check("cleanup", True, f"dropped {scratch}"))
    return checks


def drop_database(admin: Database, name: str) -> None:
    from psycopg import sql

    # WITH (FORCE) (PostgreSQL 13+, the oldest major the stack allows) ends a session still in it.
    with admin.connect(autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def report(m: dict) -> list[str]:
    """What `ops backup` and the scheduled job print about a backup they wrote (no secret in it)."""
    lines = [f"  s3://{m['bucket']}/{m['key']}: {m['sizeBytes']} bytes, sha256 {m['sha256']}",
             f"  {len(m['tables'])} tables, {m['totalRows']} rows, server {m['pgServerVersion']}, SSE-KMS"]
    if m.get("weeklyKey"):
        lines.append(f"  weekly copy: s3://{m['bucket']}/{m['weeklyKey']}")
    return [*lines, "backup complete"]

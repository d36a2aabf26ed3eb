"""python -m ops backup|verify|smoke|preflight|pg-major|job — operator tooling for a stack (docs/operations.md).

Exit codes: 0 success (preflight: every check passed, warnings allowed); 1 a backup failed or a
check failed (each failure is one line, preflight adds its fix); 2 bad usage or inputs (missing
outputs, an unreadable URL, a bad stack config).
Database URLs and passwords never appear in the output: databases are shown as user@host:port/db.
`job` is the ops image's entrypoint, configured by the environment alone (ops/job.py).
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import timedelta
from pathlib import Path

from ops.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, Database, OpsError, load_outputs, need, print_checks, redact
from ops.common import client as boto3_client

SECRET_ENV = ("PULUMI_CONFIG_PASSPHRASE", "CLOUDFLARE_API_TOKEN", "CLOUDFLARE_API_KEY", "AWS_SECRET_ACCESS_KEY",
              "AWS_SESSION_TOKEN")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ops", description=__doc__.splitlines()[0])
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--stack", help="stack name: reads `pulumi stack output` and Pulumi.<stack>.yaml")
    common.add_argument("--outputs", type=Path, metavar="FILE",
                        help="the stack's outputs as JSON (`pulumi stack output --json --show-secrets`)")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("backup", parents=[common], help="pg_dump to the stack's backup bucket, with a manifest")
    b.add_argument("--weekly", action=argparse.BooleanOptionalAction, default=None,
                   help="also copy to weekly/ (default: on --weekly-day)")
    b.add_argument("--weekly-day", default="sunday", help="UTC weekday of the weekly copy (default sunday)")
    b.add_argument("--multipart-mb", type=int, default=64, help="multipart threshold and part size (min 5)")
    v = sub.add_parser("verify", parents=[common], help="restore the latest backup into a scratch database")
    v.add_argument("--max-age-hours", type=float, default=26, help="older than this fails (default 26)")
    v.add_argument("--scratch-url-env", default="SCRATCH_DATABASE_URL", metavar="VAR",
                   help="environment variable with a server URL for the scratch database "
                        "(default SCRATCH_DATABASE_URL; unset: the stack's own database server)")
    s = sub.add_parser("smoke", parents=[common], help="check the live stack against its config")
    s.add_argument("--config", type=Path, help="the stack config file (default Pulumi.<stack>.yaml)")
    s.add_argument("--wait", type=float, default=300, metavar="SECONDS",
                   help="how long the ECS service may take to run its tasks (default 300)")
    p = sub.add_parser("preflight", parents=[common],
                       help="before `pulumi up`: placeholders, credentials, secrets provider, DNS zone, image, "
                            "quotas (exit 0 all pass, warnings allowed; 1 a check failed; 2 bad config)")
    p.add_argument("--config", type=Path, help="the stack config file (default Pulumi.<stack>.yaml)")
    g = sub.add_parser("pg-major", help="the stack's PostgreSQL major version (the ops image's PG_MAJOR build "
                                        "argument); nothing when postgresEnabled is false")
    g.add_argument("--stack", help="stack name: reads Pulumi.<stack>.yaml")
    g.add_argument("--config", type=Path, help="the stack config file (default Pulumi.<stack>.yaml)")
    j = sub.add_parser("job", help="the scheduled task (ops image entrypoint): backup [--weekly] or drill, "
                                   "configured by the environment (PLATFORM_STACK, BACKUP_BUCKET, ...)")
    jobs = j.add_subparsers(dest="job", required=True)
    jobs.add_parser("backup", help="pg_dump to daily/ with its manifest").add_argument(
        "--weekly", action="store_true", help="also copy the dump and manifest to weekly/")
    jobs.add_parser("drill", help="restore the newest backup into restore_drill_<UTC time>, compare, drop it")
    return parser


def _database(outputs: dict, region: str | None, var: str = "DATABASE_URL", what: str = "database URL") -> Database:
    """DATABASE_URL from the environment wins. Then, for RDS, the master credentials secret as it is
    now: Secrets Manager rotates that password (components/db_rotation.py), so the `databaseUrl`
    output keeps only the first one. The output alone serves an external database (no secret)."""
    if os.environ.get(var):
        return Database.from_url(os.environ[var], what)
    arn = outputs.get("databaseSecretArn") if var == "DATABASE_URL" else None
    if not arn:
        return Database.from_url(need(outputs, "databaseUrl"), what)
    try:
        text = boto3_client("secretsmanager", region).get_secret_value(SecretId=arn)["SecretString"]
    except Exception as err:  # botocore's ClientError, NoCredentialsError, EndpointConnectionError
        raise OpsError(f"cannot read the database secret {arn} (databaseSecretArn): {err}; "
                       "it needs secretsmanager:GetSecretValue and kms:Decrypt on its key") from err
    # The secret names the primary itself: a dump needs a session of its own, not RDS Proxy's pool.
    sslmode = Database.from_url(outputs["databaseUrl"]).sslmode if outputs.get("databaseUrl") else "require"
    return Database.from_secret(text, f"the secret {arn}", sslmode)


def _stack_config(args):
    """(stack file, config as the program gets it, its secret keys, the parsed settings)."""
    import warnings

    warnings.filterwarnings("ignore", category=DeprecationWarning)
    import stack_config
    from offline.evaluate import StackFileError, read_stack_config, stack_file

    path = args.config or (stack_file(args.stack) if args.stack else None)
    if path is None:
        raise OpsError(f"{args.command} reads the stack's config: give --stack NAME or --config FILE")
    try:
        stack = args.stack or path.stem.removeprefix("Pulumi.")
        raw, secret = read_stack_config(path, stack)
        return path, raw, secret, stack_config.load(raw, secret, stack)
    except (StackFileError, stack_config.ConfigError) as err:
        raise OpsError(str(err)) from None


def _pg_major(args) -> int:
    """The ops image's PG_MAJOR: the client must be the server's major (pg_dump refuses newer servers)."""
    pg = _stack_config(args)[3].postgres
    if pg:
        print(pg.major)
    return EXIT_OK


def _preflight(args) -> int:
    """Before the first `up` the stack has no outputs: they are optional here (ecrRepositoryUrl only)."""
    import subprocess

    from ops.preflight import Context, preflight

    path, raw, secret, cfg = _stack_config(args)
    try:
        outputs = load_outputs(args.stack, args.outputs) if args.stack or args.outputs else {}
    except (OpsError, subprocess.TimeoutExpired):
        if args.outputs:
            raise
        outputs = {}
    return print_checks(f"preflight: stack {cfg.stack} in {cfg.aws_region}",
                        preflight(Context(cfg, raw, secret, path, outputs)))


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "job":
        from ops.job import run

        return run(args.job, weekly=getattr(args, "weekly", False))
    secrets: list[str] = []
    try:
        if args.command == "pg-major":
            return _pg_major(args)
        if args.command == "preflight":
            # It reads these only to say whether they are set; an error text holding one is cut out too
            # (short values excepted: replacing them would garble the message, not hide a secret).
            secrets += [v for v in map(os.environ.get, SECRET_ENV) if v and len(v) >= 8]
            return _preflight(args)
        outputs = load_outputs(args.stack, args.outputs)
        stack = args.stack or "backup"
        region = outputs.get("awsRegion") or os.environ.get("AWS_REGION")
        if args.command == "backup":
            from ops.backup import backup, report

            db = _database(outputs, region)
            secrets.append(db.password)
            print(f"backup of {db.describe()} to s3://{need(outputs, 'backupBucketName')}", flush=True)
            m = backup(db, outputs["backupBucketName"], need(outputs, "backupKmsKeyArn"), stack, region=region,
                       weekly=args.weekly, weekly_day=args.weekly_day.lower(), multipart_mb=args.multipart_mb)
            print("\n".join(report(m)))
            return EXIT_OK
        if args.command == "verify":
            from ops.backup import verify

            db = _database(outputs, region)
            if os.environ.get(args.scratch_url_env):
                db = _database(outputs, region, args.scratch_url_env, f"${args.scratch_url_env}")
            secrets.append(db.password)
            checks = verify(db, need(outputs, "backupBucketName"), region=region,
                            max_age=timedelta(hours=args.max_age_hours))
            return print_checks(f"verify: latest backup in s3://{outputs['backupBucketName']}, restored on "
                                f"{db.host}:{db.port}", checks)
        from ops.smoke import smoke

        cfg = _stack_config(args)[3]
        need(outputs, "awsRegion")
        return print_checks(f"smoke: stack {cfg.stack} in {outputs['awsRegion']}", smoke(outputs, cfg, args.wait))
    except OpsError as err:
        print(f"error: {redact(str(err), *secrets)}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as err:  # noqa: BLE001 - one line, secrets removed, never a traceback
        print(f"error: {args.command} failed: {type(err).__name__}: {redact(str(err), *secrets)}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())

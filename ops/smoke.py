"""`smoke`: the live stack, read through boto3, against what its stack config says.

Every check is one row: the database primary, replicas and DR replica (available, encrypted, the
configured count and Multi-AZ), the Redis replication group (available, TLS in transit, encrypted
at rest, node count, failover), the backup bucket (versioning, lifecycle for daily/ and weekly/,
SSE-KMS, public access block), every alarm (present, wired to an SNS topic, actions enabled as
configured), the CloudFront distribution (deployed), the ECS service (active, its tasks running)
and an HTTP GET of the app's health URL. A stack with no image yet (ecsImage and ecsImageTag
empty) runs 0 tasks by design: the service must have none, and the health URL is not requested.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request

from ops.common import Check, client


def _guard(name: str, fn) -> list[Check]:
    """Run one group of checks; an AWS error becomes a failed row, never a traceback."""
    try:
        return fn()
    except Exception as err:  # noqa: BLE001 - reported as a failed check
        return [Check(name, False, f"{type(err).__name__}: {err}"[:300])]


def _instance(rds, ident: str, role: str, multi_az: bool | None = None) -> Check:
    db = rds.describe_db_instances(DBInstanceIdentifier=ident)["DBInstances"][0]
    problems = []
    if db["DBInstanceStatus"] != "available":
        problems.append(f"status {db['DBInstanceStatus']}")
    if not db.get("StorageEncrypted"):
        problems.append("storage not encrypted")
    if multi_az is not None and bool(db.get("MultiAZ")) != multi_az:
        problems.append(f"MultiAZ {db.get('MultiAZ')}, config says {multi_az}")
    detail = f"{ident}: {db['DBInstanceStatus']}, {db['DBInstanceClass']}, encrypted {db.get('StorageEncrypted')}"
    return Check(f"rds {role}", not problems, detail + ("; " + "; ".join(problems) if problems else ""))


def database(outputs: dict, cfg) -> list[Check]:
    ids, region = outputs["databaseInstances"], outputs["awsRegion"]
    rds = client("rds", region)
    checks = [_instance(rds, ids["primary"], "primary", cfg.postgres.multi_az)]
    replicas = ids.get("replicas") or []
    checks.append(Check("rds replica count", len(replicas) == cfg.postgres.read_replicas,
                        f"{len(replicas)} in the outputs, {cfg.postgres.read_replicas} configured"))
    checks += [_instance(rds, r, f"replica {i}") for i, r in enumerate(replicas)]
    if cfg.postgres.dr_region:
        if not ids.get("dr"):
            checks.append(Check("rds dr replica", False, f"configured in {cfg.postgres.dr_region}, not in the outputs"))
        else:
            checks.append(_instance(client("rds", ids.get("drRegion") or cfg.postgres.dr_region), ids["dr"],
                                    "dr replica"))
    return checks


def cache(outputs: dict, cfg) -> list[Check]:
    ec = client("elasticache", outputs["awsRegion"])
    group_id = outputs["redisReplicationGroupId"]
    g = ec.describe_replication_groups(ReplicationGroupId=group_id)["ReplicationGroups"][0]
    s = cfg.redis
    nodes = s.shards * (1 + s.replicas_per_shard) if s.cluster_mode else s.nodes
    actual = len(g.get("MemberClusters", []))
    problems = [p for p, bad in (
        (f"status {g['Status']}", g["Status"] != "available"),
        ("TLS in transit off", not g.get("TransitEncryptionEnabled")),
        ("not encrypted at rest", not g.get("AtRestEncryptionEnabled")),
        (f"{actual} nodes, {nodes} configured", actual != nodes),
    ) if bad]
    return [Check("redis replication group", not problems,
                  f"{group_id}: {g['Status']}, {actual} node(s), TLS {g.get('TransitEncryptionEnabled')}"
                  + ("; " + "; ".join(problems) if problems else ""))]


def bucket(outputs: dict, cfg) -> list[Check]:
    s3 = client("s3", outputs["awsRegion"])
    name = outputs["backupBucketName"]
    checks = []
    versioning = s3.get_bucket_versioning(Bucket=name).get("Status")
    checks.append(Check("backup bucket versioning", versioning == "Enabled", f"{name}: {versioning or 'never enabled'}"))
    try:
        rules = s3.get_bucket_lifecycle_configuration(Bucket=name)["Rules"]
    except s3.exceptions.ClientError as err:
        rules = []
        if err.response["Error"]["Code"] != "NoSuchLifecycleConfiguration":
            raise
    prefixes = {(r.get("Filter") or {}).get("Prefix", r.get("Prefix", "")) for r in rules if r.get("Status") == "Enabled"}
    missing = [p for p in ("daily/", "weekly/") if p not in prefixes]
    checks.append(Check("backup bucket lifecycle", not missing,
                        f"{len(rules)} rule(s)" + (f"; no enabled rule for {', '.join(missing)}" if missing else
                                                   ", daily/ and weekly/ covered")))
    enc = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"][0]
    algo = enc["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"]
    checks.append(Check("backup bucket encryption", algo == "aws:kms", f"default {algo}"))
    block = s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
    off = [k for k, v in block.items() if not v]
    checks.append(Check("backup bucket public access block", not off,
                        "all four settings on" if not off else f"off: {', '.join(off)}"))
    return checks


def alarms(outputs: dict, cfg) -> list[Check]:
    by_region: dict[str, list[str]] = {}
    for a in outputs.get("alarms") or []:
        by_region.setdefault(a["region"], []).append(a["name"])
    checks = []
    enabled = cfg.observability.alarm_actions_enabled
    for region, names in by_region.items():
        cw = client("cloudwatch", region)
        found = {}
        for i in range(0, len(names), 100):
            for a in cw.describe_alarms(AlarmNames=names[i:i + 100])["MetricAlarms"]:
                found[a["AlarmName"]] = a
        missing = [n for n in names if n not in found]
        unwired = [n for n, a in found.items() if not any(x.startswith("arn:aws:sns:") for x in a.get("AlarmActions", []))]
        if region == outputs["awsRegion"]:
            unwired += [n for n, a in found.items() if outputs["alarmTopicArn"] not in a.get("AlarmActions", [])
                        and n not in unwired]
        wrong_state = [n for n, a in found.items() if bool(a.get("ActionsEnabled")) != enabled]
        problems = ([f"missing: {', '.join(missing[:5])}"] if missing else []) + \
                   ([f"not wired to a topic: {', '.join(unwired[:5])}"] if unwired else []) + \
                   ([f"actions enabled is not {enabled}: {', '.join(wrong_state[:5])}"] if wrong_state else [])
        checks.append(Check(f"alarms in {region}", not problems,
                            f"{len(found)}/{len(names)} present" + ("; " + "; ".join(problems) if problems else
                                                                    ", each wired to its SNS topic")))
    return checks


def cdn(outputs: dict, cfg) -> list[Check]:
    d = client("cloudfront", "us-east-1").get_distribution(Id=outputs["cdnDistributionId"])["Distribution"]
    ok = d["Status"] == "Deployed" and d["DistributionConfig"]["Enabled"]
    return [Check("cloudfront distribution", ok, f"{d['Id']}: {d['Status']}, enabled {d['DistributionConfig']['Enabled']}")]


def no_image(cfg) -> bool:
    return cfg.ecs is not None and not cfg.ecs.has_image


def service(outputs: dict, cfg, wait: float = 0) -> list[Check]:
    """The ECS service: ACTIVE, and as many tasks running as it wants (waiting up to `wait` seconds,
    since `pulumi up` returns before new tasks start)."""
    ecs = client("ecs", outputs["awsRegion"])
    cluster, name, e = outputs["ecsClusterName"], outputs["ecsServiceName"], cfg.ecs
    deadline = time.monotonic() + (wait if e.has_image else 0)  # with no image, nothing is on its way
    while True:
        found = ecs.describe_services(cluster=cluster, services=[name])
        if not found["services"]:
            reason = "; ".join(f["reason"] for f in found.get("failures", [])) or "not found"
            return [Check("ecs service", False, f"{name} in {cluster}: {reason}")]
        svc = found["services"][0]
        status, desired, running = svc["status"], svc["desiredCount"], svc["runningCount"]
        if running == desired or time.monotonic() >= deadline:
            break
        time.sleep(min(15, max(deadline - time.monotonic(), 0)))
    problems = [f"status {status}"] if status != "ACTIVE" else []
    if not e.has_image:
        problems += [f"{desired} desired, {running} running: no image is configured"] if desired or running else []
        detail = f"{name}: {status}, 0 tasks: no image deployed yet (set ecsImageTag)"
    else:
        if not e.min_count <= desired <= e.max_count:
            problems.append(f"desired {desired} is outside ecsMinCount-ecsMaxCount ({e.min_count}-{e.max_count})")
        if running != desired:
            problems.append(f"not all running after {wait:g} s")
        detail = f"{name}: {status}, {running}/{desired} tasks running"
    return [Check("ecs service", not problems, detail + ("; " + "; ".join(problems) if problems else ""))]


def health(outputs: dict, cfg, timeout: float = 10) -> list[Check]:
    url = outputs["appUrl"].rstrip("/") + cfg.app.health_check_path
    if no_image(cfg):  # its own outcome, not a failure: the first `up` runs no task (docs/deploy.md)
        return [Check("app health", True, f"no image deployed yet (ecsImage and ecsImageTag empty): "
                                          f"GET {url} not requested")]
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers={"User-Agent": "ops-smoke"}),
                                    timeout=timeout) as response:
            status = response.status
    except urllib.error.HTTPError as err:
        status = err.code
    except (urllib.error.URLError, OSError) as err:
        return [Check("app health", False, f"GET {url}: {getattr(err, 'reason', err)}")]
    return [Check("app health", status == 200, f"GET {url}: HTTP {status}")]


def smoke(outputs: dict, cfg, wait: float = 0) -> list[Check]:
    checks: list[Check] = []
    if cfg.postgres:
        checks += _guard("rds", lambda: database(outputs, cfg))
    if cfg.redis:
        checks += _guard("redis", lambda: cache(outputs, cfg))
    if cfg.backups:
        checks += _guard("backup bucket", lambda: bucket(outputs, cfg))
    checks += _guard("alarms", lambda: alarms(outputs, cfg))
    if outputs.get("cdnDistributionId"):
        checks += _guard("cloudfront", lambda: cdn(outputs, cfg))
    if cfg.ecs is not None and outputs.get("ecsServiceName"):
        checks += _guard("ecs service", lambda: service(outputs, cfg, wait))
    if outputs.get("appUrl"):
        checks += _guard("app health", lambda: health(outputs, cfg))
    return checks

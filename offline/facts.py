"""What the plan's tree shows beside each resource: the setting a reviewer checks first, one
formatter per resource type (`FACTS`), read from the update-mode inputs."""

from __future__ import annotations

from collections.abc import Callable


def _fmt_lifecycle(r) -> str:
    parts = []
    for rule in r.input("rules") or []:
        prefix = (rule.get("filter") or {}).get("prefix") or "*"
        steps = [f"{t.get('storageClass')}@{t.get('days')}d" for t in rule.get("transitions") or []]
        if (rule.get("expiration") or {}).get("days"):
            steps.append(f"expire@{rule['expiration']['days']}d")
        if rule.get("noncurrentVersionExpiration"):
            steps.append(f"noncurrent@{rule['noncurrentVersionExpiration'].get('noncurrentDays')}d")
        if rule.get("abortIncompleteMultipartUpload"):
            steps.append(f"abort-mpu@{rule['abortIncompleteMultipartUpload'].get('daysAfterInitiation')}d")
        parts.append(f"{prefix} " + " ".join(steps))
    return "; ".join(parts)


def _fmt_instance(r) -> str:
    if r.input("replicateSourceDb"):
        where = r.input("region") or r.input("availabilityZone") or ""
        return f"replica {r.input('instanceClass')} in {where}"
    az = "multi-AZ" if r.input("multiAz") else f"single-AZ {r.input('availabilityZone')}"
    return (f"postgres {r.input('engineVersion')} {r.input('instanceClass')} {az}, "
            f"{r.input('allocatedStorage')}-{r.input('maxAllocatedStorage')} GiB gp3, "
            f"backups {r.input('backupRetentionPeriod')}d, KMS, deletion protection "
            f"{'on' if r.input('deletionProtection') else 'off'}")


def _fmt_cache(r) -> str:
    if r.input("clusterMode") == "enabled":
        shape = f"{r.input('numNodeGroups')} shards x {1 + int(r.input('replicasPerNodeGroup') or 0)} nodes"
    else:
        shape = f"{r.input('numCacheClusters')} node(s)"
    return (f"{r.input('engine')} {r.input('engineVersion')} {r.input('nodeType')} {shape}, "
            f"multi-AZ {'on' if r.input('multiAzEnabled') else 'off'}, TLS+AUTH, KMS, "
            f"snapshots {r.input('snapshotRetentionLimit')}d")


def _fmt_schedule(r) -> str:
    state = r.input("state") or "ENABLED"
    pending = str(r.input("description") or "")
    why = f" ({pending.split(': ', 1)[1].split(';')[0]})" if pending.startswith("PENDING:") else ""
    return f"{r.input('scheduleExpression')} {r.input('scheduleExpressionTimezone') or 'UTC'}, {state}{why}"


def _fmt_command(r) -> str:
    import json

    text = r.input("containerDefinitions")
    containers = json.loads(text) if isinstance(text, str) else []
    commands = [" ".join(c["command"]) for c in containers if c.get("command")]
    return f"command: {'; '.join(commands)}" if commands else ""


FACTS: dict[str, Callable] = {
    "aws:scheduler/schedule:Schedule": _fmt_schedule,
    "aws:ecs/taskDefinition:TaskDefinition": _fmt_command,
    # The tier's component carries `skipped` only where the stack cannot have it (an external database).
    "platform:ops:BackupJobs": lambda r: r.input("skipped") or "",
    "aws:ec2/vpc:Vpc": lambda r: f"{r.input('cidrBlock')} {r.input('region') or ''}".strip(),
    "aws:ec2/subnet:Subnet": lambda r: f"{r.input('cidrBlock')} {r.input('availabilityZone')}",
    "aws:rds/instance:Instance": _fmt_instance,
    "aws:elasticache/replicationGroup:ReplicationGroup": _fmt_cache,
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": _fmt_lifecycle,
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": lambda r: r.input("description"),
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": lambda r: r.input("description"),
    "aws:rds/proxy:Proxy": lambda r: f"TLS required: {r.input('requireTls')}",
    "aws:cloudwatch/metricAlarm:MetricAlarm": lambda r: (
        f"{r.input('alarmDescription')} ({r.input('region') or 'stack region'}"
        f"{', silent' if r.input('actionsEnabled') is False else ''})"),
    "aws:cloudfront/distribution:Distribution": lambda r: (
        f"{', '.join(r.input('aliases') or [])}; {r.input('viewerCertificate')['minimumProtocolVersion']}, "
        f"{r.input('httpVersion')}, {'WAF attached' if r.input('webAclId') else 'no WAF'}"),
    "aws:wafv2/webAcl:WebAcl": lambda r: "; ".join(
        f"{x['name']} {x['statement']['rateBasedStatement']['limit']}/"
        f"{x['statement']['rateBasedStatement']['evaluationWindowSec']}s {next(iter(x['action']))}"
        for x in r.input("rules") if "rateBasedStatement" in x["statement"]),
    # A desired count of 0 only comes from a stack with no image yet (ecsMinCount is at least 1).
    "aws:ecs/service:Service": lambda r: (
        f"{r.input('desiredCount')} Fargate task(s), circuit breaker with rollback" if r.input("desiredCount")
        else "0 tasks: no image deployed yet (set ecsImageTag)"),
    "aws:lb/loadBalancer:LoadBalancer": lambda r: (
        f"deletion protection {'on' if r.input('enableDeletionProtection') else 'off'}, access logs on"),
    "aws:budgets/budget:Budget": lambda r: f"{r.input('limitAmount')} USD/month, alerts at 80/100/150 %",
    "vercel:index/project:Project": lambda r: (
        f"{r.input('framework')} on node {r.input('nodeVersion')}, regions "
        f"{', '.join((r.input('resourceConfig') or {}).get('functionDefaultRegions', []))}"),
    "vercel:index/projectEnvironmentVariable:ProjectEnvironmentVariable": lambda r: (
        f"{r.input('key')} → {', '.join(r.input('targets'))}{' (sensitive)' if r.input('sensitive') else ''}"),
    "cloudflare:index/dnsRecord:DnsRecord": lambda r: (
        f"{r.input('name')} {r.input('type')} {r.input('content')} ttl {r.input('ttl')}"
        f"{' proxied' if r.input('proxied') else ''}"),
    "cloudflare:index/zoneSetting:ZoneSetting": lambda r: f"{r.input('settingId')} = {r.input('value')}",
}


def fact_of(r) -> str:
    """The setting a reviewer checks first, or "" (also when it is still unknown, in preview)."""
    from offline.evaluate import UNKNOWN

    text = FACTS.get(r.type, lambda _r: "")(r)
    return "" if not text or UNKNOWN in str(text) else str(text)

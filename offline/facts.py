"""What the plan's tree shows beside each resource: the setting a reviewer checks first, one
formatter per resource type (`FACTS`), read from the update-mode inputs."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit


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


def _fmt_headers(r) -> str:
    """A CloudFront response headers policy: each security header as the browser receives it."""
    h = r.input("securityHeadersConfig") or {}
    parts = []
    if hsts := h.get("strictTransportSecurity"):
        parts.append(f"HSTS max-age={int(hsts['accessControlMaxAgeSec'])}"
                     f"{'; includeSubDomains' if hsts.get('includeSubdomains') else ''}"
                     f"{'; preload' if hsts.get('preload') else ''}")
    if frame := h.get("frameOptions"):
        parts.append(f"X-Frame-Options {frame['frameOption']}")
    if h.get("contentTypeOptions"):
        parts.append("X-Content-Type-Options nosniff")
    if referrer := h.get("referrerPolicy"):
        parts.append(f"Referrer-Policy {referrer['referrerPolicy']}")
    if xss := h.get("xssProtection"):
        parts.append(f"X-XSS-Protection {'1' if xss.get('protection') else '0'}{'; mode=block' if xss.get('modeBlock') else ''}")
    if csp := h.get("contentSecurityPolicy"):
        parts.append(f"CSP: {csp['contentSecurityPolicy']}")
    return " | ".join(parts) or "no security headers"


def _fmt_ruleset(r) -> str:
    """Cloudflare rate limiting rules: requests per period per client, the action, and what they match."""
    out = []
    for rule in r.input("rules") or []:
        limit = rule.get("ratelimit") or {}
        out.append(f"{rule.get('ref')}: {int(limit.get('requestsPerPeriod', 0))}/{int(limit.get('period', 0))}s "
                   f"{rule.get('action')}{'' if rule.get('enabled', True) else ' (disabled)'} "
                   f"when {rule.get('expression')}")
    return "; ".join(out)


def mask_email(address: str) -> str:
    """o***l@example.com: enough to recognise who is paged, not enough to harvest the address."""
    local, _, domain = address.partition("@")
    shown = local[0] + "***" + local[-1] if len(local) > 2 else local[:1] + "***"
    return f"{shown}@{domain}"


def _fmt_subscription(r) -> str:
    """Who an alarm topic pages: e-mail masked, an HTTPS endpoint by its host only (its path and
    query may hold a token)."""
    protocol, endpoint = r.input("protocol"), str(r.input("endpoint") or "")
    if protocol in ("email", "email-json"):
        shown = mask_email(endpoint)
    elif protocol in ("http", "https"):
        shown = f"{protocol}://{urlsplit(endpoint).hostname}/…"
    else:
        shown = f"{protocol} endpoint"
    return f"{protocol} → {shown} ({r.input('region') or 'stack region'})"


def _fmt_route53(r) -> str:
    """A name the stack creates in Route 53 and where it points."""
    name, kind = r.input("name"), r.input("type")
    if aliases := r.input("aliases"):
        return f"{name} {kind} alias → {aliases[0]['name']}"
    return f"{name} {kind} {', '.join(r.input('records') or [])} ttl {r.input('ttl')}"


def _fmt_certificate(r) -> str:
    names = [r.input("domainName"), *(r.input("subjectAlternativeNames") or [])]
    return f"{', '.join(names)} ({r.input('validationMethod')}-validated, {r.input('region') or 'stack region'})"


def _fmt_distribution(r) -> str:
    aliases = r.input("aliases") or []
    www = [a for a in aliases if a.startswith("www.")]
    return (f"{', '.join(aliases)}{' (www served as is, not redirected)' if www else ''}; "
            f"{r.input('viewerCertificate')['minimumProtocolVersion']}, {r.input('httpVersion')}, "
            f"{'WAF attached' if r.input('webAclId') else 'no WAF'}")


def _fmt_listener(r) -> str:
    actions = r.input("defaultActions") or []
    first = actions[0] if actions else {}
    if first.get("type") == "redirect":
        to = first["redirect"]
        return f"port {int(r.input('port'))} → {to.get('statusCode')} redirect to {to.get('protocol')}:{to.get('port')}"
    return (f"port {int(r.input('port'))} {r.input('protocol')} {r.input('sslPolicy') or ''}, "
            f"default {first.get('type')}").replace("  ", " ")


def _fmt_project_domain(r) -> str:
    if r.input("redirect"):
        return f"{r.input('domain')} → {int(r.input('redirectStatusCode'))} redirect to {r.input('redirect')}"
    return f"{r.input('domain')} (serves the project)"


def _fmt_slack(r) -> str:
    return (f"AWS Chatbot '{r.input('configurationName')}' → Slack team {r.input('slackTeamId')} channel "
            f"{r.input('slackChannelId')}, {len(r.input('snsTopicArns') or [])} topic(s)")


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
    "aws:cloudfront/distribution:Distribution": _fmt_distribution,
    "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy": _fmt_headers,
    "aws:acm/certificate:Certificate": _fmt_certificate,
    "aws:route53/record:Record": _fmt_route53,
    "aws:sns/topicSubscription:TopicSubscription": _fmt_subscription,
    "aws:chatbot/slackChannelConfiguration:SlackChannelConfiguration": _fmt_slack,
    "aws:lb/listener:Listener": _fmt_listener,
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
    "cloudflare:index/ruleset:Ruleset": _fmt_ruleset,
    "vercel:index/projectDomain:ProjectDomain": _fmt_project_domain,
}


def fact_of(r) -> str:
    """The setting a reviewer checks first, or "" (also when it is still unknown, in preview)."""
    from offline.evaluate import UNKNOWN

    text = FACTS.get(r.type, lambda _r: "")(r)
    return "" if not text or UNKNOWN in str(text) else str(text)

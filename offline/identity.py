"""Physical identities: two resources of a graph that would claim one cloud object.

Under mocks every registration succeeds; in an account the second CreateBucket, CreateRole or
ChangeResourceRecordSets of the same name fails ("already exists", terraform-provider-aws#13653
for ACM validation records). Each rule below says which inputs name the object and in what scope
the name must be unique (the service's documented scope); `collisions` finds every pair.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from offline.evaluate import Graph, Resource, contains_unknown
from offline.mocks import ACCOUNT, DEFAULT_REGION


@dataclass(frozen=True)
class Collision:
    identity: str
    first: Resource
    second: Resource

    def __str__(self) -> str:
        return f"{self.identity}: claimed by both {self.first.name} ({self.first.type}) and {self.second.name} ({self.second.type})"


def _fqdn(name: str) -> str:
    return name.lower().rstrip(".")


def _get(r: Resource, prop: str):
    """The physical value: the provider's state after create (auto-names live only there), else the input."""
    value = r.outputs.get(prop)
    return r.input(prop) if value is None else value


def _route53(r: Resource, _: str) -> list[str]:
    # One record set per (zone, name, type, set identifier): ChangeResourceRecordSets CREATE fails
    # on an existing one, and a CNAME may not share its name with any other type (RFC 1034 3.6.2).
    zone, name, typ = _get(r, "zoneId"), _fqdn(str(_get(r, "name"))), _get(r, "type")
    ids = [f"Route 53 record {name} {typ} in zone {zone}" + (f" (set {_get(r, 'setIdentifier')})"
                                                             if _get(r, "setIdentifier") else "")]
    ids.append(f"Route 53 name {name} in zone {zone} " + ("(CNAME)" if typ == "CNAME" else "(non-CNAME)"))
    return ids


def _cloudflare(r: Resource, _: str) -> list[str]:
    # Cloudflare refuses an identical record and any record beside a CNAME of the same name.
    zone, name, typ = _get(r, "zoneId"), _fqdn(str(_get(r, "name"))), _get(r, "type")
    same = f"{name} {typ}" + ("" if typ == "CNAME" else f" {_get(r, 'content')}")
    return [f"Cloudflare record {same} in zone {zone}",
            f"Cloudflare name {name} in zone {zone} " + ("(CNAME)" if typ == "CNAME" else "(non-CNAME)")]


def _named(kind: str, prop: str, scope: str) -> Callable[[Resource, str], list[str]]:
    """scope: 'global' (every account), 'account', or 'region' (account and region)."""
    def identity(r: Resource, region: str) -> list[str]:
        where = {"global": "", "account": f" in account {ACCOUNT}",
                 "region": f" in {ACCOUNT}/{region}"}[scope]
        name = _get(r, prop)
        return [f"{kind} {name}{where}"] if name is not None else []
    return identity


RULES: dict[str, Callable[[Resource, str], list[str]]] = {
    "aws:route53/record:Record": _route53,
    "cloudflare:index/dnsRecord:DnsRecord": _cloudflare,
    "aws:s3/bucket:Bucket": _named("S3 bucket", "bucket", "global"),
    "aws:iam/role:Role": _named("IAM role", "name", "account"),
    "aws:iam/policy:Policy": _named("IAM policy", "name", "account"),
    "aws:cloudwatch/dashboard:Dashboard": _named("CloudWatch dashboard", "dashboardName", "account"),
    "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy": _named("CloudFront headers policy", "name", "account"),
    "aws:cloudfront/originAccessControl:OriginAccessControl": _named("CloudFront OAC", "name", "account"),
    "aws:budgets/budget:Budget": _named("budget", "name", "account"),
    "aws:cloudwatch/logGroup:LogGroup": _named("log group", "name", "region"),
    "aws:cloudwatch/metricAlarm:MetricAlarm": _named("alarm", "name", "region"),
    "aws:kms/alias:Alias": _named("KMS alias", "name", "region"),
    "aws:sns/topic:Topic": _named("SNS topic", "name", "region"),
    "aws:secretsmanager/secret:Secret": _named("secret", "name", "region"),
    "aws:rds/instance:Instance": _named("DB instance", "identifier", "region"),
    "aws:rds/subnetGroup:SubnetGroup": _named("DB subnet group", "name", "region"),
    "aws:rds/parameterGroup:ParameterGroup": _named("DB parameter group", "name", "region"),
    "aws:rds/proxy:Proxy": _named("DB proxy", "name", "region"),
    "aws:elasticache/replicationGroup:ReplicationGroup": _named("replication group", "replicationGroupId", "region"),
    "aws:elasticache/subnetGroup:SubnetGroup": _named("cache subnet group", "name", "region"),
    "aws:elasticache/parameterGroup:ParameterGroup": _named("cache parameter group", "name", "region"),
    "aws:ecr/repository:Repository": _named("ECR repository", "name", "region"),
    "aws:ecs/cluster:Cluster": _named("ECS cluster", "name", "region"),
    "aws:lb/loadBalancer:LoadBalancer": _named("load balancer", "name", "region"),
    "aws:lb/targetGroup:TargetGroup": _named("target group", "name", "region"),
    "aws:wafv2/webAcl:WebAcl": _named("WAF web ACL", "name", "region"),
    "aws:cloudwatch/logDeliverySource:LogDeliverySource": _named("log delivery source", "name", "region"),
    "aws:cloudwatch/logDeliveryDestination:LogDeliveryDestination": _named("log delivery destination", "name", "region"),
    "aws:chatbot/slackChannelConfiguration:SlackChannelConfiguration": _named(
        "Chatbot configuration", "configurationName", "account"),
    "vercel:index/project:Project": _named("Vercel project", "name", "account"),
}


def _region(r: Resource, provider_regions: dict[str, str]) -> str:
    return r.input("region") or provider_regions.get(r.provider.rsplit("::", 1)[0], DEFAULT_REGION)


def collisions(graph: Graph) -> list[Collision]:
    """Every pair of resources that claim one identity (resources with unknown names are skipped)."""
    provider_regions = {p.urn: p.input("region") or DEFAULT_REGION
                        for p in graph.resources if p.type == "pulumi:providers:aws"}
    owners: dict[str, Resource] = {}
    found: list[Collision] = []
    cname_names: dict[str, list[tuple[str, Resource]]] = {}
    for r in graph.resources:
        rule = RULES.get(r.type)
        if rule is None or contains_unknown(r.inputs):
            continue  # preview: a name the provider has not chosen yet cannot collide yet
        ids = rule(r, _region(r, provider_regions))
        if not ids:
            continue
        exact, *rest = ids
        if exact in owners:
            found.append(Collision(exact, owners[exact], r))
        else:
            owners[exact] = r
        for shared in rest:  # "<name> (CNAME)" vs "<name> (non-CNAME)" in one zone
            base = shared.rsplit(" (", 1)[0]
            cname_names.setdefault(base, []).append((shared, r))
    for base, claims in cname_names.items():
        cnames = [r for kind, r in claims if kind.endswith("(CNAME)")]
        others = [r for kind, r in claims if not kind.endswith("(CNAME)")]
        if cnames and others:
            found.append(Collision(f"{base}: a CNAME and another record", cnames[0], others[0]))
    return found

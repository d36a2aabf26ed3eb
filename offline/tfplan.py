"""An offline graph as the Terraform plan JSON that Checkov's `terraform_plan` framework reads.

pulumi-aws, pulumi-cloudflare, pulumiverse-vercel and pulumi-random are bridged from Terraform
providers: every custom resource is a Terraform resource under another name, and its inputs are the
Terraform arguments renamed by the bridge. This module undoes the renaming so that an independent
scanner (Checkov) judges the program as it would judge the equivalent Terraform:

- Type tokens -> Terraform types: TF_TYPES, copied from pulumi-aws's own table of what it bridged
  (provider/cmd/pulumi-resource-aws/bridge-metadata.json, "renames" -> "resources"). A custom
  resource whose type is missing raises UnmappedType: a silently skipped resource would be a
  resource no check sees.
- Property names: the bridge camel-cases snake_case names (pulumi-terraform-bridge
  tfbridge.TerraformToPulumiNameV2) and pluralizes a block that may repeat (Terraform `origin`
  becomes `origins`); the same metadata file lists every rename ("renamedProperties"). Here the
  name goes back to snake_case, a list of blocks goes back to the singular (PLURAL_BLOCKS says
  where the Terraform name itself is plural), and RENAMED lists the few fields with another name.
  The provider SDK's own type annotations (pulumi._types.resource_types) say which value is a
  block, a list of blocks or a map, so map keys (tags, environment names) stay as written.
- Values: Terraform writes a block as a list of objects and a map as an object. Checkov wraps
  both the same way (checkov/terraform/plan_parser.py, _hclify: a dict value becomes [dict]).
- References: a first `terraform plan` cannot know an attribute that another new resource computes
  (an id, an ARN): planned_values leave it out and configuration.root_module holds its expression,
  {"references": ["aws_kms_key.data.arn", "aws_kms_key.data"]}. Checkov puts the first reference in
  the missing value (plan_parser.py, _add_references) and its graph builder draws an edge for every
  value that reads `<type>.<name>.<attribute>` (terraform/graph_builder/local_graph.py,
  _build_edges_for_vertex): that is how CKV2_* checks find a bucket's public access block or a
  security group's attachments. The offline graph knows which inputs came from which resources
  (property_dependencies) and the mocks' outputs say which output a value is, so a value that is
  another resource's output becomes that reference, top-level or nested, and a top-level one is
  also left out of planned_values as Terraform would.

Read against Checkov 3.3.30 (requirements-checkov.txt): checkov/terraform/plan_parser.py
(parse_tf_plan reads planned_values.root_module.resources[] with address, mode, type, name, values;
configuration.root_module.resources[] by type and name; resource_changes[] by address).

`python -m offline.tfplan STACK|STACK_FILE [-o FILE]` writes the plan of a stack (update mode);
scripts/checkov runs Checkov on it and judges the result against policies/checkov-waivers.yaml.
"""

from __future__ import annotations

import argparse
import fnmatch
import functools
import importlib
import json
import keyword
import re
import sys
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from offline.evaluate import UNKNOWN, Graph, Resource, plain

ROOT = Path(__file__).resolve().parent.parent
WAIVERS_FILE = ROOT / "policies" / "checkov-waivers.yaml"
FORMAT_VERSION = "1.2"
TERRAFORM_VERSION = "1.9.0"

# Pulumi type token -> Terraform resource type. pulumi-aws: bridge-metadata.json "renames" ->
# "resources" (e.g. "aws:rds/instance:Instance": "aws_db_instance", "aws:lb/loadBalancer:LoadBalancer":
# "aws_lb"); pulumi-aws 7 renamed the v6 BucketV2 family to Bucket, so "aws:s3/bucket:Bucket" is
# aws_s3_bucket again (registry: "Migrating from aws.s3.Bucket to aws.s3.BucketV2", v7 upgrade guide).
# The other providers follow the bridge's standard rule: provider prefix + snake_case of the name
# (cloudflare:index/dnsRecord:DnsRecord -> cloudflare_dns_record; pulumi-random adds "Random" to
# names that would clash: random:index/randomId:RandomId -> random_id).
TF_TYPES: dict[str, str] = {
    "aws:acm/certificate:Certificate": "aws_acm_certificate",
    "aws:acm/certificateValidation:CertificateValidation": "aws_acm_certificate_validation",
    "aws:appautoscaling/policy:Policy": "aws_appautoscaling_policy",
    "aws:appautoscaling/target:Target": "aws_appautoscaling_target",
    "aws:budgets/budget:Budget": "aws_budgets_budget",
    "aws:chatbot/slackChannelConfiguration:SlackChannelConfiguration": "aws_chatbot_slack_channel_configuration",
    "aws:cloudfront/distribution:Distribution": "aws_cloudfront_distribution",
    "aws:cloudfront/originAccessControl:OriginAccessControl": "aws_cloudfront_origin_access_control",
    "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy": "aws_cloudfront_response_headers_policy",
    "aws:cloudwatch/dashboard:Dashboard": "aws_cloudwatch_dashboard",
    "aws:cloudwatch/logDelivery:LogDelivery": "aws_cloudwatch_log_delivery",
    "aws:cloudwatch/logDeliveryDestination:LogDeliveryDestination": "aws_cloudwatch_log_delivery_destination",
    "aws:cloudwatch/logDeliverySource:LogDeliverySource": "aws_cloudwatch_log_delivery_source",
    "aws:cloudwatch/logGroup:LogGroup": "aws_cloudwatch_log_group",
    "aws:cloudwatch/metricAlarm:MetricAlarm": "aws_cloudwatch_metric_alarm",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": "aws_default_security_group",
    "aws:ec2/eip:Eip": "aws_eip",
    "aws:ec2/flowLog:FlowLog": "aws_flow_log",
    "aws:ec2/instance:Instance": "aws_instance",
    "aws:ec2/internetGateway:InternetGateway": "aws_internet_gateway",
    "aws:ec2/natGateway:NatGateway": "aws_nat_gateway",
    "aws:ec2/route:Route": "aws_route",
    "aws:ec2/routeTable:RouteTable": "aws_route_table",
    "aws:ec2/routeTableAssociation:RouteTableAssociation": "aws_route_table_association",
    "aws:ec2/securityGroup:SecurityGroup": "aws_security_group",
    "aws:ec2/securityGroupRule:SecurityGroupRule": "aws_security_group_rule",
    "aws:ec2/subnet:Subnet": "aws_subnet",
    "aws:ec2/vpc:Vpc": "aws_vpc",
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": "aws_ecr_lifecycle_policy",
    "aws:ecr/repository:Repository": "aws_ecr_repository",
    "aws:scheduler/schedule:Schedule": "aws_scheduler_schedule",
    "aws:scheduler/scheduleGroup:ScheduleGroup": "aws_scheduler_schedule_group",
    "aws:cloudwatch/eventRule:EventRule": "aws_cloudwatch_event_rule",
    "aws:cloudwatch/eventTarget:EventTarget": "aws_cloudwatch_event_target",
    "aws:ecs/cluster:Cluster": "aws_ecs_cluster",
    "aws:ecs/service:Service": "aws_ecs_service",
    "aws:ecs/taskDefinition:TaskDefinition": "aws_ecs_task_definition",
    "aws:elasticache/cluster:Cluster": "aws_elasticache_cluster",
    "aws:elasticache/parameterGroup:ParameterGroup": "aws_elasticache_parameter_group",
    "aws:elasticache/replicationGroup:ReplicationGroup": "aws_elasticache_replication_group",
    "aws:elasticache/subnetGroup:SubnetGroup": "aws_elasticache_subnet_group",
    "aws:iam/policy:Policy": "aws_iam_policy",
    "aws:iam/role:Role": "aws_iam_role",
    "aws:iam/rolePolicy:RolePolicy": "aws_iam_role_policy",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": "aws_iam_role_policy_attachment",
    "aws:kms/key:Key": "aws_kms_key",
    "aws:lambda/function:Function": "aws_lambda_function",
    "aws:lambda/permission:Permission": "aws_lambda_permission",
    "aws:lb/listener:Listener": "aws_lb_listener",
    "aws:lb/listenerRule:ListenerRule": "aws_lb_listener_rule",
    "aws:lb/loadBalancer:LoadBalancer": "aws_lb",
    "aws:lb/targetGroup:TargetGroup": "aws_lb_target_group",
    "aws:rds/cluster:Cluster": "aws_rds_cluster",
    "aws:rds/clusterInstance:ClusterInstance": "aws_rds_cluster_instance",
    "aws:rds/instance:Instance": "aws_db_instance",
    "aws:rds/parameterGroup:ParameterGroup": "aws_db_parameter_group",
    "aws:rds/proxy:Proxy": "aws_db_proxy",
    "aws:rds/proxyDefaultTargetGroup:ProxyDefaultTargetGroup": "aws_db_proxy_default_target_group",
    "aws:rds/proxyTarget:ProxyTarget": "aws_db_proxy_target",
    "aws:rds/subnetGroup:SubnetGroup": "aws_db_subnet_group",
    "aws:route53/healthCheck:HealthCheck": "aws_route53_health_check",
    "aws:route53/record:Record": "aws_route53_record",
    "aws:route53/zone:Zone": "aws_route53_zone",
    "aws:s3/bucket:Bucket": "aws_s3_bucket",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": "aws_s3_bucket_lifecycle_configuration",
    "aws:s3/bucketLogging:BucketLogging": "aws_s3_bucket_logging",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": "aws_s3_bucket_ownership_controls",
    "aws:s3/bucketPolicy:BucketPolicy": "aws_s3_bucket_policy",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": "aws_s3_bucket_public_access_block",
    "aws:s3/bucketReplicationConfig:BucketReplicationConfig": "aws_s3_bucket_replication_configuration",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration":
        "aws_s3_bucket_server_side_encryption_configuration",
    "aws:s3/bucketVersioning:BucketVersioning": "aws_s3_bucket_versioning",
    "aws:secretsmanager/secret:Secret": "aws_secretsmanager_secret",
    "aws:secretsmanager/secretRotation:SecretRotation": "aws_secretsmanager_secret_rotation",
    "aws:secretsmanager/secretVersion:SecretVersion": "aws_secretsmanager_secret_version",
    "aws:sns/topic:Topic": "aws_sns_topic",
    "aws:sns/topicPolicy:TopicPolicy": "aws_sns_topic_policy",
    "aws:sns/topicSubscription:TopicSubscription": "aws_sns_topic_subscription",
    "aws:ssm/association:Association": "aws_ssm_association",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "aws_vpc_security_group_egress_rule",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "aws_vpc_security_group_ingress_rule",
    "aws:wafv2/webAcl:WebAcl": "aws_wafv2_web_acl",
    "aws:wafv2/webAclAssociation:WebAclAssociation": "aws_wafv2_web_acl_association",
    "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration": "aws_wafv2_web_acl_logging_configuration",
    "cloudflare:index/dnsRecord:DnsRecord": "cloudflare_dns_record",
    "cloudflare:index/ruleset:Ruleset": "cloudflare_ruleset",
    "cloudflare:index/zoneSetting:ZoneSetting": "cloudflare_zone_setting",
    "random:index/randomId:RandomId": "random_id",
    "random:index/randomPassword:RandomPassword": "random_password",
    "vercel:index/network:Network": "vercel_network",
    "vercel:index/project:Project": "vercel_project",
    "vercel:index/projectDomain:ProjectDomain": "vercel_project_domain",
    "vercel:index/projectEnvironmentVariable:ProjectEnvironmentVariable": "vercel_project_environment_variable",
}

# Where a Pulumi package's resources live, and the provider address Terraform records for them.
PACKAGES = {
    "aws": ("pulumi_aws", "registry.terraform.io/hashicorp/aws"),
    "cloudflare": ("pulumi_cloudflare", "registry.terraform.io/cloudflare/cloudflare"),
    "random": ("pulumi_random", "registry.terraform.io/hashicorp/random"),
    "vercel": ("pulumiverse_vercel", "registry.terraform.io/vercel/vercel"),
}

# A list of blocks whose Terraform name is itself plural, so the bridge kept it (the bridge only
# pluralizes a singular name). Everything else that is a list of blocks is singular in Terraform:
# origins -> origin, rules -> rule, metricQueries -> metric_query (bridge-metadata.json
# "renamedProperties", e.g. "aws:acm/certificate:Certificate": {"validationOptions": "validation_option"}).
PLURAL_BLOCKS = frozenset({
    "egress",       # aws_security_group / aws_default_security_group: egress { ... }
    "ingress",      # ... ingress { ... }
    "items",        # aws_cloudfront_response_headers_policy custom_headers_config / security_headers: items { ... }
    "redacted_fields",  # aws_wafv2_web_acl_logging_configuration: redacted_fields { single_header { name } }
    "targets",      # aws_ssm_association: targets { key, values }
})

# Plurals the bridge formed with "es" (its inflector: alias -> aliases, aws_route53_record `alias`).
_IRREGULAR_PLURALS = {"aliases": "alias"}

# Providers whose repeated blocks the bridge pluralized. pulumi-cloudflare 6 and pulumiverse-vercel
# bridge plugin-framework providers whose list attributes are already named in the plural
# (cloudflare_ruleset `rules`): their names only change case.
SINGULAR_BLOCK_PACKAGES = frozenset({"aws"})

# Fields the bridge renamed beyond case and plural, by Terraform type (provider/resources.go:
# "aws_cloudwatch_metric_alarm": "alarm_name": tfbridge.AutoName("name", 255, "-");
# "aws_sns_topic_subscription": "topic_arn": {Name: "topic"}).
RENAMED: dict[str, dict[str, str]] = {
    "aws_cloudwatch_metric_alarm": {"name": "alarm_name"},
    "aws_sns_topic_subscription": {"topic": "topic_arn"},
}

class UnmappedType(KeyError):
    """A custom resource whose Terraform type this module does not know."""


def snake_case(name: str) -> str:
    """The Terraform name the bridge camel-cased: kmsKeyId -> kms_key_id, s3BucketName -> s3_bucket_name."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def singular(name: str) -> str:
    """The singular Terraform block name of a pluralized Pulumi name (metric_queries -> metric_query)."""
    for plural, one in _IRREGULAR_PLURALS.items():
        if name == plural or name.endswith("_" + plural):
            return name[: -len(plural)] + one
    if name.endswith("ies"):
        return name[:-3] + "y"
    if name.endswith("s") and not name.endswith("ss"):
        return name[:-1]
    return name


def tf_type(pulumi_type: str) -> str:
    try:
        return TF_TYPES[pulumi_type]
    except KeyError:
        raise UnmappedType(f"{pulumi_type}: no Terraform type known (add it to offline/tfplan.py TF_TYPES "
                           "from pulumi-aws bridge-metadata.json)") from None


def is_terraform_resource(resource: Resource) -> bool:
    """Custom resources of a bridged provider; not the stack, components or provider instances."""
    return resource.custom and not resource.type.startswith("pulumi:providers:")


# ---- the provider SDK's schema --------------------------------------------------------------------
@functools.cache
def resource_schema(pulumi_type: str) -> Mapping[str, Any]:
    """Pulumi property name -> its type, from the SDK class's annotations (outputs: what it returns)."""
    from pulumi import _types

    package, module_path, class_name = pulumi_type.split(":")
    module_name = PACKAGES[package][0]
    submodule = module_path.split("/")[0]
    if submodule != "index":
        module_name += "." + submodule + ("_" if keyword.iskeyword(submodule) else "")  # pulumi_aws.lambda_
    return _types.resource_types(getattr(importlib.import_module(module_name), class_name))


@functools.cache
def _object_schema(cls: type) -> Mapping[str, Any]:
    from pulumi import _types

    return _types.output_type_types(cls)


def _kind(typ: Any) -> tuple[str, Any]:
    """('map', value type) | ('list', item type) | ('object', its schema) | ('scalar', None)."""
    from pulumi import _types

    origin = typing.get_origin(typ)
    if origin is not None and issubclass(origin, Mapping):
        args = typing.get_args(typ)
        return "map", args[1] if len(args) == 2 else None
    if origin is not None and issubclass(origin, Sequence) and origin is not str:
        args = typing.get_args(typ)
        return "list", args[0] if args else None
    if isinstance(typ, type) and _types.is_output_type(typ):
        return "object", _object_schema(typ)
    return "scalar", None


def _field_name(name: str, typ: Any, renamed: Mapping[str, str], singular_blocks: bool = True) -> str:
    if name in renamed:
        return renamed[name]
    snake = snake_case(name)
    kind, item = _kind(typ)
    if singular_blocks and kind == "list" and _kind(item)[0] == "object" and snake not in PLURAL_BLOCKS:
        return singular(snake)
    return snake


def convert_value(value: Any, typ: Any, singular_blocks: bool = True) -> Any:
    """A Pulumi input value (secrets unwrapped) as the Terraform plan writes it."""
    if value is None or value == UNKNOWN:
        return None
    kind, inner = _kind(typ)
    if kind == "map" and isinstance(value, dict):
        return {k: convert_value(v, inner, singular_blocks) for k, v in value.items()}
    if kind == "list" and isinstance(value, list):
        item_kind, schema = _kind(inner)
        if item_kind == "object":  # a repeated block: one object per item
            return [convert_object(v, schema, singular_blocks=singular_blocks) if isinstance(v, dict) else v
                    for v in value]
        return [convert_value(v, inner, singular_blocks) for v in value]
    if kind == "object" and isinstance(value, dict):
        return [convert_object(value, inner, singular_blocks=singular_blocks)]  # a block: a list of one object
    return value


def convert_object(value: Mapping[str, Any], schema: Mapping[str, Any], renamed: Mapping[str, str] | None = None,
                   singular_blocks: bool = True) -> dict[str, Any]:
    """An object's fields under their Terraform names; unknown values left out, as Terraform leaves them."""
    out: dict[str, Any] = {}
    for name, item in value.items():
        typ = schema.get(name)
        converted = convert_value(item, typ, singular_blocks)
        if converted is not None:
            out[_field_name(name, typ, renamed or {}, singular_blocks)] = converted
    return out


# ---- the plan -------------------------------------------------------------------------------------
@dataclass
class TfResource:
    address: str
    type: str
    name: str
    provider_name: str
    values: dict[str, Any]
    references: dict[str, list[str]] = field(default_factory=dict)

    def planned(self) -> dict[str, Any]:
        return {"address": self.address, "mode": "managed", "type": self.type, "name": self.name,
                "provider_name": self.provider_name, "schema_version": 0, "values": self.values,
                "sensitive_values": {}}

    def configured(self) -> dict[str, Any]:
        return {"address": self.address, "mode": "managed", "type": self.type, "name": self.name,
                "provider_config_key": self.provider_name.rsplit("/", 1)[1],
                "expressions": {key: {"references": refs} for key, refs in self.references.items()}}

    def change(self) -> dict[str, Any]:
        return {"address": self.address, "mode": "managed", "type": self.type, "name": self.name,
                "provider_name": self.provider_name,
                "change": {"actions": ["create"], "before": None, "after": self.values,
                           "after_unknown": {key: True for key in self.references if key not in self.values}}}


def _addresses(resources: list[Resource]) -> dict[str, tuple[str, str]]:
    """URN -> (Terraform type, name): the Pulumi name made an identifier, unique within its type."""
    taken: set[str] = set()
    out: dict[str, tuple[str, str]] = {}
    for r in resources:
        typ = tf_type(r.type)
        base = re.sub(r"[^A-Za-z0-9_-]", "_", r.name)
        if not re.match(r"[A-Za-z_]", base):
            base = "_" + base
        name, n = base, 1
        while f"{typ}.{name}" in taken:
            n += 1
            name = f"{base}_{n}"
        taken.add(f"{typ}.{name}")
        out[r.urn] = (typ, name)
    return out


def _output_index(resource: Resource, address: str) -> dict[str, list[str]]:
    """A resource's string outputs (mock state) -> the attributes that hold that value."""
    index: dict[str, list[str]] = {}
    for key, value in sorted(resource.outputs.items()):
        value = plain(value)
        if isinstance(value, str) and value and value != UNKNOWN:
            index.setdefault(value, []).append(f"{address}.{snake_case(key)}")
    return index


def _reference(key: str, candidates: list[str]) -> str:
    """The attribute a Terraform author would read for `key`: its ARN for an *_arn argument, else its id
    (a load balancer's or a secret's id is its ARN, a bucket's id is its name: the values coincide)."""
    by_attribute = {c.rsplit(".", 1)[1]: c for c in candidates}
    for attribute in (("arn", "id") if key.endswith("arn") else ("id", "arn")):
        if attribute in by_attribute:
            return by_attribute[attribute]
    return candidates[0]


def _substitute(value: Any, key: str, index: Mapping[str, list[str]], found: list[str]) -> Any:
    """`value` with every string that is a dependency's output replaced by the expression reading it."""
    if isinstance(value, str) and value in index:
        found.append(_reference(key, index[value]))
        return found[-1]
    if isinstance(value, list):
        return [_substitute(v, key, index, found) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, k, index, found) for k, v in value.items()}
    return value


def _tf_resource(r: Resource, addresses: Mapping[str, tuple[str, str]],
                 indexes: Mapping[str, dict[str, list[str]]]) -> TfResource:
    typ, name = addresses[r.urn]
    schema = resource_schema(r.type)
    renamed = RENAMED.get(typ, {})
    singular_blocks = r.type.split(":")[0] in SINGULAR_BLOCK_PACKAGES
    values = convert_object(plain(r.inputs), schema, renamed, singular_blocks)
    references: dict[str, list[str]] = {}
    for key, urns in r.property_dependencies.items():
        tf_key = _field_name(key, schema.get(key), renamed, singular_blocks)
        index: dict[str, list[str]] = {}
        for urn in urns:
            for value, candidates in indexes.get(urn, {}).items():
                index.setdefault(value, []).extend(candidates)
        found: list[str] = []
        if tf_key in values:
            values[tf_key] = _substitute(values[tf_key], tf_key, index, found)
            if isinstance(values[tf_key], str) and values[tf_key] in found:
                del values[tf_key]  # wholly another resource's output: unknown until it exists
        targets = [".".join(addresses[u]) for u in urns if u in addresses]
        if found or targets:
            references[tf_key] = list(dict.fromkeys(found + targets))
    provider = PACKAGES[r.type.split(":")[0]][1]
    return TfResource(f"{typ}.{name}", typ, name, provider, values, references)


def tf_resources(graph: Graph) -> list[TfResource]:
    resources = [r for r in graph.resources if is_terraform_resource(r)]
    addresses = _addresses(resources)
    indexes = {r.urn: _output_index(r, ".".join(addresses[r.urn])) for r in resources}
    return [_tf_resource(r, addresses, indexes) for r in resources]


def plan(graph: Graph) -> dict[str, Any]:
    """The plan JSON (format 1.2) of creating every resource of `graph`."""
    resources = tf_resources(graph)
    return {
        "format_version": FORMAT_VERSION,
        "terraform_version": TERRAFORM_VERSION,
        "planned_values": {"root_module": {"resources": [r.planned() for r in resources]}},
        "resource_changes": [r.change() for r in resources],
        "configuration": {
            "provider_config": {key: {"name": key, "full_name": address} for key, (_, address) in PACKAGES.items()},
            "root_module": {"resources": [r.configured() for r in resources]},
        },
    }


# ---- Checkov's report against the waivers ---------------------------------------------------------
@dataclass(frozen=True)
class Failure:
    check_id: str
    check_name: str
    stack: str     # the plan file's name: a stack or a seed example
    resource: str  # Terraform address

    def __str__(self) -> str:
        return f"{self.check_id} {self.stack}:{self.resource}: {self.check_name}"


@dataclass(frozen=True)
class Entry:
    """A waiver (a check that does not apply, and why) or a known gap (a finding, and its fix)."""

    kind: str                   # "waiver" | "gap"
    check_id: str
    resources: tuple[str, ...]  # patterns over `address` or `stack:address` (fnmatch)
    text: str                   # why it does not apply / what fixes it

    def covers(self, failure: Failure) -> bool:
        return failure.check_id == self.check_id and any(
            fnmatch.fnmatchcase(f"{failure.stack}:{failure.resource}" if ":" in pattern else failure.resource, pattern)
            for pattern in self.resources)


def _entries(data: Any, kind: str, text_key: str, source: str) -> list[Entry]:
    if not isinstance(data, dict):
        raise ValueError(f"{source}: `{kind}s` must map check ids to entries")
    out = []
    for check_id, entry in data.items():
        entry = entry if isinstance(entry, dict) else {}
        resources, text = entry.get("resources"), entry.get(text_key)
        if not (isinstance(resources, list) and resources and all(isinstance(p, str) for p in resources)):
            raise ValueError(f"{source}: {kind} {check_id}: `resources` must be a non-empty list of address patterns")
        if not (isinstance(text, str) and text.strip()):
            raise ValueError(f"{source}: {kind} {check_id}: `{text_key}` must be written out")
        out.append(Entry(kind, str(check_id), tuple(resources), " ".join(text.split())))
    return out


def load_waivers(path: Path = WAIVERS_FILE) -> list[Entry]:
    """policies/checkov-waivers.yaml: `waivers` (check id -> resources, why) then `gaps` (-> resources, fix)."""
    data = yaml.safe_load(path.read_text()) or {}
    return (_entries(data.get("waivers") or {}, "waiver", "why", path.name)
            + _entries(data.get("gaps") or {}, "gap", "fix", path.name))


def failures(report: Any) -> list[Failure]:
    """Failed checks of Checkov's JSON output (`-o json`: one report, or a list of one per framework)."""
    reports = report if isinstance(report, list) else [report]
    out = []
    for one in reports:
        for check in ((one or {}).get("results") or {}).get("failed_checks") or []:
            stack = Path(check.get("file_path") or "").name.removesuffix(".json")
            out.append(Failure(check["check_id"], check.get("check_name") or "", stack, check["resource"]))
    return sorted(set(out), key=lambda f: (f.check_id, f.stack, f.resource))


@dataclass
class Verdict:
    open: list[Failure]                        # no entry covers them: the scan fails
    covered: list[tuple[Failure, Entry]]       # waived, or a known gap
    stale: list[Entry]                         # entries that cover nothing any more

    @property
    def gaps(self) -> list[tuple[Failure, Entry]]:
        return [(f, e) for f, e in self.covered if e.kind == "gap"]


def judge(found: list[Failure], entries: list[Entry]) -> Verdict:
    verdict = Verdict([], [], [])
    used: set[Entry] = set()
    for failure in found:
        entry = next((e for e in entries if e.covers(failure)), None)
        if entry is None:
            verdict.open.append(failure)
        else:
            verdict.covered.append((failure, entry))
            used.add(entry)
    verdict.stale = [e for e in entries if e not in used]
    return verdict


# ---- command line ---------------------------------------------------------------------------------
def target(value: str) -> tuple[str, str, Path]:
    """(plan name, stack, stack file) of a stack name or a stack file: production ->
    Pulumi.production.yaml; examples/<app>/Pulumi.production.yaml -> the plan is named <app>."""
    if value.endswith((".yaml", ".yml")) or "/" in value:
        path = Path(value).resolve()
        stack = path.name.removeprefix("Pulumi.").rsplit(".", 1)[0]
        label = path.parent.name if path.parent.parent.name == "examples" else stack
        return label, stack, path
    return value, value, ROOT / f"Pulumi.{value}.yaml"


def graph_of(stack: str, path: Path, *, preview: bool = False) -> Graph:
    from offline.evaluate import read_stack_config, run

    raw, secret_keys = read_stack_config(path, stack)
    return run(raw, secret_keys, stack, preview=preview)


def _write_plans(args: argparse.Namespace) -> int:
    out = Path(args.dir)
    out.mkdir(parents=True, exist_ok=True)
    for value in args.targets:
        label, stack, path = target(value)
        document = plan(graph_of(stack, path, preview=args.preview))
        # One line, as `terraform show -json` writes it: Checkov reads JSON with its YAML loader, a
        # character at a time, and the indentation was a third of the bytes.
        (out / f"{label}.json").write_text(json.dumps(document, sort_keys=True, separators=(",", ":")) + "\n")
    return 0


def _judge_report(args: argparse.Namespace) -> int:
    report = json.loads(Path(args.report).read_text())
    summaries = [r.get("summary") or {} for r in (report if isinstance(report, list) else [report])]
    if any(s.get("parsing_errors") for s in summaries):
        print("checkov: the plan did not parse", file=sys.stderr)
        return 2
    verdict = judge(failures(report), load_waivers())
    grouped: dict[Entry, list[Failure]] = {}
    for failure, entry in verdict.covered:
        grouped.setdefault(entry, []).append(failure)
    for entry, covered in grouped.items():
        where = sorted({f"{f.stack}:{f.resource}" for f in covered})
        print(f"  {'waived' if entry.kind == 'waiver' else 'GAP':7} {entry.check_id} ({len(covered)}): {', '.join(where)}")
        if entry.kind == "gap" or args.verbose:
            print(f"          {'fix' if entry.kind == 'gap' else 'why'}: {entry.text}")
    for failure in verdict.open:
        print(f"  FAILED  {failure}")
    for entry in verdict.stale if args.all_targets else []:
        print(f"  stale   {entry.kind} {entry.check_id} {', '.join(entry.resources)}: covers no finding, remove it")
    passed = sum(int(s.get("passed") or 0) for s in summaries)
    waived = len(verdict.covered) - len(verdict.gaps)
    print(f"checkov: {passed} passed, {waived} waived, {len(verdict.gaps)} known gap(s), "
          f"{len(verdict.open)} failed outside policies/checkov-waivers.yaml")
    return 1 if verdict.open or verdict.gaps else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m offline.tfplan", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    write = sub.add_parser("plan", help="write each target's Terraform plan JSON to DIR/<name>.json")
    write.add_argument("targets", nargs="+", help="stack names (Pulumi.<stack>.yaml) or stack files")
    write.add_argument("--dir", required=True, help="directory for the plan files")
    write.add_argument("--preview", action="store_true", help="preview mode (computed values unknown)")
    write.set_defaults(func=_write_plans)
    judge_ = sub.add_parser("judge", help="judge Checkov's JSON report against policies/checkov-waivers.yaml")
    judge_.add_argument("report", help="the file `checkov -o json` wrote")
    judge_.add_argument("--all-targets", action="store_true",
                        help="the report covers every stack the waivers name: also list entries that cover nothing")
    judge_.add_argument("-v", "--verbose", action="store_true", help="also print why each waiver applies")
    judge_.set_defaults(func=_judge_report)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())

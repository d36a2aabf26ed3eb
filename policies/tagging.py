"""Required tags on every taggable AWS resource (cost allocation, ownership, the budget filter)."""

from __future__ import annotations

import _types as t
from _rules import resource_rule, tags_of

# pulumi-aws 7 types that take `tags` (the tests check this list against the SDK for every type the
# stacks use). A type missing here is not checked, never wrongly flagged.
TAGGABLE = [
    t.CERTIFICATE, t.SCALING_TARGET, t.BUDGET, t.DISTRIBUTION, t.LOG_DELIVERY, t.LOG_DELIVERY_DESTINATION,
    t.LOG_DELIVERY_SOURCE, t.LOG_GROUP, t.METRIC_ALARM, t.DEFAULT_SECURITY_GROUP, t.EIP, t.FLOW_LOG,
    t.INTERNET_GATEWAY, t.NAT_GATEWAY, t.ROUTE_TABLE, t.SECURITY_GROUP, t.SUBNET, t.VPC,
    t.VPC_PEERING_ACCEPTER, t.EC2_INSTANCE, t.ECR_REPOSITORY, t.ECS_CLUSTER, t.ECS_SERVICE,
    t.ECS_TASK_DEFINITION, t.CACHE_PARAMETER_GROUP, t.CACHE_REPLICATION_GROUP, t.CACHE_SUBNET_GROUP,
    t.IAM_POLICY, t.IAM_ROLE, t.KMS_KEY, t.LAMBDA_FUNCTION, t.LISTENER, t.LISTENER_RULE, t.LOAD_BALANCER,
    t.TARGET_GROUP, t.RDS_CLUSTER, t.RDS_INSTANCE, t.RDS_PARAMETER_GROUP, t.RDS_PROXY, t.RDS_SUBNET_GROUP,
    t.HEALTH_CHECK, t.HOSTED_ZONE, t.BUCKET, t.SECRET, t.SNS_TOPIC, t.SQS_QUEUE, t.SSM_ASSOCIATION,
    t.SLACK_CHANNEL, t.DYNAMODB_TABLE, t.EFS_FILE_SYSTEM, t.SG_EGRESS_RULE, t.SG_INGRESS_RULE, t.WEB_ACL,
]
DEFAULT_TAGS = ["Project", "Stack", "Environment", "Owner", "CostCenter", "ManagedBy"]


@resource_rule(
    "required-tags", "Taggable AWS resources carry the required tags.",
    types=TAGGABLE, severity="low",
    config={"tags": {"type": "array", "items": {"type": "string"}, "default": DEFAULT_TAGS,
                     "description": "Tag keys every taggable resource must carry (non-empty)."}},
    fix="Pass the stack's tags (StackSettings.tags) to the resource; the budget filters on Stack and "
        "cost reports group by CostCenter.")
def _required(props, report, cfg, args):
    tags = tags_of(props)
    missing = [k for k in cfg["tags"] if not tags.get(k)]
    if missing:
        report(f"missing tags: {', '.join(missing)}.")

"""Required tags on every taggable AWS resource (cost allocation, ownership, the budget filter)."""

from __future__ import annotations

from _rules import resource_rule, tags_of

# pulumi-aws 7 types that take `tags` (the tests check this list against the SDK for every type the
# stacks use). A type missing here is not checked, never wrongly flagged.
TAGGABLE = [
    "aws:acm/certificate:Certificate", "aws:appautoscaling/target:Target", "aws:budgets/budget:Budget",
    "aws:cloudfront/distribution:Distribution", "aws:cloudwatch/logDelivery:LogDelivery",
    "aws:cloudwatch/logDeliveryDestination:LogDeliveryDestination",
    "aws:cloudwatch/logDeliverySource:LogDeliverySource", "aws:cloudwatch/logGroup:LogGroup",
    "aws:cloudwatch/metricAlarm:MetricAlarm", "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
    "aws:ec2/eip:Eip", "aws:ec2/flowLog:FlowLog", "aws:ec2/internetGateway:InternetGateway",
    "aws:ec2/natGateway:NatGateway", "aws:ec2/routeTable:RouteTable", "aws:ec2/securityGroup:SecurityGroup",
    "aws:ec2/subnet:Subnet", "aws:ec2/vpc:Vpc", "aws:ec2/vpcPeeringConnectionAccepter:VpcPeeringConnectionAccepter",
    "aws:ec2/instance:Instance", "aws:ecr/repository:Repository", "aws:ecs/cluster:Cluster",
    "aws:ecs/service:Service", "aws:ecs/taskDefinition:TaskDefinition",
    "aws:elasticache/parameterGroup:ParameterGroup", "aws:elasticache/replicationGroup:ReplicationGroup",
    "aws:elasticache/subnetGroup:SubnetGroup", "aws:iam/policy:Policy", "aws:iam/role:Role", "aws:kms/key:Key",
    "aws:lambda/function:Function", "aws:lb/listener:Listener", "aws:lb/listenerRule:ListenerRule",
    "aws:lb/loadBalancer:LoadBalancer", "aws:lb/targetGroup:TargetGroup", "aws:rds/cluster:Cluster",
    "aws:rds/instance:Instance", "aws:rds/parameterGroup:ParameterGroup", "aws:rds/proxy:Proxy",
    "aws:rds/subnetGroup:SubnetGroup", "aws:route53/healthCheck:HealthCheck", "aws:route53/zone:Zone",
    "aws:s3/bucket:Bucket", "aws:secretsmanager/secret:Secret", "aws:sns/topic:Topic", "aws:sqs/queue:Queue",
    "aws:ssm/association:Association", "aws:chatbot/slackChannelConfiguration:SlackChannelConfiguration",
    "aws:dynamodb/table:Table", "aws:efs/fileSystem:FileSystem",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "aws:wafv2/webAcl:WebAcl",
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

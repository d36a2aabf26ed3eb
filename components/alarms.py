"""Observability tier: an encrypted SNS topic, the seeds' alarms, an uptime check, a dashboard and a budget.

Alarms are declared as data (AlarmSpec) so that thresholds can be overridden by name from config,
and the dashboard is drawn from the same list. CloudWatch only lets an alarm notify a topic in its
own region, so the component keeps one topic per region it alarms in: the stack's region, us-east-1
for CloudFront and Route 53 metrics, and the DR region for the cross-region replica.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pulumi
import pulumi_aws as aws

from components._common import Statement, assume_role_policy, json_output, key_policy, kms_key, regional_arn
from components._validation import Checker, bounded
from components.alarm_targets import BackupTarget, CacheTarget, DatabaseTarget, LoadBalancerTarget, UptimeTarget

GLOBAL_METRICS_REGION = "us-east-1"  # CloudFront and Route 53 health-check metrics live here
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", re.IGNORECASE)
# Chat incoming webhooks take a POST in their own format and never visit an SNS SubscribeURL, so an
# SNS https subscription to them stays PendingConfirmation and SNS delivers nothing.
# (host suffix, path prefix, what to use instead)
NON_CONFIRMING_WEBHOOKS = (
    ("hooks.slack.com", "/", "a Slack incoming webhook: use alarmSlackTeamId and alarmSlackChannelId (AWS Chatbot)"),
    ("webhook.office.com", "/", "a Microsoft Teams incoming webhook: use AWS Chatbot's Teams channel "
                                "(console) or an e-mail address of the channel in alarmEmails"),
    ("outlook.office.com", "/webhook", "a Microsoft Teams incoming webhook: use AWS Chatbot's Teams channel "
                                       "(console) or an e-mail address of the channel in alarmEmails"),
    ("discord.com", "/api/webhooks", "a Discord webhook: it cannot confirm an SNS subscription"),
    ("discordapp.com", "/api/webhooks", "a Discord webhook: it cannot confirm an SNS subscription"),
)
# Slack ids as the Slack app shows them (botocore's chatbot model allows [0-9A-Z] team ids and
# alphanumeric channel ids; workspace ids start with T, channel ids with C, or G for old private ones).
_SLACK_TEAM = re.compile(r"^T[0-9A-Z]{8,20}$")
_SLACK_CHANNEL = re.compile(r"^[CG][0-9A-Z]{8,20}$")
# Regions with an AWS Chatbot (Amazon Q Developer in chat applications) API endpoint; the
# configuration is global, so stacks elsewhere manage it through us-west-2.
CHATBOT_API_REGIONS = ("us-east-2", "us-west-2", "eu-west-1", "ap-southeast-1")
CHATBOT_DEFAULT_REGION = "us-west-2"


def non_confirming_webhook(url: str) -> str | None:
    """What a webhook URL is when SNS can never confirm a subscription to it, else None."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    for suffix, path, what in NON_CONFIRMING_WEBHOOKS:
        if (host == suffix or host.endswith("." + suffix)) and parts.path.startswith(path):
            return what
    return None

# name -> (default, min, max, meaning). Defaults come from the seeds where they give one.
THRESHOLDS: dict[str, tuple[float, float, float, str]] = {
    "dbCpuPercent": (80, 1, 100, "RDS CPUUtilization above this % (seed: CPU > 80)"),
    "dbFreeStoragePercent": (10, 1, 90, "RDS FreeStorageSpace below this % of allocated storage"),
    "dbFreeableMemoryMb": (256, 16, 65536, "RDS FreeableMemory below this many MiB"),
    "dbConnectionsPercent": (80, 1, 100, "DatabaseConnections above this % of max_connections (seed: > 80 of 100)"),
    "dbReadLatencyMs": (20, 1, 10000, "RDS ReadLatency above this many ms"),
    "dbWriteLatencyMs": (20, 1, 10000, "RDS WriteLatency above this many ms"),
    "dbDiskQueueDepth": (64, 1, 10000, "RDS DiskQueueDepth above this"),
    "dbReplicaLagSeconds": (60, 1, 86400, "ReplicaLag of every replica above this many seconds"),
    "redisEngineCpuPercent": (80, 1, 100, "ElastiCache EngineCPUUtilization above this % per node"),
    "redisMemoryPercent": (90, 1, 100, "DatabaseMemoryUsagePercentage above this % per node (seed: memory > 90)"),
    "redisEvictions": (100, 0, 1e9, "Evictions per 5 minutes per node above this"),
    "redisConnections": (1000, 1, 65000, "CurrConnections per node above this"),
    "redisReplicationLagSeconds": (30, 1, 3600, "ReplicationLag per node above this many seconds"),
    "cdn5xxErrorRatePercent": (5, 0.1, 100, "CloudFront 5xxErrorRate above this %"),
    "cdn4xxErrorRatePercent": (15, 0.1, 100, "CloudFront 4xxErrorRate above this %"),
    "alb5xxPer5Minutes": (30, 1, 1e9, "ALB target 5xx count per 5 minutes (seed: 0.1 errors/s)"),
    "albP95ResponseSeconds": (1, 0.01, 60, "ALB TargetResponseTime p95 above this (seed: p95 > 1 s)"),
    "albUnhealthyHosts": (0, 0, 1000, "UnHealthyHostCount above this"),
}


@dataclass(frozen=True)
class ObservabilitySettings:
    alarm_emails: tuple[str, ...] = ()
    alarm_webhook_urls: tuple[str, ...] = ()
    alarm_actions_enabled: bool = True
    alarm_thresholds: tuple[str, ...] = ()
    uptime_check_enabled: bool = True
    budget_monthly_usd: int = bounded(0, 10_000_000, default=0)
    # A Slack channel that AWS Chatbot posts the alarm topics to (the workspace is authorised once
    # in the AWS console); both or neither.
    alarm_slack_team_id: str = ""
    alarm_slack_channel_id: str = ""

    def __post_init__(self) -> None:
        c = Checker("observability settings")
        for email in self.alarm_emails:
            c.matches("alarm_emails", email, _EMAIL, "must hold e-mail addresses")
        for url in self.alarm_webhook_urls:
            if c.require(url.startswith("https://") and len(url) > 8, "alarm_webhook_urls", url,
                         "must hold https:// URLs (SNS refuses to deliver alarms over plain HTTP here)"):
                what = non_confirming_webhook(url)
                c.require(what is None, "alarm_webhook_urls", url,
                          f"is {what}; chat webhooks never confirm an SNS subscription (they do not visit "
                          "the SubscribeURL), so no alarm would arrive")
        if self.alarm_slack_team_id or self.alarm_slack_channel_id:
            c.matches("alarm_slack_team_id", self.alarm_slack_team_id, _SLACK_TEAM,
                      "must be the Slack workspace id (T followed by 8-20 capitals/digits, e.g. T0123ABCD), "
                      "set together with alarm_slack_channel_id")
            c.matches("alarm_slack_channel_id", self.alarm_slack_channel_id, _SLACK_CHANNEL,
                      "must be the Slack channel id (C or G followed by 8-20 capitals/digits, e.g. C0123ABCD; "
                      "not the #name), set together with alarm_slack_team_id")
        for item in self.alarm_thresholds:
            name, sep, value = item.partition("=")
            if not c.require(bool(sep), "alarm_thresholds", item, "entries must be name=value, e.g. dbCpuPercent=90"):
                continue
            if not c.one_of("alarm_thresholds", name, tuple(THRESHOLDS)):
                continue
            _, lo, hi, _ = THRESHOLDS[name]
            try:
                number = float(value)
            except ValueError:
                number = None
            c.require(number is not None and lo <= number <= hi, "alarm_thresholds", item,
                      f"{name} must be a number from {lo:g} to {hi:g}")
        c.declared(self, "budget_monthly_usd")
        c.raise_if_any()

    def threshold(self, name: str) -> float:
        for item in self.alarm_thresholds:
            key, _, value = item.partition("=")
            if key == name:
                return float(value)
        return THRESHOLDS[name][0]


@dataclass(frozen=True)
class AlarmsArgs:
    #: Recipients, threshold overrides, budget and Slack channel (from stack config).
    settings: ObservabilitySettings
    #: Tags for every taggable child; the budget filters on its Stack tag.
    tags: dict[str, str]
    #: The stack's region, where the main topic lives, e.g. us-east-1.
    region: str
    #: Prefix of physical names (the dashboard, the Chatbot configuration), e.g. platform-production.
    name_prefix: str
    #: RDS instances to watch; default none.
    databases: list[DatabaseTarget] = field(default_factory=list)
    #: ElastiCache nodes to watch; default None (no cache alarms).
    cache: CacheTarget | None = None
    #: CloudFront distribution id for the 4xx/5xx rate alarms; default None (no CDN alarms).
    distribution_id: pulumi.Input[str] | None = None
    #: ALB to watch for 5xx, p95 latency and unhealthy targets; default None.
    load_balancer: LoadBalancerTarget | None = None
    #: URL for the Route 53 uptime check (when settings.uptime_check_enabled); default None.
    uptime: UptimeTarget | None = None
    #: Scheduled backup jobs: backup age and drill alarms, and a rule on failed job tasks; default None.
    backups: BackupTarget | None = None

    def __post_init__(self) -> None:
        c = Checker("alarms args")
        c.require(bool(self.name_prefix), "name_prefix", self.name_prefix,
                  "must be non-empty: it names the dashboard and the Chatbot configuration")
        c.raise_if_any()


def _location(alarm: aws.cloudwatch.MetricAlarm, region: str) -> pulumi.Output[dict[str, str]]:
    return alarm.name.apply(lambda name: {"name": name, "region": region})


@dataclass(frozen=True)
class AlarmSpec:
    key: str  # child-name suffix
    namespace: str
    metric: str
    dimensions: dict
    threshold: pulumi.Input[float]
    comparison: str
    description: str
    statistic: str = "Average"
    extended_statistic: str | None = None
    period: int = 300
    evaluation_periods: int = 3
    datapoints: int = 2
    region: str = ""
    missing: str = "missing"


class Alarms(pulumi.ComponentResource):
    """Alarm and OK actions on every alarm; `alarm_actions_enabled: false` keeps a stack silent."""

    topic_arn: pulumi.Output[str]
    alarm_names: list[pulumi.Output[str]]
    dashboard_name: pulumi.Output[str]

    def __init__(self, name: str, args: AlarmsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:observability:Alarms", name, None, opts)
        self._name = name
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self)
        self._topics: dict[str, aws.sns.Topic] = {}
        self._identity = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self))
        self._account = self._identity.account_id

        specs = self._database_specs() + self._cache_specs() + self._edge_specs() + self._backup_specs()
        if args.uptime and args.settings.uptime_check_enabled:
            specs.append(self._uptime_spec(args.uptime))
        # Before the topic, whose policies name the rule; its target after it.
        self._failure_rule = self._backup_failure_rule()
        self.topic_arn = self._topic("").arn
        self._notify_backup_failures()
        self.alarms = [self._alarm(spec) for spec in specs]
        self.alarm_names = [a.name for a in self.alarms]
        # {"name": ..., "region": ...} per alarm, for `python -m ops smoke` (alarms live in two regions)
        self.alarm_locations = [_location(a, spec.region or args.region)
                                for a, spec in zip(self.alarms, specs, strict=True)]
        self.dashboard_name = self._dashboard(specs).dashboard_name
        self._budget()
        self.slack_channel = self._slack()  # last: it subscribes every topic created above

        self.register_outputs({"topic_arn": self.topic_arn, "alarm_names": self.alarm_names,
                               "dashboard_name": self.dashboard_name})

    # ---- topics ---------------------------------------------------------------------------
    def _topic(self, region: str) -> aws.sns.Topic:
        """The topic for alarms in `region` ("" = the stack's), created on first use."""
        if region == self._args.region:
            region = ""
        if region in self._topics:
            return self._topics[region]
        name, tags, child = self._name, self._args.tags, self._child
        suffix = f"-{region}" if region else ""
        on_region = region or None
        # An encrypted topic drops CloudWatch and Budgets notifications unless they may use the key;
        # EventBridge's too (EventBridge User Guide, "Amazon SNS topics encrypted with AWS KMS").
        rule = self._failure_rule if not region else None
        grants: list[tuple[str, object]] = [("PublishersEncrypt", ["cloudwatch.amazonaws.com", "budgets.amazonaws.com"])]
        if rule:
            grants.append(("BackupFailuresEncrypt", "events.amazonaws.com"))
        statements: list[Statement] = [{
            "Sid": sid, "Effect": "Allow", "Resource": "*", "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
            "Principal": {"Service": who}} for sid, who in grants]
        policy = key_policy(self._identity, *statements)
        key = kms_key(f"{name}-topic-key{suffix}", f"{name}: SNS alarm topic", tags, child,
                      region=on_region, policy=policy)
        topic = aws.sns.Topic(f"{name}-topic{suffix}", kms_master_key_id=key.arn, region=on_region,
                              tags=tags, opts=child)
        # topic.arn's value, known in preview (components/_common.py regional_arn).
        topic_arn = regional_arn(self, "sns", topic.name, on_region)
        aws.sns.TopicPolicy(f"{name}-topic-policy{suffix}", arn=topic.arn, region=on_region,
                            policy=json_output({
                                "Version": "2012-10-17",
                                "Statement": [
                                    {"Sid": "AlarmsAndBudgetsPublish", "Effect": "Allow", "Action": "sns:Publish",
                                     "Resource": topic_arn,
                                     "Principal": {"Service": ["cloudwatch.amazonaws.com", "budgets.amazonaws.com"]},
                                     "Condition": {"StringEquals": {"aws:SourceAccount": self._account}}},
                                    {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Action": "sns:Publish",
                                     "Resource": topic_arn, "Principal": "*",
                                     "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
                                    *self._events_publish(rule, topic_arn),
                                ],
                            }), opts=child)
        s = self._args.settings
        for i, email in enumerate(s.alarm_emails):
            aws.sns.TopicSubscription(f"{name}-email-{i}{suffix}", topic=topic.arn, protocol="email",
                                      endpoint=email, region=on_region, opts=child)
        for i, url in enumerate(s.alarm_webhook_urls):
            aws.sns.TopicSubscription(f"{name}-webhook-{i}{suffix}", topic=topic.arn, protocol="https",
                                      endpoint=url, endpoint_auto_confirms=False, raw_message_delivery=False,
                                      region=on_region, opts=child)
        self._topics[region] = topic
        return topic

    def _slack(self) -> aws.chatbot.SlackChannelConfiguration | None:
        """AWS Chatbot posts every alarm topic's messages to the Slack channel.

        Chatbot subscribes to the topics itself and SNS decrypts before delivering over HTTPS, so
        the topic keys need no grant for it. Its role and guardrail only read CloudWatch, enough to
        render alarm charts; nobody in the channel can change the account through it.
        """
        s = self._args.settings
        if not s.alarm_slack_channel_id:
            return None
        name, tags, child = self._name, self._args.tags, self._child
        role = aws.iam.Role(f"{name}-chatbot-role", assume_role_policy=assume_role_policy("chatbot.amazonaws.com"),
                            description=f"{name}: AWS Chatbot reads CloudWatch to render alarms in Slack",
                            tags=tags, opts=child)
        aws.iam.RolePolicyAttachment(f"{name}-chatbot-read", role=role.name,
                                     policy_arn=aws.iam.ManagedPolicy.CLOUD_WATCH_READ_ONLY_ACCESS, opts=child)
        region = self._args.region if self._args.region in CHATBOT_API_REGIONS else CHATBOT_DEFAULT_REGION
        return aws.chatbot.SlackChannelConfiguration(
            f"{name}-slack",
            # Required by the API and unique per account: the name prefix (project and stack) makes
            # it so. The API allows [A-Za-z0-9-_]{1,128} (botocore chatbot ConfigurationName); a
            # stack name may also hold '.'.
            configuration_name=re.sub(r"[^A-Za-z0-9_-]", "-", f"{self._args.name_prefix}-alarms")[:128],
            slack_team_id=s.alarm_slack_team_id,
            slack_channel_id=s.alarm_slack_channel_id,
            iam_role_arn=role.arn,
            sns_topic_arns=[t.arn for t in self._topics.values()],
            # Without guardrails Chatbot applies AdministratorAccess to the channel.
            guardrail_policy_arns=[aws.iam.ManagedPolicy.CLOUD_WATCH_READ_ONLY_ACCESS],
            logging_level="ERROR",
            region=region,
            tags=tags,
            opts=child)

    # ---- alarm specs ----------------------------------------------------------------------
    def _database_specs(self) -> list[AlarmSpec]:
        t = self._args.settings.threshold
        specs: list[AlarmSpec] = []
        for db in self._args.databases:
            dims = {"DBInstanceIdentifier": db.identifier}

            def spec(key, metric, threshold, comparison, description, db=db, dims=dims, **kw):
                return AlarmSpec(f"{db.label}-{key}", "AWS/RDS", metric, dims, threshold, comparison,
                                 f"{db.label}: {description}", region=db.region, **kw)

            specs.append(spec("cpu", "CPUUtilization", t("dbCpuPercent"), "GreaterThanThreshold",
                              f"CPU above {t('dbCpuPercent'):g} %"))
            if db.replica:
                specs.append(spec("replica-lag", "ReplicaLag", t("dbReplicaLagSeconds"), "GreaterThanThreshold",
                                  f"replication lag above {t('dbReplicaLagSeconds'):g} s", statistic="Maximum"))
                continue
            free_bytes = db.allocated_storage_gb * 1024**3 * t("dbFreeStoragePercent") / 100
            specs += [
                spec("free-storage", "FreeStorageSpace", free_bytes, "LessThanThreshold",
                     f"free storage below {t('dbFreeStoragePercent'):g} % of {db.allocated_storage_gb} GiB",
                     statistic="Minimum"),
                spec("freeable-memory", "FreeableMemory", t("dbFreeableMemoryMb") * 1024**2, "LessThanThreshold",
                     f"freeable memory below {t('dbFreeableMemoryMb'):g} MiB", statistic="Minimum"),
                spec("connections", "DatabaseConnections",
                     round(db.max_connections * t("dbConnectionsPercent") / 100), "GreaterThanThreshold",
                     f"connections above {t('dbConnectionsPercent'):g} % of max_connections={db.max_connections}",
                     statistic="Maximum"),
                spec("read-latency", "ReadLatency", t("dbReadLatencyMs") / 1000, "GreaterThanThreshold",
                     f"read latency above {t('dbReadLatencyMs'):g} ms"),
                spec("write-latency", "WriteLatency", t("dbWriteLatencyMs") / 1000, "GreaterThanThreshold",
                     f"write latency above {t('dbWriteLatencyMs'):g} ms"),
                spec("disk-queue", "DiskQueueDepth", t("dbDiskQueueDepth"), "GreaterThanThreshold",
                     f"disk queue depth above {t('dbDiskQueueDepth'):g}"),
            ]
        return specs

    def _cache_specs(self) -> list[AlarmSpec]:
        cache = self._args.cache
        if cache is None:
            return []
        t = self._args.settings.threshold
        specs = []
        for i, node in enumerate(cache.node_ids):
            dims = {"CacheClusterId": node}

            def spec(key, metric, threshold, description, i=i, dims=dims, **kw):
                return AlarmSpec(f"redis-{i}-{key}", "AWS/ElastiCache", metric, dims, threshold,
                                 "GreaterThanThreshold", f"redis node {i}: {description}", **kw)

            specs += [
                spec("engine-cpu", "EngineCPUUtilization", t("redisEngineCpuPercent"),
                     f"engine CPU above {t('redisEngineCpuPercent'):g} %"),
                spec("memory", "DatabaseMemoryUsagePercentage", t("redisMemoryPercent"),
                     f"memory above {t('redisMemoryPercent'):g} %", statistic="Maximum"),
                spec("evictions", "Evictions", t("redisEvictions"),
                     f"more than {t('redisEvictions'):g} evictions in 5 minutes", statistic="Sum"),
                spec("connections", "CurrConnections", t("redisConnections"),
                     f"more than {t('redisConnections'):g} connections", statistic="Maximum"),
            ]
            if cache.replicated:
                # Only replicas publish ReplicationLag, and failover moves the primary: no data is fine.
                specs.append(spec("replication-lag", "ReplicationLag", t("redisReplicationLagSeconds"),
                                  f"replication lag above {t('redisReplicationLagSeconds'):g} s",
                                  statistic="Maximum", missing="notBreaching"))
        return specs

    def _edge_specs(self) -> list[AlarmSpec]:
        t = self._args.settings.threshold
        specs = []
        if self._args.distribution_id is not None:
            dims = {"DistributionId": self._args.distribution_id, "Region": "Global"}
            for key, metric, name in (("cdn-5xx", "5xxErrorRate", "cdn5xxErrorRatePercent"),
                                      ("cdn-4xx", "4xxErrorRate", "cdn4xxErrorRatePercent")):
                specs.append(AlarmSpec(key, "AWS/CloudFront", metric, dims, t(name), "GreaterThanThreshold",
                                       f"CloudFront {metric} above {t(name):g} %",
                                       region=GLOBAL_METRICS_REGION, missing="notBreaching"))
        lb = self._args.load_balancer
        if lb is not None:
            alb = {"LoadBalancer": lb.arn_suffix}
            tg = {"LoadBalancer": lb.arn_suffix, "TargetGroup": lb.target_group_arn_suffix}
            specs += [
                AlarmSpec("alb-5xx", "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", alb,
                          t("alb5xxPer5Minutes"), "GreaterThanThreshold",
                          f"more than {t('alb5xxPer5Minutes'):g} target 5xx in 5 minutes",
                          statistic="Sum", missing="notBreaching"),
                AlarmSpec("alb-p95", "AWS/ApplicationELB", "TargetResponseTime", alb,
                          t("albP95ResponseSeconds"), "GreaterThanThreshold",
                          f"p95 response time above {t('albP95ResponseSeconds'):g} s",
                          extended_statistic="p95", missing="notBreaching"),
                AlarmSpec("alb-unhealthy", "AWS/ApplicationELB", "UnHealthyHostCount", tg,
                          t("albUnhealthyHosts"), "GreaterThanThreshold",
                          f"more than {t('albUnhealthyHosts'):g} unhealthy targets",
                          statistic="Maximum", period=60, evaluation_periods=3, datapoints=3),
            ]
        return specs

    def _backup_specs(self) -> list[AlarmSpec]:
        """Staleness: each alarm looks back 26 hourly periods and treats an hour without data as
        breaching, so it fires when no job reported a fresh backup (a successful drill) for that
        long, including when no job ran at all. 3600 s x 26 = 93,600 s: within CloudWatch's limit for
        periods of an hour or more (period x evaluation periods at most 604,800 s; under 3,600 s
        the limit is 86,400 s; botocore cloudwatch PutMetricAlarm Period). A job that fails now is
        the task-failure rule's signal, at once."""
        b = self._args.backups
        if b is None:
            return []
        dims = {"Stack": b.stack}
        hours = b.max_age_hours
        return [
            AlarmSpec("backup-age", b.namespace, "BackupAgeHours", dims, hours, "GreaterThanThreshold",
                      f"no backup younger than {hours} h reported for {hours} h (or no backup job ran)",
                      statistic="Minimum", period=3600, evaluation_periods=hours, datapoints=hours,
                      missing="breaching"),
            AlarmSpec("backup-drill", b.namespace, "DrillSucceeded", dims, 1, "LessThanThreshold",
                      f"no successful restore drill for {hours} h (DrillSucceeded 0, or no drill ran)",
                      statistic="Maximum", period=3600, evaluation_periods=hours, datapoints=hours,
                      missing="breaching"),
        ]

    def _backup_failure_rule(self) -> aws.cloudwatch.EventRule | None:
        """A backup job's task stopped with a non-zero exit code, or never started (image pull,
        secrets): ECS sends "ECS Task State Change" events to the default bus (Amazon ECS Developer
        Guide, "Amazon ECS task state change events"). A task started by RunTask without a group
        is in the group "family:<task definition family>"."""
        b = self._args.backups
        if b is None:
            return None
        pattern = json_output({
            "source": ["aws.ecs"], "detail-type": ["ECS Task State Change"],
            "detail": {
                "clusterArn": [b.cluster_arn], "group": [f"family:{f}" for f in b.task_families],
                "lastStatus": ["STOPPED"],
                # EventBridge User Guide, "Comparison operators": anything-but takes a number, and a
                # pattern on an array field matches when any element does; $or for the task that
                # never ran a container (no exitCode at all).
                "$or": [{"containers": {"exitCode": [{"anything-but": 0}]}},
                        {"stopCode": ["TaskFailedToStart"]}],
            }})
        return aws.cloudwatch.EventRule(
            f"{self._name}-backup-task-failed", description="A scheduled backup job stopped with an error",
            event_pattern=pattern, tags=self._args.tags, opts=self._child)

    def _events_publish(self, rule: aws.cloudwatch.EventRule | None, topic_arn: pulumi.Input[str]) -> list[dict]:
        if rule is None:
            return []
        return [{"Sid": "BackupFailuresPublish", "Effect": "Allow", "Action": "sns:Publish", "Resource": topic_arn,
                 "Principal": {"Service": "events.amazonaws.com"},
                 "Condition": {"ArnEquals": {"aws:SourceArn": regional_arn(
                     self, "events", pulumi.Output.concat("rule/", rule.name))}}}]

    def _notify_backup_failures(self) -> None:
        rule = self._failure_rule
        if rule is None:
            return
        # Input paths take dot notation only (pulumi_aws EventTargetInputTransformer); the template
        # is a JSON string, so SNS sends one readable line.
        aws.cloudwatch.EventTarget(
            f"{self._name}-backup-task-failed-topic", rule=rule.name, arn=self._topic("").arn,
            input_transformer={
                "input_paths": {"time": "$.time", "group": "$.detail.group", "code": "$.detail.stopCode",
                                "reason": "$.detail.stoppedReason", "task": "$.detail.taskArn"},
                "input_template": '"Backup job failed at <time>: <group> stopped (<code>: <reason>). '
                                  'Task <task>. Runbook: docs/operations.md, Scheduled backups."'},
            opts=self._child)

    def _uptime_spec(self, up: UptimeTarget) -> AlarmSpec:
        check = aws.route53.HealthCheck(
            f"{self._name}-uptime-check", type="HTTPS", fqdn=up.fqdn, port=443, resource_path=up.path,
            request_interval=30, failure_threshold=3, measure_latency=True, enable_sni=True,
            tags={**self._args.tags, "Name": f"{self._name}-uptime-check"}, opts=self._child)
        return AlarmSpec("uptime", "AWS/Route53", "HealthCheckStatus", {"HealthCheckId": check.id}, 1,
                         "LessThanThreshold", f"https://{up.fqdn}{up.path} failing from Route 53 checkers",
                         statistic="Minimum", period=60, evaluation_periods=2, datapoints=2,
                         region=GLOBAL_METRICS_REGION, missing="breaching")

    # ---- resources ------------------------------------------------------------------------
    def _alarm(self, spec: AlarmSpec) -> aws.cloudwatch.MetricAlarm:
        topic = self._topic(spec.region).arn
        return aws.cloudwatch.MetricAlarm(
            f"{self._name}-{spec.key}",
            alarm_description=spec.description,
            namespace=spec.namespace,
            metric_name=spec.metric,
            dimensions=spec.dimensions,
            statistic=None if spec.extended_statistic else spec.statistic,
            extended_statistic=spec.extended_statistic,
            period=spec.period,
            evaluation_periods=spec.evaluation_periods,
            datapoints_to_alarm=spec.datapoints,
            threshold=spec.threshold,
            comparison_operator=spec.comparison,
            treat_missing_data=spec.missing,
            actions_enabled=self._args.settings.alarm_actions_enabled,
            alarm_actions=[topic],
            ok_actions=[topic],
            region=spec.region if spec.region and spec.region != self._args.region else None,
            tags=self._args.tags,
            opts=self._child,
        )

    def _dashboard(self, specs: list[AlarmSpec]) -> aws.cloudwatch.Dashboard:
        widgets = []
        for i, spec in enumerate(specs):
            metric = [spec.namespace, spec.metric]
            for dim, value in spec.dimensions.items():
                metric += [dim, value]
            stat = spec.extended_statistic or spec.statistic
            widgets.append({
                "type": "metric", "x": (i % 3) * 8, "y": (i // 3) * 6, "width": 8, "height": 6,
                "properties": {
                    "title": spec.description, "region": spec.region or self._args.region,
                    "metrics": [metric], "stat": stat, "period": spec.period, "view": "timeSeries",
                    "annotations": {"horizontal": [{"label": "alarm", "value": spec.threshold}]},
                },
            })
        if self._failure_rule is not None:
            i = len(widgets)
            widgets.append({
                "type": "metric", "x": (i % 3) * 8, "y": (i // 3) * 6, "width": 8, "height": 6,
                "properties": {
                    "title": "backup job tasks that failed (EventBridge rule matches)",
                    "region": self._args.region, "stat": "Sum", "period": 3600, "view": "timeSeries",
                    "metrics": [["AWS/Events", "TriggeredRules", "RuleName", self._failure_rule.name]],
                },
            })
        return aws.cloudwatch.Dashboard(
            f"{self._name}-dashboard",
            # Stack names may hold '.', which PutDashboard refuses (botocore cloudwatch DashboardName).
            dashboard_name=re.sub(r"[^A-Za-z0-9_-]", "-", self._args.name_prefix)[:255],
            dashboard_body=json_output({"widgets": widgets}),
            opts=self._child)

    def _budget(self) -> aws.budgets.Budget | None:
        s = self._args.settings
        if not s.budget_monthly_usd:
            return None
        # A filter, not a name: it must match the Stack tag this stack's resources carry.
        stack = self._args.tags.get("Stack", "")
        topic = self._topic("").arn

        def notify(threshold: int, kind: str) -> aws.budgets.BudgetNotificationArgsDict:
            return {"comparison_operator": "GREATER_THAN", "threshold": threshold,
                    "threshold_type": "PERCENTAGE", "notification_type": kind,
                    "subscriber_email_addresses": list(s.alarm_emails), "subscriber_sns_topic_arns": [topic]}

        # contribux's cost alerts: 80 / 100 / 150 % of the month's budget, plus a forecast warning.
        return aws.budgets.Budget(
            f"{self._name}-budget",
            budget_type="COST", limit_amount=f"{s.budget_monthly_usd}", limit_unit="USD", time_unit="MONTHLY",
            # Counts only this stack's spend once the Stack tag is activated as a cost allocation tag.
            cost_filters=[{"name": "TagKeyValue", "values": [f"user:Stack${stack}"]}],
            notifications=[notify(80, "ACTUAL"), notify(100, "ACTUAL"), notify(150, "ACTUAL"),
                           notify(100, "FORECASTED")],
            tags=self._args.tags, opts=self._child)

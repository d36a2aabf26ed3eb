"""components/alarms.py: each alarm on the right resource, threshold and topic; dashboard and budget."""

import json

import pytest
from conftest import config_error, evaluate, example_graph

from components._validation import InvalidArgs
from components.alarms import THRESHOLDS, ObservabilitySettings


def alarms(g):
    return {r.name.removeprefix("alarms-"): r for r in g.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}


def topic_in(g, region):
    for t in g.of_type("aws:sns/topic:Topic"):
        if t.outputs["arn"].split(":")[3] == region:
            return t.outputs["arn"]
    raise AssertionError(f"no topic in {region}")


def test_every_alarm_notifies_its_regions_topic_on_alarm_and_ok(any_stack):
    for name, a in alarms(any_stack).items():
        region = a.input("region") or "us-east-1"
        assert a.input("alarmActions") == a.input("okActions") == [topic_in(any_stack, region)], name


def test_staging_is_silent_and_production_pages(staging, production):
    assert {a.input("actionsEnabled") for a in alarms(staging).values()} == {False}
    assert {a.input("actionsEnabled") for a in alarms(production).values()} == {True}
    email = production.named("alarms-email-0")
    assert (email.input("protocol"), email.input("endpoint")) == ("email", "oncall@example.com")


def test_database_alarms_watch_the_primary_and_every_replica(production):
    a = alarms(production)
    primary = production.named("postgres-primary").outputs["id"]
    for key in ("cpu", "free-storage", "freeable-memory", "connections", "read-latency", "write-latency",
                "disk-queue"):
        assert a[f"db-primary-{key}"].input("dimensions") == {"DBInstanceIdentifier": primary}, key
    assert a["db-primary-cpu"].input("threshold") == 80
    assert a["db-primary-connections"].input("threshold") == 80  # 80 % of max_connections=100
    assert a["db-primary-free-storage"].input("threshold") == 50 * 1024**3 // 10
    for i in (0, 1):
        replica = production.named(f"postgres-replica-{i}").outputs["id"]
        for key in ("cpu", "replica-lag"):
            assert a[f"db-replica-{i}-{key}"].input("dimensions") == {"DBInstanceIdentifier": replica}
    dr = a["db-dr-replica-replica-lag"]
    assert dr.input("region") == "us-west-2"
    assert dr.input("dimensions") == {"DBInstanceIdentifier": production.named("postgres-dr-replica").outputs["id"]}


def test_redis_alarms_per_node(production):
    a = alarms(production)
    members = production.named("redis-group").outputs["memberClusters"]
    for i, node in enumerate(members):
        for key in ("engine-cpu", "memory", "evictions", "connections", "replication-lag"):
            assert a[f"redis-{i}-{key}"].input("dimensions") == {"CacheClusterId": node}
    assert a["redis-0-memory"].input("threshold") == 90


def test_edge_alarms(production):
    a = alarms(production)
    dist = production.named("cdn-distribution").outputs["id"]
    for key in ("cdn-5xx", "cdn-4xx"):
        assert a[key].input("region") == "us-east-1" or a[key].input("region") is None
        assert a[key].input("dimensions") == {"DistributionId": dist, "Region": "Global"}
    p95 = a["alb-p95"]
    assert (p95.input("extendedStatistic"), p95.input("threshold"), p95.input("statistic")) == ("p95", 1, None)
    assert p95.input("dimensions") == {"LoadBalancer": production.named("app-alb").outputs["arnSuffix"]}
    assert a["alb-unhealthy"].input("dimensions")["TargetGroup"] == production.named("app-tg").outputs["arnSuffix"]
    check = production.named("alarms-uptime-check")
    assert (check.input("fqdn"), check.input("resourcePath"), check.input("type")) == \
        ("example.com", "/api/health", "HTTPS")
    assert a["uptime"].input("dimensions") == {"HealthCheckId": check.outputs["id"]}


def test_alarms_outside_us_east_1_get_a_us_east_1_topic():
    g = example_graph("generic-guide")  # eu-west-1; the uptime check's metric lives in us-east-1
    a = alarms(g)
    assert a["uptime"].input("region") == "us-east-1"
    assert a["uptime"].input("alarmActions") == [topic_in(g, "us-east-1")]
    assert a["db-primary-cpu"].input("region") is None
    assert a["db-primary-cpu"].input("alarmActions") == [topic_in(g, "eu-west-1")]


def test_topic_is_encrypted_with_a_key_cloudwatch_and_budgets_may_use(production):
    topic = production.named("alarms-topic")
    key = production.named("alarms-topic-key")
    assert topic.input("kmsMasterKeyId") == key.outputs["arn"]
    principals = [s["Principal"] for s in json.loads(key.input("policy"))["Statement"]]
    assert {"Service": ["cloudwatch.amazonaws.com", "budgets.amazonaws.com"]} in principals
    assert key.input("enableKeyRotation") is True


def test_budget_alerts_at_80_100_150_percent(production):
    budget = production.named("alarms-budget")
    assert (budget.input("limitAmount"), budget.input("timeUnit")) == ("1500", "MONTHLY")
    assert sorted((n["threshold"], n["notificationType"]) for n in budget.input("notifications")) == [
        (80, "ACTUAL"), (100, "ACTUAL"), (100, "FORECASTED"), (150, "ACTUAL")]
    assert budget.input("costFilters") == [{"name": "TagKeyValue", "values": ["user:Stack$production"]}]
    assert not evaluate(budgetMonthlyUsd="0").of_type("aws:budgets/budget:Budget")


def test_dashboard_draws_every_alarm(any_stack):
    body = json.loads(any_stack.named("alarms-dashboard").input("dashboardBody"))
    # and, with scheduled backup jobs, one for their task-failure rule (an EventBridge rule, not an alarm)
    rules = any_stack.of_type("aws:cloudwatch/eventRule:EventRule")
    assert len(body["widgets"]) == len(alarms(any_stack)) + len(rules)


def test_physical_names_come_from_the_name_prefix(any_stack):
    # __main__.py passes name_prefix=<project>-<stack>: one dashboard per stack in an account.
    assert any_stack.named("alarms-dashboard").input("dashboardName") == f"platform-{any_stack.stack}"


def test_alarms_args_refuse_an_empty_name_prefix():
    from components.alarms import AlarmsArgs

    with pytest.raises(InvalidArgs) as info:
        AlarmsArgs(ObservabilitySettings(), {}, "us-east-1", name_prefix="")
    assert [p.field for p in info.value.problems] == ["name_prefix"]


def test_thresholds_are_overridable_by_name():
    g = evaluate(alarmThresholds=["dbCpuPercent=90", "albP95ResponseSeconds=0.5"])
    a = alarms(g)
    assert a["db-primary-cpu"].input("threshold") == 90
    assert a["db-replica-0-cpu"].input("threshold") == 90
    assert a["alb-p95"].input("threshold") == 0.5


def test_bad_threshold_names_and_values_are_refused():
    msg = config_error(alarmThresholds=["dbCpu=90", "redisMemoryPercent=150"])
    assert "alarmThresholds = ('dbCpu=90', 'redisMemoryPercent=150'): must be one of dbCpuPercent" in msg
    assert "redisMemoryPercent must be a number from 1 to 100" in msg


@pytest.mark.parametrize("kwargs, field", [
    ({"alarm_emails": ("not-an-email",)}, "alarm_emails"),
    ({"alarm_webhook_urls": ("http://hooks.example.com",)}, "alarm_webhook_urls"),
    ({"alarm_thresholds": ("dbCpuPercent",)}, "alarm_thresholds"),
    ({"budget_monthly_usd": -5}, "budget_monthly_usd"),
])
def test_settings_refuse(kwargs, field):
    with pytest.raises(InvalidArgs) as info:
        ObservabilitySettings(**kwargs)
    assert [p.field for p in info.value.problems] == [field]


def test_every_threshold_default_is_in_its_range():
    for name, (default, lo, hi, _) in THRESHOLDS.items():
        assert lo <= default <= hi, name


# ---- chat: webhooks that never confirm an SNS subscription, and Slack through AWS Chatbot ------
@pytest.mark.parametrize("url, what", [
    ("https://hooks.slack.com/services/T000/B000/XXXX", "a Slack incoming webhook"),
    ("https://contoso.webhook.office.com/webhookb2/abc@def/IncomingWebhook/123/456", "a Microsoft Teams"),
    ("https://outlook.office.com/webhook/abc/IncomingWebhook/def", "a Microsoft Teams"),
    ("https://discord.com/api/webhooks/123/abc", "a Discord webhook"),
])
def test_chat_webhooks_that_never_confirm_are_refused(url, what):
    msg = config_error("production", alarmWebhookUrls=[url])
    assert msg.count("\n  - ") == 1, msg
    assert f"alarmWebhookUrls = ('{url}',): is {what}" in msg
    assert "never confirm an SNS subscription" in msg
    if "slack" in url:
        assert "alarmSlackTeamId and alarmSlackChannelId" in msg


def test_webhooks_that_confirm_are_still_subscribed():
    g = evaluate("production", alarmWebhookUrls=["https://events.pagerduty.com/integration/abc/enqueue"])
    hook = g.named("alarms-webhook-0")
    assert (hook.input("protocol"), hook.input("endpoint")) == \
        ("https", "https://events.pagerduty.com/integration/abc/enqueue")


def test_slack_ids_are_validated_and_go_together():
    msg = config_error("production", alarmSlackTeamId="T00000000", alarmSlackChannelId="#alerts")
    assert "alarmSlackChannelId = '#alerts': must be the Slack channel id" in msg
    msg = config_error("production", alarmSlackChannelId="C00000000")
    assert "alarmSlackTeamId = '': must be the Slack workspace id" in msg


def test_slack_channel_gets_every_topic_through_chatbot():
    g = example_graph("contribux")
    endpoints = [s.input("endpoint") for s in g.of_type("aws:sns/topicSubscription:TopicSubscription")]
    assert not [e for e in endpoints if "hooks.slack.com" in e]
    slack = g.named("alarms-slack")
    assert (slack.input("slackTeamId"), slack.input("slackChannelId")) == ("T00000000", "C00000000")
    topics = sorted(t.outputs["arn"] for t in g.of_type("aws:sns/topic:Topic"))
    assert len(topics) == 2  # us-east-1 (the stack's) and us-west-2 (the DR replica's alarms)
    assert sorted(slack.input("snsTopicArns")) == topics
    # The Chatbot API has no us-east-1 endpoint; the global configuration is managed via us-west-2.
    assert slack.input("region") == "us-west-2"
    role = g.named("alarms-chatbot-role")
    assert slack.input("iamRoleArn") == role.outputs["arn"]
    trust = json.loads(role.input("assumeRolePolicy"))["Statement"]
    assert [s["Principal"] for s in trust] == [{"Service": "chatbot.amazonaws.com"}]
    read_only = "arn:aws:iam::aws:policy/CloudWatchReadOnlyAccess"
    assert slack.input("guardrailPolicyArns") == [read_only]  # not the AdministratorAccess default
    assert g.named("alarms-chatbot-read").input("policyArn") == read_only
    assert slack.input("configurationName") == "platform-production-alarms"


def test_chatbot_uses_the_stacks_region_where_it_has_an_endpoint():
    g = example_graph("generic-guide")  # eu-west-1
    assert not g.of_type("aws:chatbot/slackChannelConfiguration:SlackChannelConfiguration")
    g = evaluate(example="generic-guide", alarmSlackTeamId="T0123ABCD", alarmSlackChannelId="C0123ABCD")
    assert g.named("alarms-slack").input("region") == "eu-west-1"


def test_chatbot_configuration_name_fits_the_api_for_any_stack_name():
    from conftest import config_of

    from offline.evaluate import run

    raw, secret = config_of("production", example="contribux")
    g = run(raw, secret, "prod.eu-1", preview=False)  # Pulumi stack names may hold '.'
    # botocore chatbot ConfigurationName: [A-Za-z0-9-_]+, 1 to 128.
    assert g.named("alarms-slack").input("configurationName") == "platform-prod-eu-1-alarms"
    # botocore cloudwatch DashboardName: A-Z, a-z, 0-9, '-' and '_' (the mock refuses others)
    assert g.named("alarms-dashboard").input("dashboardName") == "platform-prod-eu-1"

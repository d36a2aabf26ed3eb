"""The scheduled backup jobs (components/backup_jobs.py) and their signals (components/alarms.py) in
every stack and example, under the mocks: schedules, task definitions, roles statement by statement,
alarms, the task-failure rule (its pattern run against sample ECS events), the dashboard, the cost
lines; the config checks; and the AWS limits the mocks enforce for them."""

from __future__ import annotations

import json

import pytest
from conftest import EXAMPLES, config_error, evaluate, example_graph, stack_graph

from components.backup_jobs import cron_problem
from offline import mocks
from offline.cost import estimate

WITH_DATABASE = [("stack", "staging"), ("stack", "production")] + [
    ("example", e) for e in EXAMPLES if e != "group-spaces"]
CONTRACT_ENV = {"PLATFORM_STACK", "AWS_REGION", "BACKUP_BUCKET", "BACKUP_KMS_KEY_ARN", "METRICS_NAMESPACE",
                "PGSSLMODE", "BACKUP_MAX_AGE_HOURS"}


def _graph(kind: str, name: str):
    return stack_graph(name) if kind == "stack" else example_graph(name)


def _by_name(graph, typ: str) -> dict:
    return {r.name: r for r in graph.of_type(typ)}


def _statements(graph, role: str) -> list[dict]:
    policy = _by_name(graph, "aws:iam/rolePolicy:RolePolicy")[f"{role}-policy"]
    return json.loads(policy.input("policy"))["Statement"]


def _containers(task) -> list[dict]:
    return json.loads(task.input("containerDefinitions"))


@pytest.fixture(params=WITH_DATABASE, ids=[n for _, n in WITH_DATABASE])
def graph(request):
    return _graph(*request.param)


# ---- schedules -------------------------------------------------------------------------------------
def test_three_schedules_run_their_task_in_private_subnets(graph):
    schedules = _by_name(graph, "aws:scheduler/schedule:Schedule")
    tasks = _by_name(graph, "aws:ecs/taskDefinition:TaskDefinition")
    ops_sg = _by_name(graph, "aws:ec2/securityGroup:SecurityGroup")["network-ops-sg"].outputs["id"]
    private = {s.outputs["id"] for s in graph.of_type("aws:ec2/subnet:Subnet") if "private" in s.name
               and not s.name.startswith("dr-")}
    assert set(schedules) == {"backup-jobs-daily", "backup-jobs-weekly", "backup-jobs-drill"}
    for job, schedule in schedules.items():
        target = schedule.input("target")
        ecs = target["ecsParameters"]
        assert ecs["taskDefinitionArn"] == tasks[job].outputs["arn"]  # each schedule its own job's task
        assert ecs["launchType"] == "FARGATE" and ecs["taskCount"] == 1
        assert ":cluster/" in target["arn"] and "input" not in target  # no overrides: the command is in the task
        net = ecs["networkConfiguration"]
        assert net["assignPublicIp"] is False and net["securityGroups"] == [ops_sg]
        assert set(net["subnets"]) == private
        assert schedule.input("flexibleTimeWindow") == {"mode": "OFF"}
        assert target["retryPolicy"] == {"maximumEventAgeInSeconds": 3600, "maximumRetryAttempts": 10}
        assert cron_problem(schedule.input("scheduleExpression")) is None


def test_schedules_follow_the_seeds_and_stay_disabled_without_an_image():
    g = stack_graph("production")
    schedules = _by_name(g, "aws:scheduler/schedule:Schedule")
    assert {j: (s.input("scheduleExpression"), s.input("scheduleExpressionTimezone")) for j, s in schedules.items()} == {
        "backup-jobs-daily": ("cron(0 2 * * ? *)", "UTC"), "backup-jobs-weekly": ("cron(0 1 ? * SUN *)", "UTC"),
        "backup-jobs-drill": ("cron(30 3 * * ? *)", "UTC")}
    assert {s.input("state") for s in schedules.values()} == {"DISABLED"}
    assert all(s.input("description").startswith("PENDING: no ops image yet") for s in schedules.values())
    spark = _by_name(example_graph("project-spark"), "aws:scheduler/schedule:Schedule")
    assert spark["backup-jobs-weekly"].input("scheduleExpression") == "cron(0 3 ? * SUN *)"  # seed 002


def test_an_image_tag_enables_the_schedules_and_pins_the_image():
    g = evaluate("production", backupImageTag="ops-2026.11.1", backupTimeZone="Europe/Berlin")
    schedules = g.of_type("aws:scheduler/schedule:Schedule")
    assert {(s.input("state"), s.input("scheduleExpressionTimezone")) for s in schedules} == {("ENABLED", "Europe/Berlin")}
    repo = _by_name(g, "aws:ecr/repository:Repository")["backup-jobs-repo"].outputs["repositoryUrl"]
    for task in g.of_type("aws:ecs/taskDefinition:TaskDefinition"):
        if task.name.startswith("backup-jobs-"):
            assert _containers(task)[0]["image"] == f"{repo}:ops-2026.11.1"


# ---- task definitions ------------------------------------------------------------------------------
def test_task_definitions_carry_the_contract(graph):
    tasks = _by_name(graph, "aws:ecs/taskDefinition:TaskDefinition")
    secret = _by_name(graph, "aws:secretsmanager/secret:Secret")["postgres-credentials"].outputs["arn"]
    commands = {}
    for job in ("daily", "weekly", "drill"):
        task = tasks[f"backup-jobs-{job}"]
        (c,) = _containers(task)
        commands[job] = c["command"]
        env = {e["name"]: e["value"] for e in c["environment"]}
        assert set(env) == CONTRACT_ENV
        assert env["METRICS_NAMESPACE"] == "Platform/Backups" and env["PGSSLMODE"] == "verify-full"
        assert env["BACKUP_MAX_AGE_HOURS"] == "26" and env["PLATFORM_STACK"] == graph.stack
        assert c["secrets"] == [{"name": "DATABASE_CREDENTIALS", "valueFrom": secret}]
        assert c["readonlyRootFilesystem"] is True and c["user"] == "10001"
        assert c["mountPoints"] == [{"sourceVolume": "tmp", "containerPath": "/tmp", "readOnly": False}]
        assert task.input("volumes") == [{"name": "tmp"}]
        assert task.input("requiresCompatibilities") == ["FARGATE"] and task.input("networkMode") == "awsvpc"
        assert task.input("runtimePlatform")["cpuArchitecture"] == "X86_64"
        assert c["logConfiguration"]["options"]["awslogs-group"] == _by_name(
            graph, "aws:cloudwatch/logGroup:LogGroup")["backup-jobs-logs"].outputs["name"]
    assert commands == {"daily": ["backup"], "weekly": ["backup", "--weekly"], "drill": ["drill"]}


def test_a_scratch_server_reaches_only_the_drill():
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:scratch-AbCdEf"
    g = evaluate("production", backupScratchSecretArn=arn)
    tasks = _by_name(g, "aws:ecs/taskDefinition:TaskDefinition")
    assert {"name": "SCRATCH_DATABASE_CREDENTIALS", "valueFrom": arn} in _containers(tasks["backup-jobs-drill"])[0]["secrets"]
    assert len(_containers(tasks["backup-jobs-daily"])[0]["secrets"]) == 1
    read = next(s for s in _statements(g, "backup-jobs-execution-role") if s["Sid"] == "ReadDatabaseSecrets")
    assert arn in read["Resource"]
    egress = _by_name(g, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")["backup-jobs-to-scratch"]
    assert (egress.input("fromPort"), egress.input("cidrIpv4")) == (5432, "10.0.0.0/16")


# ---- roles -----------------------------------------------------------------------------------------
def _no_wildcard_actions(statements: list[dict]) -> None:
    for s in statements:
        actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
        assert all("*" not in a for a in actions), s


def test_task_roles_are_scoped_to_the_bucket_prefixes_key_and_namespace(graph):
    bucket = _by_name(graph, "aws:s3/bucket:Bucket")["backups-bucket"].outputs["arn"]
    key = _by_name(graph, "aws:kms/key:Key")["backups-key"].outputs["arn"]
    objects = [f"{bucket}/daily/*", f"{bucket}/weekly/*"]
    for role, s3, kms in (
            ("backup-jobs-backup-role", ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject",
                                         "s3:AbortMultipartUpload", "s3:DeleteObjectVersion"],
             ["kms:GenerateDataKey", "kms:Decrypt"]),
            ("backup-jobs-drill-role", ["s3:GetObject", "s3:GetObjectVersion"], ["kms:Decrypt"])):
        st = {s["Sid"]: s for s in _statements(graph, role)}
        assert set(st) == {"Backups", "ListBackups", "BackupKey", "PublishMetrics"}
        assert (st["Backups"]["Action"], st["Backups"]["Resource"]) == (s3, objects)
        assert (st["ListBackups"]["Resource"], st["ListBackups"]["Condition"]) == (
            bucket, {"StringLike": {"s3:prefix": ["daily/*", "weekly/*"]}})
        assert (st["BackupKey"]["Action"], st["BackupKey"]["Resource"]) == (kms, key)
        # PutMetricData takes no resource: the namespace condition is its scope.
        assert st["PublishMetrics"]["Condition"] == {"StringEquals": {"cloudwatch:namespace": "Platform/Backups"}}
        _no_wildcard_actions(list(st.values()))


def test_execution_and_scheduler_roles_are_least_privilege(graph):
    repo = _by_name(graph, "aws:ecr/repository:Repository")["backup-jobs-repo"].outputs["arn"]
    db = graph.stack and _by_name(graph, "aws:secretsmanager/secret:Secret")["postgres-credentials"].outputs["arn"]
    ex = {s["Sid"]: s for s in _statements(graph, "backup-jobs-execution-role")}
    assert ex["PullOpsImage"]["Resource"] == repo
    assert ex["ReadDatabaseSecrets"]["Resource"] == [db]
    assert ex["WriteJobLogs"]["Resource"].endswith(":log-group:" + _by_name(
        graph, "aws:cloudwatch/logGroup:LogGroup")["backup-jobs-logs"].outputs["name"] + ":log-stream:*")
    # The one unscoped statement is the one ECR cannot scope.
    assert [s["Sid"] for s in ex.values() if s["Resource"] == "*"] == ["RegistryLogin"]
    sch = {s["Sid"]: s for s in _statements(graph, "backup-jobs-scheduler-role")}
    project = f"platform-{graph.stack}"
    assert sch["RunBackupJobs"]["Action"] == "ecs:RunTask"
    assert [r.rsplit("/", 1)[1] for r in sch["RunBackupJobs"]["Resource"]] == [
        f"{project}-backup-{j}:*" for j in ("daily", "weekly", "drill")]
    cluster = graph.of_type("aws:scheduler/schedule:Schedule")[0].input("target")["arn"]
    assert sch["RunBackupJobs"]["Condition"] == {"ArnEquals": {"ecs:cluster": cluster}}
    roles = _by_name(graph, "aws:iam/role:Role")
    assert sch["PassJobRoles"]["Resource"] == [roles[f"backup-jobs-{r}-role"].outputs["arn"]
                                               for r in ("execution", "backup", "drill")]
    assert sch["PassJobRoles"]["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}
    key = _by_name(graph, "aws:kms/key:Key")["backup-jobs-key"].outputs["arn"]
    assert (sch["DecryptSchedules"]["Action"], sch["DecryptSchedules"]["Resource"]) == ("kms:Decrypt", key)
    assert {s.input("kmsKeyArn") for s in graph.of_type("aws:scheduler/schedule:Schedule")} == {key}
    trust = json.loads(roles["backup-jobs-scheduler-role"].input("assumeRolePolicy"))["Statement"][0]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": mocks.ACCOUNT}}
    _no_wildcard_actions(list(ex.values()) + list(sch.values()))


def test_the_app_cluster_runs_the_jobs_when_there_is_one():
    for g, own in ((stack_graph("production"), False), (example_graph("study-sphere"), True)):
        clusters = _by_name(g, "aws:ecs/cluster:Cluster")
        assert ("backup-jobs-cluster" in clusters) is own
        expected = clusters["backup-jobs-cluster" if own else "app-cluster"].outputs["arn"]
        assert {s.input("target")["arn"] for s in g.of_type("aws:scheduler/schedule:Schedule")} == {expected}


def test_the_database_admits_the_ops_group_only_on_5432(graph):
    rules = _by_name(graph, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    groups = _by_name(graph, "aws:ec2/securityGroup:SecurityGroup")
    rule = rules["network-db-from-ops"]
    assert rule.input("securityGroupId") == groups["network-db-sg"].outputs["id"]
    assert rule.input("referencedSecurityGroupId") == groups["network-ops-sg"].outputs["id"]
    assert (rule.input("fromPort"), rule.input("toPort")) == (5432, 5432)
    egress = {r.name: r for r in graph.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
              if r.input("securityGroupId") == groups["network-ops-sg"].outputs["id"]}
    assert {(r.input("fromPort"), r.input("cidrIpv4") or "db") for r in egress.values()} == {(5432, "db"), (443, "0.0.0.0/0")}


# ---- alarms, the failure rule, the dashboard ---------------------------------------------------------
def test_staleness_alarms_fire_when_nothing_reports(graph):
    alarms = _by_name(graph, "aws:cloudwatch/metricAlarm:MetricAlarm")
    topic = _by_name(graph, "aws:sns/topic:Topic")["alarms-topic"].outputs["arn"]
    for key, metric, comparison, stat in (("backup-age", "BackupAgeHours", "GreaterThanThreshold", "Minimum"),
                                          ("backup-drill", "DrillSucceeded", "LessThanThreshold", "Maximum")):
        a = alarms[f"alarms-{key}"]
        assert (a.input("namespace"), a.input("metricName"), a.input("statistic")) == ("Platform/Backups", metric, stat)
        assert a.input("dimensions") == {"Stack": graph.stack}
        assert a.input("comparisonOperator") == comparison
        assert a.input("threshold") == (26 if key == "backup-age" else 1)
        # An hour without data breaches: 26 such hours (no job ran) alarm.
        assert a.input("treatMissingData") == "breaching"
        assert (a.input("period"), a.input("evaluationPeriods"), a.input("datapointsToAlarm")) == (3600, 26, 26)
        assert a.input("alarmActions") == [topic]


def _matches(pattern: dict, event: dict) -> bool:
    """EventBridge's matching for the operators the rule uses (EventBridge User Guide, "Event
    patterns" and "Comparison operators"): every key must match (AND), `$or` takes any of its
    patterns, a nested map descends, a list holds alternatives; an array in the event matches when
    any element does; a missing field matches nothing."""
    for key, want in pattern.items():
        if key == "$or":
            if not any(_matches(p, event) for p in want):
                return False
            continue
        if key not in event:
            return False
        have = event[key]
        items = have if isinstance(have, list) else [have]
        if isinstance(want, dict):
            if not any(isinstance(i, dict) and _matches(want, i) for i in items):
                return False
        elif not any(_leaf(w, i) for w in want for i in items):
            return False
    return True


def _leaf(want, value) -> bool:
    if isinstance(want, dict) and "anything-but" in want:
        but = want["anything-but"]
        return value not in (but if isinstance(but, list) else [but])
    if isinstance(want, dict):
        raise AssertionError(f"matcher does not implement {want}")
    return want == value and type(want) is type(value)


def _event(cluster: str, family: str, *, status="STOPPED", exit_codes=(1,), stop_code="EssentialContainerExited"):
    containers = [{"name": "ops", **({"exitCode": c} if c is not None else {})} for c in exit_codes]
    return {"source": "aws.ecs", "detail-type": "ECS Task State Change", "detail": {
        "clusterArn": cluster, "group": f"family:{family}", "lastStatus": status, "stopCode": stop_code,
        "containers": containers}}


def test_the_failure_rule_matches_failed_job_tasks_only(graph):
    rule = _by_name(graph, "aws:cloudwatch/eventRule:EventRule")["alarms-backup-task-failed"]
    pattern = json.loads(rule.input("eventPattern"))
    cluster = graph.of_type("aws:scheduler/schedule:Schedule")[0].input("target")["arn"]
    family = f"platform-{graph.stack}-backup-daily"
    assert _matches(pattern, _event(cluster, family, exit_codes=(1,)))
    assert _matches(pattern, _event(cluster, f"platform-{graph.stack}-backup-drill", exit_codes=(2,)))
    assert _matches(pattern, _event(cluster, family, exit_codes=(None,), stop_code="TaskFailedToStart"))
    assert not _matches(pattern, _event(cluster, family, exit_codes=(0,)))
    assert not _matches(pattern, _event(cluster, family, status="RUNNING"))
    assert not _matches(pattern, _event(cluster, f"platform-{graph.stack}-app", exit_codes=(1,)))
    assert not _matches(pattern, _event(cluster + "-other", family, exit_codes=(1,)))
    target = _by_name(graph, "aws:cloudwatch/eventTarget:EventTarget")["alarms-backup-task-failed-topic"]
    topic = _by_name(graph, "aws:sns/topic:Topic")["alarms-topic"]
    assert target.input("arn") == topic.outputs["arn"] and target.input("rule") == rule.outputs["name"]
    assert "Scheduled backups" in target.input("inputTransformer")["inputTemplate"]


def test_eventbridge_may_publish_to_the_encrypted_topic(graph):
    """Without both grants EventBridge's deliveries to the KMS-encrypted topic fail (FailedInvocations)."""
    policy = json.loads(_by_name(graph, "aws:sns/topicPolicy:TopicPolicy")["alarms-topic-policy"].input("policy"))
    rule = _by_name(graph, "aws:cloudwatch/eventRule:EventRule")["alarms-backup-task-failed"].outputs["arn"]
    (grant,) = [s for s in policy["Statement"] if s.get("Principal") == {"Service": "events.amazonaws.com"}]
    assert grant["Action"] == "sns:Publish" and grant["Condition"] == {"ArnEquals": {"aws:SourceArn": rule}}
    key = json.loads(_by_name(graph, "aws:kms/key:Key")["alarms-topic-key"].input("policy"))
    events = next(s for s in key["Statement"] if s["Sid"] == "BackupFailuresEncrypt")
    assert events["Principal"] == {"Service": "events.amazonaws.com"}
    assert events["Action"] == ["kms:Decrypt", "kms:GenerateDataKey*"]


def test_the_dashboard_shows_the_backup_signals(graph):
    body = json.loads(_by_name(graph, "aws:cloudwatch/dashboard:Dashboard")["alarms-dashboard"].input("dashboardBody"))
    metrics = [w["properties"]["metrics"][0][:2] for w in body["widgets"]]
    assert ["Platform/Backups", "BackupAgeHours"] in metrics and ["Platform/Backups", "DrillSucceeded"] in metrics
    assert ["AWS/Events", "TriggeredRules"] in metrics


def test_group_spaces_has_no_jobs_and_says_why():
    g = example_graph("group-spaces")
    (component,) = g.of_type("platform:ops:BackupJobs")
    assert "database is external" in component.input("skipped")
    assert g.children(component.urn) == []
    for typ in ("aws:scheduler/schedule:Schedule", "aws:cloudwatch/eventRule:EventRule"):
        assert g.of_type(typ) == []
    assert not any("ops" in r.name for r in g.of_type("aws:ec2/securityGroup:SecurityGroup"))


def test_preview_knows_the_schedules_and_roles():
    g = evaluate("production", preview=True)
    for s in g.of_type("aws:scheduler/schedule:Schedule"):
        assert s.input("scheduleExpression") and s.input("state") == "DISABLED"
    assert len(g.of_type("aws:ecs/taskDefinition:TaskDefinition")) == 4


def test_cost_lines():
    lines = {line.name: line for line in estimate(stack_graph("production")).lines}
    daily = lines["backup-jobs-daily"]
    assert daily.kind == "usage" and "14 million invocations a month free" in daily.usage
    assert "30.4 runs/month" in daily.basis and "0.5 vCPU/1 GB X86_64 Fargate task at $0.02" in daily.basis
    assert "4.35 runs/month" in lines["backup-jobs-weekly"].basis
    assert lines["backup-jobs-repo"].kind == "usage"
    assert lines["alarms-backup-task-failed"].kind == "free" and lines["backup-jobs-schedules"].kind == "free"
    assert lines["alarms-backup-age"].kind == "priced" and lines["alarms-backup-age"].monthly == 0.1


# ---- configuration ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("key", "value", "said"), [
    ("backupDailyCron", "0 2 * * *", "must be cron(minutes hours day-of-month month day-of-week year)"),
    ("backupDailyCron", "cron(0 2 * * *)", "has 5 fields, EventBridge Scheduler takes six"),
    ("backupWeeklyCron", "cron(0 1 * * SUN *)", "needs ? in exactly one of day-of-month and day-of-week"),
    ("backupDrillCron", "cron(30 25 * * ? *)", "hours '25' is not valid (0-23"),
    ("backupWeeklyCron", "cron(0 1 ? * sun *)", "day-of-week 'sun' is not valid"),
    ("backupTimeZone", "CET+1", "must be an IANA time zone name"),
    ("backupImageTag", "latest:1", "must be a Docker tag"),
    ("backupTaskMemoryMb", "512", "must be one of Fargate's sizes for 512 CPU units"),
    ("backupScratchSecretArn", "scratch", "must be a Secrets Manager secret ARN"),
])
def test_a_bad_value_is_one_clear_error(key, value, said):
    message = config_error("production", **{key: value})
    assert "(1 problem)" in message and f"  - {key} = " in message and said in message, message
    assert f"pulumi config set {key} <value> --stack production" in message


def test_job_keys_without_a_database_are_refused():
    message = config_error(example="group-spaces", backupDailyCron="cron(0 4 * * ? *)")
    assert "backupDailyCron" in message and "has no effect unless postgresEnabled and backupBucketEnabled" in message


@pytest.mark.parametrize("expression", ["cron(0 2 * * ? *)", "cron(0 1 ? * SUN *)", "cron(15 */6 ? * MON-FRI *)",
                                        "cron(0 3 L * ? *)", "cron(0 3 ? * 6#3 *)", "cron(0,30 1-3 1,15 JAN-JUN ? 2026-2030)"])
def test_valid_scheduler_crons_pass(expression):
    assert cron_problem(expression) is None


# ---- what the mocks refuse, as AWS does -------------------------------------------------------------
@pytest.mark.parametrize(("inputs", "error"), [
    ({"name": "a", "period": 300, "evaluationPeriods": 312}, "exceeds 86400 s"),  # 26 h in 5-minute periods
    ({"name": "a", "period": 3600, "evaluationPeriods": 169}, "exceeds 604800 s"),
    ({"name": "a", "period": 90, "evaluationPeriods": 1}, "multiple of 60"),
    ({"name": "a", "period": 60, "evaluationPeriods": 2, "datapointsToAlarm": 3}, "DatapointsToAlarm"),
])
def test_alarm_limits(inputs, error):
    with pytest.raises(ValueError, match=error):
        mocks.computed("aws:cloudwatch/metricAlarm:MetricAlarm", "a", inputs, "us-east-1")
    ok = {**inputs, "period": 3600, "evaluationPeriods": 26, "datapointsToAlarm": 26}
    assert mocks.computed("aws:cloudwatch/metricAlarm:MetricAlarm", "a", ok, "us-east-1")[0] == "a"


def test_schedule_and_task_limits():
    target = {"arn": "arn:aws:ecs:us-east-1:123456789012:cluster/ops", "ecsParameters": {
        "launchType": "FARGATE", "networkConfiguration": {"subnets": ["subnet-1"]}}}
    good = {"name": "backup-jobs-daily-abc1234", "groupName": "g", "flexibleTimeWindow": {"mode": "OFF"},
            "target": target}
    rid, out = mocks.computed("aws:scheduler/schedule:Schedule", "s", good, "us-east-1")
    assert out["arn"] == f"arn:aws:scheduler:us-east-1:{mocks.ACCOUNT}:schedule/g/backup-jobs-daily-abc1234"
    for bad, error in (({"name": "backup jobs"}, "schedule name"),
                       ({"target": {**target, "arn": "arn:aws:sqs:us-east-1:1:q"}}, "cluster ARN"),
                       ({"scheduleExpressionTimezone": "x" * 51}, "1-50")):
        with pytest.raises(ValueError, match=error):
            mocks.computed("aws:scheduler/schedule:Schedule", "s", {**good, **bad}, "us-east-1")
    with pytest.raises(ValueError, match="No Fargate configuration"):
        mocks.computed("aws:ecs/taskDefinition:TaskDefinition", "t", {
            "family": "f", "requiresCompatibilities": ["FARGATE"], "cpu": "512", "memory": "512"}, "us-east-1")


def test_without_nat_the_jobs_are_absent_and_the_plan_says_why():
    g = evaluate(example="study-sphere", natGateways="none")
    (component,) = g.of_type("platform:ops:BackupJobs")
    assert "natGateways is none" in component.input("skipped") and g.children(component.urn) == []
    assert not g.of_type("aws:scheduler/schedule:Schedule")


# ---- the task definitions against the job they run (ops/job.py) ------------------------------------
def test_each_task_definition_starts_its_job_as_the_ops_entrypoint_reads_it():
    """The two halves of issue 16 meet here: each task's command parses as `python -m ops job …`
    (the image's ENTRYPOINT) and its environment, with ECS's secrets injected as the RDS secret
    JSON, is complete for that job (ops/job.py Target.read and JobEnv.read raise on a missing or bad
    variable, which in a real task is exit 2 and a failed backup)."""
    from ops.__main__ import _parser
    from ops.job import JobEnv, Target

    secret = json.dumps({"engine": "postgres", "username": "u", "password": "p", "host": "h", "port": 5432,
                         "dbname": "app"})
    tasks = [t for t in stack_graph("production").of_type("aws:ecs/taskDefinition:TaskDefinition")
             if t.name.startswith("backup-jobs-")]
    assert len(tasks) == 3
    for task in tasks:
        (container,) = _containers(task)
        args = _parser().parse_args(["job", *container["command"]])
        env = {e["name"]: e["value"] for e in container["environment"]}
        env.update({s["name"]: secret for s in container["secrets"]})
        assert Target.read(env).stack == "production"
        job = JobEnv.read(env, args.job)
        assert job.bucket and job.database.describe()

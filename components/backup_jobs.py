"""Scheduled backups: the daily dump, the weekly copy and the restore drill as Fargate tasks that
EventBridge Scheduler starts in the private subnets (`python -m ops job`, ops/Dockerfile; the
interface is /work/prompts/contract16.md's: commands, environment, secrets, metrics).

One task definition per job, each with its own `command`: Scheduler's templated ECS target
(EcsParameters, botocore scheduler 2021-06-30) has no `overrides` member, and what it does with
Target.Input for ECS is documented only for Lambda, Step Functions and EventBridge targets
(terraform-provider-aws#34057 asks for exactly that field). A command baked into the task
definition needs neither, and `aws ecs run-task` starts the same job by family.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import pulumi
import pulumi_aws as aws

from components._common import (
    Statement,
    assume_role_policy,
    ecr_repository,
    encrypted_log_group,
    json_output,
    kms_key,
    logs_key_policy,
    partition_and_account,
    regional_arn,
)
from components._validation import Checker, bounded, choice
from components.alarm_targets import BackupTarget
from components.app import NO_IMAGE_TAG
from components.backup_bucket import DAILY_PREFIX, WEEKLY_PREFIX

TYPE = "platform:ops:BackupJobs"
CONTAINER = "ops"
METRICS_NAMESPACE = "Platform/Backups"  # contract16: the jobs publish here, the task role may only publish here
MAX_AGE_HOURS = 26  # contract16 BACKUP_MAX_AGE_HOURS: a daily backup plus two hours of slack
OPS_UID = "10001"  # contract16: the image's non-root user
# Fargate's CPU units and the memory (MiB) each allows (Amazon ECS Developer Guide, "Task CPU and
# memory": 256 -> 512/1024/2048; 512 -> 1-4 GiB; 1024 -> 2-8 GiB; 2048 -> 4-16 GiB; 4096 -> 8-30 GiB).
FARGATE_MEMORY = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4097, 1024)),
    1024: tuple(range(2048, 8193, 1024)),
    2048: tuple(range(4096, 16385, 1024)),
    4096: tuple(range(8192, 30721, 1024)),
}
# (job, container command): contract16's three commands.
JOBS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("daily", ("backup",)),
    ("weekly", ("backup", "--weekly")),
    ("drill", ("drill",)),
)
PENDING = "PENDING"  # a schedule's description starts with this while no image exists (policies/backups.py)
# Scheduler retries a RunTask that fails (no Fargate capacity, throttling) for up to an hour; a task
# that started and failed is the task-failure rule's, not a retry's (botocore scheduler RetryPolicy:
# MaximumEventAgeInSeconds 60-86400, MaximumRetryAttempts 0-185).
RETRY_POLICY: aws.scheduler.ScheduleTargetRetryPolicyArgsDict = {
    "maximum_event_age_in_seconds": 3600, "maximum_retry_attempts": 10}

# ---- EventBridge Scheduler cron expressions ----------------------------------------------------
# EventBridge Scheduler User Guide, "Schedule types on EventBridge Scheduler", cron-based schedules:
# cron(minutes hours day-of-month month day-of-week year); values 0-59, 0-23, 1-31, 1-12 or JAN-DEC,
# 1-7 or SUN-SAT, 1970-2199; wildcards , - * / in every field, ? in day-of-month or day-of-week
# (exactly one of them, "you can't specify both"), L and W in day-of-month, L and # in day-of-week.
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
WEEKDAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
CRON_FIELDS: tuple[tuple[str, int, int, tuple[str, ...]], ...] = (
    ("minutes", 0, 59, ()), ("hours", 0, 23, ()), ("day-of-month", 1, 31, ()), ("month", 1, 12, MONTHS),
    ("day-of-week", 1, 7, WEEKDAYS), ("year", 1970, 2199, ()),
)
_CRON = re.compile(r"^cron\((.*)\)$")
_DOM_SPECIAL = re.compile(r"^(L|LW|([1-9]|[12]\d|3[01])W)$")
_DOW_SPECIAL = re.compile(r"^([1-7]|SUN|MON|TUE|WED|THU|FRI|SAT)(L|#[1-5])$")
CRON_EXAMPLE = "e.g. cron(0 2 * * ? *) for 02:00 daily or cron(0 1 ? * SUN *) for Sundays at 01:00"


def _value_ok(text: str, lo: int, hi: int, names: tuple[str, ...]) -> bool:
    if text.isdigit():
        return lo <= int(text) <= hi
    return text in names


def _item_ok(item: str, lo: int, hi: int, names: tuple[str, ...]) -> bool:
    base, slash, step = item.partition("/")
    if slash and not (step.isdigit() and int(step) >= 1):
        return False
    if base == "*":
        return True
    first, dash, last = base.partition("-")
    if dash:
        return _value_ok(first, lo, hi, names) and _value_ok(last, lo, hi, names)
    return _value_ok(base, lo, hi, names)


def _field_problem(name: str, text: str, lo: int, hi: int, names: tuple[str, ...]) -> str | None:
    if text in ("*", "?") and (text == "*" or name in ("day-of-month", "day-of-week")):
        return None
    for item in text.split(","):
        if name == "day-of-month" and _DOM_SPECIAL.match(item):
            continue
        if name == "day-of-week" and _DOW_SPECIAL.match(item):
            continue
        if not _item_ok(item, lo, hi, names):
            allowed = f"{lo}-{hi}" + (f" or {names[0]}-{names[-1]} (capitals)" if names else "")
            return f"{name} {text!r} is not valid ({allowed}, with , - * /)"
    return None


def cron_problem(expression: str) -> str | None:
    """Why EventBridge Scheduler would refuse `expression` as a cron schedule, or None."""
    m = _CRON.match(expression.strip())
    if m is None:
        return f"must be cron(minutes hours day-of-month month day-of-week year), {CRON_EXAMPLE}"
    fields = m[1].split()
    if len(fields) != len(CRON_FIELDS):
        return (f"has {len(fields)} fields, EventBridge Scheduler takes six (minutes hours day-of-month month "
                f"day-of-week year), {CRON_EXAMPLE}")
    if (fields[2] == "?") == (fields[4] == "?"):
        return f"needs ? in exactly one of day-of-month and day-of-week, {CRON_EXAMPLE}"
    for (name, lo, hi, names), text in zip(CRON_FIELDS, fields, strict=True):
        problem = _field_problem(name, text, lo, hi, names)
        if problem:
            return f"{problem}, {CRON_EXAMPLE}"
    return None


@cache
def time_zones() -> frozenset[str]:
    """IANA time zone names, from the tz database Python reads (the system's or the tzdata package).
    Scheduler evaluates ScheduleExpressionTimezone against the same IANA database (its API documents
    only the length, 1-50 characters: botocore scheduler ScheduleExpressionTimezone)."""
    return frozenset(z for z in zoneinfo.available_timezones() if len(z) <= 50)


_ARN = re.compile(r"^arn:aws[\w-]*:(secretsmanager|kms):[a-z0-9-]+:\d{12}:(secret:|key/)[\w/+=.@-]+$")
_IMAGE_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")  # Docker's tag grammar, as ECR takes it


@dataclass(frozen=True)
class BackupJobsSettings:
    """The jobs' schedules (cron in `time_zone`), image tag, scratch server and task size."""

    time_zone: str = "UTC"
    daily_cron: str = "cron(0 2 * * ? *)"
    weekly_cron: str = "cron(0 1 ? * SUN *)"
    drill_cron: str = "cron(30 3 * * ? *)"
    image_tag: str = ""
    scratch_secret_arn: str = ""
    scratch_kms_key_arn: str = ""
    task_cpu: int = choice(tuple(FARGATE_MEMORY), default=512)
    task_memory_mb: int = bounded(512, 30720, default=1024)
    task_storage_gb: int = bounded(21, 200, default=30)

    def __post_init__(self) -> None:
        c = Checker("backup job settings")
        c.require(self.time_zone in time_zones(), "time_zone", self.time_zone,
                  "must be an IANA time zone name such as UTC, Europe/Berlin or America/New_York")
        for name in ("daily_cron", "weekly_cron", "drill_cron"):
            problem = cron_problem(getattr(self, name))
            c.require(problem is None, name, getattr(self, name), problem or "")
        c.require(self.image_tag == "" or bool(_IMAGE_TAG.match(self.image_tag)), "image_tag", self.image_tag,
                  "must be a Docker tag (letters, digits, _ . -, at most 128, not starting with . or -) or empty")
        c.require(self.scratch_secret_arn == "" or self.scratch_secret_arn.split(":")[2:3] == ["secretsmanager"]
                  and bool(_ARN.match(self.scratch_secret_arn)), "scratch_secret_arn", self.scratch_secret_arn,
                  "must be a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>) or empty")
        c.require(self.scratch_kms_key_arn == "" or self.scratch_kms_key_arn.split(":")[2:3] == ["kms"]
                  and bool(_ARN.match(self.scratch_kms_key_arn)), "scratch_kms_key_arn", self.scratch_kms_key_arn,
                  "must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>) or empty")
        c.require(bool(self.scratch_secret_arn) or not self.scratch_kms_key_arn, "scratch_kms_key_arn",
                  self.scratch_kms_key_arn, "needs scratch_secret_arn (the key decrypts that secret)")
        if c.declared(self, "task_cpu", "task_memory_mb"):
            allowed = FARGATE_MEMORY[self.task_cpu]
            c.require(self.task_memory_mb in allowed, "task_memory_mb", self.task_memory_mb,
                      f"must be one of Fargate's sizes for {self.task_cpu} CPU units: "
                      f"{allowed[0]} to {allowed[-1]} MiB" + (" in steps of 1024" if len(allowed) > 3 else
                                                               f" ({', '.join(map(str, allowed))})"))
        c.declared(self, "task_storage_gb")
        c.raise_if_any()

    @property
    def has_image(self) -> bool:
        return bool(self.image_tag)

    def cron(self, job: str) -> str:
        return {"daily": self.daily_cron, "weekly": self.weekly_cron, "drill": self.drill_cron}[job]


@dataclass(frozen=True)
class BackupJobsArgs:
    #: Schedules, image tag, scratch server and task size (stack config).
    settings: BackupJobsSettings
    #: Tags every taggable child gets.
    tags: dict[str, str]
    #: Prefix of the task definition families, e.g. platform-production ("<family>-backup-daily").
    project: str
    #: The stack's name: PLATFORM_STACK and the metrics' Stack dimension.
    stack: str
    #: The stack's region, e.g. us-east-1 (AWS_REGION of the tasks).
    region: str
    #: The VPC's CIDR: with a scratch server, the tasks may reach 5432 there (the server lives in the VPC).
    vpc_cidr: str
    #: Private subnets the tasks run in (no public IPs; AWS APIs through NAT).
    private_subnet_ids: Sequence[pulumi.Input[str]]
    #: The tasks' security group (components/network.py ops group: 5432 to the database, 443 out).
    security_group_id: pulumi.Input[str]
    #: ARN of the database's master credentials secret (RDS secret format JSON), DATABASE_CREDENTIALS.
    database_secret_arn: pulumi.Input[str]
    #: ARN of the KMS key that encrypts that secret.
    database_kms_key_arn: pulumi.Input[str]
    #: The backup bucket's name (BACKUP_BUCKET).
    bucket_name: pulumi.Input[str]
    #: The backup bucket's KMS key ARN (BACKUP_KMS_KEY_ARN).
    bucket_kms_key_arn: pulumi.Input[str]
    #: PostgreSQL major version of the server: the image's PG_MAJOR build argument (exported).
    postgres_major: int
    #: Name of an existing ECS cluster to run in (the app's); None (default): a cluster of its own.
    cluster_name: pulumi.Input[str] | None = None
    #: Days the job logs are kept; one of CloudWatch's values; default 30.
    log_retention_days: int = 30
    #: The metrics' namespace; default Platform/Backups (contract16).
    metrics_namespace: str = METRICS_NAMESPACE

    def __post_init__(self) -> None:
        c = Checker("backup jobs args")
        c.require(bool(self.stack), "stack", self.stack, "must be non-empty: it is the metrics' Stack dimension")
        c.require(bool(self.private_subnet_ids), "private_subnet_ids", list(self.private_subnet_ids),
                  "must name at least one subnet")
        c.raise_if_any()


class BackupJobs(pulumi.ComponentResource):
    """ECR repository, three Fargate task definitions, their roles, a schedule group with three
    schedules, and what the alarms need to watch them (`alarm_target`)."""

    repository_url: pulumi.Output[str]
    cluster_name: pulumi.Output[str]
    schedule_group_name: pulumi.Output[str]
    log_group_name: pulumi.Output[str]
    task_families: dict[str, str]
    alarm_target: BackupTarget

    def __init__(self, name: str, args: BackupJobsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        s, tags = args.settings, args.tags
        key = kms_key(f"{name}-key", f"{name}: ops images and job logs", tags, self._child,
                      policy=logs_key_policy(self))
        repo = self._repository(name, tags, key)
        logs = encrypted_log_group(f"{name}-logs", retention_days=args.log_retention_days, key=key, tags=tags,
                                   parent=self)
        execution_role = self._execution_role(name, args, repo, logs)
        task_roles = {"backup": self._task_role(name, args, write=True),
                      "drill": self._task_role(name, args, write=False)}
        cluster_name = args.cluster_name if args.cluster_name is not None else self._cluster(name, tags).name
        cluster_arn = regional_arn(self, "ecs", pulumi.Output.concat("cluster/", cluster_name))
        image = pulumi.Output.concat(repo.repository_url, ":", s.image_tag or NO_IMAGE_TAG)
        self.task_families = {job: f"{args.project}-backup-{job}" for job, _ in JOBS}
        tasks = {job: self._task_definition(name, job, command, args, image, logs, execution_role,
                                            task_roles["drill" if job == "drill" else "backup"])
                 for job, command in JOBS}
        scheduler_role = self._scheduler_role(name, args, cluster_arn, [execution_role, *task_roles.values()], key)
        if s.scratch_secret_arn:
            aws.vpc.SecurityGroupEgressRule(
                f"{name}-to-scratch", security_group_id=args.security_group_id, ip_protocol="tcp",
                from_port=5432, to_port=5432, cidr_ipv4=args.vpc_cidr,
                description="Restore drill to the scratch PostgreSQL server in the VPC", tags=tags, opts=self._child)
        group = aws.scheduler.ScheduleGroup(f"{name}-schedules", tags=tags, opts=self._child)
        for job, command in JOBS:
            self._schedule(name, job, command, args, group, cluster_arn, tasks[job], scheduler_role, key)

        self.repository_url = repo.repository_url
        self.cluster_name = pulumi.Output.from_input(cluster_name)
        self.schedule_group_name = group.name
        self.log_group_name = logs.name
        self.alarm_target = BackupTarget(namespace=args.metrics_namespace, stack=args.stack,
                                         max_age_hours=MAX_AGE_HOURS, cluster_arn=cluster_arn,
                                         task_families=tuple(self.task_families.values()))
        self.register_outputs({"repository_url": self.repository_url, "cluster_name": self.cluster_name,
                               "schedule_group_name": self.schedule_group_name})

    @staticmethod
    def none(name: str, reason: str, opts: pulumi.ResourceOptions | None = None) -> pulumi.ComponentResource:
        """The tier's place in the stack when it cannot exist: no children, and `reason` for the plan."""
        component = pulumi.ComponentResource(TYPE, name, {"skipped": reason}, opts)
        component.register_outputs({})
        return component

    @property
    def _child(self) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self)

    # ---- image, cluster ---------------------------------------------------------------------
    def _repository(self, name: str, tags: dict[str, str], key: aws.kms.Key) -> aws.ecr.Repository:
        # The schedules pin one tag; ten images are a few releases to roll back to.
        return ecr_repository(name, tags, key, self._child, keep=10)

    def _cluster(self, name: str, tags: dict[str, str]) -> aws.ecs.Cluster:
        """A cluster of its own when the app is not on ECS (Vercel stacks): no charge, tasks only."""
        return aws.ecs.Cluster(f"{name}-cluster", settings=[{"name": "containerInsights", "value": "enhanced"}],
                               tags=tags, opts=self._child)

    # ---- roles ------------------------------------------------------------------------------
    def _role(self, name: str, service: str, description: str, tags: dict[str, str],
              statements: list[Statement], assume: pulumi.Input[str] | None = None) -> aws.iam.Role:
        role = aws.iam.Role(name, assume_role_policy=assume or assume_role_policy(service),
                            description=description, tags=tags, opts=self._child)
        aws.iam.RolePolicy(f"{name}-policy", role=role.id, policy=json_output(
            {"Version": "2012-10-17", "Statement": statements}), opts=self._child)
        return role

    def _execution_role(self, name: str, args: BackupJobsArgs, repo: aws.ecr.Repository,
                        logs: aws.cloudwatch.LogGroup) -> aws.iam.Role:
        """What ECS needs to start a job: pull this repository, write this log group, read the secrets."""
        s = args.settings
        log_arn = regional_arn(self, "logs", pulumi.Output.concat("log-group:", logs.name))
        secrets: list[pulumi.Input[str]] = [args.database_secret_arn]
        keys: list[pulumi.Input[str]] = [args.database_kms_key_arn]
        if s.scratch_secret_arn:
            secrets.append(s.scratch_secret_arn)
        if s.scratch_kms_key_arn:
            keys.append(s.scratch_kms_key_arn)
        return self._role(f"{name}-execution-role", "ecs-tasks.amazonaws.com",
                          "ECS starts the backup jobs: image pull, logs, database secrets", args.tags, [
            # GetAuthorizationToken authorizes the registry login and takes no resource (Service
            # Authorization Reference, Amazon ECR: "Resource types: none"); the pulls are scoped.
            {"Sid": "RegistryLogin", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
            {"Sid": "PullOpsImage", "Effect": "Allow", "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
             "Resource": repo.arn},
            {"Sid": "WriteJobLogs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
             "Resource": pulumi.Output.concat(log_arn, ":log-stream:*")},
            {"Sid": "ReadDatabaseSecrets", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
             "Resource": secrets},
            {"Sid": "DecryptDatabaseSecrets", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": keys},
        ])

    def _task_role(self, name: str, args: BackupJobsArgs, *, write: bool) -> aws.iam.Role:
        """The job's own permissions, as ops/backup.py uses them: the backup writes, reads back (head,
        copy), lists and deletes only the versions a failed run wrote; the drill only lists and reads."""
        partition, _ = partition_and_account(self)
        # The bucket's ARN from its name (known in preview; S3 ARNs carry neither region nor account).
        bucket_arn = pulumi.Output.concat("arn:", partition, ":s3:::", args.bucket_name)
        objects = [pulumi.Output.concat(bucket_arn, "/", prefix, "*") for prefix in (DAILY_PREFIX, WEEKLY_PREFIX)]
        s3_actions = ["s3:GetObject", "s3:GetObjectVersion"]
        kms_actions = ["kms:Decrypt"]
        if write:
            # PutObject also authorizes the multipart upload calls; AbortMultipartUpload cleans up one.
            s3_actions += ["s3:PutObject", "s3:AbortMultipartUpload", "s3:DeleteObjectVersion"]
            kms_actions = ["kms:GenerateDataKey", "kms:Decrypt"]
        label = "backup" if write else "drill"
        return self._role(f"{name}-{label}-role", "ecs-tasks.amazonaws.com",
                          f"The {label} job: the backup bucket's daily/ and weekly/, its key, its metrics", args.tags, [
            {"Sid": "Backups", "Effect": "Allow", "Action": s3_actions, "Resource": objects},
            {"Sid": "ListBackups", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": bucket_arn,
             "Condition": {"StringLike": {"s3:prefix": [f"{DAILY_PREFIX}*", f"{WEEKLY_PREFIX}*"]}}},
            {"Sid": "BackupKey", "Effect": "Allow", "Action": kms_actions, "Resource": args.bucket_kms_key_arn},
            # PutMetricData takes no resource; the namespace condition is its only scope (CloudWatch
            # User Guide, "Using condition keys to limit access to CloudWatch namespaces").
            {"Sid": "PublishMetrics", "Effect": "Allow", "Action": "cloudwatch:PutMetricData", "Resource": "*",
             "Condition": {"StringEquals": {"cloudwatch:namespace": args.metrics_namespace}}},
        ])

    def _scheduler_role(self, name: str, args: BackupJobsArgs, cluster_arn: pulumi.Output[str],
                        passed: list[aws.iam.Role], key: aws.kms.Key) -> aws.iam.Role:
        """What Scheduler needs to start the jobs (EventBridge Scheduler User Guide, "Set up the
        execution role": ecs:RunTask, and iam:PassRole on the task's roles)."""
        partition, account = partition_and_account(self)
        families = [regional_arn(self, "ecs", f"task-definition/{family}:*") for family in self.task_families.values()]
        role_arns = [pulumi.Output.concat("arn:", partition, ":iam::", account, ":role/", r.name) for r in passed]
        # The confused-deputy guard of the same guide: only this account's schedules assume it.
        assume = json_output({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "scheduler.amazonaws.com"},
            "Condition": {"StringEquals": {"aws:SourceAccount": account}}}]})
        return self._role(f"{name}-scheduler-role", "scheduler.amazonaws.com",
                          "EventBridge Scheduler starts the backup jobs", args.tags, [
            {"Sid": "RunBackupJobs", "Effect": "Allow", "Action": "ecs:RunTask", "Resource": families,
             "Condition": {"ArnEquals": {"ecs:cluster": cluster_arn}}},
            {"Sid": "PassJobRoles", "Effect": "Allow", "Action": "iam:PassRole", "Resource": role_arns,
             "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}},
            # The schedules are encrypted with the tier's key; Scheduler decrypts them as this role
            # when it invokes the target (EventBridge Scheduler User Guide, "Encryption at rest").
            {"Sid": "DecryptSchedules", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": key.arn},
        ], assume=assume)

    # ---- task definitions and schedules -----------------------------------------------------
    def _task_definition(self, name: str, job: str, command: tuple[str, ...], args: BackupJobsArgs,
                         image: pulumi.Output[str], logs: aws.cloudwatch.LogGroup,
                         execution_role: aws.iam.Role, task_role: aws.iam.Role) -> aws.ecs.TaskDefinition:
        s = args.settings
        secrets = [{"name": "DATABASE_CREDENTIALS", "valueFrom": args.database_secret_arn}]
        if job == "drill" and s.scratch_secret_arn:
            secrets.append({"name": "SCRATCH_DATABASE_CREDENTIALS", "valueFrom": s.scratch_secret_arn})
        environment = {
            "PLATFORM_STACK": args.stack, "AWS_REGION": args.region, "BACKUP_BUCKET": args.bucket_name,
            "BACKUP_KMS_KEY_ARN": args.bucket_kms_key_arn, "METRICS_NAMESPACE": args.metrics_namespace,
            "PGSSLMODE": "verify-full", "BACKUP_MAX_AGE_HOURS": str(MAX_AGE_HOURS),
        }
        definition: dict[str, object] = {
            "name": CONTAINER, "image": image, "essential": True, "command": list(command),
            "user": OPS_UID,
            "environment": [{"name": k, "value": v} for k, v in sorted(environment.items())],
            # The whole secret string (RDS secret format JSON); the job parses it.
            "secrets": secrets,
            "logConfiguration": {"logDriver": "awslogs", "options": {
                "awslogs-group": logs.name, "awslogs-region": args.region, "awslogs-stream-prefix": job}},
            "linuxParameters": {"initProcessEnabled": True},
            # Read-only image; the dump and the restore's scratch files go to /tmp, a task volume on
            # the task's ephemeral storage (ephemeralStorage below), emptied when the task stops.
            "readonlyRootFilesystem": True,
            "mountPoints": [{"sourceVolume": "tmp", "containerPath": "/tmp", "readOnly": False}],
        }
        return aws.ecs.TaskDefinition(
            f"{name}-{job}", family=self.task_families[job], cpu=str(s.task_cpu), memory=str(s.task_memory_mb),
            network_mode="awsvpc", requires_compatibilities=["FARGATE"],
            # X86_64: the deploy workflow builds the image on GitHub's x86_64 runners without emulation,
            # and the app's tasks run on the same architecture.
            runtime_platform={"operating_system_family": "LINUX", "cpu_architecture": "X86_64"},
            ephemeral_storage={"size_in_gib": s.task_storage_gb},
            execution_role_arn=execution_role.arn, task_role_arn=task_role.arn,
            volumes=[{"name": "tmp"}],
            container_definitions=json_output([definition]), tags=args.tags, opts=self._child)

    def _schedule(self, name: str, job: str, command: tuple[str, ...], args: BackupJobsArgs,
                  group: aws.scheduler.ScheduleGroup, cluster_arn: pulumi.Output[str],
                  task: aws.ecs.TaskDefinition, role: aws.iam.Role, key: aws.kms.Key) -> aws.scheduler.Schedule:
        s = args.settings
        what = f"{' '.join(command)} ({job})"
        # No image yet: the schedule exists but stays off, as the app's service runs 0 tasks.
        description = (f"{what}" if s.has_image
                       else f"{PENDING}: no ops image yet - push one and set backupImageTag; then {what}")
        target: aws.scheduler.ScheduleTargetArgsDict = {
            "arn": cluster_arn, "role_arn": role.arn, "retry_policy": RETRY_POLICY,
            "ecs_parameters": {
                "task_definition_arn": task.arn, "launch_type": "FARGATE", "task_count": 1,
                "platform_version": "LATEST",
                "network_configuration": {"subnets": args.private_subnet_ids, "assign_public_ip": False,
                                          "security_groups": [args.security_group_id]},
            },
        }
        return aws.scheduler.Schedule(
            f"{name}-{job}", group_name=group.name, description=description,
            schedule_expression=s.cron(job), schedule_expression_timezone=s.time_zone,
            state="ENABLED" if s.has_image else "DISABLED", kms_key_arn=key.arn,
            flexible_time_window={"mode": "OFF"},
            target=target,
            opts=self._child)

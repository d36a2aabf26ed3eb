"""backup-schedule (policies/backups.py): a stack with an RDS PostgreSQL primary has a scheduled
backup task on ECS, enabled or pending its first image, and alarms on BackupAgeHours and
DrillSucceeded. Written as a user would (policy_cases.Case); each twin changes one thing."""

from __future__ import annotations

import pulumi_aws as aws
import pytest
from policy_cases import Case, assert_case, ids

TAGS = {"Project": "platform", "Environment": "production", "Owner": "platform-team", "ManagedBy": "pulumi"}
CLUSTER = "arn:aws:ecs:us-east-1:123456789012:cluster/ops"


def _program(*, state: str = "ENABLED", description: str = "backup (daily)", ecs: bool = True,
             metrics: tuple[str, ...] = ("BackupAgeHours", "DrillSucceeded")):
    def program() -> None:
        key = aws.kms.Key("key", description="data", enable_key_rotation=True, tags=TAGS)
        aws.rds.Instance("db", engine="postgres", instance_class="db.t4g.micro", allocated_storage=20,
                         username="app_admin", manage_master_user_password=True,
                         master_user_secret_kms_key_id=key.arn, storage_encrypted=True, kms_key_id=key.arn,
                         backup_retention_period=30, deletion_protection=True,
                         final_snapshot_identifier="db-final", tags=TAGS)
        target: dict = {"arn": CLUSTER if ecs else "arn:aws:sqs:us-east-1:123456789012:jobs",
                        "role_arn": "arn:aws:iam::123456789012:role/scheduler"}
        if ecs:
            target["ecs_parameters"] = {
                "task_definition_arn": "arn:aws:ecs:us-east-1:123456789012:task-definition/backup:1",
                "launch_type": "FARGATE",
                "network_configuration": {"subnets": ["subnet-1"], "assign_public_ip": False}}
        aws.scheduler.Schedule("backup", schedule_expression="cron(0 2 * * ? *)", state=state,
                               description=description, flexible_time_window={"mode": "OFF"}, target=target)
        for metric in metrics:
            aws.cloudwatch.MetricAlarm(
                f"alarm-{metric}", namespace="Platform/Backups", metric_name=metric, statistic="Minimum",
                period=3600, evaluation_periods=26, datapoints_to_alarm=26, threshold=26,
                comparison_operator="GreaterThanThreshold", treat_missing_data="breaching",
                alarm_actions=["arn:aws:sns:us-east-1:123456789012:alarms"], tags=TAGS)
    return program


CASES = [
    Case("backup-schedule", _program(state="DISABLED"), _program(), "is DISABLED although an image is set",
         id="disabled"),
    Case("backup-schedule", _program(state="DISABLED"),
         _program(state="DISABLED", description="PENDING: no ops image yet - push one and set backupImageTag"),
         "is DISABLED although an image is set", id="pending-passes"),
    Case("backup-schedule", _program(ecs=False), _program(), "no EventBridge Scheduler schedule runs a backup task",
         id="not-ecs"),
    Case("backup-schedule", _program(metrics=("BackupAgeHours",)), _program(), "no CloudWatch alarm on DrillSucceeded",
         id="no-drill-alarm"),
    Case("backup-schedule", _program(metrics=()), _program(), "BackupAgeHours or DrillSucceeded", id="no-alarms"),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_backup_schedule(pack, case: Case) -> None:
    assert_case(pack, case)

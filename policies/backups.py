"""A stack with a database backs it up by itself: scheduled backup jobs and the alarms that say when
they stop (components/backup_jobs.py, components/alarms.py)."""

from __future__ import annotations

from _rules import Stack, is_set, stack_rule
from _types import METRIC_ALARM, RDS_CLUSTER, RDS_INSTANCE, SCHEDULER_SCHEDULE
from pulumi_policy.proxy import UnknownValueError

# components/backup_jobs.py starts a schedule's description with this while the stack has no ops
# image yet: the schedule is DISABLED because there is nothing to run, not switched off.
PENDING = "PENDING:"
BACKUP_METRICS = ("BackupAgeHours", "DrillSucceeded")


def _primaries(stack: Stack) -> list:
    """RDS primaries: instances that replicate nothing, clusters that are not replicas of another."""
    # A replica's source is unknown in preview (the primary's identifier): is_set counts it as set.
    return ([r for r in stack.of_type(RDS_INSTANCE) if not is_set(r.props, "replicateSourceDb")]
            + [r for r in stack.of_type(RDS_CLUSTER) if not is_set(r.props, "replicationSourceIdentifier")])


def _runs_ecs(schedule) -> bool:
    """In preview the target holds unknown ARNs; a schedule whose target is still unknown counts."""
    try:
        target = schedule.props.get("target") or {}
    except UnknownValueError:
        return True
    return is_set(target, "ecsParameters")


def _enabled_or_pending(schedule) -> bool:
    if (schedule.props.get("state") or "ENABLED") == "ENABLED":
        return True
    return str(schedule.props.get("description") or "").startswith(PENDING)


@stack_rule(
    "backup-schedule", "A stack with an RDS PostgreSQL primary runs scheduled backup jobs, with alarms on "
    "their backup age and restore drill.",
    severity="high",
    fix="Keep backupJobsEnabled true (components/backup_jobs.py: EventBridge Scheduler schedules that run "
        "the ops image on ECS, and the BackupAgeHours and DrillSucceeded alarms); push the ops image and "
        "set backupImageTag so the schedules run (docs/operations.md, Scheduled backups).")
def _backup_schedule(stack: Stack, report, cfg) -> None:
    primaries = _primaries(stack)
    if not primaries:
        return
    names = ", ".join(r.name for r in primaries)
    schedules = [s for s in stack.of_type(SCHEDULER_SCHEDULE) if _runs_ecs(s)]
    if not schedules:
        report(f"{names}: no EventBridge Scheduler schedule runs a backup task on ECS, so nothing takes "
               "the backups unless someone remembers to.", primaries[0].urn)
    elif not any(_enabled_or_pending(s) for s in schedules):
        report(f"every backup schedule ({', '.join(s.name for s in schedules)}) is DISABLED although an "
               "image is set: no backup runs.", schedules[0].urn)
    alarmed = {str(a.props.get("metricName") or "") for a in stack.of_type(METRIC_ALARM)}
    missing = [m for m in BACKUP_METRICS if m not in alarmed]
    if missing:
        report(f"{names}: no CloudWatch alarm on {' or '.join(missing)}: a backup or drill that stops "
               "running goes unnoticed.", primaries[0].urn)

"""Alarms that page someone."""

from __future__ import annotations

from _rules import count, resource_rule
from _types import METRIC_ALARM


@resource_rule(
    "alarm-actions-enabled", "CloudWatch alarms are armed and notify a topic.",
    types=[METRIC_ALARM], severity="high", securityhub="CloudWatch.17",
    fix="pulumi config set alarmActionsEnabled true and keep alarmActions pointing at the stack's SNS topic.")
def _actions(props, report, cfg, args):
    if props.get("actionsEnabled") is False:
        report("actionsEnabled is false: the alarm changes state but notifies no one.")
    elif not count(props, "alarmActions"):
        report("alarmActions is empty: nobody hears this alarm.")

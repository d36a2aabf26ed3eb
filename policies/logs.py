"""CloudWatch log groups: a customer-managed key and a bounded retention."""

from __future__ import annotations

from _rules import is_set, resource_rule
from _types import LOG_GROUP


@resource_rule(
    "logs-encrypted", "CloudWatch log groups are encrypted with a customer-managed KMS key.",
    types=[LOG_GROUP], severity="medium", checkov=["CKV_AWS_158"],
    fix="Set kmsKeyId to a key in the log group's region whose policy lets logs.<region>.amazonaws.com "
        "use it for this account's log groups (components/_common.py: encrypted_log_group, "
        "logs_key_statement).")
def _encrypted(props, report, cfg, args):
    # CloudWatch Logs takes only a key ARN here (no AWS-managed alias exists for it): presence is it.
    if not is_set(props, "kmsKeyId"):
        report("kmsKeyId is not set: the log group is encrypted only with CloudWatch's service key.")


@resource_rule(
    "logs-retention", "CloudWatch log groups expire their events, after at least the environment's minimum.",
    types=[LOG_GROUP], severity="medium", checkov=["CKV_AWS_66"],
    config={"minimumDays": {"type": "integer", "minimum": 1, "maximum": 3653, "default": 30,
                            "description": "Shortest retention allowed: the seeds keep logs 30 days. Checkov's "
                                           "CKV_AWS_338 and AWS Config's default ask for 365."}},
    fix="pulumi config set logRetentionDays <days> (a CloudWatch value, at least the pack's minimumDays); "
        "a log group of its own sets retentionInDays.")
def _retention(props, report, cfg, args):
    days = int(props.get("retentionInDays") or 0)
    if days == 0:
        report("retentionInDays is not set: the events never expire (unbounded cost, data kept forever).")
    elif days < cfg["minimumDays"]:
        report(f"retentionInDays is {days}; this environment needs at least {cfg['minimumDays']}.")

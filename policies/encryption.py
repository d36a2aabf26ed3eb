"""Keys and topics: KMS rotation, SNS encryption at rest."""

from __future__ import annotations

from _rules import is_set, resource_rule
from _types import KMS_KEY, SNS_TOPIC


@resource_rule(
    "kms-key-rotation", "Symmetric KMS keys rotate yearly.",
    types=[KMS_KEY], severity="medium", checkov=["CKV_AWS_7"], securityhub="KMS.4",
    fix="Set enableKeyRotation=true (components/_common.py kms_key does).")
def _rotation(props, report, cfg, args):
    spec = props.get("customerMasterKeySpec") or props.get("keySpec") or "SYMMETRIC_DEFAULT"
    if spec == "SYMMETRIC_DEFAULT" and not props.get("enableKeyRotation"):
        report("enableKeyRotation is not true.")


@resource_rule(
    "sns-topic-encrypted", "SNS topics are encrypted at rest with a KMS key.",
    types=[SNS_TOPIC], severity="medium", checkov=["CKV_AWS_26"], securityhub="SNS.1",
    fix="Set kmsMasterKeyId to a key whose policy lets cloudwatch.amazonaws.com (and budgets) use it "
        "(components/alarms.py creates one per region).")
def _topic_encrypted(props, report, cfg, args):
    if not is_set(props, "kmsMasterKeyId"):
        report("kmsMasterKeyId is empty: alarm payloads are stored unencrypted.")

"""Keys and topics: KMS rotation and key policies, SNS encryption at rest and topic policies."""

from __future__ import annotations

import re
from collections.abc import Mapping

from _documents import accounts, anyone, listing, narrowed, statements, values
from _rules import is_set, resource_rule
from _types import (
    KMS_EXTERNAL_KEY,
    KMS_KEY,
    KMS_KEY_POLICY,
    KMS_REPLICA_EXTERNAL_KEY,
    KMS_REPLICA_KEY,
    SNS_TOPIC,
    SNS_TOPIC_POLICY,
)
from pulumi_policy.proxy import UnknownValueError


@resource_rule(
    "kms-key-rotation", "Symmetric KMS keys rotate yearly.",
    types=[KMS_KEY], severity="medium", checkov=["CKV_AWS_7"], securityhub="KMS.4",
    fix="Set enableKeyRotation=true (components/_common.py kms_key does).")
def _rotation(props, report, cfg, args):
    # Automatic rotation exists only for symmetric encryption keys whose material KMS generates:
    # not asymmetric or HMAC specs, nor keys in a custom key store (CloudHSM or external, XKS)
    # (AWS KMS Developer Guide, "Rotate AWS KMS keys"). aws.kms.Key takes the spec as
    # customerMasterKeySpec, default SYMMETRIC_DEFAULT (pulumi_aws/kms/key.py).
    spec = props.get("customerMasterKeySpec") or "SYMMETRIC_DEFAULT"
    if spec != "SYMMETRIC_DEFAULT" or is_set(props, "customKeyStoreId") or is_set(props, "xksKeyId"):
        return
    if not props.get("enableKeyRotation"):
        report("enableKeyRotation is not true.")


# A statement open to "*" is held to one account or organization by these (IAM User Guide,
# "AWS global condition context keys"; AWS KMS Developer Guide, "kms:CallerAccount").
# kms:ViaService is not among them: it fixes the service a request comes through, not who sends it.
KEY_NARROWING = ("kms:CallerAccount", "aws:PrincipalAccount", "aws:PrincipalOrgID", "aws:PrincipalOrgPaths",
                 "aws:PrincipalArn", "aws:SourceAccount", "aws:SourceArn", "aws:SourceOwner")
KEY_TYPES = [KMS_KEY, KMS_KEY_POLICY, KMS_REPLICA_KEY, KMS_EXTERNAL_KEY, KMS_REPLICA_EXTERNAL_KEY]


def _sid(st: Mapping) -> str:
    return f'statement "{st["Sid"]}"' if st.get("Sid") else "a statement"


def _public(st: Mapping, keys: tuple[str, ...]) -> bool:
    return anyone(st) and not narrowed(st, keys)


@resource_rule(
    "kms-key-policy-not-public", 'KMS key policies do not let any principal ("*") use the key.',
    types=KEY_TYPES, severity="critical", checkov=["CKV_AWS_33"], securityhub="KMS.5",
    fix='Name the principals (the account root, roles, or a service) instead of "*", or add a Condition '
        '{"StringEquals": {"kms:CallerAccount": "<account id>"}} (or aws:PrincipalOrgID) to the statement.')
def _key_policy_public(props, report, cfg, args):
    # aws.kms.Key, ReplicaKey, ExternalKey and ReplicaExternalKey carry `policy`; aws.kms.KeyPolicy
    # replaces the policy of an existing key (pulumi_aws/kms/*.py). Unset: AWS's default policy,
    # which grants only the account.
    if not is_set(props, "policy"):
        return
    for st in statements(props["policy"]):
        if _public(st, KEY_NARROWING):
            report(f"policy: {_sid(st)} allows any principal to use the key with no condition on "
                   "kms:CallerAccount, aws:PrincipalAccount or aws:PrincipalOrgID.")


@resource_rule(
    "sns-topic-encrypted", "SNS topics are encrypted at rest with a customer-managed KMS key.",
    types=[SNS_TOPIC], severity="medium", checkov=["CKV_AWS_26"], securityhub="SNS.1",
    fix="Set kmsMasterKeyId to a customer-managed key whose policy lets cloudwatch.amazonaws.com (and "
        "budgets) use it (components/alarms.py creates one per region); not alias/aws/sns.")
def _topic_encrypted(props, report, cfg, args):
    if not is_set(props, "kmsMasterKeyId"):
        report("kmsMasterKeyId is empty: alarm payloads are stored unencrypted.")
        return
    # The AWS-managed key's policy cannot be changed: CloudWatch alarms and Budgets cannot publish
    # to a topic encrypted with it (SNS Developer Guide, "Enable compatibility between event sources
    # from AWS services and encrypted topics"), and no one outside the account can be let in.
    # A value unknown in preview is computed from a resource this update creates (a customer key's
    # ARN); the AWS-managed alias is a literal, or an invoke's result, both known in preview. So an
    # unknown value is, like is_set says, a set customer key: nothing here needs to wait for it.
    key = _known(props, "kmsMasterKeyId")
    if key is not None and re.fullmatch(r"(arn:[^:]+:kms:[^:]*:[^:]*:)?alias/aws/sns", key):
        report(f"kmsMasterKeyId is the AWS-managed key {key}: use a customer-managed key.")


def _known(props: Mapping, key: str) -> str | None:
    try:
        return str(props[key])
    except UnknownValueError:
        return None


# Conditions that tie a statement open to "*" to this account's own resources or organization
# (SNS Developer Guide, "Amazon SNS access control case examples"; aws:SourceOwner is the
# older key some services send instead of aws:SourceAccount).
TOPIC_NARROWING = ("aws:SourceAccount", "aws:SourceArn", "aws:SourceOwner", "aws:PrincipalOrgID",
                   "aws:PrincipalOrgPaths", "aws:PrincipalAccount", "aws:PrincipalArn")
TOPIC_TYPES = [SNS_TOPIC, SNS_TOPIC_POLICY]


def topic_statements(props: Mapping) -> list[Mapping]:
    """The statements of sns.TopicPolicy `policy`, or of the topic's own `policy` input."""
    return statements(props["policy"]) if is_set(props, "policy") else []


@resource_rule(
    "sns-topic-policy-not-public", 'SNS topic policies do not grant to any principal ("*") unconditionally.',
    types=TOPIC_TYPES, severity="critical", checkov=["CKV_AWS_169"], securityhub="SNS.4",
    fix='Name the publishers (e.g. {"Service": "cloudwatch.amazonaws.com"}) instead of "*", and pin '
        'the statement with {"StringEquals": {"aws:SourceAccount": "<account id>"}} or aws:SourceArn.')
def _topic_public(props, report, cfg, args):
    for st in topic_statements(props):
        if _public(st, TOPIC_NARROWING):
            report(f"policy: {_sid(st)} lets any principal act on the topic with no condition on "
                   "aws:SourceAccount, aws:SourceArn or aws:PrincipalOrgID.")


def _topic_owner(props: Mapping, st: Mapping) -> set[str]:
    """The topic's account: from sns.TopicPolicy `arn`, else from the statement's SNS Resource ARNs."""
    arns = [str(props["arn"])] if is_set(props, "arn") else values(st, "Resource")
    return {m.group(1) for a in arns if (m := re.match(r"^arn:[^:]+:sns:[^:]*:(\d{12}):", a))}


@resource_rule(
    "sns-topic-policy-cross-account", "SNS topic policies grant only to the topic's account or trusted accounts.",
    types=TOPIC_TYPES, severity="medium",
    config={"trustedAccounts": {
        "type": "array", "items": {"type": "string"}, "default": [],
        "description": "12-digit account ids a topic policy may grant to besides the topic's own."}},
    fix="Add the account to this rule's trustedAccounts in the pack config if it is yours, or pin the "
        'statement with {"StringEquals": {"aws:PrincipalOrgID": "<org id>"}}.')
def _topic_cross_account(props, report, cfg, args):
    trusted = set(cfg["trustedAccounts"])
    for st in topic_statements(props):
        if st.get("Effect") != "Allow" or narrowed(st, ("aws:PrincipalOrgID", "aws:PrincipalOrgPaths")):
            continue
        named = accounts(st) - trusted
        if named:  # only then is the owner worth reading (an ARN unknown in preview)
            named -= _topic_owner(props, st)
        if named:
            report(f"policy: {_sid(st)} grants to account(s) {listing(sorted(named))}, neither the topic's "
                   "own nor in trustedAccounts.")

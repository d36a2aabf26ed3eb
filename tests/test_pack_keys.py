"""KMS keys and SNS topics, written as a user would (policy_cases.Case)."""

from __future__ import annotations

import json

import pulumi_aws as aws
import pytest
from policy_cases import Case, assert_case, ids, judge

TAGS = {"Project": "platform", "Stack": "production", "Environment": "production", "Owner": "platform-team",
        "CostCenter": "platform", "ManagedBy": "pulumi"}
ACCOUNT = "123456789012"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"
TOPIC_ARN = f"arn:aws:sns:us-east-1:{ACCOUNT}:alerts"
KEY_ARN = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/0b6a1c55-7d6e-4c1b-9a53-4f3e2d1c0b9a"


def doc(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


# ---- kms-key-rotation -------------------------------------------------------------------------------
def _key(rotate: bool, spec: str | None = None):
    def program() -> None:
        aws.kms.Key("key", description="app data", enable_key_rotation=rotate, customer_master_key_spec=spec,
                    key_usage="SIGN_VERIFY" if spec and spec.startswith("ECC") else None, tags=TAGS)
    return program


ROTATION = [
    Case("kms-key-rotation", _key(False), _key(True), "enableKeyRotation is not true"),
    # Rotation exists only for symmetric keys: an asymmetric key without it is compliant.
    Case("kms-key-rotation", _key(False, "SYMMETRIC_DEFAULT"), _key(False, "ECC_NIST_P256"),
         "enableKeyRotation is not true", "asymmetric-twin"),
]


# ---- kms-key-policy-not-public ------------------------------------------------------------------------
ADMIN = {"Sid": "AccountAdministers", "Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "kms:*",
         "Resource": "*"}


def use(principal, **extra) -> dict:
    return {"Sid": "Use", "Effect": "Allow", "Principal": principal, "Resource": "*",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], **extra}


CALLER = {"StringEquals": {"kms:CallerAccount": ACCOUNT}}


def _key_policy(statement: dict, kind: str = "key"):
    def program() -> None:
        policy = doc(ADMIN, statement)
        if kind == "key":
            aws.kms.Key("key", enable_key_rotation=True, policy=policy, tags=TAGS)
        elif kind == "key-policy":  # replaces the policy of a key created elsewhere
            aws.kms.KeyPolicy("kp", key_id="0b6a1c55-7d6e-4c1b-9a53-4f3e2d1c0b9a", policy=policy)
        elif kind == "replica":
            aws.kms.ReplicaKey("rk", primary_key_arn=KEY_ARN, policy=policy, tags=TAGS)
    return program


def _key_policy_of_new_key(statement: dict):
    """The key is created in the same program: its id is unknown in preview, its policy is not."""
    def program() -> None:
        key = aws.kms.Key("key", enable_key_rotation=True, tags=TAGS)
        aws.kms.KeyPolicy("kp", key_id=key.id, policy=doc(ADMIN, statement))
    return program


KEY_POLICY = [
    Case("kms-key-policy-not-public", _key_policy(use({"AWS": "*"})), _key_policy(use({"AWS": "*"}, Condition=CALLER)),
         'statement "Use" allows any principal', "key-aws-star"),
    Case("kms-key-policy-not-public", _key_policy(use("*"), "key-policy"),
         _key_policy(use({"AWS": f"arn:aws:iam::{ACCOUNT}:role/app"}), "key-policy"),
         "allows any principal to use the key", "key-policy-resource"),
    Case("kms-key-policy-not-public", _key_policy(use({"AWS": ["*"]}), "replica"),
         _key_policy(use({"AWS": ["*"]}, Condition={"StringEquals": {"aws:PrincipalOrgID": "o-abc123def4"}}),
                     "replica"),
         "allows any principal", "replica-list"),
    # kms:ViaService fixes the path (e.g. through S3), not who calls: not a narrowing condition alone.
    Case("kms-key-policy-not-public",
         _key_policy(use({"AWS": "*"}, Condition={"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}})),
         _key_policy(use({"AWS": "*"}, Condition={"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com",
                                                                   "kms:CallerAccount": ACCOUNT}})),
         "no condition on kms:CallerAccount", "via-service-alone"),
    Case("kms-key-policy-not-public", _key_policy_of_new_key(use({"AWS": "*"})),
         _key_policy_of_new_key(use({"AWS": "*"}, Condition=CALLER)), "allows any principal", "preview",
         preview=True),
]


# ---- sns-topic-encrypted ---------------------------------------------------------------------------------
def _topic(key: str):
    def program() -> None:
        aws.sns.Topic("alerts", kms_master_key_id=key, tags=TAGS)
    return program


TOPIC_KEY = [
    Case("sns-topic-encrypted", _topic("alias/aws/sns"), _topic(KEY_ARN), "the AWS-managed key alias/aws/sns",
         "aws-managed-alias"),
    Case("sns-topic-encrypted", _topic(f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/aws/sns"),
         _topic(f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/alarms"), "AWS-managed key", "aws-managed-alias-arn"),
]


# ---- SNS topic policies ----------------------------------------------------------------------------------
def publish(principal, **extra) -> dict:
    return {"Sid": "Publish", "Effect": "Allow", "Principal": principal, "Action": "sns:Publish",
            "Resource": TOPIC_ARN, **extra}


SOURCE = {"StringEquals": {"aws:SourceAccount": ACCOUNT}}


def _topic_policy(statement: dict, kind: str = "topic-policy"):
    def program() -> None:
        if kind == "topic-policy":
            aws.sns.TopicPolicy("tp", arn=TOPIC_ARN, policy=doc(statement))
        elif kind == "topic-policy-object":
            aws.sns.TopicPolicy("tp", arn=TOPIC_ARN, policy={"Version": "2012-10-17", "Statement": statement})
        elif kind == "topic":  # the topic's own policy input
            aws.sns.Topic("alerts", kms_master_key_id=KEY_ARN, policy=doc(statement), tags=TAGS)
    return program


def _topic_policy_of_new_topic(statement: dict):
    """An object document naming the new topic's ARN. In preview the provider's Check makes the whole
    document one unknown string (offline/json_documents.py): judged in up, advisory in preview."""
    def program() -> None:
        topic = aws.sns.Topic("alerts", kms_master_key_id=KEY_ARN, tags=TAGS)
        aws.sns.TopicPolicy("tp", arn=topic.arn, policy={"Version": "2012-10-17",
                                                         "Statement": [{**statement, "Resource": topic.arn}]})
    return program


TOPIC_POLICY = [
    Case("sns-topic-policy-not-public", _topic_policy(publish({"AWS": "*"})),
         _topic_policy(publish({"AWS": "*"}, Condition=SOURCE)), 'statement "Publish" lets any principal',
         "aws-star"),
    Case("sns-topic-policy-not-public", _topic_policy(publish("*"), "topic"),
         _topic_policy(publish({"Service": "cloudwatch.amazonaws.com"}, Condition=SOURCE), "topic"),
         "lets any principal act on the topic", "topic-input"),
    Case("sns-topic-policy-not-public", _topic_policy(publish({"AWS": ["*"]}), "topic-policy-object"),
         _topic_policy(publish({"AWS": ["*"]}, Condition={"ArnLike": {"aws:SourceArn": "arn:aws:s3:::uploads"}}),
                       "topic-policy-object"),
         "lets any principal", "object-statement-dict"),
    # aws:SecureTransport says how, not who: the statement is still public.
    Case("sns-topic-policy-not-public",
         _topic_policy(publish("*", Condition={"Bool": {"aws:SecureTransport": "true"}})),
         _topic_policy(publish("*", Condition={"Bool": {"aws:SecureTransport": "true"}, **SOURCE})),
         "no condition on aws:SourceAccount", "secure-transport-only"),
    Case("sns-topic-policy-not-public", _topic_policy_of_new_topic(publish({"AWS": "*"})),
         _topic_policy_of_new_topic(publish({"AWS": "*"}, Condition=SOURCE)), "lets any principal",
         "object-naming-a-new-topic"),
    Case("sns-topic-policy-cross-account", _topic_policy(publish({"AWS": "arn:aws:iam::210987654321:root"})),
         _topic_policy(publish({"AWS": ROOT})), "account(s) 210987654321", "topic-policy"),
    Case("sns-topic-policy-cross-account", _topic_policy(publish({"AWS": ["210987654321"]}), "topic"),
         _topic_policy(publish({"AWS": ["210987654321"]},
                               Condition={"StringEquals": {"aws:PrincipalOrgID": "o-abc123def4"}}), "topic"),
         "neither the topic's own nor in trustedAccounts", "topic-input-org"),
]

CASES = ROTATION + KEY_POLICY + TOPIC_KEY + TOPIC_POLICY


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_case(pack, case):
    assert_case(pack, case)


def test_keys_rotation_cannot_apply_to_are_not_judged(pack):
    def program() -> None:
        aws.kms.Key("hmac", customer_master_key_spec="HMAC_256", key_usage="GENERATE_VERIFY_MAC", tags=TAGS)
        aws.kms.Key("hsm", custom_key_store_id="cks-1234567890abcdef0", tags=TAGS)
    verdict = judge(pack, Case("", program, program, ""), program)
    assert "kms-key-rotation" not in verdict.fired()


def test_service_statements_and_deny_star_are_not_public(pack):
    """What the program's own alarm topic and keys do: a Deny for "*" and a service principal."""
    def program() -> None:
        aws.kms.Key("key", enable_key_rotation=True, tags=TAGS, policy=doc(
            ADMIN, use({"Service": ["cloudwatch.amazonaws.com", "budgets.amazonaws.com"]})))
        aws.sns.TopicPolicy("tp", arn=TOPIC_ARN, policy=doc(
            publish({"Service": "cloudwatch.amazonaws.com"}, Condition=SOURCE),
            {"Effect": "Deny", "Principal": "*", "Action": "sns:Publish", "Resource": TOPIC_ARN,
             "Condition": {"Bool": {"aws:SecureTransport": "false"}}}))
    assert judge(pack, Case("", program, program, ""), program).diagnostics == []


def test_trusted_accounts_come_from_the_pack_config(pack, tmp_path):
    config = tmp_path / "trusted.json"
    config.write_text(json.dumps({"sns-topic-policy-cross-account": {"trustedAccounts": ["111122223333"]}}))
    assert_case(pack, Case("sns-topic-policy-cross-account", _topic_policy(publish({"AWS": "210987654321"})),
                           _topic_policy(publish({"AWS": "111122223333"})), "account(s) 210987654321",
                           config=config))

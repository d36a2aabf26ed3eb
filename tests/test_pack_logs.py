"""CloudWatch log groups and Secrets Manager secrets, written as a user would (policy_cases.Case)."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws
import pytest
from policy_cases import Case, assert_case, ids

from offline.analyzer import CONFIG_DIR

TAGS = {"Project": "platform", "Environment": "production", "Owner": "platform-team", "ManagedBy": "pulumi"}


def _key(name: str = "key") -> aws.kms.Key:
    return aws.kms.Key(name, description="logs", enable_key_rotation=True, tags=TAGS)


def _group(*, kms: bool = True, retention: int | None = 30):
    def program() -> None:
        key = _key()
        aws.cloudwatch.LogGroup("logs", kms_key_id=key.arn if kms else None, retention_in_days=retention, tags=TAGS)
    return program


def _secret(*, kms: str | None = "cmk", rotated: str = "resource", exempt: str | None = None):
    """A secret; `rotated`: "resource" (SecretRotation with secretId=secret.id), "literal" (secretId
    the secret's literal name), "none"."""
    def program() -> None:
        key = _key()
        kms_key_id = {"cmk": key.arn, "alias": "alias/aws/secretsmanager", None: None}[kms]
        tags = {**TAGS, "RotationExempt": exempt} if exempt else TAGS
        secret = aws.secretsmanager.Secret("secret", name="app/api-key", kms_key_id=kms_key_id, tags=tags)
        lam = "arn:aws:lambda:us-east-1:123456789012:function:rotate"
        if rotated == "resource":
            aws.secretsmanager.SecretRotation("rotation", secret_id=secret.id, rotation_lambda_arn=lam,
                                              rotation_rules={"automatically_after_days": 30})
        elif rotated == "literal":
            aws.secretsmanager.SecretRotation("rotation", secret_id="app/api-key", rotation_lambda_arn=lam,
                                              rotation_rules={"automatically_after_days": 30})
    return program


def _managed_master(kms: bool):
    def program() -> None:
        key = _key()
        aws.rds.Instance("db", engine="postgres", instance_class="db.t4g.micro", allocated_storage=20,
                         username="app_admin", manage_master_user_password=True,
                         master_user_secret_kms_key_id=key.arn if kms else None,
                         storage_encrypted=True, kms_key_id=key.arn, tags=TAGS)
    return program


CASES = [
    Case("logs-encrypted", _group(kms=False), _group(), "kmsKeyId is not set"),
    Case("logs-retention", _group(retention=None), _group(), "never expire", id="unset"),
    Case("logs-retention", _group(retention=7), _group(retention=30), "retentionInDays is 7; this environment needs "
         "at least 30", id="short"),
    Case("logs-retention", _group(retention=7), _group(retention=14), "needs at least 14", id="staging-threshold",
         config=CONFIG_DIR / "staging.json", stack="staging"),
    Case("secrets-cmk", _secret(kms=None), _secret(), "kmsKeyId is not set", id="unset"),
    Case("secrets-cmk", _secret(kms="alias"), _secret(), "AWS-managed key alias/aws/secretsmanager", id="alias"),
    Case("secrets-rotation", _secret(rotated="none"), _secret(), "no SecretRotation rotates this secret"),
    Case("secrets-rotation", _secret(rotated="none"), _secret(rotated="literal"), "no RotationExempt tag",
         id="literal-secret-id"),
    Case("secrets-rotation", _secret(rotated="none", exempt="later"),
         _secret(rotated="none", exempt="the consumer reads it once at start - redeploy rotates it"),
         "gives no real reason", id="exempt-tag"),
    Case("secrets-rotation", _secret(rotated="none"), _secret(), "no SecretRotation", id="preview", preview=True),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_case(pack, case):
    assert_case(pack, case)


def test_managed_master_secret_needs_a_customer_key(pack):
    # The RDS-managed master secret: judged by secrets-cmk on the instance that asks for it.
    assert_case(pack, Case("secrets-cmk", _managed_master(False), _managed_master(True),
                           "masterUserSecretKmsKeyId is not set"))


def test_an_exemption_tag_can_be_refused_by_pack_config(pack, tmp_path):
    from policy_cases import judge

    strict = tmp_path / "strict.json"
    strict.write_text(json.dumps({"secrets-rotation": {"allowExemptions": False}}))
    case = Case("secrets-rotation", _secret(), _secret(), "", config=strict)
    exempt = _secret(rotated="none", exempt="the consumer reads it once at start - redeploy rotates it")
    verdict = judge(pack, case, exempt)
    assert [d.message for d in verdict.diagnostics if d.policy == "secrets-rotation"] == [
        "no SecretRotation rotates this secret, and this environment's pack config refuses RotationExempt tags."]
    assert "secrets-rotation" not in judge(pack, Case("secrets-rotation", exempt, exempt, ""), exempt).fired()


def test_unknown_secret_name_in_preview_leaves_secrets_with_a_rotation_judged(pack):
    """An auto-named secret's name is unknown in preview: a rotation by reference still decides."""
    from policy_cases import judge

    def program() -> None:
        key = _key()
        secret = aws.secretsmanager.Secret("secret", kms_key_id=key.arn, tags=TAGS)
        aws.secretsmanager.SecretRotation("rotation", secret_id=secret.id, rotation_rules={
            "automatically_after_days": 7}, rotation_lambda_arn=pulumi.Output.from_input("arn:aws:lambda:x"))
    verdict = judge(pack, Case("secrets-rotation", program, program, "", preview=True), program)
    assert "secrets-rotation" not in verdict.fired()

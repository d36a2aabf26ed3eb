"""Secrets Manager (secretsmanager.py: a module named secrets would shadow the standard library's):
customer-managed keys and rotation. Also the one reader of KMS key references
the data rules share: "is this a customer-managed key?"."""

from __future__ import annotations

import re
from collections.abc import Mapping

from _rules import Stack, is_set, resource_rule, stack_rule, tags_of
from _types import RDS_CLUSTER, RDS_INSTANCE, SECRET, SECRET_ROTATION
from pulumi_policy.proxy import UnknownValueError

# AWS-managed keys are named alias/aws/<service> (KMS Developer Guide, "AWS managed keys"): as a
# bare alias or inside an alias ARN (arn:aws:kms:<region>:<account>:alias/aws/rds).
_AWS_MANAGED = re.compile(r"(^|:)alias/aws/")
# The tag a secret carries when it is deliberately not rotated by Secrets Manager, with the reason.
EXEMPT_TAG = "RotationExempt"
MIN_REASON = 20


def customer_key_problem(props: Mapping, key: str) -> str | None:
    """Why `props[key]` is not a customer-managed KMS key, or None when it is (or will be: an
    unknown value in preview is a key ARN computed from a key of the stack)."""
    if not is_set(props, key):
        return f"{key} is not set: the service's AWS-managed key encrypts it"
    try:
        value = str(props[key])
    except UnknownValueError:
        return None
    if _AWS_MANAGED.search(value):
        return f"{key} is the AWS-managed key {value}: use a customer-managed key"
    return None


@resource_rule(
    "secrets-cmk", "Secrets Manager secrets, and the master-user secrets RDS manages, use a customer-managed KMS key.",
    types=[SECRET, RDS_INSTANCE, RDS_CLUSTER], severity="medium", checkov=["CKV_AWS_149"],
    fix="Set kmsKeyId (masterUserSecretKmsKeyId when RDS manages the master password) to the component's "
        "customer-managed key, never empty or alias/aws/secretsmanager.")
def _secret_cmk(props, report, cfg, args):
    key = "kmsKeyId"
    if args.resource_type != SECRET:
        if not props.get("manageMasterUserPassword"):
            return  # no secret of RDS's own
        key = "masterUserSecretKmsKeyId"
    problem = customer_key_problem(props, key)
    if problem:
        report(f"{problem} (aws/secretsmanager)." if "not set" in problem else problem + ".")


def _rotated(stack: Stack, secret) -> bool:
    """A SecretRotation rotates `secret`: its secretId is computed from the secret, or is a literal
    equal to the secret's name or ARN (read only then: an auto-name is unknown in preview)."""
    if stack.referencing(secret, SECRET_ROTATION, "secretId"):
        return True
    literal = [r.props.get("secretId") for r in stack.of_type(SECRET_ROTATION)
               if not r.property_dependencies.get("secretId")]
    return bool(literal) and any(secret.props.get(k) in literal for k in ("name", "arn"))


@stack_rule(
    "secrets-rotation", "Secrets Manager secrets rotate automatically, or say in a tag why they cannot.",
    types=[SECRET], severity="medium", checkov=["CKV2_AWS_57"], securityhub="SecretsManager.1",
    config={"allowExemptions": {
        "type": "boolean", "default": True,
        "description": f"Accept a {EXEMPT_TAG} tag (a reason of at least {MIN_REASON} characters) "
                       "instead of a SecretRotation."}},
    fix=f"Add an aws.secretsmanager.SecretRotation with secretId=secret.id (a rotation Lambda, or "
        f"let RDS manage the master password), or, where the consumer cannot follow a rotation, tag "
        f"the secret {EXEMPT_TAG}=<why and how it is rotated instead> (docs/operations.md).")
def _secret_rotation(stack: Stack, secret, report, cfg):
    if _rotated(stack, secret):
        return
    reason = str(tags_of(secret.props).get(EXEMPT_TAG) or "")
    if reason and cfg["allowExemptions"] and len(reason.strip()) >= MIN_REASON:
        return
    if reason and not cfg["allowExemptions"]:
        report(f"no SecretRotation rotates this secret, and this environment's pack config refuses "
               f"{EXEMPT_TAG} tags.")
    elif reason:
        report(f"no SecretRotation rotates this secret and its {EXEMPT_TAG} tag gives no real reason "
               f"(fewer than {MIN_REASON} characters).")
    else:
        report(f"no SecretRotation rotates this secret and it has no {EXEMPT_TAG} tag saying why.")

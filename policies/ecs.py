"""ECS task definitions and services, ECR repositories: what one resource's inputs decide, so every
rule here is a resource rule (it blocks before the task definition, service or repository exists).

A TaskDefinition's containerDefinitions is the ECS API's JSON (a string, camelCase keys: privileged,
readonlyRootFilesystem, environment, user); a DaemonTaskDefinition takes the same containers as a
list of objects, with `environments` (pulumi_aws ecs DaemonTaskDefinitionContainerDefinitionArgs).
In preview the JSON is unknown while it embeds an unknown value (an image URL, a log group name):
the rules then report once, advisory, and judge it in `up` before the task definition is created.
"""

from __future__ import annotations

import json

from _rules import as_list, is_set, resource_rule, shown
from _types import (
    ECR_REPOSITORY,
    ECS_DAEMON_TASK_DEFINITION,
    ECS_SERVICE,
    ECS_TASK_DEFINITION,
    ECS_TASK_SET,
)
from vercel import why_secret

TASK_DEFINITIONS = (ECS_TASK_DEFINITION, ECS_DAEMON_TASK_DEFINITION)


# The provider decodes container definitions with Go's encoding/json into the SDK's types, which
# have no json tags (terraform-provider-aws internal/service/ecs/container_definitions.go), so a key
# matches its field whatever its case: "Privileged", "readOnlyRootFilesystem" and "Environment"
# take effect as the documented camelCase does. Read them the same way.
_FIELDS = {k.lower(): k for k in ("name", "value", "valueFrom", "privileged", "readonlyRootFilesystem", "user",
                                  "environment", "environments", "secrets", "image", "essential")}


def _canonical(value):
    if isinstance(value, dict):
        return {_FIELDS.get(str(k).lower(), k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return value


def containers(props) -> list:
    raw = props.get("containerDefinitions")
    if isinstance(raw, str):
        raw = _canonical(json.loads(raw))  # not JSON: ValueError, reported as a value of the wrong shape
    return as_list(raw)


def label(c) -> str:
    return f"container {c.get('name') or '(unnamed)'}"


@resource_rule(
    "ecs-non-privileged", "Containers do not run privileged.",
    types=TASK_DEFINITIONS, severity="high", checkov=["CKV_AWS_334"], securityhub="ECS.4",
    fix="Remove privileged (or set it false) from every container definition; grant the one capability "
        "needed through linuxParameters.capabilities instead.")
def _non_privileged(props, report, cfg, args):
    for c in containers(props):
        if c.get("privileged") is True:
            report(f"{label(c)} is privileged: root on the host, not only in the container.")


@resource_rule(
    "ecs-read-only-root", "Containers have a read-only root filesystem.",
    types=TASK_DEFINITIONS, severity="medium", checkov=["CKV_AWS_336"], securityhub="ECS.5",
    fix="Set readonlyRootFilesystem true and mount a task volume where the app writes (mountPoints; "
        "components/ecs_service.py mounts config ecsWritablePaths, /tmp and .next/cache by default).")
def _read_only_root(props, report, cfg, args):
    for c in containers(props):
        if c.get("readonlyRootFilesystem") is not True:
            report(f"{label(c)}: readonlyRootFilesystem is not true; anything that gets code execution can "
                   "rewrite the app's own files.")


# `user` values that mean root: a name or uid 0, optionally with a group (ECS API ContainerDefinition.user:
# user, user:group, uid, uid:gid, user:gid, uid:group).
ROOT_USERS = ("root", "0")


@resource_rule(
    "ecs-non-root-user", "No container is told to run as root.",
    types=TASK_DEFINITIONS, severity="medium",
    fix='Drop user "root"/"0" from the container definition (the image\'s USER applies) or set a numeric '
        'non-root uid such as "1001".')
def _non_root_user(props, report, cfg, args):
    for c in containers(props):
        user = c.get("user")
        if user is not None and str(user).split(":", 1)[0] in ROOT_USERS:
            report(f"{label(c)} runs as user {user}.")


def _environment(c) -> list:
    return as_list(c.get("environment")) + as_list(c.get("environments"))


@resource_rule(
    "ecs-no-plaintext-secrets", "Secret-looking values are not passed as plain container environment.",
    types=TASK_DEFINITIONS, severity="high", securityhub="ECS.8",
    fix="Move the variable to the container's secrets (valueFrom a Secrets Manager secret or SSM "
        "parameter, as components/ecs_service.py does) and rotate the value that was exposed.")
def _no_plaintext_secrets(props, report, cfg, args):
    # The same detection as vercel-sensitive-env (vercel.why_secret): secret-like names, URLs with
    # credentials; NEXT_PUBLIC_* are public by design.
    for c in containers(props):
        for env in _environment(c):
            why = why_secret(str(env.get("name") or ""), lambda env=env: env.get("value"))
            if why:
                report(f"{label(c)}: {why} and sits in plain environment, readable by anyone who can "
                       "describe the task definition.")


@resource_rule(
    "ecs-no-public-ip", "ECS services and task sets do not give tasks public IP addresses.",
    types=[ECS_SERVICE, ECS_TASK_SET], severity="high", checkov=["CKV_AWS_333"], securityhub="ECS.2",
    fix="Set networkConfiguration.assignPublicIp false and run the tasks in private subnets with NAT "
        "(components/ecs_service.py does).")
def _no_public_ip(props, report, cfg, args):
    if (props.get("networkConfiguration") or {}).get("assignPublicIp") is True:
        report("networkConfiguration.assignPublicIp is true: every task is reachable from the internet, "
               "around the load balancer and WAF.")


@resource_rule(
    "ecr-scan-on-push", "ECR repositories scan images on push.",
    types=[ECR_REPOSITORY], severity="medium", checkov=["CKV_AWS_163"], securityhub="ECR.1",
    fix='Set imageScanningConfiguration {"scanOnPush": true}.')
def _scan_on_push(props, report, cfg, args):
    if (props.get("imageScanningConfiguration") or {}).get("scanOnPush") is not True:
        report("imageScanningConfiguration.scanOnPush is not true: images are deployed unscanned.")


@resource_rule(
    "ecr-immutable-tags", "ECR image tags are immutable.",
    types=[ECR_REPOSITORY], severity="medium", checkov=["CKV_AWS_51"], securityhub="ECR.2",
    fix='Set imageTagMutability "IMMUTABLE" and push each release under a new tag.')
def _immutable_tags(props, report, cfg, args):
    # botocore ecr ImageTagMutability: MUTABLE (the default), IMMUTABLE, IMMUTABLE_WITH_EXCLUSION,
    # MUTABLE_WITH_EXCLUSION. With exclusions some tags can still be overwritten.
    value = props.get("imageTagMutability") or "MUTABLE"
    if value != "IMMUTABLE":
        report(f"imageTagMutability is {shown(value)}: a pushed tag can be overwritten with another image.")


@resource_rule(
    "ecr-kms", "ECR repositories encrypt images with a customer-managed KMS key.",
    types=[ECR_REPOSITORY], severity="medium", checkov=["CKV_AWS_136"],
    fix='Set encryptionConfigurations [{"encryptionType": "KMS", "kmsKey": <the stack\'s key ARN>}].')
def _kms(props, report, cfg, args):
    # botocore ecr EncryptionType: AES256 (the default), KMS, KMS_DSSE; KMS without kmsKey uses the
    # AWS-managed key (pulumi_aws ecr RepositoryEncryptionConfigurationArgs.kms_key).
    configs = as_list(props.get("encryptionConfigurations"))
    kms = [e for e in configs if e.get("encryptionType") in ("KMS", "KMS_DSSE")]
    if not kms:
        report("images are encrypted with AES256 (S3-managed keys), not a KMS key.")
    elif not all(is_set(e, "kmsKey") for e in kms):
        report("encryptionType KMS without kmsKey uses the AWS-managed key: set the stack's own key.")

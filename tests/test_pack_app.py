"""ALB listeners and load balancers, ECS task definitions and services, ECR repositories, written as
a user would (policy_cases.Case)."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws
import pytest
from policy_cases import Case, assert_case, ids

from offline.analyzer import CONFIG_DIR

TAGS = {"Project": "platform", "Environment": "production", "Owner": "platform-team", "ManagedBy": "pulumi"}
LB_ARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/site/0123456789abcdef"
TG_ARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/app/0123456789abcdef"
CERT_ARN = "arn:aws:acm:us-east-1:123456789012:certificate/1"
REDIRECT = {"type": "redirect", "redirect": {"port": "443", "protocol": "HTTPS", "status_code": "HTTP_301"}}
FORWARD = {"type": "forward", "target_group_arn": TG_ARN}


# ---- listeners ---------------------------------------------------------------------------------
def _http_listener(action: dict, module=aws.lb, **kwargs):
    def program() -> None:
        module.Listener("http", load_balancer_arn=LB_ARN, port=80, default_actions=[action], tags=TAGS, **kwargs)
    return program


def _https_listener(ssl_policy: str | None, protocol: str = "HTTPS", port: int = 443):
    def program() -> None:
        extra = {"ssl_policy": ssl_policy} if ssl_policy else {}
        aws.lb.Listener("https", load_balancer_arn=LB_ARN, port=port, protocol=protocol, certificate_arn=CERT_ARN,
                        default_actions=[FORWARD], tags=TAGS, **extra)
    return program


def _rule_on_http_listener(action: dict, module=aws.lb):
    """A rule on the HTTP listener: evaluated before the listener's redirect (ALB guide, listener rules)."""
    def program() -> None:
        http = module.Listener("http", load_balancer_arn=LB_ARN, port=80, protocol="HTTP",
                               default_actions=[REDIRECT], tags=TAGS)
        module.ListenerRule("api", listener_arn=http.arn, priority=10, actions=[action],
                            conditions=[{"path_pattern": {"values": ["/api/*"]}}], tags=TAGS)
    return program


KEEP_PROTOCOL = {"type": "redirect", "redirect": {"port": "443", "protocol": "#{protocol}", "status_code": "HTTP_301"}}
FIXED = {"type": "fixed-response", "fixed_response": {"content_type": "text/plain", "status_code": "403"}}

LISTENER_CASES = [
    Case("alb-http-rules-redirect", _rule_on_http_listener(FORWARD), _rule_on_http_listener(REDIRECT),
         "answers with forward: the paths it matches are served over HTTP"),
    Case("alb-http-rules-redirect", _rule_on_http_listener(FORWARD, aws.alb), _rule_on_http_listener(REDIRECT, aws.alb),
         "sits on the plain HTTP listener", id="alb-module"),
    Case("alb-http-redirect", _http_listener(FORWARD, protocol="HTTP"), _http_listener(REDIRECT, protocol="HTTP"),
         "answers with forward instead of a redirect to HTTPS"),
    Case("alb-http-redirect", _http_listener(FIXED), _http_listener(REDIRECT), "answers with fixed-response",
         id="protocol-omitted-is-http"),
    Case("alb-http-redirect", _http_listener(KEEP_PROTOCOL, protocol="HTTP"), _http_listener(REDIRECT, protocol="HTTP"),
         "instead of a redirect to HTTPS", id="redirect-keeps-http"),
    Case("alb-http-redirect", _http_listener(FORWARD, module=aws.alb, protocol="HTTP"),
         _http_listener(REDIRECT, module=aws.alb, protocol="HTTP"), "instead of a redirect", id="alb-module-alias"),
    Case("alb-http-redirect", _http_listener(FORWARD, protocol="HTTP"), _http_listener(REDIRECT, protocol="HTTP"),
         "instead of a redirect", id="preview", preview=True),
    Case("alb-tls-policy", _https_listener("ELBSecurityPolicy-2016-08"), _https_listener("ELBSecurityPolicy-TLS13-1-2-2021-06"),
         "sslPolicy ELBSecurityPolicy-2016-08 accepts TLS versions older than 1.2"),
    Case("alb-tls-policy", _https_listener(None), _https_listener("ELBSecurityPolicy-TLS13-1-2-Res-2021-06"),
         "sslPolicy is not set", id="default-policy"),
    Case("alb-tls-policy", _https_listener("ELBSecurityPolicy-TLS13-1-1-2021-06", protocol="TLS"),
         _https_listener("ELBSecurityPolicy-TLS13-1-3-2021-06", protocol="TLS"), "accepts TLS versions older",
         id="nlb-tls-listener"),
    Case("alb-tls-policy", _https_listener("ELBSecurityPolicy-FS-2018-06"), _https_listener("ELBSecurityPolicy-FS-1-2-Res-2020-10"),
         "older than 1.2", id="forward-secrecy-tls10"),
]


# ---- load balancers ----------------------------------------------------------------------------
def _lb(module=aws.lb, **overrides):
    settings = {"drop_invalid_header_fields": True, "enable_deletion_protection": True,
                "access_logs": {"bucket": "site-alb-logs", "prefix": "alb", "enabled": True}, **overrides}

    def program() -> None:
        module.LoadBalancer("site", load_balancer_type="application", internal=False,
                            subnets=["subnet-0a", "subnet-0b"], tags=TAGS, **settings)
    return program


LB_CASES = [
    Case("alb-drop-invalid-headers", _lb(drop_invalid_header_fields=False), _lb(), "dropInvalidHeaderFields is not true"),
    Case("alb-drop-invalid-headers", _lb(module=aws.alb, drop_invalid_header_fields=None), _lb(module=aws.alb),
         "dropInvalidHeaderFields is not true", id="alb-module-alias-default"),
    Case("alb-deletion-protection", _lb(enable_deletion_protection=False), _lb(), "enableDeletionProtection is not true"),
    Case("alb-deletion-protection", _lb(enable_deletion_protection=False), _lb(), "enableDeletionProtection is not true",
         id="staging-advisory", config=CONFIG_DIR / "staging.json", level="advisory", stack="staging"),
    Case("alb-access-logs", _lb(access_logs={"bucket": "site-alb-logs", "prefix": "alb"}), _lb(),
         "accessLogs is not enabled", id="bucket-without-enabled"),
    Case("alb-access-logs", _lb(access_logs=None), _lb(), "accessLogs is not enabled", id="no-access-logs"),
    Case("alb-access-logs", _lb(access_logs=None), _lb(), "accessLogs is not enabled", id="preview", preview=True),
]


# ---- ECS task definitions ----------------------------------------------------------------------
BASE_CONTAINER = {"name": "app", "image": "public.ecr.aws/docker/library/node:22", "essential": True,
                  "readonlyRootFilesystem": True}


def _task(**container):
    definition = {**BASE_CONTAINER, **container}
    definition = {k: v for k, v in definition.items() if v is not None}

    def program() -> None:
        aws.ecs.TaskDefinition("task", family="app", cpu="256", memory="512", network_mode="awsvpc",
                               requires_compatibilities=["FARGATE"], container_definitions=json.dumps([definition]),
                               tags=TAGS)
    return program


def _daemon(**container):
    definition = {"name": "agent", "image": "public.ecr.aws/agent:1", "readonly_root_filesystem": True, **container}

    def program() -> None:
        aws.ecs.DaemonTaskDefinition("daemon", family="agent", container_definitions=[definition], tags=TAGS)
    return program


SECRET_FROM = "arn:aws:secretsmanager:us-east-1:123456789012:secret:app-env-AbCdEf:DATABASE_PASSWORD::"
DB_URL = "postgresql://app:hunter2@db.internal:5432/app"

TASK_CASES = [
    Case("ecs-non-privileged", _task(privileged=True), _task(privileged=False), "container app is privileged"),
    Case("ecs-non-privileged", _daemon(privileged=True), _daemon(), "container agent is privileged",
         id="daemon-task-definition"),
    Case("ecs-read-only-root", _task(readonlyRootFilesystem=None), _task(), "readonlyRootFilesystem is not true"),
    Case("ecs-read-only-root", _task(readonlyRootFilesystem=False), _task(), "readonlyRootFilesystem is not true",
         id="explicit-false"),
    Case("ecs-read-only-root", _daemon(readonly_root_filesystem=False), _daemon(), "readonlyRootFilesystem is not true",
         id="daemon-task-definition"),
    # A literal definition is known in preview: the rule blocks before the task definition exists.
    Case("ecs-read-only-root", _task(readonlyRootFilesystem=None), _task(), "readonlyRootFilesystem is not true",
         id="preview", preview=True),
    Case("ecs-non-root-user", _task(user="root"), _task(user="1001"), "runs as user root"),
    Case("ecs-non-root-user", _task(user="0:0"), _task(user="1001:1001"), "runs as user 0:0", id="uid-and-gid"),
    Case("ecs-no-plaintext-secrets", _task(environment=[{"name": "DATABASE_PASSWORD", "value": "hunter2"}]),
         _task(secrets=[{"name": "DATABASE_PASSWORD", "valueFrom": SECRET_FROM}]),
         "DATABASE_PASSWORD is named like a secret"),
    Case("ecs-no-plaintext-secrets", _task(environment=[{"name": "DATABASE_URL", "value": DB_URL}]),
         _task(environment=[{"name": "DATABASE_HOST", "value": "db.internal"}]),
         "DATABASE_URL is named like a secret", id="store-url-name"),
    # A neutral name: the value gives it away.
    Case("ecs-no-plaintext-secrets", _task(environment=[{"name": "UPSTREAM", "value": DB_URL}]),
         _task(environment=[{"name": "UPSTREAM", "value": "https://db.internal"}]),
         "UPSTREAM holds a URL with credentials", id="credential-url"),
    Case("ecs-no-plaintext-secrets", _daemon(environments=[{"name": "API_TOKEN", "value": "t0k3n"}]),
         _daemon(environments=[{"name": "API_URL", "value": "https://api.example.com"}]),
         "API_TOKEN is named like a secret", id="daemon-environments"),
]


# ---- ECS services and task sets ------------------------------------------------------------------
def _service(public: bool, kind: str = "service"):
    network = {"subnets": ["subnet-0a"], "security_groups": ["sg-0a"], "assign_public_ip": public}

    def program() -> None:
        if kind == "service":
            aws.ecs.Service("svc", cluster="arn:aws:ecs:us-east-1:123456789012:cluster/app", task_definition="app:1",
                            desired_count=1, launch_type="FARGATE", network_configuration=network, tags=TAGS)
        else:
            aws.ecs.TaskSet("set", cluster="app", service="svc", task_definition="app:1", launch_type="FARGATE",
                            network_configuration=network, tags=TAGS)
    return program


SERVICE_CASES = [
    Case("ecs-no-public-ip", _service(True), _service(False), "assignPublicIp is true"),
    Case("ecs-no-public-ip", _service(True, "task-set"), _service(False, "task-set"), "assignPublicIp is true",
         id="task-set"),
    Case("ecs-no-public-ip", _service(True), _service(False), "assignPublicIp is true", id="preview", preview=True),
]


# ---- ECR -----------------------------------------------------------------------------------------
def _repo(**overrides):
    def program() -> None:
        key = aws.kms.Key("images", description="images", enable_key_rotation=True, tags=TAGS)
        settings = {"image_tag_mutability": "IMMUTABLE", "image_scanning_configuration": {"scan_on_push": True},
                    "encryption_configurations": [{"encryption_type": "KMS", "kms_key": key.arn}], **overrides}
        settings = {k: v for k, v in settings.items() if v is not None}
        aws.ecr.Repository("repo", tags=TAGS, **settings)
    return program


def _repo_kms_without_key():
    _repo(encryption_configurations=[{"encryption_type": "KMS"}])()


def _repo_kms_with_literal_key():
    key = "arn:aws:kms:us-east-1:123456789012:key/1"
    aws.kms.Key("images", description="images", enable_key_rotation=True, tags=TAGS)
    aws.ecr.Repository("repo", image_tag_mutability="IMMUTABLE", image_scanning_configuration={"scan_on_push": True},
                       encryption_configurations=[{"encryption_type": "KMS", "kms_key": key}], tags=TAGS)


ECR_CASES = [
    Case("ecr-scan-on-push", _repo(image_scanning_configuration=None), _repo(), "scanOnPush is not true"),
    Case("ecr-scan-on-push", _repo(image_scanning_configuration={"scan_on_push": False}), _repo(),
         "scanOnPush is not true", id="explicit-false"),
    Case("ecr-immutable-tags", _repo(image_tag_mutability=None), _repo(), "imageTagMutability is MUTABLE"),
    Case("ecr-immutable-tags", _repo(image_tag_mutability="IMMUTABLE_WITH_EXCLUSION",
                                     image_tag_mutability_exclusion_filters=[{"filter": "latest",
                                                                              "filter_type": "WILDCARD"}]),
         _repo(), "imageTagMutability is IMMUTABLE_WITH_EXCLUSION", id="with-exclusion"),
    Case("ecr-kms", _repo(encryption_configurations=None), _repo(), "encrypted with AES256"),
    Case("ecr-kms", _repo_kms_without_key, _repo_kms_with_literal_key, "uses the AWS-managed key", id="kms-without-key"),
    # The key's ARN is unknown in preview: it counts as set, and AES256 is still refused before creation.
    Case("ecr-kms", _repo(encryption_configurations=[{"encryption_type": "AES256"}]), _repo(),
         "encrypted with AES256", id="preview", preview=True),
]

CASES = LISTENER_CASES + LB_CASES + TASK_CASES + SERVICE_CASES + ECR_CASES


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_case(pack, case):
    assert_case(pack, case)


def test_a_task_definition_unknown_in_preview_is_judged_once_advisory_and_blocked_in_up(pack):
    """The program's container definitions embed the repository URL: unknown in preview (advisory,
    "can't run during preview"), known in `up`, where the resource rule blocks before creation."""
    from conftest import inline_graph

    def program() -> None:
        repo = aws.ecr.Repository("repo", image_tag_mutability="IMMUTABLE", tags=TAGS,
                                  image_scanning_configuration={"scan_on_push": True})
        aws.ecs.TaskDefinition("task", family="app", container_definitions=pulumi.Output.json_dumps(
            [{"name": "app", "image": repo.repository_url, "privileged": True, "readonlyRootFilesystem": True}]),
            tags=TAGS)

    preview = pack.analyze(inline_graph(program, preview=True))
    fired = [d for d in preview.diagnostics if d.policy == "ecs-non-privileged"]
    assert [d.level for d in fired] == ["advisory"] and "during preview" in fired[0].message
    update = pack.analyze(inline_graph(program))
    assert [d.level for d in update.diagnostics if d.policy == "ecs-non-privileged"] == ["mandatory"]

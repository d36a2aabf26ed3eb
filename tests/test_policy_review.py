"""Adversarial review of the policy pack (issue 15 review): programs a user may write with the installed
SDKs (pulumi_aws 7, pulumi_cloudflare 6, pulumiverse_vercel 5) that the pack judges wrongly.

Each test asserts what the pack should do. They were written as strict xfails while the pack got
them wrong; every finding is fixed now and the markers are gone. The
`*_control` tests are the same shape in the spelling the pack already handles (they pass today) and
show the repro differs from a covered case only in the spelling.

Fixed in the same session: the Multi-AZ DB cluster, ECS keys in any case, the
aws.alb load balancer in graph rules, conditions that narrow nothing (Null, patterns), the port
overflow crash, the quadratic credential-URL search. Also fixed: a GitHub OIDC trust without `sub`, a TLS deny on a prefix only, CloudFront VPC
origins taken for S3, IMDSv2 inherited from a launch template, Cloudflare page/config rules lowering
SSL, a listener rule forwarding on the HTTP listener (alb-http-rules-redirect), secret names with a
variant suffix (STRIPE_API_KEY_LIVE) and names that only refer to a secret (DATABASE_SECRET_ARN).

Run: .venv/bin/python -m pytest -q -p no:cacheprovider tests/test_policy_review.py
"""

from __future__ import annotations

import json

import pulumi_aws as aws
import pulumi_cloudflare as cloudflare
import pulumiverse_vercel as vercel
import pytest
from conftest import ROOT, inline_graph

# tests/test_policies.py reads CASES from test_pack_*.py files only; this file adds no rule.
CASES: list = []

TAGS = {"Project": "platform", "Environment": "production", "Owner": "platform-team", "ManagedBy": "pulumi",
        "Stack": "production", "CostCenter": "web"}
KEY = "arn:aws:kms:us-east-1:111111111111:key/11111111-1111-1111-1111-111111111111"


def judge(pack, program, **kwargs):
    return pack.analyze(inline_graph(program, **kwargs))


def fired(pack, program, **kwargs) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for d in judge(pack, program, **kwargs).diagnostics:
        out.setdefault(d.policy, []).append(f"{d.resource}: {d.message}")
    return out


# ---- 1. rds-not-public: a public Multi-AZ DB cluster (rds.Cluster) is never judged ----------------
# pulumi_aws/rds/cluster.py: publicly_accessible "Valid only for Multi-AZ DB clusters. If not
# specified, defaults to `true` when `db_subnet_group_name` is not set or is `default`". A Multi-AZ
# DB cluster (engine postgres + db_cluster_instance_class) has no ClusterInstance resources: RDS
# creates its three instances itself, so the only place the exposure is visible is the Cluster.
def _multi_az_cluster(public: bool):
    def program() -> None:
        aws.rds.Cluster(
            "pg", engine="postgres", engine_version="16.4", db_cluster_instance_class="db.m6gd.large",
            storage_type="io1", allocated_storage=100, iops=1000, master_username="app",
            manage_master_user_password=True, master_user_secret_kms_key_id=KEY,
            storage_encrypted=True, kms_key_id=KEY, publicly_accessible=public,
            backup_retention_period=30, deletion_protection=True, final_snapshot_identifier="pg-final",
            iam_database_authentication_enabled=True, copy_tags_to_snapshot=True,
            enabled_cloudwatch_logs_exports=["postgresql"], db_cluster_parameter_group_name="pg-params",
            tags=TAGS)
    return program


def test_rds_cluster_multi_az_public(pack):
    assert "rds-not-public" in fired(pack, _multi_az_cluster(True))


def test_rds_instance_public_control(pack):
    def program() -> None:
        aws.rds.Instance("db", engine="postgres", instance_class="db.t4g.micro", allocated_storage=20,
                         publicly_accessible=True, storage_encrypted=True, kms_key_id=KEY, tags=TAGS)
    assert "rds-not-public" in fired(pack, program)


# ---- 2. ECS: container definitions in the ECS API's PascalCase (CloudFormation's spelling) ----------
# terraform-provider-aws internal/service/ecs/container_definitions.go expandContainerDefinitions
# decodes the JSON with encoding/json (internal/json/decode.go) into awstypes.ContainerDefinition,
# whose fields carry no json tags: Go matches keys case-insensitively, so "Privileged", "User",
# "Environment"/"Name"/"Value" and "ReadonlyRootFilesystem" are what ECS receives.
def _task(containers: list[dict]):
    def program() -> None:
        aws.ecs.TaskDefinition("task", family="app", requires_compatibilities=["FARGATE"], network_mode="awsvpc",
                               cpu="256", memory="512", container_definitions=json.dumps(containers), tags=TAGS)
    return program


PASCAL = [{"Name": "app", "Image": "nginx:1.27", "Essential": True, "Privileged": True, "User": "root",
           "ReadonlyRootFilesystem": True,
           "Environment": [{"Name": "DATABASE_PASSWORD", "Value": "hunter2-production"}]}]
CAMEL = [{"name": "app", "image": "nginx:1.27", "essential": True, "privileged": True, "user": "root",
          "readonlyRootFilesystem": True,
          "environment": [{"name": "DATABASE_PASSWORD", "value": "hunter2-production"}]}]


@pytest.mark.parametrize("policy", ["ecs-non-privileged", "ecs-non-root-user", "ecs-no-plaintext-secrets"])
def test_ecs_pascal_case_container_definitions(pack, policy):
    assert policy in fired(pack, _task(PASCAL))


@pytest.mark.parametrize("policy", ["ecs-non-privileged", "ecs-non-root-user", "ecs-no-plaintext-secrets"])
def test_ecs_camel_case_control(pack, policy):
    assert policy in fired(pack, _task(CAMEL))


# False positive, same cause: "readOnlyRootFilesystem" (the capital O everyone types; CDK's
# readonlyRootFilesystem prop is spelled differently from the API) and "ReadonlyRootFilesystem"
# reach ECS as ReadonlyRootFilesystem=true, yet ecs-read-only-root reports the container.
@pytest.mark.parametrize("spelling", ["readOnlyRootFilesystem", "ReadonlyRootFilesystem"])
def test_ecs_read_only_root_other_casing(pack, spelling):
    containers = [{"name": "app", "image": "nginx:1.27", "essential": True, spelling: True}]
    assert "ecs-read-only-root" not in fired(pack, _task(containers))


# ---- 3. aws.alb.LoadBalancer is not a load balancer for the graph rules ---------------------------
# _types.ALB_LOAD_BALANCER exists (alb.py judges it) but network.py sg-public-web-on-load-balancers
# and s3.py is_log_destination look only at aws:lb/loadBalancer:LoadBalancer.
def _web_sg_on(module):
    def program() -> None:
        vpc = aws.ec2.Vpc("vpc", cidr_block="10.0.0.0/16", tags=TAGS)
        aws.ec2.FlowLog("flow", vpc_id=vpc.id, traffic_type="ALL", log_destination_type="s3",
                        log_destination="arn:aws:s3:::flow-logs", tags=TAGS)
        sg = aws.ec2.SecurityGroup("web", vpc_id=vpc.id, description="public web", tags=TAGS)
        aws.vpc.SecurityGroupIngressRule("https", security_group_id=sg.id, ip_protocol="tcp", from_port=443,
                                         to_port=443, cidr_ipv4="0.0.0.0/0", description="visitors", tags=TAGS)
        module.LoadBalancer("alb", load_balancer_type="application", subnets=["subnet-1"],
                            security_groups=[sg.id], tags=TAGS)
    return program


def test_alb_module_load_balancer_web_group(pack):
    assert "sg-public-web-on-load-balancers" not in fired(pack, _web_sg_on(aws.alb))


def test_lb_module_load_balancer_web_group_control(pack):
    assert "sg-public-web-on-load-balancers" not in fired(pack, _web_sg_on(aws.lb))


def _alb_logs_into_sse_s3_bucket(module):
    def program() -> None:
        logs = aws.s3.Bucket("alb-logs", tags={**TAGS, "DataClass": "logs"})
        aws.s3.BucketServerSideEncryptionConfiguration(
            "alb-logs-sse", bucket=logs.id,
            rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}])
        module.LoadBalancer("alb", load_balancer_type="application", subnets=["subnet-1"],
                            access_logs={"bucket": logs.id, "enabled": True, "prefix": "alb"}, tags=TAGS)
    return program


def test_alb_module_access_log_bucket_sse_s3(pack):
    # AWS: ALB access logs can only be delivered to SSE-S3 buckets; the rule exempts log destinations.
    assert "s3-sse-kms" not in fired(pack, _alb_logs_into_sse_s3_bucket(aws.alb))


def test_lb_module_access_log_bucket_sse_s3_control(pack):
    assert "s3-sse-kms" not in fired(pack, _alb_logs_into_sse_s3_bucket(aws.lb))


# ---- 4. "narrowing" conditions that narrow nothing ------------------------------------------------
def _bucket_policy(statement: dict):
    def program() -> None:
        b = aws.s3.Bucket("data", tags=TAGS)
        aws.s3.BucketPolicy("data-policy", bucket=b.id, policy=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
             "Resource": ["arn:aws:s3:::data", "arn:aws:s3:::data/*"],
             "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
            {"Sid": "Grant", "Effect": "Allow", "Principal": "*", "Action": ["s3:GetObject", "s3:PutObject"],
             "Resource": "arn:aws:s3:::data/*", **statement}]}))
    return program


# s3.py once skipped only Not*/IfExists/ForAllValues operators, so the Null operator counted:
# {"Null": {"aws:PrincipalOrgID": "false"}} only requires the caller to be in SOME organization
# (any AWS customer's), {"Null": {"aws:SourceArn": "false"}} any resource of any account.
@pytest.mark.parametrize("condition", [
    {"Null": {"aws:PrincipalOrgID": "false"}},
    {"Null": {"aws:SourceArn": "false"}},
    # wildcard-only patterns: every role of every account, every ARN
    {"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/*"}},
    {"ArnLike": {"aws:SourceArn": "arn:aws:*"}},
    {"StringLike": {"aws:PrincipalAccount": "??????????*"}},
], ids=["null-orgid", "null-sourcearn", "principalarn-any-role", "sourcearn-any", "account-any"])
def test_s3_public_grant_with_vacuous_condition(pack, condition):
    assert "s3-policy-no-public-grant" in fired(pack, _bucket_policy({"Condition": condition}))


def test_s3_public_grant_control(pack):
    assert "s3-policy-no-public-grant" in fired(pack, _bucket_policy({}))


def _trust(condition: dict | None):
    def program() -> None:
        st = {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}
        if condition:
            st["Condition"] = condition
        aws.iam.Role("open", assume_role_policy=json.dumps({"Version": "2012-10-17", "Statement": [st]}),
                     tags=TAGS)
    return program


# _documents.narrowed refuses only values that are nothing but wildcards ("*", "?*"):
# "arn:aws:iam::*:*" matches every principal of every account.
@pytest.mark.parametrize("condition", [
    {"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:*"}},
    {"ArnLike": {"aws:PrincipalArn": "arn:*"}},
    {"StringLike": {"aws:PrincipalAccount": "*0*"}},
], ids=["principalarn-any", "arn-star", "account-pattern"])
def test_trust_anyone_with_vacuous_condition(pack, condition):
    assert "iam-trust-not-public" in fired(pack, _trust(condition))


def test_trust_anyone_control(pack):
    assert "iam-trust-not-public" in fired(pack, _trust(None))


# GitHub Actions OIDC trust without a `sub` condition: every workflow of every GitHub repository can
# assume the role (AWS IAM User Guide, "Configuring a role for GitHub OIDC identity provider": "always
# include a condition on token.actions.githubusercontent.com:sub"; Checkov CKV_AWS_358). Named
# Federated principal, so iam-trust-not-public never looks at it.
def test_trust_github_oidc_any_repository(pack):
    def program() -> None:
        aws.iam.Role("deploy", tags=TAGS, assume_role_policy=json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
            "Principal": {"Federated": "arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com"},
            "Condition": {"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}}}]}))
    got = fired(pack, program)
    assert "iam-trust-not-public" in got or "iam-trust-cross-account" in got, sorted(got)


# ---- 5. s3-tls-only: the TLS denial is accepted whatever Resource it covers ------------------------
def test_s3_tls_deny_only_on_a_prefix(pack):
    def program() -> None:
        b = aws.s3.Bucket("data", tags=TAGS)
        aws.s3.BucketPolicy("data-policy", bucket=b.id, policy=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::data/tmp/*",
             "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}))
    assert "s3-tls-only" in fired(pack, program)


# ---- 6. cloudfront-s3-oac: a VPC origin is judged as an S3 origin ----------------------------------
# pulumi_aws cloudfront DistributionOriginArgs.vpc_origin_config (an internal ALB/NLB/instance reached
# through aws.cloudfront.VpcOrigin): no customOriginConfig, so _is_s3_origin is true and the rule asks
# for an S3 Origin Access Control, which a VPC origin cannot take.
def test_cloudfront_vpc_origin_is_not_s3(pack):
    def program() -> None:
        aws.cloudfront.Distribution(
            "cdn", enabled=True, web_acl_id="arn:aws:wafv2:us-east-1:111111111111:global/webacl/x/y",
            origins=[{"origin_id": "internal-alb", "domain_name": "internal-alb.example.internal",
                      "vpc_origin_config": {"vpc_origin_id": "vo_123", "origin_keepalive_timeout": 5,
                                            "origin_read_timeout": 30}}],
            default_cache_behavior={"target_origin_id": "internal-alb", "viewer_protocol_policy": "https-only",
                                    "allowed_methods": ["GET", "HEAD"], "cached_methods": ["GET", "HEAD"],
                                    "cache_policy_id": "658327ea-f89d-4fab-a63d-7e88639e58f6"},
            restrictions={"geo_restriction": {"restriction_type": "none"}},
            viewer_certificate={"acm_certificate_arn": "arn:aws:acm:us-east-1:111111111111:certificate/x",
                                "ssl_support_method": "sni-only", "minimum_protocol_version": "TLSv1.2_2021"},
            tags=TAGS)
    assert "cloudfront-s3-oac" not in fired(pack, program)


# ---- 7. ec2-imdsv2: an instance launched from a launch template that requires IMDSv2 ---------------
# The Instance inherits metadata_options from its launch_template (EC2 RunInstances with a
# LaunchTemplate); the launch template itself is judged and passes, the instance is reported.
def test_instance_from_imdsv2_launch_template(pack):
    def program() -> None:
        lt = aws.ec2.LaunchTemplate("lt", image_id="ami-12345678", instance_type="t4g.micro",
                                    metadata_options={"http_tokens": "required", "http_endpoint": "enabled"},
                                    tags=TAGS)
        aws.ec2.Instance("vm", launch_template={"id": lt.id, "version": "$Latest"}, subnet_id="subnet-1",
                         tags=TAGS)
    got = fired(pack, program)
    assert "ec2-imdsv2" not in got, got.get("ec2-imdsv2")


# ---- 8. Cloudflare: SSL / HTTPS lowered per URL by a page rule or configuration rule ---------------
# pulumi_cloudflare 6 PageRuleActionsArgs.ssl / always_use_https and RulesetRuleActionParametersArgs.ssl
# (phase http_config_settings, action set_config) override the zone settings cloudflare-tls and
# cloudflare-always-https judge; "flexible" means Cloudflare talks plain HTTP to the origin.
def test_cloudflare_page_rule_flexible_ssl(pack):
    def program() -> None:
        cloudflare.PageRule("legacy", zone_id="0123456789abcdef0123456789abcdef", target="example.com/*",
                            priority=1, actions={"ssl": "flexible"})
    assert "cloudflare-tls" in fired(pack, program)


def test_cloudflare_config_rule_ssl_off(pack):
    def program() -> None:
        cloudflare.Ruleset("config", zone_id="0123456789abcdef0123456789abcdef", name="config",
                           kind="zone", phase="http_config_settings",
                           rules=[{"expression": "true", "action": "set_config",
                                   "action_parameters": {"ssl": "off"}, "description": "everything"}])
    assert "cloudflare-tls" in fired(pack, program)


# ---- 9. Vercel / ECS secret names with a suffix after the secret word ------------------------------
# vercel.weak_name only looks at the LAST word: STRIPE_API_KEY is caught, STRIPE_API_KEY_LIVE is not.
@pytest.mark.parametrize("key", ["STRIPE_API_KEY_LIVE", "GITHUB_TOKEN_PROD", "OPENAI_API_KEYS",
                                 "SLACK_BOT_TOKEN_V2"])
def test_vercel_secret_name_with_suffix(pack, key):
    def program() -> None:
        vercel.ProjectEnvironmentVariable("env", project_id="prj_123", key=key, value="sk_live_abcdef0123456789",
                                          targets=["production"], sensitive=False)
    assert "vercel-sensitive-env" in fired(pack, program)


def test_vercel_secret_name_control(pack):
    def program() -> None:
        vercel.ProjectEnvironmentVariable("env", project_id="prj_123", key="STRIPE_API_KEY",
                                          value="sk_live_abcdef0123456789", targets=["production"], sensitive=False)
    assert "vercel-sensitive-env" in fired(pack, program)


# False positives of the same name heuristics: an ARN, a public key, a policy knob.
@pytest.mark.parametrize("key,value", [
    ("DATABASE_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:111111111111:secret:db-AbCdEf"),
    ("JWT_PUBLIC_KEY", "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----"),
    ("PASSWORD_MIN_LENGTH", "12"),
])
def test_vercel_not_secret_names(pack, key, value):
    def program() -> None:
        vercel.ProjectEnvironmentVariable("env", project_id="prj_123", key=key, value=value,
                                          targets=["production"], sensitive=False)
    assert "vercel-sensitive-env" not in fired(pack, program)


# ---- 10. alb-http-redirect: a listener rule forwards plain HTTP ------------------------------------
# The HTTP listener's default action redirects, so alb-http-redirect passes, but an aws.lb.ListenerRule
# on that listener serves /api/* over plain HTTP (rules are evaluated before the default action).
def test_http_listener_rule_forwards(pack):
    def program() -> None:
        lb = aws.lb.LoadBalancer("alb", load_balancer_type="application", subnets=["subnet-1"],
                                 drop_invalid_header_fields=True, enable_deletion_protection=True,
                                 access_logs={"bucket": "logs", "enabled": True}, tags=TAGS)
        tg = aws.lb.TargetGroup("tg", port=80, protocol="HTTP", vpc_id="vpc-1", target_type="ip", tags=TAGS)
        http = aws.lb.Listener("http", load_balancer_arn=lb.arn, port=80, protocol="HTTP", default_actions=[{
            "type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443", "status_code": "HTTP_301"}}],
            tags=TAGS)
        aws.lb.ListenerRule("api-plain", listener_arn=http.arn, priority=10,
                            actions=[{"type": "forward", "target_group_arn": tg.arn}],
                            conditions=[{"path_pattern": {"values": ["/api/*"]}}], tags=TAGS)
    assert "alb-http-rules-redirect" in fired(pack, program)


# ---- 11. Crash: a port Python reads as infinity ----------------------------------------------------
# network._port: int(float(value)); float("1e999") is inf and int(inf) raises OverflowError, which is
# not among _rules.SHAPE_ERRORS: the whole Analyze call fails instead of a wrong-shape violation.
def test_port_overflow_does_not_crash(pack):
    def program() -> None:
        aws.ec2.SecurityGroupRule("rule", type="ingress", security_group_id="sg-1", protocol="tcp",
                                  from_port="1e999", to_port=22, cidr_blocks=["0.0.0.0/0"], description="x")
    judge(pack, program)  # raises grpc.RpcError today


# ---- 12. Quadratic regex: a long hex/alphanumeric value takes tens of seconds per variable ---------
# vercel.CREDENTIAL_URL "[a-z][a-z0-9+.-]*://..." is tried from every start position of a run of
# [a-z0-9+.-] characters and scans to its end: O(n^2) on a value without "://". Vercel takes values up
# to 64 KB; a hex-encoded key or certificate bundle in a non-secret-named variable (the name decides
# first, so only such names reach the value) costs ~20 s per 64 KB variable, in every Analyze.
def test_long_values_are_judged_and_the_url_search_starts_only_at_a_scheme(pack):
    """Three 64 KB hex values took about 24 s: the credential-URL pattern was tried from every
    position of a run of letters and digits. It now starts only where such a run starts (a
    lookbehind), which keeps the search linear; this asserts that anchor, not a time (the suite
    times nothing; bench figures live in the README)."""

    def program() -> None:
        vercel.ProjectEnvironmentVariables("envs", project_id="prj_123", variables=[
            {"key": f"BUNDLE_{i}", "value": "0123456789abcdef" * 4000, "targets": ["production"],
             "sensitive": False} for i in range(3)])
    verdict = pack.analyze(inline_graph(program))
    assert not [d for d in verdict.diagnostics if d.policy.startswith("vercel-")]
    source = (ROOT / "policies" / "vercel.py").read_text()
    assert 'CREDENTIAL_URL = re.compile(r"(?<![a-z0-9+.-])' in source

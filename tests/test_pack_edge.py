"""WAF web ACLs and CloudFront response headers, written as a user would (policy_cases.Case)."""

from __future__ import annotations

import json
from pathlib import Path

import pulumi_aws as aws
import pytest
from conftest import inline_graph
from policy_cases import Case, assert_case, ids

TAGS = {"Project": "platform", "Environment": "production", "Owner": "platform-team", "ManagedBy": "pulumi"}
VIS = {"cloudwatch_metrics_enabled": True, "sampled_requests_enabled": True, "metric_name": "m"}
MANAGED_SECURITY_HEADERS = "67f7725c-6f97-4210-82d7-5512b31e9d03"
# A pack config that requires the HSTS preload directive (what an environment on the preload list sets).
PRELOAD_CONFIG = Path(__file__).parent / "data" / "pack-config" / "require-preload.json"


# ---- WAF: a rule that blocks -----------------------------------------------------------------------
def _managed(override: str) -> dict:
    return {"name": "common", "priority": 0, "override_action": {override: {}}, "visibility_config": VIS,
            "statement": {"managed_rule_group_statement": {"vendor_name": "AWS", "name": "AWSManagedRulesCommonRuleSet"}}}


def _rate(action: str) -> dict:
    return {"name": "rate", "priority": 1, "action": {action: {}}, "visibility_config": VIS,
            "statement": {"rate_based_statement": {"limit": 100, "aggregate_key_type": "IP"}}}


def _acl(**kwargs) -> aws.wafv2.WebAcl:
    return aws.wafv2.WebAcl("acl", scope="REGIONAL", default_action={"allow": {}}, visibility_config=VIS,
                            tags=TAGS, **kwargs)


def _inline(rule: dict):
    def program() -> None:
        _acl(rules=[rule])
    return program


def _separate_rule(action: str):
    def program() -> None:
        acl = _acl()
        aws.wafv2.WebAclRule("acl-rate", web_acl_arn=acl.arn, priority=1, name="rate", action={action: {}},
                             statement={"rate_based_statement": {"limit": 100, "aggregate_key_type": "IP"}},
                             visibility_config=VIS)
    return program


def _association(override: str):
    def program() -> None:
        acl = _acl()
        aws.wafv2.WebAclRuleGroupAssociation(
            "acl-common", web_acl_arn=acl.arn, priority=0, rule_name="common", override_action=override,
            managed_rule_group={"vendor_name": "AWS", "name": "AWSManagedRulesCommonRuleSet"})
    return program


def _rule_json(override: str):
    def program() -> None:
        _acl(rule_json=json.dumps([{
            "Name": "common", "Priority": 0, "OverrideAction": {override: {}},
            "Statement": {"ManagedRuleGroupStatement": {"VendorName": "AWS", "Name": "AWSManagedRulesCommonRuleSet"}},
            "VisibilityConfig": {"CloudWatchMetricsEnabled": True, "SampledRequestsEnabled": True, "MetricName": "c"}}]))
    return program


def _default_block(default: str):
    def program() -> None:
        aws.wafv2.WebAcl("acl", scope="REGIONAL", default_action={default: {}}, visibility_config=VIS, tags=TAGS)
    return program


# ---- WAF: logging ----------------------------------------------------------------------------------
def _logged(redacted: list[str] | None):
    """An ACL with a blocking rule and its log group; `redacted` None: no logging configuration."""
    def program() -> None:
        acl = _acl(rules=[_managed("none")])
        group = aws.cloudwatch.LogGroup("waf-logs", name="aws-waf-logs-acl", retention_in_days=30, tags=TAGS)
        if redacted is not None:
            aws.wafv2.WebAclLoggingConfiguration(
                "acl-logging", resource_arn=acl.arn, log_destination_configs=[group.arn],
                redacted_fields=[{"single_header": {"name": h}} for h in redacted])
    return program


WAF_CASES = [
    Case("waf-blocking-rule", _inline(_managed("count")), _inline(_managed("none")), "no rule blocks",
         id="managed-group-counts"),
    Case("waf-blocking-rule", _inline(_rate("count")), _inline(_rate("block")), "no rule blocks", id="rate-rule-counts"),
    Case("waf-blocking-rule", _separate_rule("count"), _separate_rule("block"), "no rule blocks",
         id="separate-web-acl-rule"),
    Case("waf-blocking-rule", _association("count"), _association("none"), "no rule blocks",
         id="rule-group-association"),
    Case("waf-blocking-rule", _rule_json("Count"), _rule_json("None"), "no rule blocks", id="rule-json"),
    Case("waf-blocking-rule", _default_block("allow"), _default_block("block"), "defaultAction is allow",
         id="no-rules"),
    Case("waf-blocking-rule", _separate_rule("count"), _separate_rule("block"), "no rule blocks",
         id="separate-rule-preview", preview=True),
    Case("waf-logging", _logged(None), _logged(["authorization", "cookie"]), "has no WebAclLoggingConfiguration"),
    Case("waf-logging", _logged(["authorization"]), _logged(["authorization", "cookie"]), "cookie header(s) in clear",
         id="cookie-not-redacted"),
    Case("waf-logging", _logged(["cookie", "user-agent"]), _logged(["Authorization", "cookie"]),
         "authorization header(s) in clear", id="authorization-not-redacted"),
    Case("waf-logging", _logged(["authorization"]), _logged(["authorization", "cookie"]), "cookie header(s) in clear",
         id="preview", preview=True),
]


# ---- CloudFront: every behavior's response headers policy -----------------------------------------
def _headers(name: str, max_age: int = 31536000, subdomains: bool = True, preload: bool = False):
    return aws.cloudfront.ResponseHeadersPolicy(name, security_headers_config={"strict_transport_security": {
        "access_control_max_age_sec": max_age, "include_subdomains": subdomains, "preload": preload,
        "override": True}})


def _behavior(policy_id, path: str | None = None) -> dict:
    b = {"target_origin_id": "app", "viewer_protocol_policy": "redirect-to-https",
         "allowed_methods": ["GET", "HEAD"], "cached_methods": ["GET", "HEAD"],
         "cache_policy_id": "658327ea-f89d-4fab-a63d-7e88639e58f6"}
    if policy_id is not None:
        b["response_headers_policy_id"] = policy_id
    return {**b, "path_pattern": path} if path else b


def _distribution(default_id, ordered_id) -> None:
    aws.cloudfront.Distribution(
        "site", enabled=True, web_acl_id="arn:aws:wafv2:us-east-1:123456789012:global/webacl/site/1",
        origins=[{"origin_id": "app", "domain_name": "app.example.com", "custom_origin_config": {
            "http_port": 80, "https_port": 443, "origin_protocol_policy": "https-only",
            "origin_ssl_protocols": ["TLSv1.2"]}}],
        default_cache_behavior=_behavior(default_id), ordered_cache_behaviors=[_behavior(ordered_id, "/api/*")],
        viewer_certificate={"acm_certificate_arn": "arn:aws:acm:us-east-1:123456789012:certificate/1",
                            "ssl_support_method": "sni-only", "minimum_protocol_version": "TLSv1.2_2021"},
        restrictions={"geo_restriction": {"restriction_type": "none"}}, tags=TAGS)


def _ordered_policy(weak: bool):
    """The default behavior has the strong policy; the /api/* behavior a weak one (or the same)."""
    def program() -> None:
        strong = _headers("strong")
        weak_policy = _headers("weak", max_age=300)
        _distribution(strong.id, weak_policy.id if weak else strong.id)
    return program


def _ordered_without_policy(missing: bool):
    def program() -> None:
        strong = _headers("strong")
        _distribution(strong.id, None if missing else strong.id)
    return program


def _ordered_literal(policy_id: str):
    def program() -> None:
        strong = _headers("strong")
        _distribution(strong.id, policy_id)
    return program


def _default_without_subdomains(subdomains: bool):
    def program() -> None:
        policy = _headers("strong", subdomains=subdomains)
        _distribution(policy.id, policy.id)
    return program


def _preload(preload: bool):
    def program() -> None:
        policy = _headers("strong", preload=preload)
        _distribution(policy.id, policy.id)
    return program


HEADER_CASES = [
    Case("cloudfront-security-headers", _ordered_policy(True), _ordered_policy(False),
         "behavior /api/*: weak lacks HSTS with max-age >= 31536000", id="ordered-behavior-weak-policy"),
    Case("cloudfront-security-headers", _ordered_policy(True), _ordered_policy(False),
         "behavior /api/*: weak lacks HSTS", id="ordered-behavior-preview", preview=True),
    Case("cloudfront-security-headers", _ordered_without_policy(True), _ordered_without_policy(False),
         "behavior /api/*: has no response headers policy", id="ordered-behavior-missing"),
    Case("cloudfront-security-headers", _ordered_literal("0a1b2c3d-outside-this-stack"),
         _ordered_literal(MANAGED_SECURITY_HEADERS), "which is not in this stack", id="policy-outside-the-stack"),
    Case("cloudfront-security-headers", _default_without_subdomains(False), _default_without_subdomains(True),
         "default behavior: strong lacks HSTS", id="no-include-subdomains"),
    Case("cloudfront-security-headers", _preload(False), _preload(True), "lacks the HSTS preload directive",
         id="preload-required", config=PRELOAD_CONFIG),
]

CASES = WAF_CASES + HEADER_CASES


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_case(pack, case):
    assert_case(pack, case)


def test_preload_is_required_only_where_the_pack_config_asks(pack):
    graph = inline_graph(_preload(False))
    assert "cloudfront-security-headers" not in pack.analyze(graph).fired()
    assert "cloudfront-security-headers" in pack.analyze(graph, PRELOAD_CONFIG).fired()

"""The WAFv2 web ACL both public entry points get: CloudFront's (scope CLOUDFRONT, in us-east-1,
components/cdn.py) and, when no CDN fronts it, the load balancer's (scope REGIONAL, in the ALB's
region, components/ecs_service.py). One builder, so the two cannot drift apart: AWS's managed rule
groups, the seeds' rate limits as rate-based rules, and request logs with the credentials redacted.
"""

from __future__ import annotations

import math

import pulumi
import pulumi_aws as aws

from components._common import key_policy, kms_key
from components.rate_limits import RateLimitSettings

WAF_WINDOWS = (60, 120, 300, 600)  # seconds WAF rate-based rules can count over
WAF_MIN_LIMIT = 10
WAF_LOG_PREFIX = "aws-waf-logs-"  # WAF writes only to destinations whose name starts with it
# AWS managed rule groups, in priority order; the core set's body-size rule only counts, so uploads pass.
MANAGED_RULE_GROUPS = ("AWSManagedRulesAmazonIpReputationList", "AWSManagedRulesCommonRuleSet",
                       "AWSManagedRulesKnownBadInputsRuleSet", "AWSManagedRulesSQLiRuleSet")
# Headers no WAF log may show: the viewer's credentials.
CREDENTIAL_HEADERS = ("authorization", "cookie")


def waf_rules(limits: RateLimitSettings) -> list[tuple[str, str, int, int]]:
    """(name, path prefix, limit, window) for WAF, each at least WAF's minimum of 10."""
    general_window = max(w for w in WAF_WINDOWS if w <= max(limits.general_window_seconds, 60))
    return [
        ("auth", limits.auth_path, max(WAF_MIN_LIMIT, limits.auth_per_second * 60), 60),
        ("api", limits.api_path, max(WAF_MIN_LIMIT, limits.api_per_second * 60), 60),
        ("general", limits.api_path, max(WAF_MIN_LIMIT, math.ceil(
            limits.general_requests * general_window / limits.general_window_seconds)), general_window),
    ]


def _visibility(name: str, metric: str) -> aws.wafv2.WebAclRuleVisibilityConfigArgsDict:
    return {"cloudwatch_metrics_enabled": True, "sampled_requests_enabled": True, "metric_name": f"{name}-{metric}"}


def _managed_rules(name: str) -> list[aws.wafv2.WebAclRuleArgsDict]:
    rules: list[aws.wafv2.WebAclRuleArgsDict] = []
    for priority, group in enumerate(MANAGED_RULE_GROUPS):
        statement: aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementArgsDict = {
            "vendor_name": "AWS", "name": group}
        if group == "AWSManagedRulesCommonRuleSet":
            statement["rule_action_overrides"] = [{"name": "SizeRestrictions_BODY", "action_to_use": {"count": {}}}]
        rules.append({"name": group, "priority": priority, "override_action": {"none": {}},
                      "statement": {"managed_rule_group_statement": statement},
                      "visibility_config": _visibility(name, group)})
    return rules


def _rate_rules(name: str, limits: RateLimitSettings) -> list[aws.wafv2.WebAclRuleArgsDict]:
    rules: list[aws.wafv2.WebAclRuleArgsDict] = []
    for offset, (rule, path, limit, window) in enumerate(waf_rules(limits)):
        rules.append({
            "name": f"rate-{rule}", "priority": 10 + offset,
            "action": {"block": {}} if limits.action == "block" else {"count": {}},
            "statement": {"rate_based_statement": {
                "limit": limit, "evaluation_window_sec": window, "aggregate_key_type": "IP",
                "scope_down_statement": {"byte_match_statement": {
                    "search_string": path, "positional_constraint": "STARTS_WITH",
                    "field_to_match": {"uri_path": {}},
                    "text_transformations": [{"priority": 0, "type": "LOWERCASE"}]}}}},
            "visibility_config": _visibility(name, f"rate-{rule}"),
        })
    return rules


def web_acl(name: str, *, scope: str, limits: RateLimitSettings, tags: dict[str, str],
            opts: pulumi.ResourceOptions, region: str | None = None) -> aws.wafv2.WebAcl:
    """`{name}-waf`: allows by default; the managed groups block what they match, the rate rules
    block (or count, rateLimitAction) a client over the seeds' limits. `scope` is CLOUDFRONT (then
    `region` must be us-east-1) or REGIONAL (`region` None: the provider's, where the ALB is)."""
    return aws.wafv2.WebAcl(
        f"{name}-waf", scope=scope, region=region, default_action={"allow": {}},
        rules=_managed_rules(name) + _rate_rules(name, limits),
        visibility_config=_visibility(name, "waf"), tags=tags, opts=opts)


def waf_logging(name: str, acl: aws.wafv2.WebAcl, *, log_name: str, retention_days: int,
                redacted_headers: list[str], tags: dict[str, str], parent: pulumi.Resource,
                region: str | None = None) -> aws.wafv2.WebAclLoggingConfiguration:
    """The web ACL's request logs in `log_name` (which must start with aws-waf-logs-), a log group
    encrypted with a key of its own, `redacted_headers` replaced in every record.

    The destination must be in the web ACL's region: us-east-1 for a CLOUDFRONT ACL (WAF API
    LoggingConfiguration; pulumi_aws WebAclLoggingConfigurationArgs); `region` None is the
    provider's, where a REGIONAL ACL built with region None lives.
    """
    if not log_name.startswith(WAF_LOG_PREFIX):
        raise ValueError(f"{name}: log_name {log_name!r} must start with {WAF_LOG_PREFIX} (WAF refuses others)")
    child = pulumi.ResourceOptions(parent=parent)
    invoke = pulumi.InvokeOutputOptions(parent=parent)
    identity = aws.get_caller_identity_output(opts=invoke)
    where: pulumi.Input[str] = region or aws.get_region_output(opts=invoke).region
    partition = identity.arn.apply(lambda arn: arn.split(":")[1])
    # CloudWatch Logs encrypts with the key only for this log group (the encryption context it sends).
    key = kms_key(f"{name}-waf-logs-key", f"{name}: WAF request logs", tags, child, region=region,
                  policy=key_policy(identity, {
                      "Sid": "CloudWatchLogsEncryptsWafLogs", "Effect": "Allow", "Resource": "*",
                      "Principal": {"Service": pulumi.Output.concat("logs.", where, ".amazonaws.com")},
                      "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*",
                                 "kms:Describe*"],
                      "Condition": {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": pulumi.Output.concat(
                          "arn:", partition, ":logs:", where, ":", identity.account_id, ":log-group:",
                          log_name)}}}))
    group = aws.cloudwatch.LogGroup(f"{name}-waf-logs", name=log_name, retention_in_days=retention_days,
                                    kms_key_id=key.arn, region=region, tags=tags, opts=child)
    return aws.wafv2.WebAclLoggingConfiguration(
        f"{name}-waf-logging", resource_arn=acl.arn, log_destination_configs=[group.arn], region=region,
        redacted_fields=[{"single_header": {"name": header}} for header in redacted_headers], opts=child)

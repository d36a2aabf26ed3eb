"""WAFv2 web ACLs: at least one rule that blocks, and logs with the credentials redacted.

A web ACL's rules can be written inline (`rules`) or as resources of their own that name the ACL's
ARN (aws.wafv2.WebAclRule, aws.wafv2.WebAclRuleGroupAssociation; the SDK's docstring for `rules`
recommends them), and its logging is always a resource of its own: both rules need the graph, so
they are stack rules judged ACL by ACL.
"""

from __future__ import annotations

import json

from _rules import Stack, as_list, stack_rule
from _types import WEB_ACL, WEB_ACL_LOGGING, WEB_ACL_RULE, WEB_ACL_RULE_GROUP_ASSOCIATION

# Statements that hand the request to a rule group; the group's own rules decide (block, count...)
# unless the web ACL's overrideAction is count (pulumi_aws wafv2 WebAclRuleStatementArgs).
GROUP_STATEMENTS = ("managedRuleGroupStatement", "ruleGroupReferenceStatement")
# Actions that stop a request (WAF API RuleAction: Block, Captcha and Challenge end the evaluation
# for a client that does not pass; Allow and Count let it through).
STOPPING_ACTIONS = ("block", "captcha", "challenge")


def _camel(key: str) -> str:
    return key[:1].lower() + key[1:]


def _rule_blocks(rule) -> bool:
    """An inline rule, a WebAclRule resource or a ruleJson entry (the API's PascalCase, camelCased
    here): action | overrideAction, and a statement."""
    action = {_camel(k) for k in (rule.get("action") or rule.get("Action") or {})}
    if action & set(STOPPING_ACTIONS):
        return True
    statement = {_camel(k) for k in (rule.get("statement") or rule.get("Statement") or {})}
    if statement & set(GROUP_STATEMENTS):
        override = {_camel(k) for k in (rule.get("overrideAction") or rule.get("OverrideAction") or {})}
        return "count" not in override
    return False


def _inline_rules(acl) -> list:
    """`rules`, or `ruleJson`: the API's Rules list as a JSON string (pulumi_aws wafv2 WebAclArgs.rule_json).
    JSON that does not parse raises ValueError: a violation of the wrong shape, reported by the rule."""
    raw = acl.props.get("ruleJson")
    if raw:
        return as_list(json.loads(raw) if isinstance(raw, str) else raw)
    return as_list(acl.props.get("rules"))


def _association_blocks(assoc) -> bool:
    # WebAclRuleGroupAssociation.overrideAction is a string: "none" (the default) or "count".
    return (assoc.get("overrideAction") or "none") == "none"


def _blocking_rules(stack: Stack, acl) -> list[str]:
    names = [str(r.get("name") or r.get("Name")) for r in _inline_rules(acl) if _rule_blocks(r)]
    names += [r.name for r in stack.referencing(acl, WEB_ACL_RULE, "webAclArn") if _rule_blocks(r.props)]
    names += [a.name for a in stack.referencing(acl, WEB_ACL_RULE_GROUP_ASSOCIATION, "webAclArn")
              if _association_blocks(a.props)]
    return names


@stack_rule(
    "waf-blocking-rule", "A web ACL that allows by default has at least one rule that blocks.",
    types=[WEB_ACL], severity="high", securityhub="WAF.10",
    fix="Add a managed rule group with overrideAction none (components/cdn.py adds AWS's IP reputation, "
        "common, known-bad-inputs and SQLi groups) or a rule whose action is block; a rule group whose "
        "overrideAction is count only counts.")
def _blocking_rule(stack: Stack, acl, report, cfg):
    default = acl.props.get("defaultAction") or {}
    if "block" in default:
        return
    if not _blocking_rules(stack, acl):
        report("defaultAction is allow and no rule blocks: every rule only counts or allows, so the ACL "
               "stops nothing.")


REDACT_DEFAULT = ["authorization", "cookie"]


def _redacted_headers(logging) -> set[str]:
    # WAF matches header names case-insensitively (botocore wafv2 SingleHeader); the SDK asks for
    # lower case (pulumi_aws wafv2 WebAclLoggingConfigurationRedactedFieldSingleHeaderArgs.name).
    return {str((f.get("singleHeader") or {}).get("name", "")).lower()
            for f in as_list(logging.props.get("redactedFields"))}


@stack_rule(
    "waf-logging", "Every web ACL logs its requests, with the credential headers redacted.",
    types=[WEB_ACL], severity="medium", checkov=["CKV2_AWS_31"], securityhub="WAF.11",
    config={"redactedHeaders": {"type": "array", "items": {"type": "string"}, "default": REDACT_DEFAULT,
                                "description": "Request headers (lower case) every WAF log must redact."}},
    fix="Add aws.wafv2.WebAclLoggingConfiguration with resourceArn the ACL's ARN, a destination named "
        'aws-waf-logs-* (in us-east-1 for a CLOUDFRONT ACL) and redactedFields singleHeader "authorization" '
        'and "cookie".')
def _logging(stack: Stack, acl, report, cfg):
    configs = stack.referencing(acl, WEB_ACL_LOGGING, "resourceArn")
    if not configs:
        report("has no WebAclLoggingConfiguration: blocked and allowed requests leave no trace.")
        return
    wanted = {str(h).lower() for h in cfg["redactedHeaders"]}
    for logging in configs:
        missing = sorted(wanted - _redacted_headers(logging))
        if missing:
            report(f"{logging.name} logs the {', '.join(missing)} header(s) in clear: add them to "
                   "redactedFields.", logging.urn)

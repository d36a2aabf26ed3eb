"""The load balancer's own WAF (components/ecs_service.py, components/_waf.py): without a CDN the ALB
faces the internet, so it gets a REGIONAL web ACL with the CDN's rules, associated with it, and the
same request logs (Checkov CKV2_AWS_28; the pack's waf-blocking-rule and waf-logging)."""

from __future__ import annotations

import copy
import json

import pytest
from conftest import evaluate, example_graph, stack_graph

from components._waf import CREDENTIAL_HEADERS, MANAGED_RULE_GROUPS
from offline.analyzer import default_config_path
from offline.cost import estimate
from offline.mocks import computed

ASSOCIATION = "aws:wafv2/webAclAssociation:WebAclAssociation"
ACL = "aws:wafv2/webAcl:WebAcl"
LOGGING = "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"
REGIONAL_ACL = "arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/app-waf/1"
GLOBAL_ACL = "arn:aws:wafv2:us-east-1:123456789012:global/webacl/cdn-waf/1"
ALB = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/app-alb/0123456789abcdef"


@pytest.fixture(scope="module")
def guide():
    return example_graph("generic-guide")  # appHosting aws, no CDN, eu-west-1


def _without_metric_names(rules: list[dict]) -> list[dict]:
    rules = copy.deepcopy(rules)
    for rule in rules:
        del rule["visibilityConfig"]["metricName"]
    return rules


def test_without_a_cdn_the_alb_gets_a_regional_acl_with_the_cdns_rules(guide, production):
    acl = guide.named("app-waf")
    assert acl.input("scope") == "REGIONAL"
    assert acl.input("region") is None  # the provider's region, where the ALB is
    assert acl.outputs["arn"].startswith("arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/")
    assert acl.input("defaultAction") == {"allow": {}}
    rules = acl.input("rules")
    assert [r["name"] for r in rules] == [*MANAGED_RULE_GROUPS, "rate-auth", "rate-api", "rate-general"]
    assert all(r["overrideAction"] == {"none": {}} for r in rules[:len(MANAGED_RULE_GROUPS)])
    assert all(r["action"] == {"block": {}} for r in rules[len(MANAGED_RULE_GROUPS):])
    assert {r["visibilityConfig"]["metricName"] for r in rules} == {f"app-{r['name']}" for r in rules}
    # One builder: the same rules as production's CloudFront ACL (both use the default seed limits).
    assert _without_metric_names(rules) == _without_metric_names(production.named("cdn-waf").input("rules"))
    assert acl.input("tags") == guide.named("app-alb").input("tags")


def test_the_acl_is_associated_with_the_load_balancer(guide):
    [assoc] = guide.of_type(ASSOCIATION)
    assert assoc.name == "app-waf-alb"
    assert assoc.input("webAclArn") == guide.named("app-waf").outputs["arn"]
    assert assoc.input("resourceArn") == guide.named("app-alb").outputs["arn"]
    assert assoc.parent == guide.named("app").urn


def test_the_acl_logs_to_an_encrypted_group_in_the_albs_region_with_credentials_redacted(guide):
    logging, group, key = guide.named("app-waf-logging"), guide.named("app-waf-logs"), guide.named("app-waf-logs-key")
    assert logging.input("resourceArn") == guide.named("app-waf").outputs["arn"]
    assert logging.input("logDestinationConfigs") == [group.outputs["arn"]]
    assert [f["singleHeader"]["name"] for f in logging.input("redactedFields")] == list(CREDENTIAL_HEADERS) \
        == ["authorization", "cookie"]
    assert group.input("name") == "aws-waf-logs-app-production"
    assert group.outputs["arn"] == "arn:aws:logs:eu-west-1:123456789012:log-group:aws-waf-logs-app-production"
    assert group.input("kmsKeyId") == key.outputs["arn"] and ":eu-west-1:" in key.outputs["arn"]
    assert group.input("retentionInDays") == guide.named("app-logs").input("retentionInDays")
    assert key.input("enableKeyRotation") is True
    statement = json.loads(key.input("policy"))["Statement"][1]
    assert statement["Principal"] == {"Service": "logs.eu-west-1.amazonaws.com"}
    assert statement["Condition"] == {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn":
                                                    "arn:aws:logs:eu-west-1:123456789012:log-group:"
                                                    "aws-waf-logs-app-production"}}


@pytest.mark.parametrize("source", ["staging", "production", "project-spark"])
def test_behind_a_cdn_the_alb_has_no_acl_of_its_own(source):
    """The CDN's ACL protects the origin, and the ALB admits only CloudFront with the origin secret."""
    g = example_graph(source) if "-" in source else stack_graph(source)
    assert not g.of_type(ASSOCIATION)
    assert [r.name for r in g.of_type(ACL)] == ["cdn-waf"]
    assert not [r.name for r in g.resources if r.name.startswith("app-waf")]


def test_the_stacks_rate_limit_action_reaches_the_albs_acl():
    g = evaluate("staging", cdnEnabled="false")  # staging counts instead of blocking (rateLimitAction)
    rules = {r["name"]: r for r in g.named("app-waf").input("rules")}
    assert [rules[f"rate-{n}"]["action"] for n in ("auth", "api", "general")] == [{"count": {}}] * 3
    assert g.named("app-waf").input("scope") == "REGIONAL" and len(g.of_type(ASSOCIATION)) == 1
    assert g.named("app-waf-logs").input("name") == "aws-waf-logs-app-staging"


def test_preview_builds_the_acl_before_the_alb_exists():
    g = example_graph("generic-guide", preview=True)
    assoc = g.named("app-waf-alb")
    assert assoc.type == ASSOCIATION
    assert {g.named("app-waf").urn, g.named("app-alb").urn} <= set(assoc.dependencies)
    assert g.named("app-waf-logs").input("name") == "aws-waf-logs-app-production"  # known before anything exists


def test_the_pack_judges_the_albs_acl(pack, guide):
    """waf-blocking-rule and waf-logging pass on it as built, and fire on it when it is broken."""
    assert pack.analyze(guide, default_config_path("production")).diagnostics == []
    broken = copy.deepcopy(guide)
    broken.resources = [r for r in broken.resources if r.name != "app-waf-logging"]
    acl = broken.named("app-waf")
    for props in (acl.inputs, acl.outputs):
        props["rules"] = [{**r, "overrideAction": {"count": {}}} if "overrideAction" in r else
                          {**r, "action": {"count": {}}} for r in props["rules"]]
    fired = {(d.policy, d.resource) for d in pack.analyze(broken, default_config_path("production"),
                                                           only={acl.urn}).mandatory}
    assert fired == {("waf-blocking-rule", "app-waf"), ("waf-logging", "app-waf")}


def test_cost_prices_the_regional_acl_and_not_its_association():
    est = estimate(evaluate("staging", cdnEnabled="false"))  # us-east-1: in the price table
    acl = next(x for x in est.lines if x.name == "app-waf")
    assert (acl.kind, acl.monthly) == ("priced", 5 + 7 * 1)  # web ACL + 4 managed groups + 3 rate rules
    assoc = next(x for x in est.lines if x.name == "app-waf-alb")
    assert (assoc.kind, assoc.monthly) == ("free", 0)
    # eu-west-1 has WAF's rates (AWS: the same in every Region, offline/prices.yaml); a region the
    # table lacks stays unpriced, never cheap.
    guide_acl = next(x for x in estimate(example_graph("generic-guide")).lines if x.name == "app-waf")
    assert guide_acl.kind == "priced" and guide_acl.basis.startswith("web ACL $5.00 + ")
    cape = next(x for x in estimate(evaluate("staging", cdnEnabled="false", awsRegion="af-south-1")).lines
                if x.name == "app-waf")
    assert cape.kind == "unpriced" and "no wafv2 prices for region af-south-1" in cape.basis


# ---- the mock answers as WAF does -----------------------------------------------------------------
def test_the_mock_associates_a_regional_acl_with_a_resource_of_its_region():
    rid, _ = computed(ASSOCIATION, "a", {"webAclArn": REGIONAL_ACL, "resourceArn": ALB}, "eu-west-1")
    assert rid == f"{REGIONAL_ACL},{ALB}"


@pytest.mark.parametrize("acl, resource, region, why", [
    (GLOBAL_ACL, ALB, "eu-west-1", "CLOUDFRONT web ACL"),
    (GLOBAL_ACL, ALB.replace("eu-west-1", "us-east-1"), "us-east-1", "CLOUDFRONT web ACL"),
    (REGIONAL_ACL, ALB.replace("eu-west-1", "eu-central-1"), "eu-west-1", "must both be in eu-west-1"),
    (REGIONAL_ACL, ALB, "us-east-1", "must both be in us-east-1"),
])
def test_the_mock_refuses_associations_waf_refuses(acl, resource, region, why):
    with pytest.raises(ValueError, match=why):
        computed(ASSOCIATION, "a", {"webAclArn": acl, "resourceArn": resource}, region)


def test_the_mock_scopes_acl_arns_and_keeps_regional_logs_in_the_acls_region():
    regional = computed(ACL, "w", {"name": "w", "scope": "REGIONAL"}, "eu-west-1")[1]["arn"]
    assert regional.startswith("arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/w/")
    cloudfront = computed(ACL, "w", {"name": "w", "scope": "CLOUDFRONT"}, "us-east-1")[1]["arn"]
    assert cloudfront.startswith("arn:aws:wafv2:us-east-1:123456789012:global/webacl/w/")
    here = "arn:aws:logs:eu-west-1:123456789012:log-group:aws-waf-logs-app"
    assert computed(LOGGING, "l", {"resourceArn": REGIONAL_ACL, "logDestinationConfigs": [here]}, "eu-west-1")
    with pytest.raises(ValueError, match="not in eu-west-1, where this REGIONAL"):
        computed(LOGGING, "l", {"resourceArn": REGIONAL_ACL,
                                "logDestinationConfigs": [here.replace("eu-west-1", "us-east-1")]}, "eu-west-1")


def test_the_service_needs_the_stack_name_for_its_waf_log_group():
    from components._validation import InvalidArgs
    from components.ecs_service import EcsServiceArgs

    with pytest.raises(InvalidArgs, match="stack"):
        EcsServiceArgs(*([None] * 10), rate_limits=None, stack="")  # type: ignore[arg-type]

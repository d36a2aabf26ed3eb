"""components/dns.py and components/_dns_zone.py: site names, certificate validation, Cloudflare zone rules."""

import dataclasses
import re

import pytest
import yaml
from conftest import EXAMPLES, STACKS, config_error, evaluate, example_file, example_graph, stack_graph

from components._dns_zone import DnsZone, SiteTarget
from components._validation import InvalidArgs
from components.dns import CHARACTERISTICS, RATE_LIMIT_PLANS, CloudflareSettings, DnsArgs
from components.rate_limits import RateLimitSettings


def test_route53_aliases_point_at_cloudfront(staging):
    records = {r.name: r for r in staging.of_type("aws:route53/record:Record") if r.name.startswith("dns-")}
    assert sorted(records) == sorted(f"dns-{h}-{t}" for h in ("apex", "www", "api") for t in ("a", "aaaa"))
    cdn = staging.named("cdn-distribution").outputs["domainName"]
    for r in records.values():
        assert r.input("aliases") == [{"name": cdn, "zoneId": "Z2FDTNDATAQYW2", "evaluateTargetHealth": False}]
    assert records["dns-apex-a"].input("name") == "staging.example.com"
    # The zone is looked up by appDnsZone, not by the staging subdomain.
    zone_ids = {r.input("zoneId") for r in records.values()}
    assert len(zone_ids) == 1 and zone_ids == {
        r.input("zoneId") for r in staging.of_type("aws:route53/record:Record") if "validation" in r.name}


def test_certificates_are_validated_through_the_zone(production):
    # ACM gives every certificate of an account the same CNAME for a name, in every region, so the
    # ALB's records (the app owns them) validate the CloudFront certificate too.
    records = [production.named(f"app-alb-validation-{i}") for i in range(3)]
    for prefix in ("cdn-edge", "app-alb"):
        cert = production.named(f"{prefix}-cert")
        validation = production.named(f"{prefix}-cert-validation")
        assert validation.input("certificateArn") == cert.outputs["arn"]
        options = {o["resourceRecordName"].rstrip("."): o["resourceRecordValue"].rstrip(".")
                   for o in cert.outputs["domainValidationOptions"]}
        assert {r.input("name"): r.input("records")[0] for r in records} == options
        assert validation.input("validationRecordFqdns") == [r.outputs["fqdn"] for r in records]
        assert {r.urn for r in records} <= set(validation.dependencies)
    assert not [r for r in production.resources if r.name.startswith("cdn-edge-validation-")]


def _record_key(r) -> tuple:
    if r.type == "cloudflare:index/dnsRecord:DnsRecord":
        return r.input("zoneId"), r.input("name"), r.input("type")
    # Weighted records share a name and differ by set identifier (the postgres reader pool).
    return r.input("zoneId"), r.input("name").rstrip("."), r.input("type"), r.input("setIdentifier")


def _graphs_with_certificates():
    yield from (stack_graph(s) for s in STACKS)
    yield from (example_graph(a) for a in EXAMPLES)
    yield evaluate(example="study-sphere", cdnEnabled="true")  # Vercel + CloudFront on Cloudflare DNS
    yield evaluate("production", appDnsProvider="cloudflare", cloudflareZoneId="0123456789abcdef0123456789abcdef",
                   cloudflarePlan="business")
    yield evaluate(example="generic-guide", cdnEnabled="true")  # ALB in eu-west-1, CloudFront in us-east-1


def test_one_owner_per_dns_record_and_validations_use_existing_records():
    """Two resources for one (zone, name, type) fail on a real account: Route 53 'already exists'
    (terraform-provider-aws #13653), Cloudflare 'identical record already exists'."""
    validations = 0
    for g in _graphs_with_certificates():
        records = g.of_type("aws:route53/record:Record") + g.of_type("cloudflare:index/dnsRecord:DnsRecord")
        keys = [_record_key(r) for r in records]
        assert len(keys) == len(set(keys)), sorted(k for k in keys if keys.count(k) > 1)
        names = {r.outputs.get("fqdn") or r.input("name"): r for r in records}
        certs = {c.outputs["arn"]: c for c in g.of_type("aws:acm/certificate:Certificate")}
        for v in g.of_type("aws:acm/certificateValidation:CertificateValidation"):
            fqdns = v.input("validationRecordFqdns")
            assert all(f in names for f in fqdns), (v.name, fqdns)
            wanted = {o["resourceRecordName"].rstrip(".") for o in certs[v.input("certificateArn")].outputs[
                "domainValidationOptions"]}
            assert set(fqdns) == wanted and len(fqdns) == len(wanted), v.name
            assert {names[f].urn for f in fqdns} <= set(v.dependencies), v.name
            validations += 1
    assert validations >= 8


def test_mock_acm_answers_one_record_per_name_the_same_for_every_certificate():
    from offline.mocks import PlatformMocks

    def options(name, inputs, region):
        _, out = PlatformMocks(preview=False)._computed("aws:acm/certificate:Certificate", name, inputs, region)
        return out["domainValidationOptions"]

    first = options("a", {"domainName": "example.com", "subjectAlternativeNames": ["www.example.com",
                                                                                  "example.com"]}, "eu-west-1")
    assert [o["domainName"] for o in first] == ["example.com", "www.example.com"]
    second = options("b", {"domainName": "www.example.com"}, "us-east-1")
    assert second == [first[1]]


def test_cloudflare_records_for_vercel_are_dns_only_with_a_ttl():
    g = example_graph("study-sphere")
    records = {r.name: r for r in g.of_type("cloudflare:index/dnsRecord:DnsRecord")}
    assert sorted(records) == ["dns-apex", "dns-api", "dns-www"]
    for r in records.values():
        assert (r.input("type"), r.input("content"), r.input("ttl"), r.input("proxied")) == \
            ("CNAME", "cname.vercel-dns.com", 300, False)
        assert r.input("zoneId") == "0123456789abcdef0123456789abcdef"


def test_cloudflare_zone_settings_and_rate_limits():
    g = example_graph("study-sphere")
    settings = {r.input("settingId"): r.input("value") for r in g.of_type("cloudflare:index/zoneSetting:ZoneSetting")}
    assert settings == {"ssl": "strict", "min_tls_version": "1.2", "always_use_https": "on", "tls_1_3": "on"}
    ruleset = g.named("dns-ratelimit")
    assert (ruleset.input("phase"), ruleset.input("kind")) == ("http_ratelimit", "zone")
    limits = {r["ref"]: (r["ratelimit"]["requestsPerPeriod"], r["ratelimit"]["period"], r["action"])
              for r in ruleset.input("rules")}
    assert limits == {"rate_api": (100, 10, "block"), "rate_auth": (10, 10, "block")}  # 10 r/s, 1 r/s
    assert 'starts_with(http.request.uri.path, "/api/auth/")' in ruleset.input("rules")[1]["expression"]


def test_a_stack_that_shares_the_zone_leaves_zone_rules_alone():
    g = evaluate(example="study-sphere", cloudflareManageZone="false")
    assert not g.of_type("cloudflare:index/zoneSetting:ZoneSetting")
    assert not g.of_type("cloudflare:index/ruleset:Ruleset")
    assert len(g.of_type("cloudflare:index/dnsRecord:DnsRecord")) == 3


def test_cloudflare_validates_certificates_and_can_proxy():
    g = evaluate(example="study-sphere", cdnEnabled="true", cloudflareProxied="true")
    validation = [r for r in g.of_type("cloudflare:index/dnsRecord:DnsRecord") if "validation" in r.name]
    assert len(validation) == 3 and not any(r.input("proxied") for r in validation)
    site = [r for r in g.of_type("cloudflare:index/dnsRecord:DnsRecord") if r.name.startswith("dns-")]
    assert all(r.input("proxied") and r.input("ttl") == 1 for r in site)
    assert {r.input("content") for r in site} == {g.named("cdn-distribution").outputs["domainName"]}


def test_route53_apex_for_vercel_is_an_a_record():
    g = example_graph("group-spaces")
    records = {r.name: (r.input("type"), r.input("records")) for r in g.of_type("aws:route53/record:Record")}
    assert records == {"dns-apex": ("A", ["76.76.21.21"]), "dns-www": ("CNAME", ["cname.vercel-dns.com"]),
                       "dns-api": ("CNAME", ["cname.vercel-dns.com"])}


def test_general_rule_uses_the_longest_period_the_window_allows():
    rules = CloudflareSettings().ratelimits(RateLimitSettings())
    assert rules[2] == ("general", "/api/", 67, 600)
    assert CloudflareSettings(rate_limit_rules=("auth",)).ratelimits(RateLimitSettings()) == [
        ("auth", "/api/auth/", 10, 10)]


@pytest.mark.parametrize("kwargs, field", [
    ({"zone_id": "example.com"}, "zone_id"),
    ({"rate_limit_rules": ("api", "login")}, "rate_limit_rules"),
    ({"rate_limit_period_seconds": 30}, "rate_limit_period_seconds"),
    ({"plan": "team"}, "plan"),
])
def test_settings_refuse(kwargs, field):
    with pytest.raises(InvalidArgs) as info:
        CloudflareSettings(**kwargs)
    assert [p.field for p in info.value.problems] == [field]


def test_cloudflare_needs_a_zone_id():
    msg = config_error(example="study-sphere", cloudflareZoneId=None)
    assert "cloudflareZoneId = '': is required when appDnsProvider is cloudflare" in msg


# ---- the zone's plan (RATE_LIMIT_PLANS) ---------------------------------------------------------
def fields_in(expression: str) -> set[str]:
    """The request fields an expression tests (quoted hostnames and paths left out)."""
    return set(re.findall(r"\b(?:http|ip|cf)(?:\.[a-z0-9_]+)+", re.sub(r'"[^"]*"', '""', expression)))


def assert_within_plan(ruleset, plan_name: str) -> None:
    plan = RATE_LIMIT_PLANS[plan_name]
    rules = ruleset.input("rules")
    assert 0 < len(rules) <= plan.max_rules
    for rule in rules:
        limit = rule["ratelimit"]
        assert limit["period"] in plan.periods and limit["mitigationTimeout"] in plan.mitigation_timeouts, rule
        assert rule["action"] in plan.actions, rule
        assert "cf.colo.id" in limit["characteristics"] and set(limit["characteristics"]) <= set(plan.characteristics)
        assert "countingExpression" not in limit or plan.counting_expression
        assert fields_in(rule["expression"]) <= set(plan.expression_fields), rule["expression"]


@pytest.mark.parametrize("app", EXAMPLES)
def test_examples_rate_limits_fit_their_cloudflare_plan(app):
    rulesets = example_graph(app).of_type("cloudflare:index/ruleset:Ruleset")
    config = yaml.safe_load(example_file(app).read_text())["config"]
    for ruleset in rulesets:
        assert_within_plan(ruleset, config.get("platform:cloudflarePlan", "free"))
    assert bool(rulesets) == (app == "study-sphere")


@pytest.mark.parametrize("overrides, expected, way_out, plan", [
    ({"cloudflarePlan": None},
     "cloudflareRateLimitRules = ['api', 'auth']: the free plan allows 1 rate limiting rule, not 2 (cloudflarePlan is free)",
     "pulumi config rm cloudflareRateLimitRules --stack production && "
     "pulumi config set --path 'cloudflareRateLimitRules[0]' api --stack production", "pro"),
    ({"cloudflarePlan": None, "cloudflareRateLimitRules": None},
     "the free plan allows 1 rate limiting rule, not 3; the general rule counts over 600 s (the longest Cloudflare "
     "period within its 900 s window); the free plan counts over 10 s only",
     "pulumi config set --path 'cloudflareRateLimitRules[0]' api --stack production", "business"),
    ({"cloudflareRateLimitRules": ["auth", "general"]},
     "cloudflareRateLimitRules = ['auth', 'general']: the general rule counts over 600 s",
     "pulumi config set --path 'cloudflareRateLimitRules[0]' auth --stack production", "business"),
    ({"cloudflareRateLimitPeriodSeconds": "120"},
     "cloudflareRateLimitPeriodSeconds = 120: the pro plan counts (and blocks) over 10 or 60 s only",
     "pulumi config set cloudflareRateLimitPeriodSeconds 60 --stack production", "business"),
    ({"cloudflarePlan": None, "cloudflareRateLimitRules": ["auth"], "cloudflareRateLimitPeriodSeconds": "60"},
     "cloudflareRateLimitPeriodSeconds = 60: the free plan counts (and blocks) over 10 s only",
     "pulumi config set cloudflareRateLimitPeriodSeconds 10 --stack production", "pro"),
    ({"rateLimitAction": "count"},
     "rateLimitAction = 'count': 'count' is Cloudflare's log action, which the pro plan does not offer",
     "pulumi config set rateLimitAction block --stack production", "enterprise"),
])
def test_rules_the_plan_cannot_hold_are_refused(overrides, expected, way_out, plan):
    message = config_error(example="study-sphere", **overrides)
    assert "(1 problem)" in message and expected in message
    assert way_out in message
    assert f"(or, if the zone is on {plan}: pulumi config set cloudflarePlan {plan} --stack production)" in message


def test_free_plan_matches_on_the_path_alone():
    g = evaluate(example="study-sphere", cloudflarePlan=None, cloudflareRateLimitRules=["auth"])
    ruleset = g.named("dns-ratelimit")
    assert_within_plan(ruleset, "free")
    [rule] = ruleset.input("rules")
    assert rule["expression"] == 'starts_with(http.request.uri.path, "/api/auth/")'
    assert (rule["ratelimit"]["period"], rule["ratelimit"]["mitigationTimeout"]) == (10, 10)


def test_pro_plan_scopes_rules_to_the_site_names():
    rule = example_graph("study-sphere").named("dns-ratelimit").input("rules")[0]
    assert rule["expression"].startswith('(http.host in {"studysphere.example.com" "www.studysphere.example.com" '
                                         '"api.studysphere.example.com"} and starts_with(')


def test_business_holds_all_three_rules_and_enterprise_can_log():
    g = evaluate(example="study-sphere", cloudflarePlan="business", cloudflareRateLimitRules=None)
    assert_within_plan(g.named("dns-ratelimit"), "business")
    assert [r["ratelimit"]["period"] for r in g.named("dns-ratelimit").input("rules")] == [10, 10, 600]
    g = evaluate(example="study-sphere", cloudflarePlan="enterprise", rateLimitAction="count")
    assert_within_plan(g.named("dns-ratelimit"), "enterprise")
    assert {r["action"] for r in g.named("dns-ratelimit").input("rules")} == {"log"}


def test_a_stack_that_does_not_own_the_ruleset_is_not_held_to_the_plan():
    g = evaluate(example="study-sphere", cloudflarePlan=None, cloudflareManageZone="false")
    assert not g.of_type("cloudflare:index/ruleset:Ruleset")


def test_a_mitigation_timeout_the_plan_lacks_is_refused(monkeypatch):
    monkeypatch.setitem(RATE_LIMIT_PLANS, "pro", dataclasses.replace(RATE_LIMIT_PLANS["pro"], mitigation_timeouts=(10,)))
    cf = CloudflareSettings(plan="pro", rate_limit_rules=("api",), rate_limit_period_seconds=60)
    [limit] = cf.plan_limits(RateLimitSettings())
    assert (limit.field, limit.value, limit.plan) == ("rate_limit_period_seconds", 60, "business")


def test_every_plan_takes_the_characteristics_and_the_path_field():
    for plan in RATE_LIMIT_PLANS.values():
        assert set(CHARACTERISTICS) <= set(plan.characteristics)
        assert "http.request.uri.path" in plan.expression_fields and "block" in plan.actions
    assert [p.max_rules for p in RATE_LIMIT_PLANS.values()] == [1, 2, 5, 100]
    assert [n for n, p in RATE_LIMIT_PLANS.items() if "log" in p.actions] == ["enterprise"]


def test_the_component_refuses_what_the_plan_cannot_hold():
    with pytest.raises(InvalidArgs) as info:
        DnsArgs(DnsZone("cloudflare", "0" * 32), SiteTarget("example.com", "cname.vercel-dns.com"),
                CloudflareSettings(), RateLimitSettings())
    assert [p.field for p in info.value.problems] == ["rate_limit_rules"]
    assert "(a business plan can)" in info.value.problems[0].allowed


def _graphs_on_cloudflare():
    """Every stack and seed on a Cloudflare zone, plus production moved onto one."""
    for name in (*STACKS, *EXAMPLES):
        g = stack_graph(name) if name in STACKS else example_graph(name)
        if g.of_type("cloudflare:index/dnsRecord:DnsRecord"):
            yield name, g
    yield "production-on-cloudflare", evaluate("production", appDnsProvider="cloudflare",
                                               cloudflareZoneId="0123456789abcdef0123456789abcdef",
                                               cloudflarePlan="business")


def test_every_zone_a_stack_owns_gets_the_settings_the_pack_requires():
    """policies/cloudflare.py REQUIRED is what cloudflare-tls, cloudflare-always-https and
    cloudflare-zone-settings-present hold an owned zone to; the component must set all of it."""
    from conftest import pack_module

    module = pack_module("cloudflare")
    seen = []
    for name, g in _graphs_on_cloudflare():
        settings = {r.input("settingId"): r.input("value") for r in g.of_type("cloudflare:index/zoneSetting:ZoneSetting")}
        assert set(settings) == set(module.REQUIRED), name
        assert all(settings[k] in ok for k, ok in module.REQUIRED.items()), (name, settings)
        assert {r.input("zoneId") for r in g.of_type("cloudflare:index/zoneSetting:ZoneSetting")} == {
            "0123456789abcdef0123456789abcdef"}, name
        seen.append(name)
    assert "study-sphere" in seen and len(seen) >= 2

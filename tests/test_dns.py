"""components/dns.py and components/_dns.py: site names, certificate validation, Cloudflare zone rules."""

import pytest
from conftest import EXAMPLES, STACKS, config_error, evaluate, example_graph, stack_graph

from components._validation import InvalidArgs
from components.cdn import RateLimitSettings
from components.dns import CloudflareSettings


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
    yield evaluate("production", appDnsProvider="cloudflare", cloudflareZoneId="0123456789abcdef0123456789abcdef")
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
])
def test_settings_refuse(kwargs, field):
    with pytest.raises(InvalidArgs) as info:
        CloudflareSettings(**kwargs)
    assert [p.field for p in info.value.problems] == [field]


def test_cloudflare_needs_a_zone_id():
    msg = config_error(example="study-sphere", cloudflareZoneId=None)
    assert "cloudflareZoneId = '': is required when appDnsProvider is cloudflare" in msg

"""components/cdn.py: CloudFront with OAC, security headers, TLS, WAF rate rules and v2 access logs."""

import json

import pytest
from conftest import evaluate, example_graph

from components._validation import InvalidArgs
from components.cdn import CdnSettings, waf_rules
from components.rate_limits import RateLimitSettings


def test_distribution_tls_aliases_protocols_and_waf(any_stack):
    d = any_stack.named("cdn-distribution")
    domain = any_stack.stack_outputs["appUrl"].removeprefix("https://")
    assert d.input("aliases") == [domain, f"www.{domain}", f"api.{domain}"]
    cert = any_stack.named("cdn-edge-cert")
    assert cert.input("region") == "us-east-1" and cert.input("validationMethod") == "DNS"
    assert d.input("viewerCertificate") == {"acmCertificateArn": cert.outputs["arn"], "sslSupportMethod": "sni-only",
                                            "minimumProtocolVersion": "TLSv1.2_2021"}
    assert d.input("httpVersion") == "http2and3" and d.input("isIpv6Enabled") is True
    assert d.input("webAclId") == any_stack.named("cdn-waf").outputs["arn"]
    behaviours = [d.input("defaultCacheBehavior"), *d.input("orderedCacheBehaviors")]
    headers = any_stack.named("cdn-security-headers").outputs["id"]
    assert all(b["viewerProtocolPolicy"] == "redirect-to-https" and b["responseHeadersPolicyId"] == headers
               for b in behaviours)


def test_origins_https_only_and_s3_through_oac(production):
    d = production.named("cdn-distribution")
    app, assets = d.input("origins")
    assert app["domainName"] == production.named("app-alb").outputs["dnsName"]
    assert app["customOriginConfig"]["originProtocolPolicy"] == "https-only"
    assert app["customOriginConfig"]["originSslProtocols"] == ["TLSv1.2"]
    assert app["customHeaders"] == [{"name": "X-Origin-Verify",
                                     "value": production.named("cdn-origin-secret").outputs["result"]}]
    assert assets["originAccessControlId"] == production.named("cdn-oac").outputs["id"]
    assert assets["domainName"] == production.named("cdn-assets").outputs["bucketRegionalDomainName"]
    assert "s3OriginConfig" not in assets
    assert d.input("orderedCacheBehaviors")[1]["pathPattern"] == "/uploads/*"
    # Managed policies looked up by name
    assert d.input("defaultCacheBehavior")["cachePolicyId"] == "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
    assert d.input("orderedCacheBehaviors")[0]["cachePolicyId"] == "658327ea-f89d-4fab-a63d-7e88639e58f6"


def test_assets_bucket_reads_only_by_this_distribution(production):
    doc = json.loads(production.named("cdn-assets-policy").input("policy"))
    allow = [s for s in doc["Statement"] if s["Effect"] == "Allow"]
    assert allow == [{"Sid": "CloudFrontReadsThroughOac", "Effect": "Allow", "Action": "s3:GetObject",
                      "Principal": {"Service": "cloudfront.amazonaws.com"},
                      "Resource": production.named("cdn-assets").outputs["arn"] + "/*",
                      "Condition": {"StringEquals": {
                          "AWS:SourceArn": production.named("cdn-distribution").outputs["arn"]}}}]
    assert {s["Sid"] for s in doc["Statement"]} >= {"DenyInsecureTransport", "DenyNonKmsUploads"}
    key_policy = json.loads(production.named("cdn-assets-key").input("policy"))
    assert {"Service": "cloudfront.amazonaws.com"} in [s["Principal"] for s in key_policy["Statement"]]


def test_assets_bucket_exists_before_the_app_and_the_cdn(production):
    bucket = production.named("cdn-assets")
    owner = next(r for r in production.resources if r.urn == bucket.parent)
    assert owner.type == "platform:edge:Assets" and production.named("cdn-assets-key").parent == owner.urn
    assert bucket.urn in production.named("cdn-distribution").dependencies
    assert bucket.urn in production.named("app-task-uploads").dependencies
    assert bucket.protect and not production.named("cdn-distribution").protect


def test_assets_keep_the_state_they_had_under_the_cdn(monkeypatch):
    from pulumi.runtime.mocks import MockMonitor

    aliases: dict[str, list[str]] = {}
    register = MockMonitor.RegisterResource

    def recording(self, request):
        if request.name.startswith("cdn-assets"):
            aliases[request.name] = [a.spec.parentUrn for a in request.aliases]
        return register(self, request)

    monkeypatch.setattr(MockMonitor, "RegisterResource", recording)
    evaluate("staging", fresh=True)
    assert {"cdn-assets", "cdn-assets-key", "cdn-assets-policy", "cdn-assets-encryption"} <= set(aliases)
    assert all("urn:pulumi:staging::platform::platform:edge:Cdn::cdn" in a for a in aliases.values()), aliases


def test_security_headers_are_the_seeds(any_stack):
    h = any_stack.named("cdn-security-headers").input("securityHeadersConfig")
    assert h["strictTransportSecurity"] == {"accessControlMaxAgeSec": 31536000, "includeSubdomains": True,
                                            "preload": False, "override": True}
    assert h["frameOptions"]["frameOption"] == "DENY"
    assert h["contentTypeOptions"] == {"override": True}
    assert h["referrerPolicy"]["referrerPolicy"] == "origin-when-cross-origin"
    assert "frame-ancestors 'none'" in h["contentSecurityPolicy"]["contentSecurityPolicy"]


def test_hsts_preload_is_an_opt_in():
    # hstspreload.org needs max-age >= 31536000, includeSubDomains and preload: all three when opted in.
    h = evaluate("staging", cdnHstsPreload="true").named("cdn-security-headers").input("securityHeadersConfig")
    assert h["strictTransportSecurity"] == {"accessControlMaxAgeSec": 31536000, "includeSubdomains": True,
                                            "preload": True, "override": True}


@pytest.mark.parametrize("source", ["production", "staging"])
def test_waf_logs_to_an_encrypted_group_in_us_east_1_with_credentials_redacted(source):
    g = evaluate(source)
    logging, group, key = g.named("cdn-waf-logging"), g.named("cdn-waf-logs"), g.named("cdn-waf-logs-key")
    assert logging.input("resourceArn") == g.named("cdn-waf").outputs["arn"]
    assert logging.input("logDestinationConfigs") == [group.outputs["arn"]]
    assert [f["singleHeader"]["name"] for f in logging.input("redactedFields")] == [
        "authorization", "cookie", "x-origin-verify"]  # the ALB origin's secret header, lower case
    # WAF writes only to aws-waf-logs-*; a CLOUDFRONT ACL's logs must be in us-east-1.
    assert group.input("name") == f"aws-waf-logs-cdn-{source}"
    assert (group.input("region"), logging.input("region"), key.input("region")) == ("us-east-1",) * 3
    assert group.input("kmsKeyId") == key.outputs["arn"]
    assert group.input("retentionInDays") == {"production": 365, "staging": 14}[source]
    assert key.input("enableKeyRotation") is True
    [logs] = [s for s in json.loads(key.input("policy"))["Statement"] if s.get("Sid") == "CloudWatchLogsEncryptsWafLogs"]
    assert logs["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}
    assert logs["Condition"] == {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn":
                                               f"arn:aws:logs:us-east-1:123456789012:log-group:aws-waf-logs-cdn-{source}"}}


def test_waf_logs_redact_the_vercel_bypass_header_in_front_of_vercel():
    g = evaluate(example="study-sphere", cdnEnabled="true")
    names = [f["singleHeader"]["name"] for f in g.named("cdn-waf-logging").input("redactedFields")]
    assert names == ["authorization", "cookie", "x-vercel-protection-bypass"]


def test_the_mock_refuses_waf_log_destinations_waf_would_refuse():
    from offline.mocks import computed

    acl = "arn:aws:wafv2:us-east-1:123456789012:global/webacl/cdn/1"
    ok = "arn:aws:logs:us-east-1:123456789012:log-group:aws-waf-logs-cdn"
    assert computed("aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration", "l",
                    {"resourceArn": acl, "logDestinationConfigs": [ok]}, "us-east-1")[0] == acl
    for dest, why in [("arn:aws:logs:us-east-1:123456789012:log-group:cdn-waf", "aws-waf-logs-"),
                      ("arn:aws:logs:eu-west-1:123456789012:log-group:aws-waf-logs-cdn", "us-east-1")]:
        with pytest.raises(ValueError, match=why):
            computed("aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration", "l",
                     {"resourceArn": acl, "logDestinationConfigs": [dest]}, "us-east-1")


def test_waf_managed_groups_and_the_seeds_rate_limits(production, staging):
    waf = production.named("cdn-waf")
    assert (waf.input("scope"), waf.input("region")) == ("CLOUDFRONT", "us-east-1")
    rules = {r["name"]: r for r in waf.input("rules")}
    assert {"AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet",
            "AWSManagedRulesAmazonIpReputationList", "AWSManagedRulesSQLiRuleSet"} <= set(rules)
    limits = {n: (r["statement"]["rateBasedStatement"]["limit"], r["statement"]["rateBasedStatement"]
                  ["evaluationWindowSec"], r["statement"]["rateBasedStatement"]["scopeDownStatement"]
                  ["byteMatchStatement"]["searchString"], list(r["action"])) for n, r in rules.items()
              if n.startswith("rate-")}
    # 1 r/s and 10 r/s over 60 s; 100 per 15 min over WAF's longest window (600 s) = 67
    assert limits == {"rate-auth": (60, 60, "/api/auth/", ["block"]), "rate-api": (600, 60, "/api/", ["block"]),
                      "rate-general": (67, 600, "/api/", ["block"])}
    staged = {r["name"]: list(r.get("action", {})) for r in staging.named("cdn-waf").input("rules")}
    assert staged["rate-api"] == ["count"]


def test_access_logs_v2_into_us_east_1(production):
    source = production.named("cdn-log-source")
    assert source.input("resourceArn") == production.named("cdn-distribution").outputs["arn"]
    assert source.input("logType") == "ACCESS_LOGS" and source.input("region") == "us-east-1"
    dest = production.named("cdn-log-destination")
    assert dest.input("deliveryDestinationConfiguration")["destinationResourceArn"] == \
        production.named("cdn-access-logs").outputs["arn"]
    assert production.named("cdn-log-delivery").input("deliverySourceName") == source.input("name")
    assert production.named("cdn-access-logs").input("retentionInDays") == 365


def test_stack_name_labels_the_distribution_and_its_log_delivery(any_stack):
    # Delivery source and destination names are unique per account in us-east-1: one per stack.
    stack = any_stack.stack
    domain = any_stack.stack_outputs["appUrl"].removeprefix("https://")
    assert any_stack.named("cdn-distribution").input("comment") == f"{domain} ({stack})"
    assert any_stack.named("cdn-log-source").input("name") == f"cdn-{stack}-cf"
    assert any_stack.named("cdn-log-destination").input("name") == f"cdn-{stack}-cf-logs"


@pytest.mark.parametrize("source", ["staging", "production", "project-spark"])
def test_every_behaviour_to_the_alb_forwards_the_host_its_certificate_names(source):
    """Without the viewer's Host, CloudFront sends the ALB's DNS name as Host and SNI, which the
    ALB certificate (apex/www/api) does not name: TLS to the origin fails and viewers get a 502."""
    from offline.mocks import CLOUDFRONT_POLICIES

    g = example_graph(source) if "-" in source else evaluate(source)
    d = g.named("cdn-distribution")
    alb = {o["originId"] for o in d.input("origins") if o["domainName"] == g.named("app-alb").outputs["dnsName"]}
    assert alb == {"app"}
    cert_names = {g.named("app-alb-cert").input("domainName"), *g.named("app-alb-cert").input("subjectAlternativeNames")}
    assert set(d.input("aliases")) <= cert_names
    to_alb = [b for b in [d.input("defaultCacheBehavior"), *d.input("orderedCacheBehaviors")]
              if b["targetOriginId"] in alb]
    assert len(to_alb) >= 2  # the default and /_next/static/*
    for b in to_alb:
        assert b.get("originRequestPolicyId") == CLOUDFRONT_POLICIES["Managed-AllViewer"], b.get("pathPattern")


def test_vercel_origin_keeps_its_own_host():
    g = evaluate(example="study-sphere", cdnEnabled="true")
    app = g.named("cdn-distribution").input("origins")[0]
    assert app["domainName"] == "study-sphere.vercel.app"
    assert [h["name"] for h in app["customHeaders"]] == ["x-vercel-protection-bypass"]  # no X-Origin-Verify
    assert g.named("cdn-distribution").input("defaultCacheBehavior")["originRequestPolicyId"] == \
        "b689b0a8-53d0-40ab-baf2-68738e2966ac"  # AllViewerExceptHostHeader


def test_no_cdn_in_examples_that_do_not_ask():
    assert not example_graph("generic-guide").of_type("aws:cloudfront/distribution:Distribution")


def test_rate_limit_conversion():
    assert waf_rules(RateLimitSettings(general_requests=5, general_window_seconds=900))[2][2:] == (10, 600)
    assert waf_rules(RateLimitSettings(general_requests=1000, general_window_seconds=120))[2][2:] == (1000, 120)


@pytest.mark.parametrize("cls, kwargs, field", [
    (CdnSettings, {"price_class": "PriceClass_50"}, "price_class"),
    (CdnSettings, {"hsts_max_age_seconds": 3600}, "hsts_max_age_seconds"),
    (CdnSettings, {"assets_path": "uploads"}, "assets_path"),
    (CdnSettings, {"assets_path": "/*"}, "assets_path"),  # the app would write anywhere in the bucket
    (CdnSettings, {"content_security_policy": " "}, "content_security_policy"),
])
def test_settings_refuse(cls, kwargs, field):
    with pytest.raises(InvalidArgs) as info:
        cls(**kwargs)
    assert [p.field for p in info.value.problems] == [field]


def test_cloudfront_in_front_of_vercel_passes_deployment_protection():
    # Standard Protection covers every domain but production custom domains; the origin is
    # <project>.vercel.app, so CloudFront carries the project's protection-bypass secret.
    g = evaluate(example="study-sphere", cdnEnabled="true")
    bypass = g.named("app-cdn-bypass")
    secret = g.named("cdn-origin-secret").outputs["result"]
    assert bypass.input("projectId") == g.named("app-project").outputs["id"]
    assert bypass.input("secret") == secret and len(secret) == 32 and secret.isalnum()
    [origin] = [o for o in g.named("cdn-distribution").input("origins") if o["originId"] == "app"]
    assert origin["customHeaders"] == [{"name": "x-vercel-protection-bypass", "value": secret}]
    assert not example_graph("study-sphere").of_type("vercel:index/projectProtectionBypass:ProjectProtectionBypass")

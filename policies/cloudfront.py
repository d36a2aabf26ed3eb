"""CloudFront distributions: viewer TLS, WAF, logging, security headers, origin access."""

from __future__ import annotations

from _rules import Stack, as_list, is_set, resource_rule, stack_rule
from _types import DISTRIBUTION, LOG_DELIVERY_SOURCE, RESPONSE_HEADERS_POLICY

# AWS's managed "SecurityHeadersPolicy" (HSTS max-age one year, includeSubdomains).
MANAGED_SECURITY_HEADERS = "67f7725c-6f97-4210-82d7-5512b31e9d03"
MODERN_TLS = ("TLSv1.2_2021", "TLSv1.2_2025", "TLSv1.3_2025")


def behaviors(props) -> list:
    return [props.get("defaultCacheBehavior") or {}, *as_list(props.get("orderedCacheBehaviors"))]


def where(b) -> str:
    return f"behavior {b.get('pathPattern')}" if b.get("pathPattern") else "default behavior"


@resource_rule(
    "cloudfront-https-only", "Viewers reach the distribution over HTTPS only.",
    types=[DISTRIBUTION], severity="high", checkov=["CKV_AWS_34"], securityhub="CloudFront.3",
    fix='Set viewerProtocolPolicy to "redirect-to-https" (or "https-only") on every cache behavior.')
def _https_only(props, report, cfg, args):
    for b in behaviors(props):
        if b.get("viewerProtocolPolicy") not in ("redirect-to-https", "https-only"):
            report(f"{where(b)} allows plain HTTP (viewerProtocolPolicy {b.get('viewerProtocolPolicy')}).")


@resource_rule(
    "cloudfront-tls-policy", "Viewer TLS is at least TLSv1.2_2021 on the stack's own certificate.",
    types=[DISTRIBUTION], severity="high", checkov=["CKV_AWS_174"],
    fix='Set viewerCertificate.minimumProtocolVersion "TLSv1.2_2021" with an ACM certificate (sni-only).')
def _tls_policy(props, report, cfg, args):
    cert = props.get("viewerCertificate") or {}
    if cert.get("cloudfrontDefaultCertificate"):
        report("the default *.cloudfront.net certificate allows TLSv1; use an ACM certificate.")
    elif cert.get("minimumProtocolVersion") not in MODERN_TLS:
        report(f"minimumProtocolVersion is {cert.get('minimumProtocolVersion')}; TLSv1.2_2021 or newer is required.")


@resource_rule(
    "cloudfront-waf", "A WAF web ACL is attached to the distribution.",
    types=[DISTRIBUTION], severity="high", checkov=["CKV_AWS_68"], securityhub="CloudFront.6",
    fix="Set webAclId to the stack's WAFv2 web ACL (components/cdn.py creates it with the rate limits).")
def _waf(props, report, cfg, args):
    if not is_set(props, "webAclId"):
        report("webAclId is empty: no rate limiting or managed rules in front of the origin.")


@stack_rule(
    "cloudfront-logging", "Distributions deliver access logs (standard logging or logging v2).",
    severity="medium", checkov=["CKV_AWS_86"], securityhub="CloudFront.5",
    fix="Keep the cdn-log-source/-destination/-delivery resources (logging v2 to CloudWatch Logs) or set "
        "loggingConfig on the distribution.")
def _logging(stack: Stack, report, cfg):
    for d in stack.of_type(DISTRIBUTION):
        v2 = [s for s in stack.referencing(d, LOG_DELIVERY_SOURCE, "resourceArn")
              if s.props.get("logType") == "ACCESS_LOGS"]
        if not v2 and not (d.props.get("loggingConfig") or {}).get("bucket"):
            report("has no access-log delivery.", d.urn)


HSTS_CONFIG = {
    "minimumHstsMaxAgeSeconds": {"type": "integer", "minimum": 0, "default": 31536000,
                                 "description": "Shortest Strict-Transport-Security max-age."},
    "requirePreload": {"type": "boolean", "default": False,
                       "description": "Require the HSTS preload directive (hstspreload.org submission)."},
}


def _hsts_problem(policy_props, cfg) -> str | None:
    """What the policy's Strict-Transport-Security lacks, or None."""
    hsts = ((policy_props.get("securityHeadersConfig") or {}).get("strictTransportSecurity") or {})
    minimum = cfg["minimumHstsMaxAgeSeconds"]
    if int(hsts.get("accessControlMaxAgeSec") or 0) < minimum or not hsts.get("includeSubdomains"):
        return f"lacks HSTS with max-age >= {minimum} and includeSubdomains"
    if cfg["requirePreload"] and not hsts.get("preload"):
        return "lacks the HSTS preload directive this environment requires"
    return None


def _behavior_problem(stack: Stack, d, prop: str, b, cfg) -> str | None:
    """What is wrong with behavior `b` (in the distribution's property `prop`), or None.

    The engine records which resources a property was computed from, not which list element: a
    behavior is judged against the response headers policies of the stack its property references
    (for orderedCacheBehaviors, every policy any ordered behavior names must pass)."""
    if not is_set(b, "responseHeadersPolicyId"):
        return "has no response headers policy"
    policies = [p for p in stack.referenced(d, prop) if p.resource_type == RESPONSE_HEADERS_POLICY]
    if not policies:
        # A literal id: only AWS's managed SecurityHeadersPolicy is known to send HSTS; it has no preload.
        if b.get("responseHeadersPolicyId") != MANAGED_SECURITY_HEADERS:
            return f"names response headers policy {b.get('responseHeadersPolicyId')}, which is not in this stack"
        return "uses the managed SecurityHeadersPolicy, which has no preload" if cfg["requirePreload"] else None
    problems = sorted({f"{p.name} {problem}" for p in policies if (problem := _hsts_problem(p.props, cfg))})
    return "; ".join(problems) or None


@stack_rule(
    "cloudfront-security-headers", "Every cache behavior sends a response headers policy with HSTS.",
    types=[DISTRIBUTION], severity="medium", checkov=["CKV2_AWS_32"], config=HSTS_CONFIG,
    fix="Attach the stack's response headers policy to every behavior (responseHeadersPolicyId) and keep "
        "cdnHstsMaxAgeSeconds at one year or more (with cdnHstsPreload where requirePreload is set).")
def _security_headers(stack: Stack, d, report, cfg):
    for prop, items in (("defaultCacheBehavior", [d.props.get("defaultCacheBehavior") or {}]),
                        ("orderedCacheBehaviors", as_list(d.props.get("orderedCacheBehaviors")))):
        for b in items:
            problem = _behavior_problem(stack, d, prop, b, cfg)
            if problem:
                report(f"{where(b)}: {problem}.")


def _is_s3_origin(origin) -> bool:
    # CloudFront treats an origin with neither customOriginConfig nor vpcOriginConfig (a private ALB,
    # NLB or instance reached through a VPC origin: botocore cloudfront Origin.VpcOriginConfig) as an
    # S3 origin.
    return not is_set(origin, "customOriginConfig") and not is_set(origin, "vpcOriginConfig")


@resource_rule(
    "cloudfront-s3-oac", "S3 origins are read through Origin Access Control, never publicly.",
    types=[DISTRIBUTION], severity="high", checkov=["CKV2_AWS_46"], securityhub="CloudFront.13",
    fix="Set originAccessControlId on the S3 origin (sigv4, always) and grant the distribution's ARN "
        "s3:GetObject in the bucket policy; drop origin access identities.")
def _s3_oac(props, report, cfg, args):
    for o in as_list(props.get("origins")):
        if not _is_s3_origin(o):
            continue
        if not is_set(o, "originAccessControlId"):
            report(f"S3 origin {o.get('originId')} has no originAccessControlId.")
        elif (o.get("s3OriginConfig") or {}).get("originAccessIdentity"):
            report(f"S3 origin {o.get('originId')} still uses a legacy origin access identity.")


@resource_rule(
    "cloudfront-origin-https", "Custom origins are reached over HTTPS with TLSv1.2.",
    types=[DISTRIBUTION], severity="high", securityhub="CloudFront.9",
    fix='Set customOriginConfig.originProtocolPolicy "https-only" and originSslProtocols ["TLSv1.2"].')
def _origin_https(props, report, cfg, args):
    for o in as_list(props.get("origins")):
        custom = o.get("customOriginConfig")
        if not custom:
            continue
        if custom.get("originProtocolPolicy") != "https-only":
            report(f"origin {o.get('originId')} uses originProtocolPolicy {custom.get('originProtocolPolicy')}.")
        weak = [p for p in as_list(custom.get("originSslProtocols")) if p != "TLSv1.2"]
        if weak:
            report(f"origin {o.get('originId')} allows {', '.join(weak)} to the origin.")

"""Edge tier on AWS: CloudFront in front of the app (ALB or Vercel) and an S3 assets bucket, with WAF.

The assets bucket is its own component, built before the app (whose task writes uploads into it)
and before the CDN (which needs the app's origin); both are handed the bucket.

CloudFront is global but its certificate, web ACL, logs and metrics live in us-east-1; pulumi-aws 7
takes `region=` per resource, so they are created there through the stack's one provider.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TypedDict

import pulumi
import pulumi_aws as aws

from components._common import HardenedBucket, encrypted_log_group, key_policy, kms_key
from components._dns_zone import DnsZone, SiteTarget, fqdns, validated_certificate
from components._validation import CLOUDWATCH_RETENTION_DAYS, Checker, bounded, choice
from components._waf import CREDENTIAL_HEADERS, WAF_LOG_PREFIX, waf_logging, web_acl
from components._waf import waf_rules as waf_rules  # re-exported: the CDN's rate limits are read from here
from components.rate_limits import RateLimitSettings

EDGE_REGION = "us-east-1"
PRICE_CLASSES = ("PriceClass_100", "PriceClass_200", "PriceClass_All")
DEFAULT_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
               "img-src 'self' data: https:; font-src 'self' data:; connect-src 'self' https:; "
               "frame-ancestors 'none'; base-uri 'self'; form-action 'self'")
_ASSETS_PATH = re.compile(r"^(/[\w.-]+)+/\*$")


def waf_redacted_headers(args: CdnArgs) -> list[str]:
    """Headers WAF logs must not show (lower case, as WAF's logging configuration takes them): the
    viewer's credentials and, when the CDN sends one, the origin-secret header's name. CloudFront adds
    that header after WAF inspects the viewer's request, so the secret itself never reaches these
    logs; a viewer forging it would, and a guess is still worth keeping out of log readers' sight."""
    headers = list(CREDENTIAL_HEADERS)
    if args.origin_secret is not None:
        headers.append(origin_secret_header(args.origin_is_load_balancer).lower())
    return headers


def origin_secret_header(origin_is_load_balancer: bool) -> str:
    """The ALB's listener rule admits only this header; Vercel lets it past Deployment Protection."""
    return "X-Origin-Verify" if origin_is_load_balancer else "x-vercel-protection-bypass"


class _Behaviour(TypedDict):
    """What every cache behaviour sets, whichever origin it targets."""
    viewer_protocol_policy: str
    compress: bool
    response_headers_policy_id: pulumi.Output[str]


class _ToOrigin(_Behaviour):
    target_origin_id: str
    origin_request_policy_id: pulumi.Output[str]


@dataclass(frozen=True)
class CdnSettings:
    enabled: bool = False
    price_class: str = choice(PRICE_CLASSES, default="PriceClass_100")
    content_security_policy: str = DEFAULT_CSP
    hsts_max_age_seconds: int = bounded(31536000, 63072000, default=31536000)
    # hstspreload.org's submission requirements: max-age >= 31536000 (hsts_max_age_seconds' floor),
    # includeSubDomains (always sent) and preload. Browsers ship the list: leaving it takes months.
    hsts_preload: bool = False
    assets_path: str = "/uploads/*"

    def __post_init__(self) -> None:
        c = Checker("cdn settings")
        c.declared(self, "price_class")
        c.require(bool(self.content_security_policy.strip()) and "\n" not in self.content_security_policy,
                  "content_security_policy", self.content_security_policy, "must be one non-empty line")
        c.declared(self, "hsts_max_age_seconds")
        # A folder, not the whole bucket: the app may write under it, and nowhere else.
        c.matches("assets_path", self.assets_path, _ASSETS_PATH,
                  "must be a CloudFront path pattern for a folder, such as /uploads/*")
        c.raise_if_any()


@dataclass(frozen=True)
class AssetsArgs:
    #: Tags for the bucket, its key and the bucket's split resources.
    tags: dict[str, str]
    #: The CloudFront path pattern served from the bucket, a folder such as /uploads/* (the default).
    assets_path: str = CdnSettings.assets_path

    def __post_init__(self) -> None:
        c = Checker("assets args")
        c.matches("assets_path", self.assets_path, _ASSETS_PATH, "must be a CloudFront path pattern such as /uploads/*")
        c.raise_if_any()


class Assets(pulumi.ComponentResource):
    """The KMS-encrypted S3 bucket CloudFront serves under `assets_path`, and the app's uploads land in.

    Name it like the Cdn it serves ("cdn"): its children keep the names they had when the Cdn
    created them, and the alias carries their state over from that parent.
    """

    bucket: HardenedBucket
    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    kms_key_arn: pulumi.Output[str]
    uploads_prefix: str  # the S3 key prefix CloudFront serves, e.g. "uploads/"

    def __init__(self, name: str, args: AssetsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:edge:Assets", name, None, opts)
        tags = args.tags
        child = pulumi.ResourceOptions(parent=self, aliases=[
            pulumi.Alias(parent=pulumi.create_urn(name, "platform:edge:Cdn"))])
        identity = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self))
        policy = key_policy(identity, {
            "Sid": "CloudFrontReadsAssets", "Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": "*",
            "Principal": {"Service": "cloudfront.amazonaws.com"},
            "Condition": {"StringEquals": {"aws:SourceAccount": identity.account_id}}})
        key = kms_key(f"{name}-assets-key", f"{name}: static assets and uploads", tags, child, policy=policy)
        # The bucket policy waits for the distribution it names (Cdn calls attach_policy).
        self.bucket = HardenedBucket(
            f"{name}-assets", tags=tags, opts=child, key=key, defer_policy=True, data_class="static-assets",
            lifecycle_rules=[{"id": "expire-old-versions", "status": "Enabled", "filter": {"prefix": ""},
                              "noncurrent_version_expiration": {"noncurrent_days": 30},
                              "abort_incomplete_multipart_upload": {"days_after_initiation": 7}}])
        self.bucket_name = self.bucket.bucket.id
        self.bucket_arn = self.bucket.bucket.arn
        self.kms_key_arn = key.arn
        self.uploads_prefix = args.assets_path[1:-1]
        self.register_outputs({"bucket_name": self.bucket_name, "kms_key_arn": self.kms_key_arn})


@dataclass(frozen=True)
class CdnArgs:
    #: Price class, security headers and the assets path (from stack config).
    settings: CdnSettings
    #: The seeds' per-IP limits, converted to WAF rate-based rules (waf_rules).
    rate_limits: RateLimitSettings
    #: Tags for every taggable child.
    tags: dict[str, str]
    #: The site's apex domain, e.g. example.com: the distribution serves it, www. and api.
    domain: str
    #: Where the us-east-1 certificate's validation records go (Route 53 or Cloudflare).
    dns: DnsZone
    #: The app origin's host name: the ALB's DNS name or <project>.vercel.app.
    origin_hostname: pulumi.Input[str]
    #: True for an ALB origin (sends the viewer's Host and X-Origin-Verify), False for Vercel.
    origin_is_load_balancer: bool
    #: The assets bucket, served under settings.assets_path; the Cdn attaches its bucket policy.
    assets: Assets
    #: The stack's name, e.g. production: in the distribution's comment and its log delivery
    #: names, which must be unique per account in us-east-1.
    stack: str
    #: Secret header value the origin checks; required in front of an ALB; default None.
    origin_secret: pulumi.Input[str] | None = None
    #: Retention of the access-log group, days: one of CloudWatch's values; default 30.
    log_retention_days: int = 30
    #: Validation records another certificate for the same names already owns (the ALB's): ACM
    #: validates this one with them, and a second record for a name would fail. Default None:
    #: this certificate writes its own.
    validation_record_fqdns: list[pulumi.Output[str]] | None = None

    def __post_init__(self) -> None:
        c = Checker("cdn args")
        c.require(bool(self.stack), "stack", self.stack, "must be non-empty: it names the log delivery")
        c.one_of("log_retention_days", self.log_retention_days, CLOUDWATCH_RETENTION_DAYS)
        c.require(not self.origin_is_load_balancer or self.origin_secret is not None, "origin_secret", None,
                  "is required in front of a load balancer")
        c.raise_if_any()


class Cdn(pulumi.ComponentResource):
    distribution_id: pulumi.Output[str]
    domain_name: pulumi.Output[str]
    hosted_zone_id: pulumi.Output[str]  # the Route 53 alias target zone
    web_acl_arn: pulumi.Output[str]
    site_target: SiteTarget  # where the site's DNS names point when CloudFront fronts the app

    def __init__(self, name: str, args: CdnArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:edge:Cdn", name, None, opts)
        s, tags = args.settings, args.tags
        child = pulumi.ResourceOptions(parent=self)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        assets = args.assets.bucket
        oac = aws.cloudfront.OriginAccessControl(
            f"{name}-oac", description=f"{name}: CloudFront reads the assets bucket",
            origin_access_control_origin_type="s3", signing_behavior="always", signing_protocol="sigv4",
            opts=child)

        _, validation, _ = validated_certificate(f"{name}-edge", args.domain, args.dns, tags, child,
                                                 region=EDGE_REGION, validation_fqdns=args.validation_record_fqdns)
        acl = web_acl(name, scope="CLOUDFRONT", region=EDGE_REGION, limits=args.rate_limits, tags=tags, opts=child)
        self._waf_logs(name, args, acl)
        headers = aws.cloudfront.ResponseHeadersPolicy(
            f"{name}-security-headers", comment="The seeds' security headers",
            security_headers_config={
                "strict_transport_security": {"access_control_max_age_sec": s.hsts_max_age_seconds,
                                              "include_subdomains": True, "preload": s.hsts_preload,
                                              "override": True},
                "frame_options": {"frame_option": "DENY", "override": True},
                "content_type_options": {"override": True},
                "referrer_policy": {"referrer_policy": "origin-when-cross-origin", "override": True},
                "content_security_policy": {"content_security_policy": s.content_security_policy,
                                            "override": True},
                "xss_protection": {"protection": True, "mode_block": True, "override": True},
            },
            opts=child)

        def managed(kind, policy_name):
            getter = aws.cloudfront.get_cache_policy_output if kind == "cache" \
                else aws.cloudfront.get_origin_request_policy_output
            return getter(name=policy_name, opts=invoke).id

        caching_disabled = managed("cache", "Managed-CachingDisabled")
        caching_optimized = managed("cache", "Managed-CachingOptimized")
        # An ALB is reached by the site's Host (its certificate names the domain); Vercel by its own.
        all_viewer = managed("origin", "Managed-AllViewer" if args.origin_is_load_balancer
                             else "Managed-AllViewerExceptHostHeader")

        app_origin: aws.cloudfront.DistributionOriginArgsDict = {
            "origin_id": "app", "domain_name": args.origin_hostname,
            "custom_origin_config": {"http_port": 80, "https_port": 443, "origin_protocol_policy": "https-only",
                                     "origin_ssl_protocols": ["TLSv1.2"], "origin_read_timeout": 30,
                                     "origin_keepalive_timeout": 5},
        }
        if args.origin_secret is not None:
            header = origin_secret_header(args.origin_is_load_balancer)
            app_origin["custom_headers"] = [{"name": header, "value": args.origin_secret}]
        behaviour: _Behaviour = {"viewer_protocol_policy": "redirect-to-https", "compress": True,
                     "response_headers_policy_id": headers.id}
        # Every behaviour to the app carries the origin request policy: without it CloudFront sends the
        # origin's own name as Host and SNI, which the ALB's certificate does not name (a 502).
        to_app: _ToOrigin = {**behaviour, "target_origin_id": "app", "origin_request_policy_id": all_viewer}
        default_behaviour: aws.cloudfront.DistributionDefaultCacheBehaviorArgsDict = {
            **to_app, "allowed_methods": ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"],
            "cached_methods": ["GET", "HEAD"], "cache_policy_id": caching_disabled}
        ordered_behaviours: list[aws.cloudfront.DistributionOrderedCacheBehaviorArgsDict] = [
            {**to_app, "path_pattern": "/_next/static/*",
             "allowed_methods": ["GET", "HEAD"], "cached_methods": ["GET", "HEAD"],
             "cache_policy_id": caching_optimized},
            {**behaviour, "path_pattern": s.assets_path, "target_origin_id": "assets",
             "allowed_methods": ["GET", "HEAD"], "cached_methods": ["GET", "HEAD"],
             "cache_policy_id": caching_optimized},
        ]
        self.distribution = aws.cloudfront.Distribution(
            f"{name}-distribution",
            enabled=True, comment=f"{args.domain} ({args.stack})",
            aliases=fqdns(args.domain), is_ipv6_enabled=True, http_version="http2and3",
            price_class=s.price_class, web_acl_id=acl.arn, wait_for_deployment=True,
            origins=[app_origin, {"origin_id": "assets", "domain_name": assets.bucket.bucket_regional_domain_name,
                                  "origin_access_control_id": oac.id}],
            default_cache_behavior=default_behaviour,
            ordered_cache_behaviors=ordered_behaviours,
            viewer_certificate={"acm_certificate_arn": validation.certificate_arn, "ssl_support_method": "sni-only",
                                "minimum_protocol_version": "TLSv1.2_2021"},
            restrictions={"geo_restriction": {"restriction_type": "none", "locations": []}},
            tags=tags, opts=child)
        d = self.distribution

        assets.attach_policy([{
            "Sid": "CloudFrontReadsThroughOac", "Effect": "Allow", "Action": "s3:GetObject",
            "Principal": {"Service": "cloudfront.amazonaws.com"},
            "Resource": pulumi.Output.concat(assets.bucket.arn, "/*"),
            "Condition": {"StringEquals": {"AWS:SourceArn": d.arn}},
        }])
        self._access_logs(name, args, d, child)

        self.distribution_id = d.id
        self.domain_name = d.domain_name
        self.hosted_zone_id = d.hosted_zone_id
        self.web_acl_arn = acl.arn
        self.site_target = SiteTarget(args.domain, d.domain_name, d.hosted_zone_id, description="CloudFront")
        self.register_outputs({"distribution_id": self.distribution_id, "domain_name": self.domain_name,
                               "web_acl_arn": self.web_acl_arn})

    def _waf_logs(self, name: str, args: CdnArgs, acl: aws.wafv2.WebAcl) -> None:
        """The web ACL's request logs, in a KMS-encrypted log group in us-east-1 (a CLOUDFRONT ACL's
        logs must be there), credentials and the origin-secret header redacted."""
        waf_logging(name, acl, log_name=f"{WAF_LOG_PREFIX}{name}-{args.stack}", retention_days=args.log_retention_days,
                    redacted_headers=waf_redacted_headers(args), tags=args.tags, parent=self, region=EDGE_REGION)

    def _access_logs(self, name: str, args: CdnArgs, distribution, child) -> None:
        """CloudFront standard logging v2: the distribution's access logs into a CloudWatch log group."""
        group = encrypted_log_group(f"{name}-access-logs", retention_days=args.log_retention_days,
                                    region=EDGE_REGION, tags=args.tags, parent=self, purpose=f"{name}: access logs")
        source = aws.cloudwatch.LogDeliverySource(f"{name}-log-source", name=f"{name}-{args.stack}-cf",
                                                  log_type="ACCESS_LOGS", resource_arn=distribution.arn,
                                                  region=EDGE_REGION, tags=args.tags, opts=child)
        destination = aws.cloudwatch.LogDeliveryDestination(
            f"{name}-log-destination", name=f"{name}-{args.stack}-cf-logs", output_format="json",
            delivery_destination_configuration={"destination_resource_arn": group.arn},
            region=EDGE_REGION, tags=args.tags, opts=child)
        aws.cloudwatch.LogDelivery(f"{name}-log-delivery", delivery_source_name=source.name,
                                   delivery_destination_arn=destination.arn, region=EDGE_REGION,
                                   tags=args.tags, opts=child)

"""The site's public names (apex, www, api) and, on Cloudflare, the zone's TLS settings and rate limits.

Cloudflare allows one ruleset per phase per zone, and zone settings are zone-wide: when staging
and production share a zone, exactly one stack sets `cloudflareManageZone: true` and owns them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import pulumi
import pulumi_cloudflare as cloudflare

from components._dns import DnsZone, SiteTarget, fqdns
from components._validation import Checker
from components.cdn import RateLimitSettings

RULES = ("api", "auth", "general")
# Periods Cloudflare rate limiting counts over (longer ones need higher plans).
PERIODS = (10, 60, 120, 300, 600, 3600)
_ZONE_ID = re.compile(r"^[0-9a-f]{32}$")
ZONE_SETTINGS = {"ssl": "strict", "min_tls_version": "1.2", "always_use_https": "on", "tls_1_3": "on"}


@dataclass(frozen=True)
class CloudflareSettings:
    zone_id: str = ""
    manage_zone: bool = True
    rate_limit_rules: tuple[str, ...] = RULES
    rate_limit_period_seconds: int = 10
    proxied: bool = False

    def __post_init__(self) -> None:
        c = Checker("cloudflare settings")
        if self.zone_id:
            c.matches("zone_id", self.zone_id, _ZONE_ID, "must be the 32-hex-digit zone id from the dashboard")
        for rule in self.rate_limit_rules:
            c.one_of("rate_limit_rules", rule, RULES)
        c.one_of("rate_limit_period_seconds", self.rate_limit_period_seconds, PERIODS)
        c.raise_if_any()

    def ratelimits(self, limits: RateLimitSettings) -> list[tuple[str, str, int, int]]:
        """(rule, path prefix, requests per period, period) for each selected rule."""
        p = self.rate_limit_period_seconds
        general_period = max(x for x in PERIODS if x <= max(limits.general_window_seconds, 10))
        every = {
            "api": (limits.api_path, limits.api_per_second * p, p),
            "auth": (limits.auth_path, limits.auth_per_second * p, p),
            "general": (limits.api_path, max(1, math.ceil(
                limits.general_requests * general_period / limits.general_window_seconds)), general_period),
        }
        return [(rule, *every[rule]) for rule in RULES if rule in self.rate_limit_rules]


@dataclass(frozen=True)
class DnsArgs:
    zone: DnsZone
    target: SiteTarget
    cloudflare: CloudflareSettings | None = None
    rate_limits: RateLimitSettings | None = None

    def __post_init__(self) -> None:
        c = Checker("dns args")
        c.require(self.zone.provider != "cloudflare" or self.cloudflare is not None, "cloudflare", None,
                  "settings are required for a Cloudflare zone")
        c.raise_if_any()


class Dns(pulumi.ComponentResource):
    hostnames: list[str]

    def __init__(self, name: str, args: DnsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:edge:Dns", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.hostnames = fqdns(args.target.domain)
        for label, fqdn in zip(("apex", "www", "api"), self.hostnames, strict=True):
            args.zone.alias(f"{name}-{label}", fqdn, args.target, child)

        cf = args.cloudflare
        if args.zone.provider == "cloudflare" and cf.manage_zone:
            for setting, value in ZONE_SETTINGS.items():
                cloudflare.ZoneSetting(f"{name}-{setting.replace('_', '-')}", zone_id=args.zone.zone_id,
                                       setting_id=setting, value=value, opts=child)
            limits = args.rate_limits or RateLimitSettings()
            rules = [{
                "ref": f"rate_{rule}",
                "description": f"{rule}: {requests} requests per {period} s per IP under {path}",
                "expression": f'(http.host in {{{" ".join(f"{chr(34)}{h}{chr(34)}" for h in self.hostnames)}}} '
                              f'and starts_with(http.request.uri.path, "{path}"))',
                "action": "block" if limits.action == "block" else "log",
                "ratelimit": {"characteristics": ["cf.colo.id", "ip.src"], "period": period,
                              "requests_per_period": requests, "mitigation_timeout": period},
                "enabled": True,
            } for rule, path, requests, period in cf.ratelimits(limits)]
            if rules:
                cloudflare.Ruleset(f"{name}-ratelimit", zone_id=args.zone.zone_id, kind="zone",
                                   phase="http_ratelimit", name="platform rate limits",
                                   description="The seeds' rate limits (managed by pulumi)", rules=rules,
                                   opts=child)
        self.register_outputs({"hostnames": self.hostnames})

"""The site's public names (apex, www, api) and, on Cloudflare, the zone's TLS settings and rate limits.

Cloudflare allows one ruleset per phase per zone, and zone settings are zone-wide: when staging
and production share a zone, exactly one stack sets `cloudflareManageZone: true` and owns them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pulumi

from components._dns_zone import DnsZone, SiteTarget, fqdns
from components._validation import Checker, Problem, choice, choices
from components.rate_limits import RateLimitSettings

if TYPE_CHECKING:  # imported where the zone's resources are made (components/_dns_zone.py says why)
    import pulumi_cloudflare as cloudflare

RULES = ("api", "auth", "general")
# The `period` values Cloudflare's API takes for rate limiting rules; the plan decides which of them a zone may use.
PERIODS = (10, 60, 120, 300, 600, 3600)
_ZONE_ID = re.compile(r"^[0-9a-f]{32}$")
ZONE_SETTINGS = {"ssl": "strict", "min_tls_version": "1.2", "always_use_https": "on", "tls_1_3": "on"}
# What each rule counts by: the data center (mandatory) and the client IP.
CHARACTERISTICS = ("cf.colo.id", "ip.src")
PLANS = ("free", "pro", "business", "enterprise")


@dataclass(frozen=True)
class RateLimitPlan:
    """What a Cloudflare plan lets a zone's rate limiting rules use."""
    max_rules: int
    periods: tuple[int, ...]  # counting periods, seconds
    mitigation_timeouts: tuple[int, ...]  # how long the action lasts, seconds (0 = throttle instead)
    expression_fields: tuple[str, ...]  # request fields the rule expression may test
    characteristics: tuple[str, ...]
    actions: tuple[str, ...]
    counting_expression: bool


_FREE_FIELDS = ("http.request.uri.path", "cf.bot_management.verified_bot")
_PRO_FIELDS = _FREE_FIELDS + ("http.host", "http.request.uri", "http.request.full_uri", "http.request.uri.query")
_BUSINESS_FIELDS = _PRO_FIELDS + ("http.request.method", "ip.src", "http.user_agent")
_CHALLENGES = ("challenge", "js_challenge", "managed_challenge")
_TIMEOUTS = (10, 60, 120, 300, 600, 3600, 86400)
# Source: Cloudflare, "Rate limiting rules" > Availability, read 2026-11-23:
#   https://developers.cloudflare.com/waf/rate-limiting-rules/#availability
#   (cloudflare/cloudflare-docs src/content/partials/waf/rate-limiting-availability-by-plan.mdx),
# the API values of period and mitigation_timeout from .../waf/rate-limiting-rules/parameters/, and
# "Log: only available on Enterprise plans" from .../ruleset-engine/rules-language/actions/.
# Below Enterprise, challenge actions only throttle (mitigation_timeout 0) and block cannot throttle;
# this program sends block (or log) with a mitigation timeout equal to the period.
# Enterprise is the "Enterprise with app security" column: every general request and header field,
# and a rule count set by the contract (100 in the table).
RATE_LIMIT_PLANS: dict[str, RateLimitPlan] = {
    "free": RateLimitPlan(1, (10,), (10,), _FREE_FIELDS, CHARACTERISTICS, ("block", *_CHALLENGES), False),
    "pro": RateLimitPlan(2, (10, 60), _TIMEOUTS[:6], _PRO_FIELDS, CHARACTERISTICS, ("block", *_CHALLENGES), False),
    "business": RateLimitPlan(5, (10, 60, 120, 300, 600), _TIMEOUTS, _BUSINESS_FIELDS,
                              (*CHARACTERISTICS, "cf.unique_visitor_id"), ("block", *_CHALLENGES), True),
    "enterprise": RateLimitPlan(100, PERIODS, (0, *_TIMEOUTS), (*_BUSINESS_FIELDS, "http.request.headers"),
                                (*CHARACTERISTICS, "cf.unique_visitor_id"), ("block", *_CHALLENGES, "log"), True),
}


def cloudflare_action(action: str) -> str:
    """rateLimitAction -> the ruleset action: `count` only records matches, which Cloudflare calls log."""
    return "block" if action == "block" else "log"


def _lowest_plan(ok) -> str:
    return next((name for name in PLANS if ok(RATE_LIMIT_PLANS[name])), PLANS[-1])


@dataclass(frozen=True)
class PlanLimit(Problem):
    """A setting the zone's plan cannot do, and the lowest plan that can."""
    plan: str


@dataclass(frozen=True)
class CloudflareSettings:
    zone_id: str = ""
    manage_zone: bool = True
    rate_limit_rules: tuple[str, ...] = choices(RULES, default=RULES)
    rate_limit_period_seconds: int = choice(PERIODS, default=10)
    proxied: bool = False
    # The zone's plan: it caps the rules' count, periods, fields and actions (see RATE_LIMIT_PLANS).
    plan: str = choice(PLANS, default="free")

    def __post_init__(self) -> None:
        c = Checker("cloudflare settings")
        if self.zone_id:
            c.matches("zone_id", self.zone_id, _ZONE_ID, "must be the 32-hex-digit zone id from the dashboard")
        c.declared(self, "rate_limit_rules", "rate_limit_period_seconds", "plan")
        c.raise_if_any()

    def plan_limits(self, limits: RateLimitSettings) -> list[PlanLimit]:
        """What of the rules this zone would get its plan cannot do; empty when it can do all of it.

        Kept apart from __post_init__: whether the rules fit depends on the rate limits too.
        """
        plan = RATE_LIMIT_PLANS[self.plan]
        found: list[PlanLimit] = []
        rules = self.ratelimits(limits)

        def fits(period: int) -> Callable[[RateLimitPlan], bool]:  # the mitigation timeout is the period
            return lambda p: period in p.periods and period in p.mitigation_timeouts

        why, need = [], []
        if len(rules) > plan.max_rules:
            why.append(f"the {self.plan} plan allows {plan.max_rules} rate limiting "
                       f"rule{'s' * (plan.max_rules != 1)}, not {len(rules)}")
            need.append(_lowest_plan(lambda p: p.max_rules >= len(rules)))
        general = next((period for rule, _, _, period in rules if rule == "general"), None)
        if general is not None and not fits(general)(plan):
            why.append(f"the general rule counts over {general} s (the longest Cloudflare period within its "
                       f"{limits.general_window_seconds} s window); the {self.plan} plan counts over "
                       f"{_seconds(plan.periods)} s only")
            need.append(_lowest_plan(fits(general)))
        if why:
            found.append(PlanLimit("rate_limit_rules", [r for r, *_ in rules], "; ".join(why),
                                   max(need, key=PLANS.index)))
        period = self.rate_limit_period_seconds
        if {"api", "auth"} & {r for r, *_ in rules} and not fits(period)(plan):
            found.append(PlanLimit("rate_limit_period_seconds", period,
                                   f"the {self.plan} plan counts (and blocks) over {_seconds(plan.periods)} s only",
                                   _lowest_plan(fits(period))))
        action = cloudflare_action(limits.action)
        if rules and action not in plan.actions:
            found.append(PlanLimit("action", limits.action,
                                   f"'{limits.action}' is Cloudflare's {action} action, which the {self.plan} "
                                   f"plan does not offer", _lowest_plan(lambda p: action in p.actions)))
        return found

    def expression(self, hostnames: list[str], path: str) -> str:
        """The rule's match: the site's names and the path, or the path alone where the plan cannot test the host."""
        on_path = f'starts_with(http.request.uri.path, "{path}")'
        if "http.host" not in RATE_LIMIT_PLANS[self.plan].expression_fields:
            return on_path
        names = " ".join(f'"{h}"' for h in hostnames)
        return f"(http.host in {{{names}}} and {on_path})"

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


def _seconds(periods: tuple[int, ...]) -> str:
    return ", ".join(map(str, periods[:-1])) + (" or " if len(periods) > 1 else "") + str(periods[-1])


@dataclass(frozen=True)
class DnsArgs:
    #: The zone the site's names are written in (Route 53 or Cloudflare).
    zone: DnsZone
    #: What apex, www and api point at (CloudFront, the ALB or Vercel).
    target: SiteTarget
    #: Zone settings, rate limiting rules and plan; required for a Cloudflare zone; default None.
    cloudflare: CloudflareSettings | None = None
    #: The seeds' per-IP limits for Cloudflare's rules; default None (RateLimitSettings()).
    rate_limits: RateLimitSettings | None = None

    def __post_init__(self) -> None:
        c = Checker("dns args")
        c.require(self.zone.provider != "cloudflare" or self.cloudflare is not None, "cloudflare", None,
                  "settings are required for a Cloudflare zone")
        if self.zone.provider == "cloudflare" and self.cloudflare is not None and self.cloudflare.manage_zone:
            for limit in self.cloudflare.plan_limits(self.rate_limits or RateLimitSettings()):
                c.require(False, limit.field, limit.value, f"{limit.allowed} (a {limit.plan} plan can)")
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
        if args.zone.provider == "cloudflare" and cf is not None and cf.manage_zone:
            import pulumi_cloudflare as cloudflare

            for setting, value in ZONE_SETTINGS.items():
                cloudflare.ZoneSetting(f"{name}-{setting.replace('_', '-')}", zone_id=args.zone.zone_id,
                                       setting_id=setting, value=value, opts=child)
            limits = args.rate_limits or RateLimitSettings()
            rules: list[cloudflare.RulesetRuleArgsDict] = [{
                "ref": f"rate_{rule}",
                "description": f"{rule}: {requests} requests per {period} s per IP under {path}",
                "expression": cf.expression(self.hostnames, path),
                "action": cloudflare_action(limits.action),
                "ratelimit": {"characteristics": list(CHARACTERISTICS), "period": period,
                              "requests_per_period": requests, "mitigation_timeout": period},
                "enabled": True,
            } for rule, path, requests, period in cf.ratelimits(limits)]
            if rules:
                cloudflare.Ruleset(f"{name}-ratelimit", zone_id=args.zone.zone_id, kind="zone",
                                   phase="http_ratelimit", name="platform rate limits",
                                   description="The seeds' rate limits (managed by pulumi)", rules=rules,
                                   opts=child)
        self.register_outputs({"hostnames": self.hostnames})

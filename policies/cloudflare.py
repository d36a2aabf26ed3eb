"""Cloudflare zones this stack owns: full TLS validation to the origin, modern TLS to visitors, and
plain HTTP redirected to HTTPS, as the seed guides require (TLSv1.2 and TLSv1.3 only; port 80
answers with a redirect to https).

A stack owns a zone's settings when it declares the zone (cloudflare.Zone) or sets any of its zone
settings (components/dns.py does, for all of them, when cloudflareManageZone is true); a stack that
shares the zone and sets none leaves them to the owner. Setting ids and values: pulumi_cloudflare 6
ZoneSetting (the table of setting_id values in its docstring) and Cloudflare's zone settings API.
"""

from __future__ import annotations

from _rules import Stack, as_list, resource_rule, stack_rule
from _types import CLOUDFLARE_PAGE_RULE, CLOUDFLARE_RULESET, CLOUDFLARE_ZONE, CLOUDFLARE_ZONE_SETTING
from pulumi_policy import PolicyResource

MIN_TLS = ("1.2", "1.3")  # min_tls_version: "1.0" | "1.1" | "1.2" | "1.3"
TLS_1_3 = ("on", "zrt")  # tls_1_3: "on" | "off" | "zrt" (on, with 0-RTT)
# What every owned zone must set, and the values each accepts.
REQUIRED = {"ssl": ("strict",), "min_tls_version": MIN_TLS, "tls_1_3": TLS_1_3, "always_use_https": ("on",)}


# SSL levels that validate the origin certificate: "strict" (Full (strict)) and "origin_pull"
# (Strict (SSL-Only Origin Pull)). pulumi_cloudflare 6 RulesetRuleActionParameters.ssl: "off",
# "flexible", "full", "strict", "origin_pull"; PageRuleActions.ssl takes the same levels.
STRICT_SSL = {"strict", "origin_pull"}


def _lowered_ssl(args, props) -> list[str]:
    """Where a page rule or a configuration rule sets an SSL level below strict for the URLs it matches."""
    if args.resource_type == CLOUDFLARE_PAGE_RULE:
        ssl = (props.get("actions") or {}).get("ssl")
        return [f'page rule {props.get("target")!r} sets ssl "{ssl}"'] if ssl and ssl not in STRICT_SSL else []
    out = []
    for rule in as_list(props.get("rules")):
        ssl = (rule.get("actionParameters") or {}).get("ssl")
        if ssl and ssl not in STRICT_SSL:
            out.append(f'configuration rule {rule.get("description") or rule.get("expression")!r} sets ssl "{ssl}"')
    return out


@resource_rule(
    "cloudflare-tls", "Zone SSL mode is strict, the minimum TLS version is 1.2 and TLS 1.3 is on; no page "
    "or configuration rule lowers the SSL mode.",
    types=[CLOUDFLARE_ZONE_SETTING, CLOUDFLARE_PAGE_RULE, CLOUDFLARE_RULESET], severity="high",
    fix='Keep the ssl zone setting "strict" (Full (strict): Cloudflare validates the origin certificate), '
        'min_tls_version "1.2" and tls_1_3 "on" (components/dns.py sets all three); remove the ssl override '
        'from page rules and configuration rules (or set it "strict").')
def _tls(props, report, cfg, args):
    if args.resource_type != CLOUDFLARE_ZONE_SETTING:
        for where in _lowered_ssl(args, props):
            report(f"{where}: the matched URLs reach the origin without certificate validation (needs \"strict\").")
        return
    setting, value = props.get("settingId"), props.get("value")
    if setting == "ssl" and value != "strict":
        report(f'ssl is "{value}": Cloudflare would not validate the origin certificate (needs "strict").')
    elif setting == "min_tls_version" and str(value) not in MIN_TLS:
        report(f'min_tls_version is "{value}": visitors may negotiate TLS below 1.2.')
    elif setting == "tls_1_3" and value not in TLS_1_3:
        report(f'tls_1_3 is "{value}": visitors cannot use TLS 1.3 (needs "on").')


@resource_rule(
    "cloudflare-always-https", "The zone redirects every plain-HTTP request to HTTPS.",
    types=[CLOUDFLARE_ZONE_SETTING], severity="high",
    fix='Set the always_use_https zone setting "on" (components/dns.py does): Cloudflare then answers '
        "http:// with a 301 to https://.")
def _always_https(props, report, cfg, args):
    if props.get("settingId") == "always_use_https" and props.get("value") != "on":
        report(f'always_use_https is "{props.get("value")}": pages stay reachable over plain HTTP.')


def _zone_key(stack: Stack, setting: PolicyResource) -> str:
    """The zone a setting belongs to: the Zone resource it references, or its literal zoneId."""
    zones = [z.urn for z in stack.referenced(setting, "zoneId") if z.resource_type == CLOUDFLARE_ZONE]
    return zones[0] if zones else str(setting.props.get("zoneId"))


@stack_rule(
    "cloudflare-zone-settings-present", "Every zone this stack owns sets ssl, min_tls_version, tls_1_3 and "
    "always_use_https.",
    types=[CLOUDFLARE_ZONE, CLOUDFLARE_ZONE_SETTING], severity="high",
    fix="Create a cloudflare.ZoneSetting for each missing setting id on the zone (components/dns.py "
        "creates all four when cloudflareManageZone is true; a stack sharing the zone sets none).")
def _settings_present(stack: Stack, resource, report, cfg):
    settings = stack.of_type(CLOUDFLARE_ZONE_SETTING)
    if resource.resource_type == CLOUDFLARE_ZONE:
        key, mine = resource.urn, [s for s in settings if _zone_key(stack, s) == resource.urn]
    else:
        key = _zone_key(stack, resource)
        mine = [s for s in settings if _zone_key(stack, s) == key]
        if mine[0].urn != resource.urn or key in {z.urn for z in stack.of_type(CLOUDFLARE_ZONE)}:
            return  # one report per zone: on its first setting, or on the Zone resource itself
    missing = sorted(set(REQUIRED) - {s.props.get("settingId") for s in mine})
    if missing:
        report(f"the zone sets {len(mine)} of its settings here but not {', '.join(missing)}.")

"""Cloudflare zones this stack owns: full TLS validation to the origin, modern TLS to visitors."""

from __future__ import annotations

from _rules import resource_rule
from _types import CLOUDFLARE_ZONE_SETTING

MIN_TLS = ("1.2", "1.3")


@resource_rule(
    "cloudflare-tls", "Zone SSL mode is strict and the minimum TLS version is 1.2.",
    types=[CLOUDFLARE_ZONE_SETTING], severity="high",
    fix='Keep the ssl zone setting "strict" (Full (strict): Cloudflare validates the origin certificate) '
        'and min_tls_version "1.2" (components/dns.py sets both).')
def _tls(props, report, cfg, args):
    setting, value = props.get("settingId"), props.get("value")
    if setting == "ssl" and value != "strict":
        report(f'ssl is "{value}": Cloudflare would not validate the origin certificate (needs "strict").')
    elif setting == "min_tls_version" and str(value) not in MIN_TLS:
        report(f'min_tls_version is "{value}": visitors may negotiate TLS below 1.2.')

"""Cloudflare zone settings the seeds rely on, written as a user would (policy_cases.Case): a wrong
value on a ZoneSetting (judged before it is applied), and an owned zone that lacks a setting."""

from __future__ import annotations

import pulumi_cloudflare as cloudflare
import pytest
from policy_cases import Case, assert_case, ids

ZONE_ID = "0123456789abcdef0123456789abcdef"
GOOD = {"ssl": "strict", "min_tls_version": "1.2", "tls_1_3": "on", "always_use_https": "on"}


def _settings(zone_id=ZONE_ID, **changes):
    """The four settings on one zone, with `changes` (a value, or None: the setting is not created)."""
    def program() -> None:
        zone = zone_id() if callable(zone_id) else zone_id
        for setting, value in {**GOOD, **changes}.items():
            if value is not None:
                cloudflare.ZoneSetting(setting.replace("_", "-"), zone_id=zone, setting_id=setting, value=value)
    return program


def _owned_zone():
    return cloudflare.Zone("zone", name="example.com", account={"id": "0123456789abcdef0123456789abcdef"}).id


def _bare_zone(with_settings: bool):
    def program() -> None:
        zone = _owned_zone()
        if with_settings:
            for setting, value in GOOD.items():
                cloudflare.ZoneSetting(setting.replace("_", "-"), zone_id=zone, setting_id=setting, value=value)
    return program


PRESENT = "cloudflare-zone-settings-present"

def _page_rule(ssl: str):
    def program() -> None:
        cloudflare.PageRule("legacy", zone_id=ZONE_ID, target="example.com/legacy/*", priority=1,
                            actions={"ssl": ssl})
    return program


def _config_rule(ssl: str):
    def program() -> None:
        cloudflare.Ruleset("config", zone_id=ZONE_ID, name="config", kind="zone", phase="http_config_settings",
                           rules=[{"expression": 'http.request.uri.path wildcard "/legacy/*"', "action": "set_config",
                                   "action_parameters": {"ssl": ssl}, "description": "legacy"}])
    return program


CASES = [
    # A page rule or a configuration rule overrides the zone's SSL mode for the URLs it matches.
    Case("cloudflare-tls", _page_rule("flexible"), _page_rule("strict"), 'page rule', id="page-rule"),
    Case("cloudflare-tls", _config_rule("off"), _config_rule("origin_pull"), 'configuration rule', id="config-rule"),
    Case("cloudflare-tls", _settings(ssl="flexible"), _settings(), 'ssl is "flexible"', id="ssl-flexible"),
    Case("cloudflare-tls", _settings(ssl="full"), _settings(), 'ssl is "full"', id="ssl-full"),
    Case("cloudflare-tls", _settings(min_tls_version="1.0"), _settings(min_tls_version="1.3"),
         'min_tls_version is "1.0"', id="min-tls"),
    Case("cloudflare-tls", _settings(tls_1_3="off"), _settings(tls_1_3="zrt"), 'tls_1_3 is "off"', id="tls-1-3"),
    Case("cloudflare-always-https", _settings(always_use_https="off"), _settings(), 'always_use_https is "off"'),
    Case(PRESENT, _settings(always_use_https=None), _settings(), "sets 3 of its settings here but not "
         "always_use_https", id="literal-zone-id"),
    Case(PRESENT, _settings(_owned_zone, ssl=None, tls_1_3=None), _settings(_owned_zone), "not ssl, tls_1_3",
         id="zone-resource"),
    Case(PRESENT, _bare_zone(False), _bare_zone(True), "sets 0 of its settings here but not always_use_https, "
         "min_tls_version, ssl, tls_1_3", id="zone-without-settings"),
    # Preview: the Zone's id is unknown, the settings still reference it through the graph.
    Case(PRESENT, _settings(_owned_zone, always_use_https=None), _settings(_owned_zone), "but not always_use_https",
         id="preview", preview=True),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_case(pack, case):
    assert_case(pack, case)

"""components/rate_limits.py: the seeds' per-client limits both edges convert (WAF in test_cdn.py,
Cloudflare in test_dns.py); here only the ranges every edge relies on."""

import pytest

from components._validation import InvalidArgs
from components.rate_limits import RateLimitSettings


def test_defaults_are_the_seeds():
    limits = RateLimitSettings()
    assert (limits.api_per_second, limits.auth_per_second) == (10, 1)  # Project Spark's nginx
    assert (limits.general_requests, limits.general_window_seconds) == (100, 900)  # its app limiter


@pytest.mark.parametrize("kwargs, field", [
    ({"api_path": "api"}, "api_path"),
    ({"action": "challenge"}, "action"),
    ({"general_window_seconds": 30}, "general_window_seconds"),
])
def test_settings_refuse(kwargs, field):
    with pytest.raises(InvalidArgs) as info:
        RateLimitSettings(**kwargs)
    assert [p.field for p in info.value.problems] == [field]

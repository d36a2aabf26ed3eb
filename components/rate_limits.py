"""The seeds' per-client rate limits, which both edges enforce in their own units.

Neither edge owns them: AWS WAF (components/_waf.py, `waf_rules`: CloudFront's web ACL, or the
load balancer's without a CDN) and Cloudflare's rate limiting rules (components/dns.py,
`CloudflareSettings.ratelimits`) each convert these numbers to the windows they can count in,
so neither component imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass

from components._validation import Checker, bounded, choice


@dataclass(frozen=True)
class RateLimitSettings:
    """The seeds' limits per client IP: Project Spark's nginx (api 10 r/s, auth 1 r/s) and its app
    limiter (100 requests per 15 minutes). Each edge converts them to the windows it can count in."""
    api_per_second: int = bounded(1, 100_000, default=10)
    auth_per_second: int = bounded(1, 100_000, default=1)
    general_requests: int = bounded(1, 10_000_000, default=100)
    general_window_seconds: int = bounded(60, 86_400, default=900)
    api_path: str = "/api/"
    auth_path: str = "/api/auth/"
    action: str = choice(("block", "count"), default="block")

    def __post_init__(self) -> None:
        c = Checker("rate limit settings")
        c.declared(self, "api_per_second", "auth_per_second", "general_requests", "general_window_seconds")
        for fld in ("api_path", "auth_path"):
            value = getattr(self, fld)
            c.require(value.startswith("/") and value.endswith("/") and " " not in value, fld, value,
                      "must be a path prefix that starts and ends with /, e.g. /api/")
        c.declared(self, "action")
        c.raise_if_any()

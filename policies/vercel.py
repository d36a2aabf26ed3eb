"""Vercel: secrets stay write-only in the dashboard and API, and never reach the browser bundle.

A variable looks secret (`why_secret`) by its name or by its value:
- names: a PASSWORD/PASSWD/PWD/SECRET word, PRIVATE_KEY anywhere (PRIVATE_KEY_PEM, GITHUB_PRIVATE_KEY),
  a last word TOKEN, KEY (API_KEY), APIKEY, PASS or CREDENTIALS, and data store URLs (DATABASE_URL,
  POSTGRES_PRISMA_URL, REDIS_URL, MONGODB_URI, ...: they carry the password in practice);
- values: a URL with a password in any scheme (postgres://user:pass@, redis://:pass@ with an empty
  user, mongodb+srv://, amqp://), a secret in a query string (?password=, &sslpassword=, api_key=,
  token=), a PEM private key.

Only `sensitive` hides a value: Vercel then never shows it in the dashboard or API again
(pulumiverse_vercel ProjectEnvironmentVariable.sensitive). `value_wo` is write-only for Pulumi
(kept out of the state), not for Vercel: a non-sensitive variable set through it is still readable
by anyone with access to the project, so it does not count.

NEXT_PUBLIC_* variables are inlined into the JavaScript sent to the browser at build time (Next.js,
"Bundling Environment Variables for the Browser"), so `sensitive` cannot protect them: one that
looks secret by a strong name or by its value is refused outright. The weak names (KEY, TOKEN) are
not judged there: publishable keys (NEXT_PUBLIC_STRIPE_PUBLISHABLE_KEY) are public by design.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from _rules import as_list, resource_rule
from _types import VERCEL_DEPLOYMENT, VERCEL_ENV_VAR, VERCEL_ENV_VARS, VERCEL_PROJECT, VERCEL_SHARED_ENV_VAR

PUBLIC_PREFIX = "NEXT_PUBLIC_"
STRONG_WORDS = ("PASSWORD", "PASSWD", "PWD", "SECRET", "SECRETS")
WEAK_LAST_WORDS = {"TOKEN", "KEY", "APIKEY", "PASS", "CREDENTIALS", "CREDENTIAL"}
DATA_STORES = {"DATABASE", "DB", "POSTGRES", "POSTGRESQL", "PG", "MYSQL", "MARIADB", "MONGO", "MONGODB",
               "REDIS", "KV", "RABBITMQ", "AMQP", "TURSO", "LIBSQL", "CONNECTION"}
STORE_LAST_WORDS = {"URL", "URI", "DSN", "STRING"}
# The lookbehind lets a scheme start only where a run of scheme characters starts: without it a
# 64 KB value of letters and digits is tried from every position (quadratic; Vercel allows 64 KB).
CREDENTIAL_URL = re.compile(r"(?<![a-z0-9+.-])[a-z][a-z0-9+.-]*://[^/\s@:]*:[^/\s@]+@", re.IGNORECASE)
QUERY_SECRET = re.compile(
    r"[?&;](password|passwd|pwd|pass|sslpassword|secret|client_secret|api[_-]?key|apikey|token|"
    r"access_token|auth_token)=[^&\s#]+", re.IGNORECASE)
PEM_KEY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")


# A name that ends in one of these refers to a secret or describes it, but does not hold it:
# DATABASE_SECRET_ARN, PASSWORD_MIN_LENGTH, API_TOKEN_TTL.
REFERENCE_LAST_WORDS = {"ARN", "ID", "IDS", "NAME", "LENGTH", "LEN", "PATH", "REGION", "VERSION", "TTL",
                        "ENABLED", "EXPIRY", "HEADER"}
# Words after the secret word that only say which one: STRIPE_API_KEY_LIVE, SLACK_BOT_TOKEN_V2.
VARIANT_WORD = re.compile(r"^(LIVE|PROD|PRODUCTION|TEST|DEV|STAGING|PREVIEW|OLD|NEW|PRIMARY|SECONDARY|V\d+|\d+)$")
# A key that is public by design: JWT_PUBLIC_KEY, STRIPE_PUBLISHABLE_KEY.
PUBLIC_WORDS = {"PUBLIC", "PUBLISHABLE", "PUB"}


def _words(key: str) -> list[str]:
    words = [w for w in key.upper().split("_") if w]
    while len(words) > 1 and VARIANT_WORD.match(words[-1]):
        words.pop()
    return words


def strong_name(key: str) -> bool:
    words = _words(key)
    if not words or words[-1] in REFERENCE_LAST_WORDS:
        return False
    return "PRIVATE_KEY" in "_".join(words) or any(w.endswith(STRONG_WORDS) for w in words)


def weak_name(key: str) -> bool:
    words = _words(key)
    if not words:
        return False
    last = words[-1][:-1] if words[-1].endswith("S") and words[-1][:-1] in WEAK_LAST_WORDS else words[-1]
    if last in WEAK_LAST_WORDS:
        return not (len(words) > 1 and words[-2] in PUBLIC_WORDS)
    return last in STORE_LAST_WORDS and bool(DATA_STORES & set(words))


def secret_value(value: Any) -> str | None:
    text = str(value or "")
    if CREDENTIAL_URL.search(text):
        return "holds a URL with credentials"
    if QUERY_SECRET.search(text):
        return "holds a secret in a URL query string"
    if PEM_KEY.search(text):
        return "holds a PEM private key"
    return None


def why_secret(key: str, value_of: Callable[[], Any]) -> str | None:
    """Why a variable looks secret, or None. The name decides first: reading the value (unknown in
    a preview when computed) is only needed when the name says nothing."""
    if strong_name(key) or (weak_name(key) and not key.upper().startswith(PUBLIC_PREFIX)):
        return f"{key} is named like a secret"
    why = secret_value(value_of())
    return f"{key} {why}" if why else None


def _value_of(var: Mapping) -> Callable[[], Any]:
    def read() -> Any:
        return var.get("value") or var.get("valueWo")
    return read


def _entry(env: Mapping, key: Any) -> Callable[[], Any]:
    return lambda: env[key]


def variables(resource_type: str, props: Mapping) -> Iterator[tuple[str, Callable[[], Any], bool]]:
    """(key, value reader, sensitive) of each variable the resource sets, on every resource type that
    sets one: a Deployment's `environment` map has no sensitive flag at all."""
    if resource_type == VERCEL_DEPLOYMENT:
        env: Mapping = props.get("environment") or {}
        for key in list(env):
            yield str(key), _entry(env, key), False
        return
    if resource_type in (VERCEL_ENV_VAR, VERCEL_SHARED_ENV_VAR):
        entries = [props]
    else:
        entries = as_list(props.get("variables" if resource_type == VERCEL_ENV_VARS else "environments"))
    for var in entries:
        yield str(var.get("key") or ""), _value_of(var), bool(var.get("sensitive"))


ENV_TYPES = [VERCEL_ENV_VAR, VERCEL_ENV_VARS, VERCEL_SHARED_ENV_VAR, VERCEL_PROJECT, VERCEL_DEPLOYMENT]


@resource_rule(
    "vercel-sensitive-env", "Secret-looking Vercel environment variables are marked sensitive.",
    types=ENV_TYPES, severity="high",
    fix="Set sensitive=true on the variable (components/app.py does for every secret key); a Deployment's "
        "environment cannot be sensitive: move the value to a sensitive project variable. Rotate any value "
        "that was readable.")
def _sensitive(props, report, cfg, args):
    deployment = args.resource_type == VERCEL_DEPLOYMENT
    for key, value_of, sensitive in variables(args.resource_type, props):
        if sensitive or key.upper().startswith(PUBLIC_PREFIX):  # NEXT_PUBLIC_: vercel-no-public-secrets
            continue
        why = why_secret(key, value_of)
        if why and deployment:
            report(f"{why} in a Deployment's environment, which cannot be sensitive: anyone with project "
                   "access can read it.")
        elif why:
            report(f"{why} but is not sensitive: anyone with project access can read it.")


@resource_rule(
    "vercel-no-public-secrets", "No secret in a NEXT_PUBLIC_ variable: Next.js inlines those into the "
    "browser bundle.",
    types=ENV_TYPES, severity="critical",
    fix="Rename the variable without NEXT_PUBLIC_ and read it on the server only (route handlers, server "
        "components); rotate the value, it has been served to browsers.")
def _public(props, report, cfg, args):
    for key, value_of, _ in variables(args.resource_type, props):
        if not key.upper().startswith(PUBLIC_PREFIX):
            continue
        why = f"{key} is named like a secret" if strong_name(key) else None
        if why is None and (found := secret_value(value_of())):
            why = f"{key} {found}"
        if why:
            report(f"{why}: as NEXT_PUBLIC_ it is inlined into the JavaScript every visitor downloads "
                   "(sensitive does not change that).")

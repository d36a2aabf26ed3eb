"""Vercel: secrets stay write-only in the dashboard and API."""

from __future__ import annotations

import re

from _rules import as_list, resource_rule
from _types import VERCEL_ENV_VAR, VERCEL_PROJECT

SECRET_NAME = re.compile(r"(_SECRET|_KEY|_TOKEN|PASSWORD|_PASS)$")
CREDENTIAL_URL = re.compile(r"^[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@", re.IGNORECASE)


def looks_secret(key: str, value_of) -> str | None:
    """Why a variable looks secret, or None. NEXT_PUBLIC_* are inlined into the browser bundle by
    design: marking them sensitive would not hide them."""
    if key.startswith("NEXT_PUBLIC_"):
        return None
    if SECRET_NAME.search(key):
        return f"{key} is named like a secret"
    if CREDENTIAL_URL.match(str(value_of() or "")):
        return f"{key} holds a URL with credentials"
    return None


@resource_rule(
    "vercel-sensitive-env", "Secret-looking Vercel environment variables are marked sensitive.",
    types=[VERCEL_ENV_VAR, VERCEL_PROJECT], severity="high",
    fix="Set sensitive=true on the variable (components/app.py does for every secret key); rotate any "
        "value that was readable.")
def _sensitive(props, report, cfg, args):
    if args.resource_type == VERCEL_ENV_VAR:
        variables = [props]
    else:
        variables = as_list(props.get("environments"))
    for v in variables:
        if v.get("sensitive"):
            continue
        why = looks_secret(str(v.get("key") or ""), lambda v=v: v.get("value"))
        if why:
            report(f"{why} but is not sensitive: anyone with project access can read it.")

"""Reading IAM-grammar policy documents (IAM identity and trust policies, KMS key policies, SNS topic
policies) as the engine sends them: a JSON string, or an object when the program passed
`aws.iam.PolicyDocumentArgs` (pulumi_aws 7 types `policy` of iam.Policy/RolePolicy/UserPolicy/
GroupPolicy, `assumeRolePolicy` of iam.Role and `policy` of sns.TopicPolicy as
`Union[str, PolicyDocumentArgs]`). Grammar: IAM User Guide, "IAM JSON policy element reference".

An element may be a string or a list (Action, NotAction, Resource, NotResource, each Principal
kind); Statement may be one object or a list. A value unknown in preview raises UnknownValueError
where it is read, so a rule that needs it reports "can't run during preview" for that resource.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from _rules import as_list

# Condition operators that only let a request through when the key is present and matches.
# Negated operators (StringNotEquals), ...IfExists (true when the key is absent, e.g. a caller
# that is not a service has no aws:SourceAccount) and ForAllValues: (true on an empty set) do
# not narrow who may call.
NARROWING_OPERATORS = frozenset(op.lower() for op in (
    "StringEquals", "StringEqualsIgnoreCase", "StringLike", "ArnEquals", "ArnLike",
    "ForAnyValue:StringEquals", "ForAnyValue:StringEqualsIgnoreCase", "ForAnyValue:StringLike"))

ACCOUNT = re.compile(r"^\d{12}$")
PRINCIPAL_ARN = re.compile(r"^arn:[^:]+:(?:iam|sts)::(\d{12}):")


def document(raw: Any) -> dict:
    """The policy as a dict: parsed from JSON, or the object itself. Anything else is the wrong
    shape (ValueError/TypeError), which the rule reports as a violation of its own."""
    if isinstance(raw, str):
        parsed = json.loads(raw) if raw.strip() else {}
    else:
        parsed = raw if raw is not None else {}
    if not isinstance(parsed, Mapping):
        raise TypeError(f"a policy document is a JSON object, not {type(parsed).__name__}")
    return dict(parsed)


def statements(raw: Any) -> list[Mapping]:
    """Every statement of the document `raw` (string or object), Statement being one or a list."""
    body = document(raw).get("Statement") or []
    found = [body] if isinstance(body, Mapping) else list(body)
    for st in found:
        if not isinstance(st, Mapping):
            raise TypeError(f"a policy statement is an object, not {type(st).__name__}")
    return found


def allows(st: Mapping) -> bool:
    return st.get("Effect") == "Allow"


def values(st: Mapping, key: str) -> list[str]:
    return [str(v) for v in as_list(st.get(key))]


def everything(resource: str) -> bool:
    """Resource "*", or an ARN pattern that is nothing but wildcards after the partition."""
    parts = resource.split(":")
    return resource == "*" or (parts[0] == "arn" and len(parts) >= 3
                               and all(p in ("*", "") for p in parts[2:]))


def on_everything(st: Mapping) -> bool:
    """The statement applies to every resource: Resource "*" or a NotResource exclusion."""
    return "NotResource" in st or any(everything(r) for r in values(st, "Resource"))


def action_matches(st: Mapping, action: str) -> bool:
    """Whether the statement's Action (a NotAction: anything it does not exclude) covers
    `action`. Action names and their wildcards are case-insensitive."""
    wanted = action.lower()
    if "NotAction" in st:
        return not any(fnmatch.fnmatchcase(wanted, a.lower()) for a in values(st, "NotAction"))
    return any(fnmatch.fnmatchcase(wanted, a.lower()) for a in values(st, "Action"))


def principals(st: Mapping) -> list[tuple[str, str]]:
    """(kind, value) pairs: Principal "*" is ("*", "*"); {"AWS": [a, b]} is ("AWS", a), ("AWS", b)."""
    principal = st.get("Principal")
    if principal is None:
        return []
    if isinstance(principal, str):
        return [("*", principal)]
    if not isinstance(principal, Mapping):
        raise TypeError(f"Principal is a string or an object, not {type(principal).__name__}")
    return [(str(kind), str(v)) for kind, vs in principal.items() for v in as_list(vs)]


def anyone(st: Mapping) -> bool:
    """An Allow for every principal: "*" in any Principal kind, or NotPrincipal (all but some)."""
    return allows(st) and ("NotPrincipal" in st or any(v == "*" for _, v in principals(st)))


def account_of(principal: str) -> str | None:
    """The account a principal value names: an account id, or the account of an IAM/STS ARN."""
    if ACCOUNT.match(principal):
        return principal
    found = PRINCIPAL_ARN.match(principal)
    return found.group(1) if found else None


def accounts(st: Mapping) -> set[str]:
    return {a for kind, v in principals(st) if kind == "AWS" and (a := account_of(v))}


def narrowed(st: Mapping, keys: Iterable[str]) -> bool:
    """Whether the statement's Condition pins one of `keys` (case-insensitive, as IAM compares
    condition keys) with a narrowing operator to values that are not bare wildcards."""
    wanted = {k.lower() for k in keys}
    condition = st.get("Condition") or {}
    if not isinstance(condition, Mapping):
        raise TypeError(f"Condition is an object, not {type(condition).__name__}")
    for operator, block in condition.items():
        if str(operator).lower() not in NARROWING_OPERATORS or not isinstance(block, Mapping):
            continue
        for key, given in block.items():
            pinned = [str(v) for v in as_list(given)]
            if str(key).lower() in wanted and pinned and all(pins(v) for v in pinned):
                return True
    return False


def pins(value: str) -> bool:
    """Whether a condition value names one caller or source. A pattern does not ("arn:aws:*",
    "arn:aws:iam::*:role/*" and "*0*" match other customers' accounts too), except an ARN whose
    account field is a literal account id: "arn:aws:cloudfront::111122223333:distribution/*" pins
    the account. (StringLike/ArnLike treat * and ? as wildcards: IAM User Guide, condition operators.)"""
    if "*" not in value and "?" not in value:
        return True
    parts = value.split(":")
    return len(parts) > 5 and parts[0] == "arn" and bool(ACCOUNT.match(parts[4])) and "*" not in ":".join(parts[:5])


def listing(items: Sequence[str], limit: int = 3) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" (+{len(items) - limit} more)" if len(items) > limit else "")

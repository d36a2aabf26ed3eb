"""How a rule is declared here: metadata once (severity, fix, Checkov and Security Hub ids), config
defaults in the schema the CLI validates, and small readers for the raw camelCase properties."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from pulumi_policy import (
    PolicyComplianceFramework,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

REGISTRY: list = []
FSBP = "AWS Foundational Security Best Practices"
SEVERITY = {s.value: s for s in Severity}


def _metadata(name: str, description: str, severity: str, fix: str, checkov: Iterable[str],
              securityhub: str | None, config: dict[str, dict] | None) -> dict[str, Any]:
    tags = [f"checkov:{c}" for c in checkov]
    if securityhub:
        tags.append(f"securityhub:{securityhub}")
    return {
        "name": name,
        "description": description,
        "severity": SEVERITY[severity],
        "remediation_steps": fix,
        "tags": tags or None,
        "framework": PolicyComplianceFramework(name=FSBP, reference=securityhub) if securityhub else None,
        "config_schema": PolicyConfigSchema(properties=config) if config else None,
    }


def settings(args, config: dict[str, dict] | None) -> dict[str, Any]:
    """The policy's config: the CLI fills schema defaults, but a bare analyzer host may not."""
    defaults = {k: v["default"] for k, v in (config or {}).items() if "default" in v}
    given = dict(args.get_config() or {})
    # Config crosses gRPC as a protobuf Struct, where every number is a double.
    return {**defaults, **{k: num(v) for k, v in given.items()}}


def resource_rule(name: str, description: str, *, types: Iterable[str], severity: str, fix: str,
                  checkov: Iterable[str] = (), securityhub: str | None = None,
                  config: dict[str, dict] | None = None):
    """Decorate `check(props, report, cfg, args)`; it runs for resources of the given types."""
    wanted = frozenset(types)

    def wrap(check: Callable[..., None]) -> ResourceValidationPolicy:
        def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
            if args.resource_type in wanted:
                check(args.props, report, settings(args, config), args)

        policy = ResourceValidationPolicy(validate=validate, **_metadata(
            name, description, severity, fix, checkov, securityhub, config))
        REGISTRY.append(policy)
        return policy

    return wrap


def stack_rule(name: str, description: str, *, severity: str, fix: str, checkov: Iterable[str] = (),
               securityhub: str | None = None, config: dict[str, dict] | None = None):
    """Decorate `check(stack: Stack, report, cfg)`; it sees the whole graph once."""

    def wrap(check: Callable[..., None]) -> StackValidationPolicy:
        def validate(args: StackValidationArgs, report: ReportViolation) -> None:
            check(Stack(args.resources), report, settings(args, config))

        policy = StackValidationPolicy(validate=validate, **_metadata(
            name, description, severity, fix, checkov, securityhub, config))
        REGISTRY.append(policy)
        return policy

    return wrap


class Stack:
    """The resources of one AnalyzeStack call, with the graph questions rules ask."""

    def __init__(self, resources: list[PolicyResource]):
        self.resources = resources

    def of_type(self, *types: str) -> list[PolicyResource]:
        return [r for r in self.resources if r.resource_type in types]

    def referencing(self, target: PolicyResource, typ: str, prop: str) -> list[PolicyResource]:
        """Resources of `typ` whose `prop` was computed from `target` (e.g. versioning of a bucket)."""
        return [r for r in self.of_type(typ)
                if any(d.urn == target.urn for d in r.property_dependencies.get(prop, []))]

    @staticmethod
    def referenced(source: PolicyResource, prop: str) -> list[PolicyResource]:
        return list(source.property_dependencies.get(prop, []))


def is_set(props: Mapping, key: str) -> bool:
    """True when `key` has a value. A value computed from another resource (an ARN, say) is unknown
    during preview but will be set, so it counts: reading it would abort the whole check."""
    if key not in list(props):  # iterating keys never touches values
        return False
    try:
        return bool(props[key])
    except UnknownValueError:
        return True


def count(props: Mapping, key: str) -> int:
    """Length of a list property without reading (possibly unknown) elements."""
    if key not in list(props):
        return 0
    try:
        return len(props[key] or [])
    except UnknownValueError:
        return 1


def tags_of(props: Mapping) -> dict[str, str]:
    return dict(props.get("tags") or {})


def policy_document(raw: Any) -> dict:
    """IAM-style policy: a JSON string in the inputs, sometimes already an object."""
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            return {}
    return dict(raw or {})


def statements(doc: dict) -> list[dict]:
    st = doc.get("Statement") or []
    return [st] if isinstance(st, dict) else list(st)


def as_list(value: Any) -> list:
    """Properties arrive as read-only proxies: lists are Sequences, maps are Mappings."""
    if value is None:
        return []
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return list(value)
    return [value]


def num(value: Any) -> Any:
    """Numbers cross gRPC as doubles: 5432.0 reads better as 5432."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def cidr_open(value: Any) -> bool:
    return value in ("0.0.0.0/0", "::/0")

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


# A value of the wrong shape (a string where a number goes, a null inside a list) makes a rule's
# reading code raise one of these. The rule that read it reports it on the resource, as a violation
# of its own: a crash would fail the whole Analyze call (pulumi_policy policy.py, Analyze only
# catches UnknownValueError), and with it every other rule's verdict on that resource.
SHAPE_ERRORS = (TypeError, ValueError, AttributeError, KeyError, IndexError)


def _shape_message(err: Exception) -> str:
    return (f"a property this rule reads has a value of the wrong shape ({type(err).__name__}: {err}); "
            "set it as the provider's schema types it.")


def resource_rule(name: str, description: str, *, types: Iterable[str], severity: str, fix: str,
                  checkov: Iterable[str] = (), securityhub: str | None = None,
                  config: dict[str, dict] | None = None):
    """Decorate `check(props, report, cfg, args)`; it runs for resources of the given types, in
    `Analyze`: before the engine creates or updates that resource, in preview and in up alike.
    An unknown value it must read raises UnknownValueError, which pulumi_policy reports once for
    this resource as advisory ("can't run policy ... during preview")."""
    wanted = frozenset(types)

    def wrap(check: Callable[..., None]) -> ResourceValidationPolicy:
        def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
            if args.resource_type not in wanted:
                return
            try:
                check(args.props, report, settings(args, config), args)
            except SHAPE_ERRORS as err:
                report(_shape_message(err), None)

        policy = ResourceValidationPolicy(validate=validate, **_metadata(
            name, description, severity, fix, checkov, securityhub, config))
        REGISTRY.append(policy)
        return policy

    return wrap


def stack_rule(name: str, description: str, *, severity: str, fix: str, types: Iterable[str] | None = None,
               checkov: Iterable[str] = (), securityhub: str | None = None, config: dict[str, dict] | None = None):
    """A rule that needs the graph (a companion resource, counts, what references what). It runs in
    `AnalyzeStack`, after the program finished: in `up` that is after the resources exist, so
    anything one resource's own inputs can decide belongs in a resource_rule.

    With `types`, decorate `check(stack, resource, report, cfg)`: it runs once per resource of
    those types, and `report(message)` names that resource. An unknown value read while judging
    one resource skips only that resource; the rule then reports the skipped ones once, advisory
    (pulumi_policy turns the UnknownValueError raised at the end into "can't run ... during
    preview"), after every other resource was judged. Without `types`, decorate
    `check(stack: Stack, report, cfg)`: it sees the whole graph once (absence of a resource)."""
    wanted = tuple(types) if types is not None else None

    def wrap(check: Callable[..., None]) -> StackValidationPolicy:
        def validate(args: StackValidationArgs, report: ReportViolation) -> None:
            stack, cfg = Stack(args.resources), settings(args, config)
            if wanted is None:
                try:
                    check(stack, report, cfg)
                except SHAPE_ERRORS as err:
                    report(_shape_message(err), None)
                return
            unknown = []
            for resource in stack.of_type(*wanted):
                def on_this(message: str, urn: str | None = None, _r: PolicyResource = resource) -> None:
                    report(message, urn or _r.urn)
                try:
                    check(stack, resource, on_this, cfg)
                except UnknownValueError as err:
                    unknown.append(err)
                    err.message = f"{resource.name}: {err.message}"
                except SHAPE_ERRORS as err:
                    on_this(_shape_message(err))
            if unknown:
                summary = unknown[0]
                summary.message = "; ".join(e.message for e in unknown)
                raise summary

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

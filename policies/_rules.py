"""How a rule is declared here: metadata once (severity, fix, Checkov and Security Hub ids), config
defaults in the schema the CLI validates, and small readers for the raw camelCase properties."""

from __future__ import annotations

import functools
import gc
import ipaddress
import json
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import pulumi_policy.policy as _sdk
from google.protobuf import json_format  # type: ignore[import-untyped]  # protobuf's wheel has no py.typed
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
from pulumi_policy.proxy import UnknownValueError, _DictProxy
from pulumi_policy.proxy import unknown_checking_proxy as _unknown_checking_proxy

# The pack process's garbage collector, tuned once when the pack loads its rules. pulumi_policy
# builds every resource of the stack afresh for each stack policy (policy.py AnalyzeStack: proxies,
# PolicyResource, options, provider; dozens of objects per resource), all alive until that policy
# returns. With CPython's default thresholds (700, 10, 10) the collector's passes over that growing
# heap made AnalyzeStack grow faster than the graph: the pack's CPU time per 1,000 resources rose
# x1.35 from 1,000 to 5,000 resources (scripts/bench-pack); with these it is flat (x1.05), as with
# the collector off. Reference cycles (an exception and its traceback) are still collected.
GC_THRESHOLDS = (20_000, 20, 20)
gc.set_threshold(*GC_THRESHOLDS)


class DecodeOncePerRequest:
    """Decode a resource's properties once per Analyze or AnalyzeStack request, not once per policy.

    pulumi_policy 1.21 decodes them inside its loop over the policies (policy.py: Analyze,
    `deserialize_properties(json_format.MessageToDict(request.properties))` and the provider's in
    `_get_provider_resource`, for each ResourceValidationPolicy; AnalyzeStack, every resource's for
    each StackValidationPolicy): with 79 resource rules that decoding was nine tenths of the pack's
    time (scripts/bench-pack). While a request is handled, this keeps the decoded value of each
    properties message the handler has decoded and hands the same one to the next policy.

    Invisible to the rules: what a rule sees is still built afresh for each policy
    (`unknown_checking_proxy` copies every map and list of the decoded value into new proxies), and
    the decoded value itself, which no rule reaches, is never changed by the SDK. That copy is now
    made when the rule first reads the properties (_LazyProxy): a rule of other types returns
    without reading them, and building proxies nobody read was half of what was left of the pack's
    time (1.1 of 2.1 s for production's Analyze and AnalyzeStack under cProfile). Outside the two
    handlers (Configure, Remediate) the SDK's functions run as they are. Installed only on the SDK
    version read for this (the lock's; tests/test_pack_robustness.py checks both, and that every
    response is the same with and without it): any other version runs unchanged, only slower.
    """

    SDK_VERSION = "1.21.0"

    def __init__(self) -> None:
        self._local = threading.local()  # the gRPC server runs each request on one of its threads

    @staticmethod
    def installed() -> bool:
        return isinstance(_sdk.json_format, _JsonFormat)

    def install(self) -> None:
        """Once per process (a second load of this module finds it installed)."""
        if _sdk.VERSION != self.SDK_VERSION or self.installed():
            return
        servicer = _sdk._PolicyAnalyzerServicer
        servicer.Analyze = self._scoped(servicer.Analyze)  # type: ignore[method-assign]
        servicer.AnalyzeStack = self._scoped(servicer.AnalyzeStack)  # type: ignore[method-assign]
        _sdk.json_format = _JsonFormat(self)
        _sdk.deserialize_properties = self.deserialize_properties
        _sdk.unknown_checking_proxy = self.unknown_checking_proxy  # type: ignore[assignment]  # annotated dict, returns a _DictProxy

    def _scoped(self, handler: Callable) -> Callable:
        @functools.wraps(handler)
        def handle(servicer: Any, request: Any, context: Any) -> Any:
            self._local.scope = _Scope()
            try:
                return handler(servicer, request, context)
            finally:
                self._local.scope = None
        return handle

    def message_to_dict(self, message: Any, *args: Any, **kwargs: Any) -> dict:
        scope: _Scope | None = getattr(self._local, "scope", None)
        if scope is None or args or kwargs:
            return json_format.MessageToDict(message, *args, **kwargs)
        # By identity: protobuf hands out one wrapper per submessage, the request does not change
        # while it is handled, and the entry keeps the message alive so that its id is not reused.
        entry = scope.by_message.get(id(message))
        if entry is None:
            entry = _Decoded(message, json_format.MessageToDict(message))
            scope.by_message[id(message)] = scope.by_dict[id(entry.as_dict)] = entry
        return entry.as_dict

    def deserialize_properties(self, props: dict, proxy_secrets: bool = False) -> dict:
        scope: _Scope | None = getattr(self._local, "scope", None)
        entry = scope.by_dict.get(id(props)) if scope is not None and not proxy_secrets else None
        if entry is None:  # not a dict message_to_dict made in this request
            return _deserialize(props, proxy_secrets)
        if entry.deserialized is None:
            entry.deserialized = _deserialize(props)
        return entry.deserialized

    def unknown_checking_proxy(self, props: dict) -> Mapping[str, Any]:
        if getattr(self._local, "scope", None) is None:
            return _unknown_checking_proxy(props)
        return _LazyProxy(props)


class _LazyProxy(_DictProxy):
    """`unknown_checking_proxy(props)` (a _DictProxy), built on the first read: every read, write,
    length, iteration (and so every Mapping method: get, items, `in`, ==) goes to that proxy, so
    a rule sees what it saw before, unknowns raising UnknownValueError at the same key."""

    def __init__(self, props: dict) -> None:  # not _DictProxy's: nothing is built yet
        self._props: dict | None = props
        self._proxy: Mapping[str, Any] | None = None

    def _built(self) -> Any:
        if self._proxy is None:
            assert self._props is not None
            self._proxy, self._props = _unknown_checking_proxy(self._props), None
        return self._proxy

    def __getitem__(self, key: Any) -> Any:
        return self._built()[key]

    def __setitem__(self, key: Any, value: Any) -> None:
        self._built()[key] = value

    def __len__(self) -> int:
        return len(self._built())

    def __iter__(self) -> Any:
        return iter(self._built())

    def __repr__(self) -> str:
        return repr(self._built())


class _Decoded:
    def __init__(self, message: Any, as_dict: dict):
        self.message, self.as_dict = message, as_dict
        self.deserialized: dict | None = None


class _Scope:
    """What one request's handler has decoded, by the id of the message and of its dict."""

    def __init__(self) -> None:
        self.by_message: dict[int, _Decoded] = {}
        self.by_dict: dict[int, _Decoded] = {}


_deserialize = _sdk.deserialize_properties


class _JsonFormat:
    """google.protobuf.json_format as pulumi_policy.policy sees it: MessageToDict through the cache."""

    def __init__(self, cache: DecodeOncePerRequest):
        self._cache = cache

    def MessageToDict(self, message: Any, *args: Any, **kwargs: Any) -> dict:  # noqa: N802 - the module's name
        return self._cache.message_to_dict(message, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(json_format, name)


DECODE_CACHE = DecodeOncePerRequest()
DECODE_CACHE.install()

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
SHAPE_ERRORS = (TypeError, ValueError, AttributeError, KeyError, IndexError, OverflowError)  # int(float('1e999'))


def _shape_message(err: Exception) -> str:
    if isinstance(err, ShapeError):  # a reader's message already names the property
        return f"a value of the wrong shape: {err}; set it as the provider's schema types it."
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
    """The resources of one AnalyzeStack call, with the graph questions rules ask.

    Indexed so that a rule judges a graph in linear time: resources by type once, and
    `referencing` by (type, property) the first time a rule asks, then a dictionary look-up per
    target. pulumi_policy builds the resources afresh for every stack policy (policy.py
    AnalyzeStack deserializes each resource once per StackValidationPolicy), so a Stack, and its
    index, lives for one policy's validate: the SDK's cost is (stack policies x resources)."""

    def __init__(self, resources: list[PolicyResource]):
        self.resources = resources
        self._by_type: dict[str, list[PolicyResource]] = {}
        self._position: dict[int, int] = {}
        for i, r in enumerate(resources):
            self._by_type.setdefault(r.resource_type, []).append(r)
            self._position[id(r)] = i
        self._indexes: dict[tuple, Any] = {}

    def of_type(self, *types: str) -> list[PolicyResource]:
        """Resources of the given types, in the graph's order (without a scan of the graph: rules
        ask this once per resource they judge)."""
        if len(types) == 1:
            return list(self._by_type.get(types[0], ()))
        return self.in_order(r for t in dict.fromkeys(types) for r in self._by_type.get(t, ()))

    def in_order(self, resources: Iterable[PolicyResource]) -> list[PolicyResource]:
        """These resources of the graph, each once, in the graph's order."""
        unique = {id(r): r for r in resources}
        return sorted(unique.values(), key=lambda r: self._position[id(r)])

    def index(self, key: tuple, build: Callable[[], Any]) -> Any:
        """`build()` once per key for this graph: the index a rule looks every resource up in,
        instead of scanning the graph again for each (which made a rule quadratic in the graph)."""
        if key not in self._indexes:
            self._indexes[key] = build()
        return self._indexes[key]

    def referencing(self, target: PolicyResource, typ: str, prop: str) -> list[PolicyResource]:
        """Resources of `typ` whose `prop` was computed from `target` (e.g. versioning of a bucket)."""
        def build() -> dict[str, list[PolicyResource]]:
            index: dict[str, list[PolicyResource]] = {}
            for r in self._by_type.get(typ, ()):
                # A resource that names the target twice in one property is one companion, once.
                for urn in dict.fromkeys(d.urn for d in r.property_dependencies.get(prop, [])):
                    index.setdefault(urn, []).append(r)
            return index
        return list(self.index(("referencing", typ, prop), build).get(target.urn, ()))

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


class ShapeError(ValueError):
    """A reader found a value of the wrong shape; the message names the property."""


def shown(value: Any) -> str:
    """A value as a message shows it: a string as it is, anything else by its kind (a proxy's repr
    names an address that changes on every call)."""
    return value if isinstance(value, str) else kind_of(value)


def kind_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return f"the number {num(value)}"
    if isinstance(value, str):
        return f"the string {value[:40]!r}"
    if isinstance(value, Mapping):
        return "a map"
    if isinstance(value, Sequence):
        return "a list"
    return type(value).__name__


def _tag_value(value: Any, where: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(num(value))
    raise ShapeError(f"{where}: expected a string tag value, got {kind_of(value)}")


def tags_of(props: Mapping, key: str = "tags") -> dict[str, str]:
    """The tags in `props[key]`, as {name: value}. A map is the provider's shape; a list of
    {key, value} maps (autoscaling Group's `tags`, CloudFormation's Key/Value) reads the same.
    A number or boolean value reads as the string the provider would store; a null value is no
    tag (`tags.get(name)` is None). Any other shape raises a ShapeError naming the property. An
    unknown value raises UnknownValueError (the rule cannot judge this resource in preview)."""
    raw = props.get(key)
    if raw is None or raw == "":
        return {}
    if isinstance(raw, Mapping):
        pairs = [(str(k), raw[k], f"{key}.{k}") for k in raw]
    elif isinstance(raw, Sequence) and not isinstance(raw, (str, bytes)):
        pairs = [_tag_pair(item, f"{key}[{i}]") for i, item in enumerate(raw)]
    else:
        raise ShapeError(f"{key}: expected a map of tag names to values, got {kind_of(raw)}")
    out: dict[str, str] = {}
    for name, value, where in pairs:
        text = _tag_value(value, where)
        if text is not None:
            out[name] = text
    return out


def _tag_pair(item: Any, where: str) -> tuple[str, Any, str]:
    if isinstance(item, Mapping):
        name = next((item[k] for k in ("key", "Key") if k in item), None)
        if isinstance(name, str):
            return name, next((item[k] for k in ("value", "Value") if k in item), None), f"{where}.value"
    raise ShapeError(f"{where}: expected a {{key, value}} map, got {kind_of(item)}")


def policy_document(raw: Any, name: str = "policy") -> dict:
    """An IAM-style policy document (IAM, KMS, SNS, S3): a JSON string in the inputs, sometimes
    already an object. Absent (null, "") reads as no statements. Text that is not JSON, or JSON
    that is not an object, raises a ShapeError naming `name`: AWS refuses such a document
    (MalformedPolicyDocument), so the rule that reads it reports it rather than judging it empty."""
    if raw is None or raw == "":
        return {}
    if isinstance(raw, (str, bytes)):
        try:
            doc = json.loads(raw)
        except ValueError as err:
            raise ShapeError(f"{name}: not a JSON policy document ({err})") from None
    else:
        doc = raw
    if isinstance(doc, Mapping):
        return dict(doc)
    raise ShapeError(f"{name}: expected a policy document (a JSON object), got {kind_of(doc)}")


def statements(doc: Mapping, name: str = "policy") -> list[Mapping]:
    """The document's Statement as a list: one statement object reads as a list of one."""
    if not isinstance(doc, Mapping):
        raise ShapeError(f"{name}: expected a policy document (a JSON object), got {kind_of(doc)}")
    return maps(doc.get("Statement"), f"{name}.Statement")


def as_list(value: Any) -> list:
    """A list property as a list, whatever arrived: null is empty, a scalar or a single map (one
    block where the schema has a list of them) is a list of one. Never raises. Properties arrive
    as read-only proxies: lists are Sequences, maps are Mappings."""
    if value is None:
        return []
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return list(value)
    return [value]


def maps(value: Any, name: str) -> list[Mapping]:
    """A list of blocks (maps) as `as_list` reads it; an element that is not a map (a null in the
    list, a string) raises a ShapeError naming `name[i]`."""
    items = as_list(value)
    for i, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise ShapeError(f"{name}[{i}]: expected a map, got {kind_of(item)}")
    return items


def num(value: Any) -> Any:
    """Numbers cross gRPC as doubles: 5432.0 reads better as 5432. Anything else is returned as it
    is (pack config goes through here too, where a string must stay a string); never raises."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def number(value: Any, name: str) -> int | float | None:
    """A number property: null stays None, a numeric string reads as its number, a boolean or any
    other shape raises a ShapeError naming `name`."""
    if value is None or (isinstance(value, (int, float)) and not isinstance(value, bool)):
        return num(value)
    if isinstance(value, str):
        try:
            return num(float(value.strip()))
        except ValueError:
            pass
    raise ShapeError(f"{name}: expected a number, got {kind_of(value)}")


def cidr_open(value: Any, name: str = "cidr") -> bool:
    """True when `value` is the whole IPv4 or IPv6 address space however it is written
    ("0.0.0.0/0", "::/0", "0::0/0", " 0.0.0.0/00 "), or a list holding one. Null is not open; text
    that is no CIDR block, or another shape, raises a ShapeError naming `name`."""
    if value is None or value == "":
        return False
    if isinstance(value, str):
        try:
            return ipaddress.ip_network(value.strip(), strict=False).prefixlen == 0
        except ValueError:
            raise ShapeError(f"{name}: not a CIDR block: {value[:60]!r}") from None
    if isinstance(value, Sequence) and not isinstance(value, bytes):
        return any(cidr_open(v, f"{name}[{i}]") for i, v in enumerate(value))
    raise ShapeError(f"{name}: expected a CIDR block, got {kind_of(value)}")

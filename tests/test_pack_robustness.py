"""Robustness of the policy pack and of the harness that drives it (offline/analyzer.py).

- Wrong shapes: every input of every custom resource type in the production graph, and the values
  one level inside it, replaced by values of the wrong shape (null, a string, a number, a list, a
  map, a null inside a list, a map with a null), judged by the real pack over the analyzer
  protocol. No Analyze or AnalyzeStack call may fail (a failed call raises grpc.RpcError in
  offline/analyzer.py); every diagnostic names a real policy; a wrong shape is reported as a
  violation of the rule that read it.
- The readers in policies/_rules.py accept every shape where there is a sane reading, or raise a
  ShapeError that names the property.
- The harness keeps at most PACK_WORKERS Analyze calls in flight (the pack's thread pool); the
  session's pack answers a request it has seen as the pack does.
- Stack.referencing, indexed, answers as the scan it replaced; a graph of 2,000+ resources is
  judged without error (scripts/bench-pack times 1,000 to 10,000).
"""

from __future__ import annotations

import ast
import copy
import dataclasses
import gc
import importlib
import re
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from conftest import PACK_ROOT, ROOT, load_pack_file, pack_root, stack_graph
from pulumi.runtime.proto import analyzer_pb2 as pb

from offline.analyzer import CONFIG_DIR, PACK_WORKERS, Analysis, Diagnostic, PolicyPackProcess
from offline.bench_pack import replicate
from offline.evaluate import SECRET_SIG, SECRET_SIG_KEY, Graph, Resource, is_secret

# tests/test_policies.py reads CASES from every tests/test_pack_*.py: this file adds no rule.
CASES: list = []

WRONG: tuple[Any, ...] = (None, "x", 5, [], {}, [None], {"a": None})
WRONG_IDS = ["null", "string", "number", "list", "map", "null-in-list", "map-with-null"]
SHAPE = "wrong shape"  # policies/_rules.py _shape_message


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return type(value).__name__


def _is_wrong(wrong: Any, original: Any) -> bool:
    """A string in place of a string is a wrong value, not a wrong shape: skipped. A null, a null
    inside a list and a map with a null are wrong shapes whatever the original was."""
    if is_secret(original):
        original = original.get("value")
    return wrong is None or wrong in ([None], {"a": None}) or _kind(wrong) != _kind(original)


Path_ = tuple[str | int, ...]


def _paths(inputs: dict, nested: bool) -> Iterator[tuple[Path_, Any]]:
    """Each top-level input; with `nested`, each value one level inside it: a map's entries, a
    list's first element, and the entries of that element when it is a map (a list of blocks:
    ingress[0].cidrBlocks, origins[0].domainName). Signed values (secrets, and the assets and archives
    of a function's code) are replaced whole, never opened: the engine's own encoding, not a user's value."""
    for key, value in inputs.items():
        if not nested:
            yield (key,), value
        elif isinstance(value, dict) and SECRET_SIG_KEY in value:
            continue
        elif isinstance(value, dict):
            yield from (((key, sub), v) for sub, v in value.items())
        elif isinstance(value, list) and value:
            yield (key, 0), value[0]
            if isinstance(value[0], dict):
                yield from (((key, 0, sub), v) for sub, v in value[0].items())


def _replaced(inputs: dict, path: Path_, wrong: Any) -> dict:
    out = copy.deepcopy(inputs)
    holder: Any = out
    for step in path[:-1]:
        holder = holder[step]
    old = holder[path[-1]]
    holder[path[-1]] = {SECRET_SIG_KEY: SECRET_SIG, "value": wrong} if is_secret(old) else copy.deepcopy(wrong)
    return out


def _renamed(r: Resource, n: int, **changes: Any) -> Resource:
    name = f"{r.name}-fuzz{n}"
    return dataclasses.replace(r, urn=f"{r.urn.rsplit('::', 1)[0]}::{name}", name=name, **changes)


def _representatives(graph: Graph) -> list[Resource]:
    """One resource of each custom type (the first registered), providers included."""
    seen: dict[str, Resource] = {}
    for r in graph.resources:
        if r.custom:
            seen.setdefault(r.type, r)
    return list(seen.values())


def mutants(graph: Graph, choose, nested: bool = False) -> list[Resource]:
    """Copies of each representative with one value replaced: `choose(i, original)` gives the
    wrong values for the i-th path. A provider's copy gets a copy of a resource that uses it, so
    that rules reading the provider's inputs (defaultTags) meet the wrong shape too."""
    out: list[Resource] = []
    users = {r.provider.rsplit("::", 1)[0]: r for r in reversed(graph.resources) if r.provider}
    for r in _representatives(graph):
        for i, (path, original) in enumerate(_paths(r.inputs, nested)):
            for wrong in choose(i, original):
                m = _renamed(r, len(out), inputs=_replaced(r.inputs, path, wrong))
                out.append(m)
                user = users.get(r.urn)
                if r.type.startswith("pulumi:providers:") and user is not None:
                    ident = user.provider.rsplit("::", 1)[1]
                    out.append(_renamed(user, len(out), provider=f"{m.urn}::{ident}"))
    return out


def _every_wrong_shape(_i: int, original: Any) -> list:
    return [w for w in WRONG if _is_wrong(w, original)]


def _rotating(i: int, original: Any) -> list:
    """One wrong value per path, rotating through WRONG: every value meets many paths, and the
    graph stays small enough for one quick AnalyzeStack."""
    candidates = _every_wrong_shape(i, original)
    return [candidates[i % len(candidates)]]


def _check(pack: PolicyPackProcess, graph: Graph, diagnostics: list[Diagnostic]) -> None:
    names = set(pack.policies())
    urns = {r.urn for r in graph.resources}
    assert {d.policy for d in diagnostics} <= names, sorted({d.policy for d in diagnostics} - names)
    assert all(d.urn in urns or d.urn == "" for d in diagnostics), \
        sorted({d.urn for d in diagnostics} - urns - {""})
    # A message names a wrong value by its kind, never by a proxy's repr (`<... object at 0x...>`,
    # new on every call: cost-allowed-classes printed it for a map).
    reprs = sorted({d.policy for d in diagnostics if re.search(r" object at 0x[0-9a-f]+", d.message)})
    assert not reprs, f"messages with an object's repr: {reprs}"


@pytest.mark.parametrize("value", WRONG, ids=WRONG_IDS)
def test_a_wrong_shaped_input_is_a_violation_not_a_crash(pack, value):
    """Analyze of each custom type with each top-level input replaced by `value`."""
    production = stack_graph("production")
    batch = mutants(production, lambda i, orig: [value] if _is_wrong(value, orig) else [])
    graph = Graph(stack="production", preview=False, resources=production.resources + batch)
    verdict = pack.analyze(graph, only={m.urn for m in batch}, stack=False)  # any failed call raises
    _check(pack, graph, verdict.diagnostics)
    assert verdict.diagnostics, f"no rule noticed {value!r} anywhere"
    if value in ("x", 5, [None]):  # `tags` of that shape has no reading: required-tags reports it
        tagged = {m.urn for m in batch if m.inputs.get("tags") == value}
        shape = {d.urn for d in verdict.diagnostics if d.policy == "required-tags" and SHAPE in d.message}
        assert tagged and shape and shape <= tagged


def test_a_wrong_shape_one_level_down_is_a_violation_not_a_crash(pack):
    """Analyze with each value one level inside an input replaced (one wrong value per path)."""
    production = stack_graph("production")
    batch = mutants(production, _rotating, nested=True)
    graph = Graph(stack="production", preview=False, resources=production.resources + batch)
    verdict = pack.analyze(graph, only={m.urn for m in batch}, stack=False)
    _check(pack, graph, verdict.diagnostics)
    assert any(SHAPE in d.message for d in verdict.diagnostics)


def test_stack_rules_judge_a_graph_of_wrong_shapes_without_crashing(pack):
    """One AnalyzeStack: the production graph plus a copy of each custom type per top-level input,
    that input replaced by a wrong shape (rotating). Copies reference the real resources, so the
    stack rules meet them as companions (a second bucket policy, a broken alarm) too."""
    production = stack_graph("production")
    batch = mutants(production, _rotating)
    graph = Graph(stack="production", preview=False, resources=production.resources + batch)
    verdict = pack.analyze(graph, only=set())  # AnalyzeStack alone; a failed call raises
    _check(pack, graph, verdict.diagnostics)
    stack_rules = {n for n, p in pack.policies().items() if p.kind == "stack"}
    assert {d.policy for d in verdict.diagnostics} <= stack_rules
    assert verdict.diagnostics, "the broken copies went unnoticed by every stack rule"


CRASH_PACK = """
import sys
sys.path.insert(0, {policies!r})
from _rules import REGISTRY, resource_rule, stack_rule
from pulumi_policy import EnforcementLevel, PolicyPack, ResourceValidationPolicy

@resource_rule("reads-a-port", "d", types=["test:index:Shaped"], severity="low", fix="f")
def _port(props, report, cfg, args):
    if props["port"] > 1024:  # a string here: TypeError
        report("high port")

@stack_rule("each-has-a-name", "d", types=["test:index:Shaped"], severity="low", fix="f")
def _named(stack, resource, report, cfg):
    if not resource.props["name"].startswith("app-"):  # a missing name: KeyError
        report("badly named")

def _crash(args, report):
    if args.resource_type == "test:index:Crash":
        1 / 0  # outside the shape errors: the whole call fails, as the SDK does

PolicyPack("crash", [*REGISTRY, ResourceValidationPolicy(name="crashes", description="d", validate=_crash)],
           EnforcementLevel.MANDATORY)
"""


def _thing(typ: str, resource_name: str, **inputs: Any) -> Resource:
    return dataclasses.replace(_resources(1)[0], type=typ, name=resource_name, inputs=inputs,
                               urn=f"urn:pulumi:production::platform::{typ}::{resource_name}")


def test_a_shape_error_is_its_rules_violation_and_any_other_error_fails_the_call(tmp_path):
    """Why the fuzz above can fail: a rule that raises outside SHAPE_ERRORS fails Analyze, and the
    harness raises grpc.RpcError naming the resource; a shape error in a resource_rule or in one
    resource of a typed stack_rule is that rule's violation on that resource, the others judged."""
    import grpc  # type: ignore[import-untyped]

    (tmp_path / "__main__.py").write_text(CRASH_PACK.format(policies=str(ROOT / "policies")))
    shaped = [_thing("test:index:Shaped", "a", port="80", name="app-a"), _thing("test:index:Shaped", "b", port=80),
              _thing("test:index:Shaped", "c", port=8080, name="c")]
    crash = _thing("test:index:Crash", "boom")
    with PolicyPackProcess(pack_dir=tmp_path) as pack:
        verdict = pack.analyze(Graph(stack="production", preview=False, resources=shaped))
        with pytest.raises(grpc.RpcError) as info:
            pack.analyze(Graph(stack="production", preview=False, resources=[*shaped, crash]), stack=False)
    assert f"in Analyze of {crash.urn}" in info.value.__notes__
    found = sorted((d.policy, d.resource, SHAPE in d.message) for d in verdict.diagnostics)
    assert found == [("each-has-a-name", "b", True), ("each-has-a-name", "c", False),
                     ("reads-a-port", "a", True), ("reads-a-port", "c", False)]


# ---- readers -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def rules() -> ModuleType:
    """policies/_rules.py, loaded in this process; pack_root puts back the collector thresholds
    that importing it sets for the pack's process."""
    with pack_root():
        module = load_pack_file("_rules")
        assert gc.get_threshold() == module.GC_THRESHOLDS
    return module


def _proxied(value: Any) -> Any:
    """As a rule reads it: pulumi_policy wraps inputs in read-only Mapping/Sequence proxies."""
    from pulumi_policy.proxy import unknown_checking_proxy

    return unknown_checking_proxy({"v": value})["v"]


READINGS = [  # (reader, value, sane reading)
    ("tags_of", {"Owner": "a", "Count": 5.0, "On": True, "Gone": None}, {"Owner": "a", "Count": "5", "On": "true"}),
    ("tags_of", [{"key": "Owner", "value": "a", "propagateAtLaunch": True}], {"Owner": "a"}),
    ("tags_of", [{"Key": "Owner", "Value": "a"}], {"Owner": "a"}),
    ("tags_of", None, {}),
    ("tags_of", "", {}),
    ("as_list", None, []),
    ("as_list", "a", ["a"]),
    ("as_list", 5, [5]),
    ("as_list", {"a": 1}, [{"a": 1}]),
    ("as_list", [None, 1], [None, 1]),
    ("policy_document", None, {}),
    ("policy_document", "", {}),
    ("policy_document", '{"Statement": []}', {"Statement": []}),
    ("policy_document", {"Statement": []}, {"Statement": []}),
    ("statements", {"Statement": {"Effect": "Deny"}}, [{"Effect": "Deny"}]),
    ("statements", {"Statement": [{"Effect": "Deny"}]}, [{"Effect": "Deny"}]),
    ("statements", {}, []),
    ("cidr_open", "0.0.0.0/0", True),
    ("cidr_open", "::/0", True),
    ("cidr_open", "0::0/0", True),
    ("cidr_open", " 0.0.0.0/00 ", True),
    ("cidr_open", "10.0.0.0/8", False),
    ("cidr_open", "0.0.0.0/1", False),
    ("cidr_open", None, False),
    ("cidr_open", ["10.0.0.0/8", "::/0"], True),
    ("num", 5432.0, 5432),
    ("num", 0.5, 0.5),
    ("num", "5", "5"),
    ("num", None, None),
    ("num", [1.0], [1.0]),
    ("number", "5", 5),
    ("number", 2.0, 2),
    ("number", None, None),
]


def _call(rules: ModuleType, reader: str, value: Any) -> Any:
    if reader == "tags_of":
        return rules.tags_of({"tags": value})
    if reader == "statements":
        return rules.statements(value)
    if reader == "number":
        return rules.number(value, "port")
    return getattr(rules, reader)(value)


@pytest.mark.parametrize(("reader", "value", "expected"), READINGS,
                         ids=[f"{r}-{i}" for i, (r, *_) in enumerate(READINGS)])
def test_readers_take_every_shape_they_can_read(rules, reader, value, expected):
    assert _call(rules, reader, value) == expected
    assert _plain(_call(rules, reader, _proxied(value))) == expected  # and through the SDK's proxies


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain(value[k]) for k in value}
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [_plain(v) for v in value]
    return value


SHAPE_ERRORS = [  # (reader, value, what the message names)
    ("tags_of", "Owner=a", "tags"),
    ("tags_of", 5, "tags"),
    ("tags_of", [None], "tags[0]"),
    ("tags_of", ["Owner"], "tags[0]"),
    ("tags_of", {"Owner": ["a"]}, "tags.Owner"),
    ("tags_of", {"Owner": {"a": None}}, "tags.Owner"),
    ("policy_document", "{not json", "policy"),
    ("policy_document", "[1]", "policy"),
    ("policy_document", 5, "policy"),
    ("policy_document", [None], "policy"),
    ("statements", {"Statement": [None]}, "policy.Statement[0]"),
    ("statements", {"Statement": "x"}, "policy.Statement[0]"),
    ("statements", "x", "policy"),
    ("cidr_open", "x", "cidr"),
    ("cidr_open", 5, "cidr"),
    ("cidr_open", {"a": None}, "cidr"),
    ("cidr_open", ["10.0.0.0/8", 5], "cidr[1]"),
    ("number", "x", "port"),
    ("number", True, "port"),
    ("number", [5], "port"),
]


@pytest.mark.parametrize(("reader", "value", "names"), SHAPE_ERRORS,
                         ids=[f"{r}-{i}" for i, (r, *_) in enumerate(SHAPE_ERRORS)])
def test_readers_name_the_property_of_a_shape_they_cannot_read(rules, reader, value, names):
    for given in (value, _proxied(value)):
        with pytest.raises(rules.ShapeError) as info:
            _call(rules, reader, given)
        assert str(info.value).startswith(f"{names}:"), str(info.value)
        assert isinstance(info.value, rules.SHAPE_ERRORS)  # what resource_rule/stack_rule report


def test_a_reader_lets_an_unknown_value_through(rules):
    """Unknown in preview: the rule cannot judge; UnknownValueError must reach pulumi_policy."""
    from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError, unknown_checking_proxy

    props = unknown_checking_proxy({"tags": {"Owner": UNKNOWN_STRING_VALUE}, "policy": UNKNOWN_STRING_VALUE})
    with pytest.raises(UnknownValueError):
        rules.tags_of(props)
    with pytest.raises(UnknownValueError):
        rules.policy_document(props["policy"])


# ---- the bound on concurrent Analyze calls -----------------------------------------------------
def test_the_bound_is_the_pack_servers_thread_pool():
    """PACK_WORKERS must follow the installed pulumi_policy: its server's handler pool size."""
    import pulumi_policy.policy

    source = Path(pulumi_policy.policy.__file__).read_text()
    assert re.findall(r"ThreadPoolExecutor\(max_workers=(\d+)\)", source) == [str(PACK_WORKERS)]


class _FakeStub:
    """Analyze.future as grpc's: returns at once, completes later on another thread."""

    def __init__(self, fail: frozenset[str] = frozenset()):
        self.pool = ThreadPoolExecutor(max_workers=32)
        self.lock = threading.Lock()
        self.in_flight = self.peak = self.sent = 0
        self.fail = fail
        self.Analyze = self

    def future(self, request: pb.AnalyzeRequest) -> Future:
        with self.lock:
            self.in_flight += 1
            self.sent += 1
            self.peak = max(self.peak, self.in_flight)
        return self.pool.submit(self._answer, request)

    def _answer(self, request: pb.AnalyzeRequest) -> pb.AnalyzeResponse:
        time.sleep(0.002)
        with self.lock:
            self.in_flight -= 1
        if request.urn in self.fail:
            raise RuntimeError("Exception calling application: boom")
        return pb.AnalyzeResponse(diagnostics=[pb.AnalyzeDiagnostic(policyName="p", message=request.urn)])


class _FakePack:
    def __init__(self, stub: _FakeStub):
        self.stub = stub

    def policies(self) -> dict:
        return {}

    def configure(self, config) -> None:
        pass

    def configure_stack(self, *args) -> None:
        pass

    def info(self) -> pb.AnalyzerInfo:
        return pb.AnalyzerInfo(name="fake", version="1")

    analyze_resource = PolicyPackProcess.analyze_resource
    analyze_stack = PolicyPackProcess.analyze_stack


def _resources(n: int) -> list[Resource]:
    return [Resource(urn=f"urn:pulumi:production::platform::aws:s3/bucket:Bucket::b{i}", type="aws:s3/bucket:Bucket",
                     name=f"b{i}", parent="", custom=True, inputs={"bucket": f"b{i}"}, outputs={}, dependencies=[],
                     property_dependencies={}, provider="", protect=False, ignore_changes=[],
                     delete_before_replace=False) for i in range(n)]


@pytest.mark.parametrize("bound", [1, PACK_WORKERS])
def test_the_harness_keeps_at_most_the_bound_of_analyze_calls_in_flight(bound):
    """Resources arrive from 8 threads at once (the SDK's executor, as ./plan streams them);
    however many arrive, no more than `bound` calls are in flight, and every answer is kept."""
    stub = _FakeStub()
    graph = Graph(stack="production", preview=False, resources=_resources(400))
    analysis = Analysis(_FakePack(stub), "production", False, None, {}, max_in_flight=bound)  # type: ignore[arg-type]
    with ThreadPoolExecutor(max_workers=8) as senders:
        list(senders.map(analysis.resource, graph.resources))
    verdict = analysis.finish(graph, stack=False)
    stub.pool.shutdown()
    assert stub.sent == 400
    assert stub.peak == bound, f"{stub.peak} calls in flight at once, bound {bound}"
    assert [d.message for d in verdict.diagnostics] == [r.urn for r in graph.resources]


def test_a_failed_call_frees_its_slot_and_names_its_resource():
    resources = _resources(20)
    stub = _FakeStub(fail=frozenset({resources[3].urn}))
    graph = Graph(stack="production", preview=False, resources=resources)
    analysis = Analysis(_FakePack(stub), "production", False, None, {}, max_in_flight=2)  # type: ignore[arg-type]
    for r in resources:  # a slot a failure kept would block this loop for good
        analysis.resource(r)
    with pytest.raises(RuntimeError) as info:
        analysis.finish(graph, stack=False)
    stub.pool.shutdown()
    assert stub.sent == 20
    assert f"in Analyze of {resources[3].urn}" in info.value.__notes__


def test_without_the_bound_the_fake_pack_would_see_every_call_at_once():
    """The counter above can fail: sent unbounded, the fake sees far more than PACK_WORKERS."""
    stub = _FakeStub()
    futures = [stub.future(pb.AnalyzeRequest(urn=f"u{i}")) for i in range(100)]
    for f in futures:
        f.result()
    stub.pool.shutdown()
    assert stub.peak > 4 * PACK_WORKERS


def test_the_session_pack_answers_a_request_it_has_seen_as_the_pack_does(pack):
    """conftest.SessionPack keeps the pack's answer to each request per configuration. A copy of
    production with its database made public reaches the pack as that one Analyze and the
    AnalyzeStack only, under either pack config; each verdict from kept answers equals the verdict
    of the pack asked everything again, and a finding on the changed resource is not lost."""
    public = copy.deepcopy(stack_graph("production"))
    db = next(r for r in public.resources if r.type == "aws:rds/instance:Instance" and "replicateSourceDb" not in r.inputs)
    db.inputs["publiclyAccessible"] = True
    for config in (None, CONFIG_DIR / "staging.json"):
        original = stack_graph("production")
        pack.analyze(original, config)
        sent = pack.sent
        kept = pack.analyze(public, config)
        assert pack.sent - sent == 2  # the database's Analyze and the AnalyzeStack
        assert any(d.urn == db.urn for d in kept.diagnostics), kept.diagnostics
        for graph, verdict in ((original, pack.analyze(original, config)), (public, kept)):
            pack._answers.clear()
            assert pack.analyze(graph, config) == verdict, graph.resources[0].urn


# ---- linear time ---------------------------------------------------------------------------------
def _policy_resources(graph: Graph) -> list:
    """The graph as pulumi_policy hands it to a stack policy (PolicyResource, links resolved)."""
    from pulumi_policy import PolicyResource

    by_urn = {r.urn: PolicyResource(r.type, r.inputs, r.urn, r.name, None, None, None, [], {})  # type: ignore[arg-type]
              for r in graph.resources}
    for r in graph.resources:
        by_urn[r.urn].property_dependencies = {k: [by_urn[u] for u in v if u in by_urn]
                                               for k, v in r.property_dependencies.items()}
    return list(by_urn.values())


def test_the_indexed_stack_answers_as_the_scan_it_replaced(rules):
    resources = _policy_resources(stack_graph("production"))
    stack = rules.Stack(resources)
    questions = {(r.resource_type, prop) for r in resources for prop in r.property_dependencies}
    assert len(questions) > 40
    answers = 0
    for typ, prop in sorted(questions):
        for target in resources:
            scan = [r for r in resources if r.resource_type == typ
                    and any(d.urn == target.urn for d in r.property_dependencies.get(prop, []))]
            assert stack.referencing(target, typ, prop) == scan, (typ, prop, target.urn)
            answers += bool(scan)
    assert answers > 100
    for typ in {r.resource_type for r in resources}:
        assert stack.of_type(typ) == [r for r in resources if r.resource_type == typ]
    pair = sorted({r.resource_type for r in resources})[:2]
    assert stack.of_type(*pair) == [r for r in resources if r.resource_type in pair]


def test_a_replicated_graph_keeps_each_copy_to_itself():
    production = stack_graph("production")
    big = replicate(production, 2000)
    body = len(production.resources) - 1  # the root Stack is shared
    assert len(big.resources) == 1 + body * -(-(2000 - 1) // body) >= 2000
    urns = {r.urn for r in big.resources}
    assert len(urns) == len(big.resources)
    for r in big.resources:
        refs = [r.parent, *r.dependencies, *(u for v in r.property_dependencies.values() for u in v)]
        assert {u for u in refs if u} <= urns, r.urn
        if r.provider:
            assert r.provider.rsplit("::", 1)[0] in urns


@pytest.mark.slow
def test_a_graph_of_two_thousand_resources_is_judged_without_error(pack):
    """Every resource analyzed (bounded), then one AnalyzeStack: no failed call, no finding (whole
    copies of a compliant stack are compliant). 10,000 is scripts/bench-pack's job (docs/policy-pack.md):
    at about 2 s per 1,000 resources here it would take 20 s of the suite."""
    big = replicate(stack_graph("production"), 2000)
    verdict = pack.analyze(big)
    assert verdict.diagnostics == []


# ---- decoding once per request (policies/_rules.py, DecodeOncePerRequest) -----------------------
@pytest.fixture(scope="module")
def servicer(rules, pack) -> Iterator[Any]:
    """The pack's analyzer service in this process, built as PolicyPack builds it, with every rule
    module that policies/__main__.py imports (policies/ as the root, as in the pack's process)."""
    from pulumi_policy.policy import EnforcementLevel, _PolicyAnalyzerServicer

    names = [n.names[0].name for n in ast.parse((ROOT / "policies" / "__main__.py").read_text()).body
             if isinstance(n, ast.Import)]
    # Loaded afresh (another test may have loaded some of them, registering into a `_rules` of its
    # own), then the pack's top-level names (cost, stack, ...) are put back as they were.
    saved = {n: m for n, m in sys.modules.items() if Path(getattr(m, "__file__", None) or "/").parent == PACK_ROOT}
    for name in saved:
        del sys.modules[name]
    before = set(sys.modules)
    try:
        with pack_root():
            modules = [importlib.import_module(n) for n in names]
        registry = sys.modules["_rules"].REGISTRY
        assert modules and sorted(p.name for p in registry) == sorted(pack.policies())
        yield _PolicyAnalyzerServicer("platform-guardrails", "0.0.1", registry, EnforcementLevel.MANDATORY,
                                      None, None, None, None, None, None, None)
    finally:
        for name in set(sys.modules) - before:
            del sys.modules[name]
        sys.modules.update(saved)


def rules_of(servicer: Any) -> list[Any]:
    from pulumi_policy import ResourceValidationPolicy

    policies = servicer._PolicyAnalyzerServicer__policies
    return [dataclasses.make_dataclass("P", ["kind"])("resource" if isinstance(p, ResourceValidationPolicy)
                                                      else "stack") for p in policies]


def _requests(graph: Graph) -> tuple[list[Any], Any]:
    from offline.analyzer import _options, _provider, _state, _struct
    from offline.json_documents import as_checked

    by_urn = {r.urn: r for r in graph.resources}
    each = [pb.AnalyzeRequest(type=r.type, properties=_struct(as_checked(r.type, r.inputs)), urn=r.urn, name=r.name,
                              options=_options(r), provider=_provider(r, by_urn)) for r in graph.resources]
    whole = pb.AnalyzeStackRequest(resources=[
        pb.AnalyzerResource(type=r.type, properties=_struct(_state(r, graph.preview)), urn=r.urn, name=r.name,
                            options=_options(r), provider=_provider(r, by_urn), parent=r.parent,
                            dependencies=r.dependencies,
                            propertyDependencies={k: pb.AnalyzerPropertyDependencies(urns=v)
                                                  for k, v in r.property_dependencies.items() if v})
        for r in graph.resources])
    return each, whole


def test_the_decode_cache_is_installed_on_the_sdk_the_pack_locks(rules):
    """Installed on the version it was written against, which the pack's lock pins."""
    version = rules.DecodeOncePerRequest.SDK_VERSION
    assert f"pulumi-policy=={version} " in (ROOT / "policies" / "requirements.lock").read_text()
    assert rules.DecodeOncePerRequest.installed()


@pytest.mark.slow
def test_every_response_is_the_same_with_and_without_the_decode_cache(servicer, rules, monkeypatch):
    """Every Analyze and the AnalyzeStack of production's preview (unknowns: "can't run during
    preview") with a wrong-shaped copy of each custom type per input (violations, shape errors),
    answered byte for byte as the SDK alone answers; and each request decodes its properties
    once, where the SDK alone decodes them again for every policy."""
    graph = Graph(stack="production", preview=True, resources=stack_graph("production", True).resources
                  + mutants(stack_graph("production"), _rotating))
    each, whole = _requests(graph)
    from google.protobuf import json_format

    decoded, proxied = [], []
    monkeypatch.setattr(json_format, "MessageToDict",
                        lambda message, *a, _d=json_format.MessageToDict: decoded.append(1) or _d(message, *a))
    from pulumi_policy import proxy

    def helper(value, path, _h=proxy._proxy_helper):  # unknown_checking_proxy's, recursive through the module
        if path == []:
            proxied.append(1)
        return _h(value, path)

    monkeypatch.setattr(proxy, "_proxy_helper", helper)
    handlers = type(servicer)
    resource_rules = sum(p.kind == "resource" for p in rules_of(servicer))
    findings, built = 0, 0
    for request in each:
        decoded.clear()
        proxied.clear()
        cached = handlers.Analyze(servicer, request, None)
        assert len(decoded) <= 2, request.urn  # its properties and its provider's
        built += len(proxied)  # only for the rules that read them (_LazyProxy)
        decoded.clear()
        proxied.clear()
        sdk = handlers.Analyze.__wrapped__(servicer, request, None)
        assert len(decoded) >= resource_rules, request.urn  # the SDK alone: once per policy at least
        assert len(proxied) >= resource_rules, request.urn
        assert _answer(cached) == _answer(sdk), request.urn
        findings += len(cached.diagnostics)
    assert findings  # the comparison covered violations, not only silence
    assert 0 < built < len(each) * resource_rules / 10  # most rules are for other types and read nothing
    cached = handlers.AnalyzeStack(servicer, whole, None)
    assert cached.diagnostics
    assert _answer(cached) == _answer(handlers.AnalyzeStack.__wrapped__(servicer, whole, None))


def _answer(response: Any) -> bytes:
    """The response's bytes, but for an object's address: a rule that prints a wrong-shaped value
    (policies/cost.py: `{value}` of a map) names its proxy `<... object at 0x...>`, new each call."""
    return re.sub(rb" object at 0x[0-9a-f]+", b" object", response.SerializeToString(deterministic=True))


def _literal_links() -> None:
    """Buckets linked by the names written in the program (not by dependency), inline and separate."""
    import pulumi_aws as aws

    aws.s3.Bucket("logs", bucket="central-logs")
    aws.s3.Bucket("src", bucket="src-data", logging={"target_bucket": "central-logs"})
    aws.s3.BucketV2("v2src", bucket="v2-data", loggings=[{"target_bucket": "central-logs"}])
    aws.s3.BucketVersioningV2("ver", bucket="src-data", versioning_configuration={"status": "Enabled"})
    aws.s3.BucketLoggingV2("log", bucket="src-data", target_bucket="central-logs", target_prefix="s3/")


def test_the_s3_rules_indexes_answer_as_the_scans_they_replaced(servicer):
    """s3.linked and the inline-logging look-up (one index per graph) against the per-bucket scans
    they replaced, on production, its wrong-shaped mutants (a scan that raised must still raise) and
    buckets linked by literal names."""
    s3 = sys.modules["s3"]
    from conftest import inline_graph

    graph = Graph(stack="production", preview=False, resources=[
        *stack_graph("production").resources, *mutants(stack_graph("production"), _rotating),
        *[r for r in inline_graph(_literal_links).resources if r.type != "pulumi:pulumi:Stack"]])
    resources = _policy_resources(graph)
    stack = s3.Stack(resources)
    buckets = stack.of_type(*s3.BUCKETS)
    questions = [([t], prop) for t in sorted({r.resource_type for r in resources}) for prop in ("bucket", "targetBucket")]
    questions += [(list(s3.LOGGINGS), "targetBucket"), ([s3.LOAD_BALANCER, s3.ALB_LOAD_BALANCER], "accessLogs", "bucket")]

    def outcome(call):
        try:
            return call()
        except Exception as err:  # noqa: BLE001 - the scan's error is part of its answer
            return type(err)

    found = 0
    for bucket in buckets:
        for types, prop, *sub in questions:
            scan = [r for r in stack.of_type(*types) if r.urn != bucket.urn and s3.points_at(r, bucket, prop, *sub)]
            assert s3.linked(stack, bucket, types, prop, *sub) == scan, (bucket.urn, types, prop)
            found += len(scan)
        every = outcome(lambda b=bucket: any(s3.logs_into(o, b) for o in buckets if o.urn != b.urn))
        assert outcome(lambda b=bucket: any(s3.logs_into(o, b) for o in s3._logging_candidates(stack, b)
                                            if o.urn != b.urn)) == every, bucket.urn
    assert found > 20 and s3.is_log_destination(stack, next(b for b in buckets if b.name == "logs"))

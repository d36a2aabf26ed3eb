"""Run the policy pack the way `pulumi preview --policy-pack policies` does, without the CLI.

The CLI starts `policies/__main__.py` as a plugin process, reads the port it prints, and speaks the
analyzer gRPC protocol: GetAnalyzerInfo, ConfigureStack, Configure (pack config reconciled with the
schema defaults), Analyze once per resource (its inputs, secrets and unknowns in the engine's
encoding) and AnalyzeStack once (every resource with parent and dependencies). This module does the
same, so the plan and the tests see exactly what the CLI would report.
"""

from __future__ import annotations

import difflib
import json
import os
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import grpc  # type: ignore[import-untyped]  # grpcio ships no type information (no py.typed, no stubs)
from google.protobuf import (  # type: ignore[import-untyped]  # protobuf's wheel has no py.typed
    empty_pb2,
    json_format,
    struct_pb2,
)
from pulumi.runtime.proto import analyzer_pb2 as pb
from pulumi.runtime.proto import analyzer_pb2_grpc

from offline.evaluate import PROJECT, ROOT, UNKNOWN, Graph, Resource
from offline.json_documents import as_checked

PACK_DIR = ROOT / "policies"
CONFIG_DIR = PACK_DIR / "config"
LEVELS = ("advisory", "mandatory", "remediate", "disabled")
# How many Analyze calls the harness keeps in flight: the pack's gRPC server runs its handlers on a
# pool of this many threads (pulumi_policy 1.21 policy.py, PolicyPack.__init__:
# `grpc.server(futures.ThreadPoolExecutor(max_workers=4), ...)`; tests check the number against the
# installed SDK). More calls would only queue inside the pack, each holding its request in memory.
PACK_WORKERS = 4
_JSON_TYPES: dict[str, type | tuple[type, ...]] = {"string": str, "integer": int, "number": (int, float), "boolean": bool, "array": list,
               "object": dict}


class PackConfigError(Exception):
    """The --policy-pack-config file is unreadable or does not match the policies' schemas."""


@dataclass
class PolicyInfo:
    name: str
    description: str
    level: str
    severity: str
    remediation: str
    tags: list[str]
    securityhub: str
    kind: str  # "resource" or "stack"
    config_schema: dict


@dataclass
class Diagnostic:
    policy: str
    level: str
    severity: str
    message: str
    urn: str

    @property
    def resource(self) -> str:
        return self.urn.rsplit("::", 1)[-1] if self.urn else "(stack)"

    @property
    def resource_type(self) -> str:
        return self.urn.split("::")[-2].rsplit("$", 1)[-1] if self.urn else ""


@dataclass
class Verdict:
    pack: str
    version: str
    config_path: Path | None
    policies: dict[str, PolicyInfo]
    levels: dict[str, str]
    diagnostics: list[Diagnostic] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def of_level(self, level: str) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.level == level]

    @property
    def mandatory(self) -> list[Diagnostic]:
        return self.of_level("mandatory")

    def fired(self) -> set[str]:
        return {d.policy for d in self.diagnostics}


# ---- pack config, as the CLI reads and reconciles it -----------------------------------------
def load_pack_config(path: Path) -> dict[str, tuple[str | None, dict]]:
    """{policy: (enforcement level or None, properties)} from a --policy-pack-config file."""
    try:
        text = path.read_text()
    except OSError as err:
        raise PackConfigError(f"cannot read policy pack config {path}: {err.strerror}") from None
    if not text.strip():
        return {}
    try:
        doc = json.loads(text)
    except ValueError as err:
        raise PackConfigError(f"{path} is not valid JSON: {err}") from None
    if not isinstance(doc, dict):
        raise PackConfigError(f"{path} must be a JSON object of policy names")
    out: dict[str, tuple[str | None, dict]] = {}
    for name, value in doc.items():
        if isinstance(value, str):
            level, props = value, {}
        elif isinstance(value, dict):
            props = dict(value)
            level = props.pop("enforcementLevel", None)
        else:
            raise PackConfigError(f'{path}: "{name}" must be an enforcement level or an object, not {value!r}')
        if level is not None and level not in LEVELS:
            raise PackConfigError(f'{path}: "{name}": {level!r} is not an enforcement level ({", ".join(LEVELS)})')
        out[name] = (level, props)
    return out


def _check_value(name: str, schema: dict, value) -> list[str]:
    typ = schema.get("type")
    if typ and not (isinstance(value, _JSON_TYPES[typ]) and not (typ in ("integer", "number")
                                                               and isinstance(value, bool))):
        return [f"{name}: expected {typ}, got {json.dumps(value)}"]
    problems = []
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{name}: must be one of {schema['enum']}")
    if "minimum" in schema and value < schema["minimum"]:
        problems.append(f"{name}: must be >= {schema['minimum']}")
    if "maximum" in schema and value > schema["maximum"]:
        problems.append(f"{name}: must be <= {schema['maximum']}")
    if typ == "array" and "items" in schema:
        for i, item in enumerate(value):
            problems += _check_value(f"{name}[{i}]", schema["items"], item)
    return problems


def reconcile(policies: dict[str, PolicyInfo], given: dict[str, tuple[str | None, dict]],
              source: str = "pack config") -> tuple[dict[str, tuple[str, dict]], list[str]]:
    """Schema defaults, then "all", then per-policy settings; validated like the CLI does."""
    result = {n: (p.level, {k: v["default"] for k, v in p.config_schema.items() if "default" in v})
              for n, p in policies.items()}
    warnings: list[str] = []
    all_level = given.get("all", (None, {}))[0]
    if all_level:
        result = {n: (all_level, props) for n, (_, props) in result.items()}
    problems = []
    for name, (level, props) in given.items():
        if name == "all":
            continue
        if name not in policies:
            # Stricter than the CLI on purpose: pulumi/pulumi pkg/resource/analyzer/config.go
            # (ReconcilePolicyPackConfig -> applyConfig, validatePolicyPackConfig) keeps an unknown
            # name without a word, so a misspelled "advisory" leaves the rule mandatory unnoticed.
            close = difflib.get_close_matches(name, policies, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            problems.append(f"{name!r} is not a policy in the pack; {hint}the CLI would ignore it silently "
                            f"(every name: docs/policies.md)\n    fix: correct or remove it in {source}")
            continue
        old_level, old_props = result[name]
        result[name] = (level or old_level, {**old_props, **props})
        for key, value in props.items():
            schema = policies[name].config_schema.get(key)
            if schema is None:
                problems.append(f"{name}: unknown property {key!r} (known: {', '.join(policies[name].config_schema) or 'none'})")
            else:
                problems += [f"{name}: {p}" for p in _check_value(key, schema, value)]
    if problems:
        raise PackConfigError(f"{source} does not match the policy pack:\n  - " + "\n  - ".join(problems))
    return result, warnings


def pack_version() -> str:
    """The CLI reports PulumiPolicy.yaml's version over the SDK's placeholder."""
    import yaml

    return str((yaml.safe_load((PACK_DIR / "PulumiPolicy.yaml").read_text()) or {}).get("version", ""))


def default_config_path(stack: str) -> Path | None:
    """policies/config/<stack>.json when it exists: how CI picks each stack's pack config."""
    path = CONFIG_DIR / f"{stack}.json"
    return path if path.is_file() else None


# ---- the analyzer process ----------------------------------------------------------------------
class PolicyPackProcess:
    """`policies/__main__.py` as a plugin process and a client for its analyzer service."""

    def __init__(self, pack_dir: Path = PACK_DIR, env: dict[str, str] | None = None):
        # Exactly the CLI's command for a Python pack (pulumi-analyzer-policy-python): the pack
        # directory as working directory, `python -u -m pulumi.policy <engine address> .`, which
        # runs ./__main__.py. The pack never calls the engine, so the address is a placeholder.
        # No channel yet: ./plan forks its preview evaluation after the pack has started and before
        # this process connects, so that no gRPC thread exists at the fork (offline/plan.py).
        self.proc: subprocess.Popen[str] = subprocess.Popen(
            [sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:0", "."],
            cwd=pack_dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, **(env or {})})
        self.channel: grpc.Channel | None = None
        self._stub: analyzer_pb2_grpc.AnalyzerStub | None = None
        self._info: pb.AnalyzerInfo | None = None
        self._policies: dict[str, PolicyInfo] | None = None

    @property
    def stub(self) -> analyzer_pb2_grpc.AnalyzerStub:
        """Connect on first use: the process starts its pack while the caller does other work."""
        if self._stub is None:
            assert self.proc.stdout is not None and self.proc.stderr is not None  # both are PIPEs
            line = self.proc.stdout.readline().strip()
            if not line.isdigit():
                self.proc.kill()
                raise RuntimeError(f"the policy pack did not start: {line} {self.proc.stderr.read()[-2000:]}")
            self.channel = grpc.insecure_channel(f"127.0.0.1:{line}")
            grpc.channel_ready_future(self.channel).result(timeout=30)
            self._stub = analyzer_pb2_grpc.AnalyzerStub(self.channel)
        return self._stub

    def __enter__(self) -> PolicyPackProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.channel is not None:
            self.channel.close()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()

    # -- protocol ---------------------------------------------------------------------------
    def info(self) -> pb.AnalyzerInfo:
        if self._info is None:
            self._info = self.stub.GetAnalyzerInfo(empty_pb2.Empty())
        return self._info

    def policies(self) -> dict[str, PolicyInfo]:
        if self._policies is None:
            self._policies = self._read_policies()
        return self._policies

    def _read_policies(self) -> dict[str, PolicyInfo]:
        out = {}
        for p in self.info().policies:
            schema = json_format.MessageToDict(p.configSchema.properties) if p.HasField("configSchema") else {}
            out[p.name] = PolicyInfo(
                name=p.name, description=p.description,
                level=pb.EnforcementLevel.Name(p.enforcementLevel).lower(),
                severity=pb.PolicySeverity.Name(p.severity).removeprefix("POLICY_SEVERITY_").lower(),
                remediation=p.remediation_steps, tags=list(p.tags),
                securityhub=p.framework.reference if p.HasField("framework") else "",
                kind="stack" if p.policy_type == pb.PolicyType.POLICY_TYPE_STACK else "resource",
                config_schema=schema)
        return out

    def configure(self, config: dict[str, tuple[str, dict]]) -> None:
        request = pb.ConfigureAnalyzerRequest()
        for name, (level, props) in config.items():
            struct = struct_pb2.Struct()
            struct.update(props)
            request.policyConfig[name].CopyFrom(pb.PolicyConfig(
                enforcementLevel=pb.EnforcementLevel.Value(level.upper()), properties=struct))
        self.stub.Configure(request)

    def configure_stack(self, stack: str, preview: bool, stack_config: dict[str, str], tags: dict[str, str]) -> None:
        self.stub.ConfigureStack(pb.AnalyzerStackConfigureRequest(
            stack=stack, project=PROJECT, organization="organization", dry_run=preview,
            config=stack_config, tags=tags))

    def analyze_resource(self, request: pb.AnalyzeRequest) -> grpc.Future:
        """Send one Analyze call; its answer comes back through the future."""
        return self.stub.Analyze.future(request)

    def analyze_stack(self, request: pb.AnalyzeStackRequest) -> pb.AnalyzeResponse:
        return self.stub.AnalyzeStack(request)

    def begin(self, stack: str, preview: bool, config_path: Path | None = None, *,
              stack_config: dict[str, str] | None = None, max_in_flight: int = PACK_WORKERS) -> Analysis:
        """Configure the pack for one deployment and return the Analysis that judges its resources."""
        return Analysis(self, stack, preview, config_path, stack_config or {}, max_in_flight=max_in_flight)

    def analyze(self, graph: Graph, config_path: Path | None = None, *, stack_config: dict[str, str] | None = None,
                only: set[str] | None = None, stack: bool = True) -> Verdict:
        """Configure from `config_path` (None: the pack's defaults), Analyze every resource of
        `graph` (or only the URNs in `only`), then AnalyzeStack the whole graph (unless not `stack`)."""
        analysis = self.begin(graph.stack, graph.preview, config_path, stack_config=stack_config)
        analysis.known.update((r.urn, r) for r in graph.resources)  # the whole graph is known at once
        for r in graph.resources:
            if only is None or r.urn in only:
                analysis.resource(r)
        return analysis.finish(graph, stack=stack)


class Analysis:
    """One deployment judged as the engine judges it: Configure and ConfigureStack first, Analyze
    for each resource as its registration arrives (pkg/resource/deploy/step_generator.go,
    generateSteps: "Send the resource off to any Analyzers before being operated on", with the
    provider the step generator has already seen), AnalyzeStack once the program has finished.

    `resource` may be called from the SDK's executor threads while the program runs (./plan does:
    the pack judges the update graph while it is built); the Analyze calls are asynchronous, at
    most `max_in_flight` at a time: `resource` waits for a free slot. The engine waits for each
    answer before it goes on (deployment_executor.go handles one event at a time and
    GenerateSteps -> analyzeAll -> analyze_snapshot.go analyzeResource waits for every analyzer's
    Analyze, in parallel across packs only), so it never has more than one call per pack in
    flight; overlapping a few keeps the program and the pack both busy, and a 10,000-resource graph
    does not open 10,000 calls (which the pack would queue, and a channel may cancel). A
    failure to configure (a pack that did not start, a pack config that does not match) is kept
    and raised by `finish`, so the program's own errors are reported first, as before.
    """

    def __init__(self, pack: PolicyPackProcess, stack: str, preview: bool, config_path: Path | None,
                 stack_config: dict[str, str], *, max_in_flight: int = PACK_WORKERS):
        self.pack, self.config_path = pack, config_path
        self.known: dict[str, Resource] = {}  # by URN: the providers a request names
        self._pending: dict[str, grpc.Future] = {}
        self._slots = threading.BoundedSemaphore(max_in_flight)
        self._failure: Exception | None = None
        self._verdict: Verdict | None = None
        try:
            self._verdict = self._configure(stack, preview, stack_config)
        except Exception as err:  # noqa: BLE001 - raised again by finish(), after the program's errors
            self._failure = err

    def _configure(self, stack: str, preview: bool, stack_config: dict[str, str]) -> Verdict:
        pack, config_path = self.pack, self.config_path
        policies = pack.policies()
        given = load_pack_config(config_path) if config_path else {}
        config, warnings = reconcile(policies, given, str(config_path) if config_path else "pack config")
        pack.configure(config)
        pack.configure_stack(stack, preview, stack_config, {"pulumi:project": PROJECT})
        info = pack.info()
        return Verdict(pack=info.name, version=pack_version() or info.version, config_path=config_path,
                       policies=policies, levels={n: level for n, (level, _) in config.items() if n in policies},
                       warnings=warnings)

    def resource(self, r: Resource) -> None:
        """Analyze `r` (asynchronously); its provider must have been seen, as in the engine."""
        self.known.setdefault(r.urn, r)
        if self._failure is not None:
            return
        try:
            request = pb.AnalyzeRequest(type=r.type, properties=_struct(as_checked(r.type, r.inputs)), urn=r.urn, name=r.name,
                                        options=_options(r), provider=_provider(r, self.known))
        except Exception as err:  # noqa: BLE001 - the pack's failure, not the program's: kept for finish()
            self._failure = err
            return
        self._slots.acquire()
        try:
            future = self.pack.analyze_resource(request)
        except Exception as err:  # noqa: BLE001 - as above
            self._slots.release()
            self._failure = err
            return
        future.add_done_callback(lambda _f: self._slots.release())  # on success, failure or cancel
        self._pending[r.urn] = future

    def finish(self, graph: Graph, *, stack: bool = True) -> Verdict:
        """Collect the Analyze results in the graph's order, then AnalyzeStack the whole graph."""
        if self._failure is not None:
            raise self._failure
        assert self._verdict is not None  # set whenever _configure did not fail
        verdict = self._verdict
        for r in graph.resources:
            if r.urn in self._pending:
                try:
                    response = self._pending.pop(r.urn).result()
                except Exception as err:
                    err.add_note(f"in Analyze of {r.urn}")  # the pack's error does not say which resource
                    raise
                verdict.diagnostics += [_diagnostic(d, r.urn) for d in response.diagnostics]
        if not stack:
            return verdict
        by_urn = {r.urn: r for r in graph.resources}
        stack_request = pb.AnalyzeStackRequest(resources=[
            pb.AnalyzerResource(type=r.type, properties=_struct(_state(r, graph.preview)), urn=r.urn,
                                name=r.name, options=_options(r), provider=_provider(r, by_urn),
                                parent=r.parent, dependencies=r.dependencies,
                                propertyDependencies={k: pb.AnalyzerPropertyDependencies(urns=v)
                                                      for k, v in r.property_dependencies.items() if v})
            for r in graph.resources])
        verdict.diagnostics += [_diagnostic(d, "") for d in self.pack.analyze_stack(stack_request).diagnostics]
        return verdict


def _struct(props: dict) -> struct_pb2.Struct:

    s = struct_pb2.Struct()
    s.update(json.loads(json.dumps(props, default=str)))
    return s


def _state(r: Resource, preview: bool) -> dict:
    """What AnalyzeStack sees: the resource's outputs. Providers echo inputs (secrets stay secret)
    and add computed values, unknown during preview."""
    state = as_checked(r.type, r.inputs)  # the provider's Check output, as the engine keeps it
    for key, value in r.outputs.items():
        if key != "id" and key not in state:
            state[key] = UNKNOWN if preview else value
    return state


def _options(r: Resource) -> pb.AnalyzerResourceOptions:
    return pb.AnalyzerResourceOptions(protect=r.protect, ignoreChanges=r.ignore_changes,
                                      deleteBeforeReplace=r.delete_before_replace,
                                      deleteBeforeReplaceDefined=r.delete_before_replace, parent=r.parent)


def _provider(r: Resource, by_urn: dict[str, Resource]) -> pb.AnalyzerProviderResource | None:
    if not r.provider:
        return None
    urn = r.provider.rsplit("::", 1)[0]
    prov = by_urn.get(urn)
    return pb.AnalyzerProviderResource(type=prov.type if prov else urn.split("::")[-2], urn=urn,
                                       name=urn.rsplit("::", 1)[-1],
                                       properties=_struct(prov.inputs if prov else {}))


def _diagnostic(d: pb.AnalyzeDiagnostic, resource_urn: str) -> Diagnostic:
    # The SDK prefixes the message with the policy description; keep only what the rule said.
    message = d.message.split("\n", 1)[1] if "\n" in d.message else d.message
    return Diagnostic(policy=d.policyName, level=pb.EnforcementLevel.Name(d.enforcementLevel).lower(),
                      severity=pb.PolicySeverity.Name(d.severity).removeprefix("POLICY_SEVERITY_").lower(),
                      message=message, urn=d.urn or resource_urn)

"""Shared fixtures: the real program evaluated offline, per stack and mode, cached per session
(and shared by the session's xdist workers); one policy pack process per session; `./plan` in this
process on both."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import fcntl
import gc
import hashlib
import importlib
import importlib.util
import inspect
import io
import json
import keyword
import os
import pickle
import sys
from collections.abc import Callable, Iterator
from concurrent import futures
from functools import cache
from pathlib import Path
from types import ModuleType
from unittest import mock

import pytest

# The SDKs the test modules import make about 870,000 objects that live as long as the worker, and
# the collector walking them again and again while they import cost about 1.4 s of CPU per process.
# It stays off until _program_imported has frozen them (offline/evaluate.py settle_heap turns it
# back on); pytest-xdist's controller, which runs no test, turns it on in pytest_configure.
gc.disable()

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pulumi.runtime.proto import analyzer_pb2 as pb  # noqa: E402
from servers import appdb, aws_env, bigdb, postgres  # noqa: E402, F401 - session fixtures: one of each per worker

from offline.analyzer import PolicyPackProcess  # noqa: E402
from offline.cliconfig import ConfigValue, engine_config, read_stack_file  # noqa: E402
from offline.evaluate import Graph, import_program_modules, run, stack_file  # noqa: E402
from offline.plan import Engine  # noqa: E402
from offline.plan import main as plan_main  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def _program_imported(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Each process that runs tests imports what the program imports once, then freezes those
    objects out of the garbage collector's way (offline/evaluate.py settle_heap): every
    evaluation after that is about twice as fast. A fixture, not an import-time call, so that
    pytest-xdist's controller, which loads this file but runs no test, does not pay the ~4 s.
    Under pytest-xdist it also names the directory where the workers share evaluated graphs."""
    global _shared_graphs
    if os.environ.get("PYTEST_XDIST_WORKER"):
        # The workers' base temp dirs (…/pytest-N/popen-gwK) share this run's parent, pytest-N;
        # without xdist that parent holds every run's directory, so nothing is shared then.
        _shared_graphs = tmp_path_factory.getbasetemp().parent / "graphs"
        _shared_graphs.mkdir(exist_ok=True)
    import_program_modules()


PACK_ROOT = ROOT / "policies"


@contextlib.contextmanager
def pack_root() -> Iterator[None]:
    """For the length of the block, imports resolve as in the pack's process: policies/ first on
    sys.path (its modules import each other by top-level name). Afterwards sys.path and the
    collector's thresholds are as before: policies/_rules.py sets the pack process's thresholds
    (20,000) when it is imported, and a worker left with them collected for the rest of its run
    far more often than offline/evaluate.py settle_heap sets it to (1,000,000)."""
    thresholds = gc.get_threshold()
    sys.path.insert(0, str(PACK_ROOT))
    try:
        yield
    finally:
        sys.path.remove(str(PACK_ROOT))
        gc.set_threshold(*thresholds)


def pack_module(name: str) -> ModuleType:
    """policies/NAME.py, loaded in this process from its file as the pack's process loads it."""
    with pack_root():
        return load_pack_file(name)


def load_pack_file(name: str) -> ModuleType:
    """policies/NAME.py executed as module `pack_NAME`; inside pack_root() (pack_module does both)."""
    spec = importlib.util.spec_from_file_location(f"pack_{name}", PACK_ROOT / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def _process_state_kept() -> Iterator[None]:
    """Each test leaves the worker's collector thresholds and sys.path as it found them (pack_root)."""
    thresholds, path = gc.get_threshold(), list(sys.path)
    yield
    assert gc.get_threshold() == thresholds, f"the test changed the collector's thresholds to {gc.get_threshold()}"
    assert sys.path == path, f"the test left sys.path changed: {sorted(set(sys.path) ^ set(path))}"


def pytest_configure(config: pytest.Config) -> None:
    if getattr(config.option, "numprocesses", None) and not os.environ.get("PYTEST_XDIST_WORKER"):
        gc.enable()  # the controller (see gc.disable above): it imports nothing more that lasts


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked slow go first, in their order: pytest-xdist hands out tests in this order, so the
    workers end on short tests, together, instead of one waiting for the other's last long test
    (test_workflows.py's, 9 s, came last alphabetically: 8 s of one worker idle)."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


STACKS = ("staging", "production")
EXAMPLES = ("study-sphere", "generic-guide", "project-spark", "group-spaces", "contribux")


@cache
def takes_tags(typ: str) -> bool:
    """Whether the provider SDK's resource class takes `tags` (the ground truth for tag rules)."""
    package, module_path, _ = typ.split(":")
    name = module_path.split("/")[0].replace("index", "")
    # A module named after a Python keyword gets a trailing underscore (pulumi_aws.lambda_).
    module = importlib.import_module(f"pulumi_{package}." + (name + "_" if keyword.iskeyword(name) else name))
    cls = getattr(module, typ.rsplit(":", 1)[1])
    return "tags" in inspect.signature(cls._internal_init).parameters


def example_file(app: str) -> Path:
    return ROOT / "examples" / app / "Pulumi.production.yaml"


def config_of(stack: str, example: str | None = None, secret: tuple[str, ...] = (),
              **overrides) -> tuple[dict[str, str], set[str]]:
    """The stack file with `overrides` applied as `pulumi config set` stores them (a str is a plain
    value, a list an array as `--path 'key[0]'` makes it, None removes the key; keys in `secret`
    as `--secret`), then handed over as the CLI does (defaults merged, types checked)."""
    values = read_stack_file(example_file(example) if example else stack_file(stack))
    for key, value in overrides.items():
        full = key if ":" in key else f"platform:{key}"
        if value is None:
            values.pop(full, None)
        else:
            values[full] = ConfigValue.of(value, secure=key in secret)
    for key in secret:
        full = f"platform:{key}"
        if full in values and not values[full].secure:
            values[full] = dataclasses.replace(values[full], secure=True)
    return engine_config(values, "production" if example else stack)


APP_PREFIXES = ("app", "ecs", "vercel", "cdn", "rateLimit", "cloudflare")


def without_app(stack: str = "staging") -> dict[str, None]:
    """Overrides that remove the stack's app tier and edge (for tests of the data tier alone)."""
    values = read_stack_file(stack_file(stack))
    return {k.split(":", 1)[1]: None for k in values if k.split(":", 1)[1].startswith(APP_PREFIXES)}


def evaluate(stack: str = "staging", *, preview: bool = False, secret: tuple[str, ...] = (),
             example: str | None = None, fresh: bool = False, **overrides) -> Graph:
    """The stack's YAML (or a seed example's) with `overrides` ({"postgresReadReplicas": "3"}) evaluated
    offline: a copy of its graph that the test may change. A config some test already evaluated in
    this run is not evaluated again (cached_run); `fresh` evaluates it anyway, for a test that watches
    the registrations themselves (a patched monitor)."""
    if example:
        stack = "production"
    raw, secret_keys = config_of(stack, example, secret, **overrides)
    if fresh:
        return run(raw, secret_keys, stack, preview=preview)
    return copy.deepcopy(cached_run(raw, secret_keys, stack, preview))


def config_error(stack: str = "staging", secret: tuple[str, ...] = (), example: str | None = None,
                 **overrides) -> str:
    """Evaluate and expect a ConfigError with nothing registered; return its message."""
    from stack_config import ConfigError  # imports the SDKs: not at module level (_program_imported)

    if example:
        stack = "production"
    raw, secret_keys = config_of(stack, example, secret, **overrides)
    graph = Graph(stack=stack, preview=False)
    with pytest.raises(ConfigError) as info:
        run(raw, secret_keys, stack, preview=False, graph=graph)
    registered = [r.type for r in graph.resources if r.type != "pulumi:pulumi:Stack"]
    assert registered == [], f"resources registered before the config error: {registered}"
    return str(info.value)


_graphs: dict[str, Graph] = {}
_shared_graphs: Path | None = None  # this run's directory of pickled graphs, under pytest-xdist


def cached_run(raw: dict[str, str], secret_keys: set[str], stack: str, preview: bool) -> Graph:
    """`offline.evaluate.run`, once per config, stack and mode in a test run. The graph is shared
    by every test that asks for the same config (and by `run_plan`): never change it, change a
    `copy.deepcopy` of it. Under pytest-xdist the first worker to need a graph evaluates it and
    the others load its pickle (the program's source does not change during a run; the pickle
    is what ./plan already ships its preview graph in, offline/evaluate.py ForkedRun)."""
    key = hashlib.sha256(json.dumps([raw, sorted(secret_keys), stack, preview], sort_keys=True).encode()).hexdigest()
    if key not in _graphs:
        _graphs[key] = _shared_run(key, raw, secret_keys, stack, preview) if _shared_graphs \
            else run(raw, secret_keys, stack, preview=preview)
    return _graphs[key]


def _shared_run(key: str, raw: dict[str, str], secret_keys: set[str], stack: str, preview: bool) -> Graph:
    """The graph from this run's shared directory, evaluated and written there by the first worker
    that asks (the others wait on its lock rather than evaluate it again). A program error is not
    stored: each worker that asks raises it itself."""
    assert _shared_graphs is not None
    path = _shared_graphs / f"{key}.pickle"
    with open(_shared_graphs / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if path.exists():
            return pickle.loads(path.read_bytes())
        graph = run(raw, secret_keys, stack, preview=preview)
        partial = path.with_suffix(f".{os.getpid()}")
        partial.write_bytes(pickle.dumps(graph, protocol=pickle.HIGHEST_PROTOCOL))
        partial.replace(path)
        return graph


def inline_graph(program: Callable[[], None], *, preview: bool = False, stack: str = "production",
                 config: dict[str, str] | None = None) -> Graph:
    """The graph of `program` (a function that creates resources with the SDK classes, as a user's
    program would) instead of __main__.py, under the same mocks and recording monitor. Policy
    fixtures use it for resource types and shapes the program itself never creates."""
    raw = {"aws:region": "us-east-1", **(config or {})}
    return run(raw, set(), stack, preview=preview, program=program)


def example_graph(app: str, preview: bool = False) -> Graph:
    raw, secret_keys = config_of("production", app)
    return cached_run(raw, secret_keys, "production", preview)


def stack_graph(stack: str, preview: bool = False) -> Graph:
    raw, secret_keys = config_of(stack)
    return cached_run(raw, secret_keys, stack, preview)


class SessionPack(PolicyPackProcess):
    """The pack process with its answer to each Analyze and AnalyzeStack request kept for the rest
    of the session, per configuration (Configure and ConfigureStack as sent) and request bytes: the
    pack is a function of the two. A graph judged again, or a test's mutated copy of one, reaches
    the pack only as the requests it has not seen: the resources the copy changed, and its
    AnalyzeStack. tests/test_pack_robustness.py compares verdicts from kept answers with the pack's
    answers to the same requests sent again."""

    def __init__(self) -> None:
        super().__init__()
        self._answers: dict[tuple[str, str, bytes], pb.AnalyzeResponse] = {}
        self._configured = ("", "")  # the last Configure and ConfigureStack, as sent
        self.sent = 0  # Analyze and AnalyzeStack calls that reached the process

    def configure(self, config: dict[str, tuple[str, dict]]) -> None:
        self._configured = (json.dumps(config, sort_keys=True), "")
        super().configure(config)

    def configure_stack(self, stack: str, preview: bool, stack_config: dict[str, str], tags: dict[str, str]) -> None:
        self._configured = (self._configured[0], json.dumps([stack, preview, stack_config, tags], sort_keys=True))
        super().configure_stack(stack, preview, stack_config, tags)

    def _key(self, request: pb.AnalyzeRequest | pb.AnalyzeStackRequest) -> tuple[str, str, bytes]:
        payload = request.SerializeToString(deterministic=True)  # map fields (Struct) in key order
        return (*self._configured, type(request).__name__.encode() + hashlib.sha256(payload).digest())

    def analyze_resource(self, request: pb.AnalyzeRequest):
        key = self._key(request)
        if key in self._answers:
            known: futures.Future = futures.Future()
            known.set_result(self._answers[key])
            return known
        self.sent += 1
        future = super().analyze_resource(request)

        def keep(done) -> None:
            if not done.cancelled() and done.exception() is None:
                self._answers[key] = done.result()
        future.add_done_callback(keep)
        return future

    def analyze_stack(self, request: pb.AnalyzeStackRequest) -> pb.AnalyzeResponse:
        key = self._key(request)
        if key not in self._answers:
            self.sent += 1
            self._answers[key] = super().analyze_stack(request)
        return self._answers[key]


@pytest.fixture(scope="session")
def pack() -> Iterator[PolicyPackProcess]:
    """The policy pack process of this test session (of each xdist worker): every analysis
    configures it afresh (Configure, ConfigureStack), so tests can share it."""
    with SessionPack() as process:
        yield process


@dataclasses.dataclass
class PlanResult:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def run_plan(pack: PolicyPackProcess) -> Callable[..., PlanResult]:
    """`./plan ARGS` in this process: offline.plan.main with the session's graphs (cached_run) and
    pack, its stdout, stderr and exit code as a subprocess would give them. `caller_cwd` is where
    the user ran it from (./plan exports it as PLAN_CWD); by default the repository root."""

    def plan(*args: str, caller_cwd: Path = ROOT) -> PlanResult:
        out, err = io.StringIO(), io.StringIO()
        with mock.patch.dict(os.environ, {"PLAN_CWD": str(caller_cwd)}), \
                contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = plan_main(list(args), Engine(evaluate=cached_run, pack=pack))
            except SystemExit as exit_:  # argparse's usage errors
                code = exit_.code if isinstance(exit_.code, int) else 1
        return PlanResult(code, out.getvalue(), err.getvalue())

    return plan


@pytest.fixture(params=STACKS)
def any_stack(request) -> Graph:
    return stack_graph(request.param)


@pytest.fixture
def staging() -> Graph:
    return stack_graph("staging")


@pytest.fixture
def production() -> Graph:
    return stack_graph("production")

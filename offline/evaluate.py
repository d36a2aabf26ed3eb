"""Run __main__.py for a stack's YAML under pulumi.runtime.set_mocks and return the resource graph.

Shared by the tests and by `./plan`. offline/cliconfig.py does what the CLI does with config
before a program starts; `run` hands that config to the program the way the Python language host
does (the PULUMI_CONFIG and PULUMI_CONFIG_SECRET_KEYS environment variables) and runs the real
program with a monitor that records every registration.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import contextvars
import gc
import importlib
import importlib.util
import json
import multiprocessing
import os
import pickle
import re
import runpy
import sys
import threading
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path

from google.protobuf import json_format  # type: ignore[import-untyped]  # protobuf's wheel has no py.typed

from offline.cliconfig import SECRET_PLACEHOLDER, CliConfigError, StackFileError, read_stack_config

__all__ = ["SECRET_PLACEHOLDER", "CliConfigError", "StackFileError", "read_stack_config"]

ROOT = Path(__file__).resolve().parent.parent
PROGRAM = ROOT / "__main__.py"
PROJECT = "platform"
SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


@dataclass
class Resource:
    urn: str
    type: str
    name: str
    parent: str
    custom: bool
    inputs: dict  # engine encoding: secrets as signature maps, unknowns as the UNKNOWN sentinel
    outputs: dict
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]
    provider: str
    protect: bool
    ignore_changes: list[str]
    delete_before_replace: bool

    def input(self, key: str, default=None):
        """An input with secrets unwrapped (unknowns stay the UNKNOWN sentinel)."""
        return plain(self.inputs.get(key, default))


@dataclass
class Graph:
    stack: str
    preview: bool
    resources: list[Resource] = field(default_factory=list)
    stack_outputs: dict = field(default_factory=dict)

    def of_type(self, typ: str) -> list[Resource]:
        return [r for r in self.resources if r.type == typ]

    def named(self, name: str) -> Resource:
        found = [r for r in self.resources if r.name == name]
        if len(found) != 1:
            raise KeyError(f"{len(found)} resources named {name!r}")
        return found[0]

    def children(self, urn: str) -> list[Resource]:
        return [r for r in self.resources if r.parent == urn]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.resources:
            if r.type != "pulumi:pulumi:Stack":
                out[r.type] = out.get(r.type, 0) + 1
        return dict(sorted(out.items()))


def natural_key(name: str) -> list:
    """Sort key that puts replica-2 before replica-10."""
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name)]


def resource_order(r: Resource) -> tuple:
    """Sort key for resources shown to people: by name (naturally), then type. The engine registers
    concurrently, so graph order varies between runs; siblings may share a name with other types
    (the cdn component's Assets and Cdn), and name alone left their order to the race."""
    return natural_key(r.name), r.type, r.urn


def is_secret(value) -> bool:
    return isinstance(value, dict) and value.get(SECRET_SIG_KEY) == SECRET_SIG


def plain(value):
    if is_secret(value):
        return plain(value.get("value"))
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)  # protobuf Structs carry every number as a double
    return value


def contains_unknown(value) -> bool:
    if value == UNKNOWN:
        return True
    if isinstance(value, dict):
        return any(contains_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_unknown(v) for v in value)
    return False


# ---- stack files -----------------------------------------------------------------------------
def stack_file(stack: str) -> Path:
    return ROOT / f"Pulumi.{stack}.yaml"


# ---- running the program ---------------------------------------------------------------------
# Called with each resource as its registration is recorded (from the SDK's executor threads).
Listener = Callable[[Resource], None]


def _thread_loop(loops: list[asyncio.AbstractEventLoop]) -> None:
    """MockMonitor gives each executor thread that calls it an event loop of its own
    (pulumi/runtime/sync_await.py, _ensure_event_loop) and never closes it; the garbage collector
    did, later, printing "Exception ignored in BaseEventLoop.__del__ ... Invalid file descriptor:
    -1" when the loop's socket had gone first. Made here instead (the SDK then finds it), kept in
    `loops`, and closed by run_program when the evaluation is over."""
    try:
        asyncio.get_event_loop()
    except RuntimeError:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        loops.append(loop)


def _recording_monitor(mocks, graph: Graph, listener: Listener | None = None):
    import pulumi
    from pulumi.runtime.mocks import MockMonitor

    class RecordingMonitor(MockMonitor):
        def __init__(self, mocks) -> None:
            super().__init__(mocks)
            self.loops: list[asyncio.AbstractEventLoop] = []

        def Invoke(self, request):
            _thread_loop(self.loops)
            return super().Invoke(request)

        def ReadResource(self, request):
            _thread_loop(self.loops)
            return super().ReadResource(request)

        def make_urn(self, parent: str, type_: str, name: str) -> str:
            """The engine's URN (pkg/resource/deploy/deployment.go, Deployment.generateURN): the
            parent's whole qualified type, none for the root stack. MockMonitor keeps only the
            parent's last type and includes the stack's, so aliases and URNs would differ."""
            qualified = type_
            if parent:
                parent_type = parent.split("::")[2]
                if parent_type != "pulumi:pulumi:Stack":
                    qualified = f"{parent_type}${type_}"
            return "urn:pulumi:" + "::".join([pulumi.get_stack(), pulumi.get_project(), qualified, name])

        def RegisterResource(self, request):
            urn = self.make_urn(request.parent, request.type, request.name)
            if urn in self.resources:
                # The engine refuses a second registration of one URN (step_generator: "Duplicate
                # resource URN '%s'; try giving it a unique name"); MockMonitor would overwrite it.
                raise ValueError(f"Duplicate resource URN '{urn}'; try giving it a unique name")
            _thread_loop(self.loops)
            response = super().RegisterResource(request)
            urn = response.urn
            reg = self.resources.get(urn)
            state = {**(reg.state or {}), "id": reg.id} if reg else {}
            resource = Resource(
                urn=urn, type=request.type, name=request.name, parent=request.parent,
                custom=request.custom,
                inputs=json_format.MessageToDict(request.object),
                outputs=state,
                dependencies=list(request.dependencies),
                property_dependencies={k: list(v.urns) for k, v in request.propertyDependencies.items()},
                provider=request.provider, protect=bool(request.protect),
                ignore_changes=list(request.ignoreChanges),
                delete_before_replace=bool(request.deleteBeforeReplace),
            )
            graph.resources.append(resource)
            if listener is not None:
                listener(resource)
            return response

    return RecordingMonitor(mocks)


def run(raw: dict[str, str], secret_keys: set[str], stack: str, *, preview: bool,
        graph: Graph | None = None, listener: Listener | None = None,
        program: Callable[[], None] | None = None) -> Graph:
    """Evaluate the program once with `raw` as its config (from offline.cliconfig). Raises the
    program's own errors (e.g. ConfigError); a caller that passes `graph` can still inspect what
    was registered before the error. `listener` sees each resource as it registers, as the engine
    hands it to the analyzers (./plan streams them to the policy pack)."""
    with _language_host_environment(raw, secret_keys):
        return run_program(stack, preview=preview, graph=graph, listener=listener, program=program)


def run_program(stack: str, *, preview: bool, graph: Graph | None = None,
                listener: Listener | None = None, program: Callable[[], None] | None = None) -> Graph:
    """Evaluate the program with the config this process's environment holds (PULUMI_CONFIG).
    `program` replaces __main__.py: the tests write a user's variant of a resource with the SDK
    classes (pulumi_aws 7 ...) and judge what it registers, under the same mocks and monitor."""
    import pulumi
    from pulumi.runtime.settings import SETTINGS, get_root_resource
    from pulumi.runtime.stack import Stack, run_pulumi_func

    from offline.mocks import PlatformMocks

    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    _without_source_positions()
    graph = graph if graph is not None else Graph(stack=stack, preview=preview)

    def main_program() -> None:
        runpy.run_path(str(PROGRAM), run_name="__main__")

    def evaluate() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        monitor = None
        failed = False

        def quiet_after_failure(loop_: asyncio.AbstractEventLoop, context: dict) -> None:
            # A failed registration fails every output of its resource with the run's error, which the
            # run raises once; collected later, each of those futures would print it again.
            if not (failed and context.get("message", "").endswith("exception was never retrieved")):
                loop_.default_exception_handler(context)

        loop.set_exception_handler(quiet_after_failure)
        try:
            mocks = PlatformMocks(preview)
            monitor = _recording_monitor(mocks, graph, listener)
            # set_mocks's MockSettings leaves `outputs` unset (pulumi/runtime/mocks.py), so every mocked
            # run in a process shares the set the SDK made at import. A run that failed leaves its tasks
            # there, bound to its closed loop, and the next run's wait_for_rpcs awaits them ("Event loop
            # is closed"). The SDK's own pulumi.runtime.test wrapper clears it before each test, as here.
            SETTINGS.outputs.clear()
            pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=preview, monitor=monitor)
            # What pulumi-language-python-exec does first (sdk/python/cmd/pulumi-language-python-exec):
            # read PULUMI_CONFIG and PULUMI_CONFIG_SECRET_KEYS from the environment into the runtime.
            pulumi.runtime.set_all_config(pulumi.runtime.get_config_env(),
                                          pulumi.runtime.get_config_secret_keys_env())
            loop.run_until_complete(run_pulumi_func(program or main_program))
            # set_mocks closes the root stack before the program runs, so its exports never
            # reach the monitor; read them off the root resource.
            root = get_root_resource()
            if not isinstance(root, Stack):
                raise RuntimeError(f"set_mocks made no root stack (got {root!r})")
            graph.stack_outputs.update(loop.run_until_complete(_encode_outputs(root.outputs)))
        except BaseException:
            failed = True
            raise
        finally:
            try:
                # A failed RPC ends the program while other executor threads may still be inside
                # the monitor, running their own loop: wait for them (loop.close() alone shuts the
                # executor down without waiting), so that no loop below is closed while it runs.
                loop.run_until_complete(loop.shutdown_default_executor())
            finally:
                asyncio.set_event_loop(None)
                loop.close()
                for thread_loop in monitor.loops if monitor is not None else ():
                    thread_loop.set_exception_handler(quiet_after_failure)
                    if not thread_loop.is_running():  # never, once the executor is down; never raise here
                        thread_loop.close()

    # A fresh context per run: Pulumi keeps its settings, root resource and config in contextvars.
    contextvars.Context().run(evaluate)
    return graph


def _without_source_positions() -> None:
    """The SDK walks the Python stack at every registration (pulumi/runtime/resource.py,
    `_get_stack_trace`, called by register_resource and read_resource) to send the engine the
    line that created the resource (RegisterResourceRequest.stackTrace and sourcePosition). The
    engine keeps them as the resource's source position in state, for people to read
    (pkg/resource/deploy/source_eval.go, sourcePositions.getFromRequest: one it cannot parse is
    logged and dropped, never an error); the recording monitor keeps neither, and no check reads
    them. That walk was a tenth of an evaluation (0.6 of 6.0 s for three production runs under
    cProfile), so the harness sends an empty trace, as the SDK itself does when it finds no user
    frame."""
    from pulumi.runtime import resource
    from pulumi.runtime.proto import source_pb2

    resource._get_stack_trace = source_pb2.StackTrace


def import_program_modules() -> None:
    """Import what the program imports, without running it: the modules __main__.py imports
    (SDKs, stack_config, components) and the SDK modules their code names.

    The first evaluation would import them anyway; ./plan does it before it forks, so that the
    forked evaluation shares them instead of importing them again. pulumi_aws loads a service
    module on its first attribute access (pulumi/_utils.py, lazy_import), so `aws.rds.Instance` in
    a component's code is resolved here too. The program's modules have no side effects at import
    (CONVENTIONS.md 6) and the tests import them before any evaluation, so evaluating afterwards
    is what every evaluation but a process's first sees.

    The collector is off while they import (settle_heap turns it back on): the imports make about
    680,000 objects that all stay, and collecting on the way walks them again and again, 1.4 of
    3.4 s of CPU here, to find fewer than a thousand that are garbage. A caller that imports the
    SDKs before this (the tests, from conftest.py) turns it off before those imports.
    """
    gc.disable()
    try:
        if str(ROOT) not in sys.path:
            sys.path.insert(0, str(ROOT))
        program = ast.parse(PROGRAM.read_text(), str(PROGRAM))
        for node in program.body:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    importlib.import_module(alias.name)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                importlib.import_module(node.module)
        for tree in _program_trees(program):
            _resolve_module_attributes(tree)
    finally:
        settle_heap()  # the collector back on even when an import failed


def settle_heap() -> None:
    """Keep the cyclic garbage collector off the modules just imported.

    The SDKs leave about 680,000 objects that live as long as the process (pulumi_aws alone is
    thousands of classes). Each evaluation allocates tens of thousands of asyncio tasks and
    futures, and every time that pushes a collection into the oldest generation, Python walks all
    of those objects again: measured here, that was half of an evaluation's time (0.65 of 1.22 s
    for production). gc.freeze() moves everything alive now into the permanent generation, which
    no collection walks (the stdlib documents it for this: gc.freeze, "Freeze all the objects
    tracked by the garbage collector"), and a first threshold of a million objects lets one
    evaluation's short-lived objects (about 130,000 for production, most of them in reference
    cycles only the collector frees) die young instead of being promoted, still alive, to be walked
    again: against 50,000, 8 % less CPU for the evaluation-heavy test files and no second-generation
    collection, for about 40 MB more at the peak. Objects created later are collected as before, so
    memory stays bounded; only what the imports made is never rescanned. Then the collector is on
    (import_program_modules turns it off for the imports), as the stdlib's gc.freeze advice has it:
    "gc.disable() early ..., gc.freeze() right before fork(), and gc.enable() early in child
    processes" (./plan forks its preview evaluation after this).
    """
    gc.freeze()
    first, second, third = gc.get_threshold()
    gc.set_threshold(max(first, 1_000_000), second, third)
    gc.enable()


def _program_trees(program: ast.Module) -> list[ast.Module]:
    """__main__.py and the modules of this repository it imports, directly or through each other."""
    trees, todo, seen = [], [("", program)], set()
    while todo:
        package, tree = todo.pop()
        trees.append(tree)
        for name in _imported_names(tree, package):
            module = sys.modules.get(name)
            file = getattr(module, "__file__", None)
            if module is None or not file or file in seen or not _in_repository(Path(file)):
                continue
            seen.add(file)
            todo.append((module.__package__ or "", ast.parse(Path(file).read_text(), file)))
    return trees


def _imported_names(tree: ast.Module, package: str) -> list[str]:
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = importlib.util.resolve_name("." * node.level + (node.module or ""), package) if node.level \
                else node.module or ""
            names += [base] + [f"{base}.{alias.name}" for alias in node.names]
    return names


def _in_repository(file: Path) -> bool:
    return file.is_relative_to(ROOT) and not file.is_relative_to(ROOT / ".venv")


def _resolve_module_attributes(tree: ast.AST) -> None:
    """Import what each `import` in the source names, a function's own too (components/_dns_zone.py
    imports pulumi_cloudflare where it makes a record), then getattr along each `name.attr.attr` the
    source writes, while it stays on modules."""
    bound: dict[str, str] = {}  # name in the source -> the module `import` bound to it
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                try:
                    importlib.import_module(alias.name)
                except ModuleNotFoundError:  # an optional import (a stub under TYPE_CHECKING): the program's own business
                    continue
                top = alias.name.split(".")[0]
                bound[alias.asname or top] = alias.name if alias.asname else top
    for node in ast.walk(tree):
        chain: list[str] = []
        while isinstance(node, ast.Attribute):
            chain.insert(0, node.attr)
            node = node.value
        if not (isinstance(node, ast.Name) and node.id in bound and chain):
            continue
        target: object = sys.modules.get(bound[node.id])
        for attr in chain:
            if not isinstance(target, types.ModuleType):
                break
            target = getattr(target, attr, None)


class ForeignError(Exception):
    """An error of a forked evaluation whose exception does not pickle: its type's name and message."""

    def __init__(self, type_name: str, message: str):
        super().__init__(type_name, message)
        self.type_name, self.message = type_name, message

    def __str__(self) -> str:
        return self.message


class ForkedRun:
    """`run(...)` in a forked child process: ./plan evaluates preview mode there while this process
    evaluates update mode, one core each.

    Fork (not spawn): the child starts with every module this process has imported, so call
    import_program_modules first and the child only pays for its evaluation. Fork before this
    process starts a thread or a gRPC channel (offline/analyzer.py connects afterwards): a forked
    child inherits locks but not the threads that hold them, and gRPC's fork support is off by
    default (grpc/_cython/_cygrpc/fork_posix.pyx.pxi: GRPC_ENABLE_FORK_SUPPORT). The graph (or the
    program's exception) comes back pickled through a pipe; `result` raises what the child raised.
    """

    def __init__(self, raw: dict[str, str], secret_keys: set[str], stack: str, *, preview: bool):
        context = multiprocessing.get_context("fork")
        self._receive, send = context.Pipe(duplex=False)
        # Text buffered here would be written again by the child (it flushes its copies at exit).
        sys.stdout.flush()
        sys.stderr.flush()
        self._process = context.Process(target=_run_and_send, args=(send, raw, secret_keys, stack, preview),
                                        name=f"evaluate-{'preview' if preview else 'update'}", daemon=True)
        self._process.start()
        send.close()  # the child's end: recv() sees EOF if the child dies without an answer

    def result(self) -> Graph:
        try:
            outcome = self._receive.recv()
        except EOFError:
            self._process.join()
            outcome = RuntimeError(f"the forked evaluation ended without a result (exit code {self._process.exitcode})")
        self._process.join()
        self._receive.close()
        if isinstance(outcome, Exception):
            raise outcome
        assert isinstance(outcome, Graph)
        return outcome

    def close(self) -> None:
        """Stop the child if its result was never read (this process failed first)."""
        if not self._receive.closed:
            self._process.kill()
            self._process.join()
            self._receive.close()


def _run_and_send(send: Connection, raw: dict[str, str], secret_keys: set[str], stack: str, preview: bool) -> None:
    outcome: Graph | Exception
    try:
        outcome = run(raw, secret_keys, stack, preview=preview)
    except Exception as err:  # noqa: BLE001 - the parent reports it as it reports its own
        outcome = _portable(err)
    try:
        send.send(outcome)
    except Exception as err:  # noqa: BLE001 - a value in the graph that does not pickle
        send.send(_portable(err))
    send.close()


def _portable(err: Exception) -> Exception:
    """`err` if it survives pickling, else its type's name and message."""
    try:
        pickle.loads(pickle.dumps(err))
    except Exception:  # noqa: BLE001 - any failure to pickle or to unpickle
        return ForeignError(type(err).__name__, str(err))
    return err


_ENV_LOCK = threading.Lock()


@contextlib.contextmanager
def _language_host_environment(raw: dict[str, str], secret_keys: set[str]):
    """Config through the environment, as pythonLanguageHost.Run sets it for the program
    (sdk/python/cmd/pulumi-language-python/main.go: PULUMI_CONFIG = json.Marshal of the config map,
    PULUMI_CONFIG_SECRET_KEYS = json.Marshal of the key list, "[]" when there is none). The SDK reads
    them at each get_config (pulumi/runtime/config.py), so nothing else carries config in."""
    env = {"PULUMI_CONFIG": json.dumps(raw, sort_keys=True), "PULUMI_CONFIG_SECRET_KEYS": json.dumps(sorted(secret_keys))}
    with _ENV_LOCK:  # one evaluation at a time may own the process environment
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            yield
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


async def _encode_outputs(outputs: dict) -> dict:
    """Stack exports in the engine's encoding (secret signature maps, UNKNOWN sentinel)."""
    import pulumi

    encoded = {}
    for name, value in outputs.items():
        out = pulumi.Output.from_input(value)
        known, secret = await out.is_known(), await out.is_secret()
        plain_value = await out.future(with_unknowns=True) if known else UNKNOWN
        encoded[name] = {SECRET_SIG_KEY: SECRET_SIG, "value": plain_value} if secret else plain_value
    return encoded

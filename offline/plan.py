"""`./plan STACK` — evaluate a stack offline (update and preview mode), print its resource tree, its
monthly cost estimate and the policy pack's verdict.

Exit codes: 0 clean (advisory findings allowed); 1 the program or the policy pack failed, or two
resources claim one physical name (offline/identity.py);
2 bad stack configuration, stack file or policy pack config; 3 mandatory policy violations.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where used: `build_parser` (and --help) must not load the SDKs
    from offline.analyzer import PolicyPackProcess, Verdict
    from offline.cost import Estimate
    from offline.evaluate import ForkedRun, Graph, Listener

from offline.facts import fact_of

EXIT_OK, EXIT_PROGRAM_ERROR, EXIT_CONFIG_ERROR, EXIT_POLICY_VIOLATION = 0, 1, 2, 3


def render_tree(graph) -> list[str]:
    from offline.evaluate import natural_key

    lines: list[str] = []
    stack = next(r for r in graph.resources if r.type == "pulumi:pulumi:Stack")

    def walk(urn: str, prefix: str) -> None:
        kids = sorted(graph.children(urn), key=lambda r: natural_key(r.name))
        for i, r in enumerate(kids):
            last = i == len(kids) - 1
            fact = fact_of(r)
            fact = f"  — {fact}" if fact else ""
            flag = "  [protected]" if r.protect and r.custom else ""
            lines.append(f"{prefix}{'└─ ' if last else '├─ '}{r.name}  ({r.type}){flag}{fact}")
            walk(r.urn, prefix + ("   " if last else "│  "))

    lines.append(f"{stack.name}  (pulumi:pulumi:Stack)")
    walk(stack.urn, "")
    return lines


def render_verdict(verdict) -> list[str]:
    from offline.evaluate import ROOT

    policies = verdict.policies
    source = "pack defaults (production)"
    if verdict.config_path:  # a file outside the repository is shown as given, absolute
        path = verdict.config_path.resolve()
        source = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    relaxed = sorted(n for n, level in verdict.levels.items() if level != "mandatory")
    lines = [f"Policy verdict: {verdict.pack} {verdict.version}, {len(policies)} policies, config: {source}"]
    if relaxed:
        lines.append(f"  not mandatory here: {', '.join(f'{n} ({verdict.levels[n]})' for n in relaxed)}")
    lines += [f"  warning: {w}" for w in verdict.warnings]
    by_policy: dict[tuple[str, str], dict[str, list[str]]] = {}
    for d in sorted(verdict.diagnostics, key=lambda d: (d.level != "mandatory", d.policy, d.resource)):
        by_policy.setdefault((d.level, d.policy), {}).setdefault(d.message, []).append(d.resource)
    for (level, policy), messages in by_policy.items():
        lines.append(f"  [{level}] {policy}")
        for message, resources in messages.items():
            shown = ", ".join(resources[:4]) + (f" and {len(resources) - 4} more" if len(resources) > 4 else "")
            lines.append(f"      {shown}: {message}")
        if policy in policies:
            lines.append(f"      fix: {policies[policy].remediation}")
    counts = {level: len(verdict.of_level(level)) for level in ("mandatory", "advisory")}
    status = "FAIL" if counts["mandatory"] else "PASS"
    lines.append(f"{status}: {counts['mandatory']} mandatory, {counts['advisory']} advisory violation(s)")
    return lines


def plan_document(stack: str, path: Path, graphs: dict, verdict, cost, clashes: list) -> dict:
    """The whole plan, machine-readable (`--json FILE`): resources with their facts, counts, cost, verdict.
    Secret values are never written: inputs are not included, only the facts the tree shows."""
    graph = graphs[False]
    return {
        "stack": stack,
        "stackFile": str(path),
        "resourceCount": {"update": sum(graph.counts().values()), "preview": sum(graphs[True].counts().values())},
        "countsByType": graph.counts(),
        "resources": [{"urn": r.urn, "type": r.type, "name": r.name, "parent": r.parent, "custom": r.custom,
                       "protect": r.protect, "fact": fact_of(r)}
                      for r in graph.resources if r.type != "pulumi:pulumi:Stack"],
        "cost": cost.to_dict(),
        "physicalNameCollisions": [{"identity": c.identity, "resources": [c.first.urn, c.second.urn]}
                                   for c in clashes],
        "policy": {
            "pack": verdict.pack, "version": verdict.version,
            "config": str(verdict.config_path) if verdict.config_path else None,
            "levels": verdict.levels, "warnings": verdict.warnings,
            "counts": {level: len(verdict.of_level(level)) for level in ("mandatory", "advisory")},
            "violations": [{"policy": d.policy, "level": d.level, "severity": d.severity, "urn": d.urn,
                            "resource": d.resource, "message": d.message,
                            "fix": verdict.policies[d.policy].remediation if d.policy in verdict.policies else ""}
                           for d in verdict.diagnostics],
        },
    }


def _caller_path(path: Path) -> Path:
    """`path` as the caller meant it: ./plan runs from the repository root, so a relative path is
    resolved against the caller's working directory (PLAN_CWD, which ./plan exports)."""
    return Path(os.environ.get("PLAN_CWD") or os.getcwd(), path).resolve()


def _stack_arg(value: str) -> tuple[str, Path]:
    """A stack name (Pulumi.<name>.yaml here) or a path to a stack file."""
    from offline.evaluate import stack_file

    if value.endswith((".yaml", ".yml")) or "/" in value:
        path = _caller_path(Path(value))
        return path.name.removeprefix("Pulumi.").rsplit(".", 1)[0], path
    return value, stack_file(value)


def _failed(err: Exception, what: str) -> int:
    """Report a failure in one line on stderr; return its exit code. Bad input (stack config, stack
    file, pack config) carries its own message and exits 2; anything else is `what` failing, exit 1."""
    from offline.analyzer import PackConfigError
    from offline.evaluate import ForeignError, StackFileError
    from stack_config import ConfigError

    if isinstance(err, (ConfigError, StackFileError, PackConfigError)):
        print(f"error: {err}", file=sys.stderr)
        return EXIT_CONFIG_ERROR
    name = err.type_name if isinstance(err, ForeignError) else type(err).__name__
    print(f"error: {what} failed: {name}: {err}", file=sys.stderr)
    return EXIT_PROGRAM_ERROR


class _Exit(Exception):
    """The plan stops with `code`; its one line is on stderr already."""

    def __init__(self, code: int):
        super().__init__(code)
        self.code = code


@contextlib.contextmanager
def _reported(what: str) -> Iterator[None]:
    """Any error inside becomes one line on stderr and an _Exit with its code (see _failed)."""
    try:
        yield
    except _Exit:
        raise
    except Exception as err:  # noqa: BLE001 - reported in one line
        raise _Exit(_failed(err, what)) from None


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Target:
    """One stack to evaluate: its name, its file and the config the CLI would hand the program."""

    stack: str
    path: Path
    raw_config: dict[str, str]
    secret_keys: set[str]

    def pack_env(self) -> dict[str, str]:
        """The environment the CLI gives a pack: the stack's config, project, stack, dry run."""
        return {"PULUMI_CONFIG": json.dumps(self.raw_config), "PULUMI_PROJECT": "platform",
                "PULUMI_STACK": self.stack, "PULUMI_DRY_RUN": "false"}


# How a graph is evaluated: (raw config, secret keys, stack, preview) -> Graph.
Evaluate = Callable[[dict[str, str], set[str], str, bool], "Graph"]


@dataclass(frozen=True)
class Engine:
    """Where a plan's graphs and verdict come from.

    ./plan uses the default, two cores at once: it spawns a pack process, imports the program's
    modules, forks a process that evaluates preview mode and evaluates update mode itself, handing
    each resource to the pack as it registers (offline/analyzer.py, Analysis). The tests pass their
    cached graphs (`evaluate`) and one pack for the session (`pack`): the same plan, in turn.
    """

    evaluate: Evaluate | None = None
    pack: PolicyPackProcess | None = None

    @property
    def forks(self) -> bool:
        return self.evaluate is None and self.pack is None


def _run(target: Target, *, preview: bool, listener: Listener | None = None) -> Graph:
    from offline.evaluate import run

    _progress(f"evaluating {target.path.name} ({'preview' if preview else 'update'} mode)…")
    return run(target.raw_config, target.secret_keys, target.stack, preview=preview, listener=listener)


def _fork_preview(target: Target) -> ForkedRun:
    """Preview mode in a forked process that shares this one's imports (offline/evaluate.py, ForkedRun)."""
    from offline.evaluate import ForkedRun, import_program_modules

    import_program_modules()
    _progress(f"evaluating {target.path.name} (preview mode, in a forked process)…")
    return ForkedRun(target.raw_config, target.secret_keys, target.stack, preview=True)


def _both_modes(target: Target, engine: Engine) -> dict[bool, Graph]:
    """Update and preview mode: at once in two processes, or in turn through `engine.evaluate`."""
    if engine.evaluate is not None:
        evaluate = engine.evaluate
        return {mode: evaluate(target.raw_config, target.secret_keys, target.stack, mode) for mode in (False, True)}
    preview = _fork_preview(target)
    try:
        return {False: _run(target, preview=False), True: preview.result()}
    finally:
        preview.close()


def _judge_forked(target: Target, pack_config: Path | None) -> tuple[dict[bool, Graph], Verdict]:
    """./plan: the pack starts first and loads its rules while this process imports the SDKs; it
    judges each update-mode resource as it registers, while the forked process evaluates preview
    mode. The program's errors are reported before the pack's, update mode's before preview's."""
    from offline.analyzer import PolicyPackProcess

    pack = PolicyPackProcess(env=target.pack_env())
    try:
        with _reported("the program"):
            preview = _fork_preview(target)
            try:
                _progress("running the policy pack (analyzer protocol)…")
                analysis = pack.begin(target.stack, False, pack_config, stack_config=target.raw_config)
                update = _run(target, preview=False, listener=analysis.resource)
                graphs = {False: update, True: preview.result()}
            finally:
                preview.close()
        with _reported("the policy pack"):
            return graphs, analysis.finish(update)
    finally:
        pack.close()


def _judge_in_turn(target: Target, pack_config: Path | None, engine: Engine) -> tuple[dict[bool, Graph], Verdict]:
    """The tests: both modes through `engine.evaluate`, then the whole update graph to `engine.pack`."""
    from offline.analyzer import PolicyPackProcess

    pack = engine.pack or PolicyPackProcess(env=target.pack_env())
    try:
        with _reported("the program"):
            graphs = _both_modes(target, engine)
        with _reported("the policy pack"):
            _progress("running the policy pack (analyzer protocol)…")
            return graphs, pack.analyze(graphs[False], pack_config, stack_config=target.raw_config)
    finally:
        if pack is not engine.pack:
            pack.close()


def render_plan(target: Target, graphs: dict[bool, Graph], verdict: Verdict, cost: Estimate) -> list[str]:
    """The plan as ./plan prints it: header, tree, counts by type, cost, verdict."""
    from offline.cost import render as render_cost

    graph = graphs[False]
    counts = graph.counts()
    total = sum(counts.values())
    width = max(len(t) for t in counts)
    return [f"Offline plan of stack '{target.stack}' from {target.path.name} (mocks; no cloud calls, no credentials)",
            f"Evaluated in update and preview mode: {total} and {sum(graphs[True].counts().values())} resources.",
            "", *render_tree(graph),
            "", f"Resources by type ({total}):", *(f"  {typ.ljust(width)}  {n:>3}" for typ, n in counts.items()),
            "", *render_cost(cost),
            "", *render_verdict(verdict)]


def _plan(target: Target, pack_config: Path | None, json_path: Path | None, engine: Engine) -> int:
    from offline.cost import estimate
    from offline.identity import collisions

    if engine.forks:
        graphs, verdict = _judge_forked(target, pack_config)
    else:
        graphs, verdict = _judge_in_turn(target, pack_config, engine)
    cost = estimate(graphs[False])
    clashes = collisions(graphs[False])
    print("\n".join(render_plan(target, graphs, verdict, cost)))
    if json_path:
        document = plan_document(target.stack, target.path, graphs, verdict, cost, clashes)
        json_path.write_text(json.dumps(document, indent=2) + "\n")
    if clashes:
        # Every mock registration succeeds; in the account the second create of one name fails.
        print(f"error: `pulumi up` would fail: {len(clashes)} physical name(s) claimed twice:", file=sys.stderr)
        for clash in clashes:
            print(f"  - {clash}", file=sys.stderr)
        return EXIT_PROGRAM_ERROR
    return EXIT_POLICY_VIOLATION if verdict.mandatory else EXIT_OK


def _diff(stack: str, path: Path, args: argparse.Namespace, engine: Engine) -> int:
    """`--diff OTHER`: both stacks in both modes; settings from preview mode, costs from update mode."""
    from offline.cost import estimate
    from offline.diff import cost_comparison, diff, render
    from offline.evaluate import read_stack_config

    sides: list[dict[bool, Graph]] = []
    with _reported("the program"):
        for name, file in ((stack, path), _stack_arg(args.diff)):
            if sides and name == stack:
                name += "-other"  # two files with one name: keep the sides apart
            raw_config, secret_keys = read_stack_config(file, name)
            sides.append(_both_modes(Target(name, file, raw_config, secret_keys), engine))
    result = diff(sides[0][True], sides[1][True])
    costs = (estimate(sides[0][False]), estimate(sides[1][False]))
    print("\n".join(render(result, costs)))
    if args.json:
        args.json.write_text(json.dumps({"diff": result.to_dict(), "costComparison": cost_comparison(result, *costs),
                                         "cost": {result.left: costs[0].to_dict(), result.right: costs[1].to_dict()}},
                                        indent=2) + "\n")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The command line of `./plan` (also what tests/test_readme.py checks the README against)."""
    parser = argparse.ArgumentParser(prog="plan", description=__doc__.splitlines()[0])
    parser.add_argument("stack", nargs="?", help="stack name: reads Pulumi.<stack>.yaml")
    parser.add_argument("--config", type=Path, help="a stack config file elsewhere (e.g. examples/)")
    parser.add_argument("--policy-pack-config", type=Path, metavar="FILE",
                        help="policy pack config, as for `pulumi preview --policy-pack-config` "
                             "(default: policies/config/<stack>.json if it exists)")
    parser.add_argument("--diff", metavar="OTHER",
                        help="instead of the plan, show what differs from OTHER (a stack name or a stack file)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the whole plan (or diff) as JSON to FILE")
    return parser


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.stack and not args.config:
        parser.error("name a stack (staging, production) or give --config PATH")
    for option in ("config", "policy_pack_config", "json"):
        if getattr(args, option):
            setattr(args, option, _caller_path(getattr(args, option)))
    return args


def _read_target(stack: str, path: Path, pack_config: Path | None) -> Target:
    from offline.analyzer import load_pack_config
    from offline.evaluate import read_stack_config

    with _reported("reading the stack"):
        if pack_config:
            load_pack_config(pack_config)  # a bad pack config fails before anything runs
        raw_config, secret_keys = read_stack_config(path, stack)
    return Target(stack, path, raw_config, secret_keys)


def main(argv: list[str] | None = None, engine: Engine | None = None) -> int:
    """./plan's command line; `engine` is for the tests (see Engine)."""
    args = _parse(argv)
    _progress("loading Pulumi SDKs…")
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    from offline.analyzer import default_config_path

    engine = engine or Engine()
    stack, path = _stack_arg(str(args.config)) if args.config else _stack_arg(args.stack)
    try:
        if args.diff:
            return _diff(stack, path, args, engine)
        pack_config = args.policy_pack_config or default_config_path(stack)
        return _plan(_read_target(stack, path, pack_config), pack_config, args.json, engine)
    except _Exit as stop:
        return stop.code


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:  # `./plan production | head` is fine
        sys.exit(EXIT_OK)

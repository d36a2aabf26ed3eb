"""`./plan STACK` evaluates a stack offline (as `pulumi up` and as `pulumi preview` would, under
Pulumi's mocks: no cloud calls, no credentials) and prints first a summary screen (the stack file
planned, resources by tier, the policy verdict, the monthly cost with what it leaves unpriced),
then the resource tree with the settings a reviewer checks, the counts by type, the cost lines
and the verdict's details.
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
EXIT_CODES = {
    EXIT_OK: "the plan is clean (advisory findings allowed), or a diff was printed",
    EXIT_PROGRAM_ERROR: "the program or the policy pack failed, or two resources claim one physical name",
    EXIT_CONFIG_ERROR: "bad stack configuration, stack file or policy pack config (one message, nothing evaluated)",
    EXIT_POLICY_VIOLATION: "the policy pack found mandatory violations",
}
# How many mandatory violations the first screen names before "and N more".
FIRST_VIOLATIONS = 3


def render_tree(graph) -> list[str]:
    from offline.evaluate import resource_order

    lines: list[str] = []
    stack = next(r for r in graph.resources if r.type == "pulumi:pulumi:Stack")

    def walk(urn: str, prefix: str) -> None:
        kids = sorted(graph.children(urn), key=resource_order)
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


def _pack_source(verdict) -> str:
    from offline.evaluate import ROOT

    if not verdict.config_path:
        return "pack defaults (production)"
    path = verdict.config_path.resolve()  # a file outside the repository is shown absolute
    return str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


def render_verdict(verdict) -> list[str]:
    policies = verdict.policies
    source = _pack_source(verdict)
    relaxed = sorted(n for n, level in verdict.levels.items() if level != "mandatory")
    lines = [f"Policy verdict: {verdict.pack} {verdict.version}, {len(policies)} policies, config: {source}"]
    if relaxed:
        lines.append(f"  not mandatory here: {', '.join(f'{n} ({verdict.levels[n]})' for n in relaxed)}")
    lines += [f"  warning: {w}" for w in verdict.warnings]
    by_policy: dict[tuple[str, str], dict[str, list[str]]] = {}
    for d in sorted(verdict.diagnostics, key=lambda d: (d.level != "mandatory", d.policy, d.resource, d.urn, d.message)):
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


def _stack_arg(value: str, is_path: bool = False) -> tuple[str, Path, str]:
    """A stack name (Pulumi.<name>.yaml here) or a path to a stack file: (stack, file, the file as
    the plan names it). A path is named as the user gave it; a stack's own file relative to where
    the user ran ./plan."""
    from offline.evaluate import stack_file

    if is_path or value.endswith((".yaml", ".yml")) or "/" in value:
        path = _caller_path(Path(value))
        return path.name.removeprefix("Pulumi.").rsplit(".", 1)[0], path, value
    path = stack_file(value)
    return value, path, os.path.relpath(path, os.environ.get("PLAN_CWD") or os.getcwd())


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
    shown: str = ""  # the file as the user named it (default: its name)

    @property
    def label(self) -> str:
        return self.shown or self.path.name

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

    _progress(f"evaluating {target.label} ({'preview' if preview else 'update'} mode)…")
    return run(target.raw_config, target.secret_keys, target.stack, preview=preview, listener=listener)


def _fork_preview(target: Target) -> ForkedRun:
    """Preview mode in a forked process that shares this one's imports (offline/evaluate.py, ForkedRun)."""
    from offline.evaluate import ForkedRun, import_program_modules

    import_program_modules()
    _progress(f"evaluating {target.label} (preview mode, in a forked process)…")
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


def tiers(graph) -> list[tuple[str, int, str]]:
    """(tier, resource count, its type) for each top-level component, in the tree's order, then one
    row for what sits directly under the stack (providers, values the tiers share). A tier counts itself
    and everything under it; the rows add up to the plan's resource count."""
    from offline.evaluate import resource_order

    stack = next(r for r in graph.resources if r.type == "pulumi:pulumi:Stack")
    below: dict[str, list] = {}
    for r in graph.resources:
        below.setdefault(r.parent, []).append(r)

    def size(urn: str) -> int:
        return sum(1 + size(kid.urn) for kid in below.get(urn, []))

    top = sorted(below.get(stack.urn, []), key=resource_order)
    names = [r.name for r in top if not r.custom]
    rows = [(r.name if names.count(r.name) == 1 else f"{r.name} ({r.type.rsplit(':', 1)[-1]})", 1 + size(r.urn),
             r.type) for r in top if not r.custom]
    loose = [r for r in top if r.custom]
    if loose:
        rows.append(("stack level", sum(1 + size(r.urn) for r in loose),
                     "providers and shared values: " + ", ".join(r.name for r in loose)))
    return rows


def verdict_line(verdict) -> list[str]:
    """The verdict in one line, and the first mandatory violations by policy and resource."""
    counts = {level: len(verdict.of_level(level)) for level in ("mandatory", "advisory")}
    status = "FAIL" if counts["mandatory"] else "PASS"
    lines = [f"Policy:    {status}: {counts['mandatory']} mandatory, {counts['advisory']} advisory violation(s) "
             f"({verdict.pack} {verdict.version}, config: {_pack_source(verdict)})"]
    by_policy: dict[str, list[str]] = {}
    for d in sorted(verdict.mandatory, key=lambda d: (d.policy, d.resource)):
        by_policy.setdefault(d.policy, []).append(d.resource)
    for policy, resources in list(by_policy.items())[:FIRST_VIOLATIONS]:
        shown = ", ".join(resources[:3]) + (f" and {len(resources) - 3} more" if len(resources) > 3 else "")
        lines.append(f"           [mandatory] {policy}: {shown}")
    if len(by_policy) > FIRST_VIOLATIONS:
        lines.append(f"           and {len(by_policy) - FIRST_VIOLATIONS} more mandatory policies: details at the end")
    return lines


def hostnames_line(graph) -> list[str]:
    """The site's public names the stack creates (the Dns component's records), and what www. does."""
    dns = [r for r in graph.resources if r.type == "platform:edge:Dns"]
    if not dns:
        return []
    names = list(dict.fromkeys(str(r.input("name")) for r in graph.children(dns[0].urn)
                               if r.type in ("aws:route53/record:Record", "cloudflare:index/dnsRecord:DnsRecord")))
    redirected = any(r.input("redirect") for r in graph.of_type("vercel:index/projectDomain:ProjectDomain"))
    www = "www. redirects to the apex" if redirected else "www. serves the site as is, no redirect"
    api = "; api. is created for every app, asked or not: components/_dns_zone.py HOSTS" if any(
        n.startswith("api.") for n in names) else ""
    return [f"Hostnames: {', '.join(names)} ({www}{api})"]


def first_screen(target: Target, graphs: dict[bool, Graph], verdict: Verdict, cost: Estimate) -> list[str]:
    """What a review asks first, before the tree: which file, the verdict, the cost, the names the
    site gets, how much by tier."""
    from offline.cost import headline

    graph = graphs[False]
    total = sum(graph.counts().values())
    rows = tiers(graph)
    width = max(len(name) for name, _, _ in rows)
    return [f"Offline plan of stack '{target.stack}' from {target.label} (mocks; no cloud calls, no credentials)",
            f"Evaluated in update and preview mode: {total} and {sum(graphs[True].counts().values())} resources.",
            *verdict_line(verdict),
            f"Cost:      {headline(cost)}",
            *hostnames_line(graph),
            f"Resources by tier ({total}):",
            *(f"  {name.ljust(width)}  {n:>4}  {what}" for name, n, what in rows)]


def render_plan(target: Target, graphs: dict[bool, Graph], verdict: Verdict, cost: Estimate,
                summary: bool = False) -> list[str]:
    """The plan as ./plan prints it: the first screen, then (unless `summary`) the tree, counts by
    type, cost and the verdict's details."""
    from offline.cost import render as render_cost

    head = first_screen(target, graphs, verdict, cost)
    if summary:
        return head
    counts = graphs[False].counts()
    width = max(len(t) for t in counts)
    return [*head,
            "", *render_tree(graphs[False]),
            "", f"Resources by type ({sum(counts.values())}):",
            *(f"  {typ.ljust(width)}  {n:>3}" for typ, n in counts.items()),
            "", *render_cost(cost),
            "", *render_verdict(verdict)]


def _plan(target: Target, pack_config: Path | None, args: argparse.Namespace, engine: Engine) -> int:
    from offline.cost import estimate
    from offline.identity import collisions

    if engine.forks:
        graphs, verdict = _judge_forked(target, pack_config)
    else:
        graphs, verdict = _judge_in_turn(target, pack_config, engine)
    cost = estimate(graphs[False])
    clashes = collisions(graphs[False])
    print("\n".join(render_plan(target, graphs, verdict, cost, summary=args.summary)))
    if args.json:
        document = plan_document(target.stack, target.path, graphs, verdict, cost, clashes)
        args.json.write_text(json.dumps(document, indent=2) + "\n")
    if clashes:
        # Every mock registration succeeds; in the account the second create of one name fails.
        print(f"error: `pulumi up` would fail: {len(clashes)} physical name(s) claimed twice:", file=sys.stderr)
        for clash in clashes:
            print(f"  - {clash}", file=sys.stderr)
        return EXIT_PROGRAM_ERROR
    return EXIT_POLICY_VIOLATION if verdict.mandatory else EXIT_OK


def diff_screen(targets: tuple[Target, Target], result, costs: tuple[Estimate, Estimate]) -> list[str]:
    """The first screen of `--diff`: both files, what differs by count, each side's cost headline
    and the difference of the totals with the unpriced resources it leaves out on each side."""
    from offline.cost import headline

    left, right = targets
    width = max(len(result.left), len(result.right))
    unpriced = [len(c.of_kind("unpriced")) for c in costs]
    delta = costs[1].total - costs[0].total
    caveat = (f"; NOT comparable in full: {unpriced[0]} unpriced in {result.left}, {unpriced[1]} in {result.right}"
              if any(unpriced) else "; every resource of both sides priced or free")
    return [f"Offline diff of stack '{result.left}' ({left.label}) → '{result.right}' ({right.label})",
            f"Resources: {len(result.only_right)} only in {result.right}, {len(result.only_left)} only in "
            f"{result.left}, {len(result.changed)} changed, {result.same} the same",
            *(f"Cost {name.ljust(width)}  {headline(c)}" for name, c in zip((result.left, result.right), costs,
                                                                           strict=True)),
            f"Cost delta: {delta:+,.2f} {costs[0].currency}/month fixed charges{caveat}"]


def _diff(first: tuple[str, Path, str], args: argparse.Namespace, engine: Engine) -> int:
    """`--diff OTHER`: both stacks in both modes; settings from preview mode, costs from update mode."""
    from offline.cost import estimate
    from offline.diff import cost_comparison, diff, render
    from offline.evaluate import read_stack_config

    sides: list[dict[bool, Graph]] = []
    targets: list[Target] = []
    with _reported("the program"):
        for name, file, shown in (first, _stack_arg(args.diff)):
            if sides and name == first[0]:
                name += "-other"  # two files with one name: keep the sides apart
            raw_config, secret_keys = read_stack_config(file, name)
            targets.append(Target(name, file, raw_config, secret_keys, shown))
            sides.append(_both_modes(targets[-1], engine))
    result = diff(sides[0][True], sides[1][True])
    costs = (estimate(sides[0][False]), estimate(sides[1][False]))
    screen = diff_screen((targets[0], targets[1]), result, costs)
    print("\n".join(screen if args.summary else [*screen, "", *render(result, costs)]))
    if args.json:
        args.json.write_text(json.dumps({"diff": result.to_dict(), "costComparison": cost_comparison(result, *costs),
                                         "cost": {result.left: costs[0].to_dict(), result.right: costs[1].to_dict()}},
                                        indent=2) + "\n")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The command line of `./plan` (also what tests/test_readme.py checks the README against)."""
    epilog = "exit codes:\n" + "\n".join(f"  {code}  {what}." for code, what in EXIT_CODES.items())
    parser = argparse.ArgumentParser(prog="plan", description=__doc__.split("\n\n")[0],
                                     epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stack", nargs="?", help="Stack name: plans Pulumi.<stack>.yaml of the repository.")
    parser.add_argument("--config", metavar="FILE",
                        help="Plan a stack file elsewhere (e.g. examples/<app>/Pulumi.production.yaml), a path "
                             "from where you run ./plan; the stack is named after the file.")
    parser.add_argument("--policy-pack-config", type=Path, metavar="FILE",
                        help="Policy pack config, as for `pulumi preview --policy-pack-config` "
                             "(default: policies/config/<stack>.json if it exists, else the pack's defaults).")
    parser.add_argument("--diff", metavar="OTHER",
                        help="Instead of the plan, show what differs from OTHER (a stack name or a stack file): "
                             "counts and cost of both sides first, then every resource and setting that differs.")
    parser.add_argument("--summary", action="store_true",
                        help="Print only the first screen (the plan's or the diff's); the exit code is the same.")
    parser.add_argument("--json", type=Path, metavar="FILE",
                        help="Also write the whole plan (or diff) as JSON to FILE.")
    return parser


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.stack and not args.config:
        parser.error("name a stack (staging, production) or give --config PATH")
    for option in ("policy_pack_config", "json"):
        if getattr(args, option):
            setattr(args, option, _caller_path(getattr(args, option)))
    return args


def _read_target(first: tuple[str, Path, str], pack_config: Path | None) -> Target:
    from offline.analyzer import load_pack_config
    from offline.evaluate import read_stack_config

    with _reported("reading the stack"):
        if pack_config:
            load_pack_config(pack_config)  # a bad pack config fails before anything runs
        stack, path, shown = first
        raw_config, secret_keys = read_stack_config(path, stack)
    return Target(stack, path, raw_config, secret_keys, shown)


def main(argv: list[str] | None = None, engine: Engine | None = None) -> int:
    """./plan's command line; `engine` is for the tests (see Engine)."""
    args = _parse(argv)
    _progress("loading Pulumi SDKs…")
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    from offline.analyzer import default_config_path

    engine = engine or Engine()
    first = _stack_arg(args.config, is_path=True) if args.config else _stack_arg(args.stack)
    try:
        if args.diff:
            return _diff(first, args, engine)
        pack_config = args.policy_pack_config or default_config_path(first[0])
        return _plan(_read_target(first, pack_config), pack_config, args, engine)
    except _Exit as stop:
        return stop.code


if __name__ == "__main__":
    try:
        code = main()
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:  # `./plan production | head` is fine
        # What the rest of stdout would have flushed at exit goes nowhere, not into a second
        # BrokenPipeError (docs.python.org/3/library/signal.html, "Note on SIGPIPE").
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = EXIT_OK
    sys.exit(code)

"""Benchmark: the policy pack on synthetic graphs of 1,000 to 10,000 resources.

`scripts/bench-pack [--sizes 1000,5000,10000] [--rounds 3] [--stack production]` evaluates the
stack once, replicates its resources into graphs of the given sizes (`replicate`: each copy renamed,
its references kept inside the copy) and judges each graph through the real pack process over the
analyzer protocol, as `./plan` does: Analyze every resource (at most PACK_WORKERS calls in flight),
then one AnalyzeStack. It prints the median of the rounds per size and the seconds per 1,000
resources: a constant ratio is linear time. A benchmark, not a test: nothing asserts a limit (the
tests judge a 2,000-resource graph without error, tests/test_pack_robustness.py).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import time
from dataclasses import dataclass, fields
from pathlib import Path

from offline.analyzer import PACK_WORKERS, PolicyPackProcess
from offline.evaluate import Graph, Resource

ROOT_TYPE = "pulumi:pulumi:Stack"


def replicate(graph: Graph, size: int) -> Graph:
    """At least `size` resources: whole copies of `graph`'s resources, as many as it takes. Copy `i`
    renames every URN with the suffix `-c<i>` and points its parent, dependencies, property
    dependencies and provider at the same copy, so each copy is a complete stack of its own (a
    bucket and its policy, a database and its alarms) and a compliant graph stays compliant. The
    one root Stack resource is shared."""
    roots = [r for r in graph.resources if r.type == ROOT_TYPE]
    body = [r for r in graph.resources if r.type != ROOT_TYPE]
    out = Graph(stack=graph.stack, preview=graph.preview, resources=list(roots))
    keep = {r.urn for r in roots}
    # Physical names and ids are unique in an account: each copy gets its own, or the rules that link
    # a bucket's settings by its literal name (s3.py) would see every copy write one bucket.
    physical = {v for r in body for v in (r.outputs.get("id"), r.inputs.get("bucket"), r.inputs.get("name"))
                if isinstance(v, str) and v}
    copy = 0
    while len(out.resources) < size:
        out.resources += [_renamed(r, copy, keep, physical) for r in body]
        copy += 1
    return out


def _suffixed(value, physical: set[str], suffix: str):
    if isinstance(value, str):
        return value + suffix if value in physical else value
    if isinstance(value, dict):
        return {k: _suffixed(v, physical, suffix) for k, v in value.items()}
    if isinstance(value, list):
        return [_suffixed(v, physical, suffix) for v in value]
    return value


def _renamed(r: Resource, copy: int, keep: set[str], physical: set[str]) -> Resource:
    def urn(u: str) -> str:
        return u if not u or u in keep else f"{u}-c{copy}"

    def provider(ref: str) -> str:  # "<urn>::<id>"
        if not ref:
            return ref
        prov_urn, _, ident = ref.rpartition("::")
        return f"{urn(prov_urn)}::{ident}"

    return dataclasses.replace(
        r, urn=urn(r.urn), name=f"{r.name}-c{copy}", parent=urn(r.parent),
        inputs=_suffixed(r.inputs, physical, f"-c{copy}"), outputs=_suffixed(r.outputs, physical, f"-c{copy}"),
        dependencies=[urn(d) for d in r.dependencies],
        property_dependencies={k: [urn(d) for d in v] for k, v in r.property_dependencies.items()},
        provider=provider(r.provider))


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far, from /proc (Linux): unlike wall time,
    it hardly moves with the machine's load, so it shows growth on a busy machine too."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime (proc(5))


@dataclass(frozen=True)
class Sample:
    analyze: float  # wall seconds: Analyze of every resource
    stack: float  # wall seconds: one AnalyzeStack
    pack_cpu: float  # the pack process's CPU seconds for both
    findings: int


def judge(pack: PolicyPackProcess, graph: Graph) -> Sample:
    analysis = pack.begin(graph.stack, graph.preview)
    analysis.known.update((r.urn, r) for r in graph.resources)
    cpu, start = cpu_seconds(pack.proc.pid), time.perf_counter()
    for r in graph.resources:
        analysis.resource(r)
    verdict = analysis.finish(graph, stack=False)
    analyzed = time.perf_counter()
    stack = pack.begin(graph.stack, graph.preview).finish(graph)
    done = time.perf_counter()
    return Sample(analyzed - start, done - analyzed, cpu_seconds(pack.proc.pid) - cpu,
                  len(verdict.diagnostics) + len(stack.diagnostics))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench-pack", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,5000,10000", help="graph sizes, comma-separated")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--stack", default="production")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]

    from offline.cliconfig import engine_config, read_stack_file
    from offline.evaluate import run, stack_file

    raw, secret_keys = engine_config(read_stack_file(stack_file(args.stack)), args.stack)
    base = run(raw, secret_keys, args.stack, preview=False)
    print(f"stack '{args.stack}': {len(base.resources)} resources, replicated; Analyze with at most "
          f"{PACK_WORKERS} calls in flight, then one AnalyzeStack; median of {args.rounds} rounds")
    rows: list[tuple[int, Sample]] = []
    with PolicyPackProcess() as pack:
        pack.policies()  # the pack has started and loaded its rules before the clock runs
        for wanted in sizes:
            graph = replicate(base, wanted)
            samples = [judge(pack, graph) for _ in range(args.rounds)]
            median = Sample(*(statistics.median(getattr(s, f.name) for s in samples)
                              for f in fields(Sample)))
            rows.append((len(graph.resources), median))
            print(f"  {len(graph.resources):>6} resources: Analyze {median.analyze:.2f} s, AnalyzeStack "
                  f"{median.stack:.2f} s, pack CPU {median.pack_cpu:.2f} s", file=sys.stderr, flush=True)
    print(f"\n{'resources':>9}  {'Analyze':>8}  {'AnalyzeStack':>12}  {'total':>7}  {'s per 1,000':>11}  "
          f"{'pack CPU':>8}  {'CPU s per 1,000':>15}  findings")
    for size, m in rows:
        total = m.analyze + m.stack
        print(f"{size:>9}  {m.analyze:8.2f}  {m.stack:12.2f}  {total:7.2f}  {total * 1000 / size:11.2f}  "
              f"{m.pack_cpu:8.2f}  {m.pack_cpu * 1000 / size:15.2f}  {m.findings:>8}")
    (n0, first), (n1, last) = rows[0], rows[-1]
    print(f"\nper-1,000 ratio, {n1:,} against {n0:,} resources (1.00 is linear): wall "
          f"{((last.analyze + last.stack) / n1) / ((first.analyze + first.stack) / n0):.2f}, "
          f"pack CPU {(last.pack_cpu / n1) / (first.pack_cpu / n0):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

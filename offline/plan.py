"""`./plan STACK` — evaluate a stack offline (update and preview mode), print its resource tree, its
monthly cost estimate and the policy pack's verdict.

Exit codes: 0 clean (advisory findings allowed); 1 the program or the policy pack failed, or two
resources claim one physical name (offline/identity.py);
2 bad stack configuration, stack file or policy pack config; 3 mandatory policy violations.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

EXIT_OK, EXIT_PROGRAM_ERROR, EXIT_CONFIG_ERROR, EXIT_POLICY_VIOLATION = 0, 1, 2, 3


def _fmt_lifecycle(r) -> str:
    parts = []
    for rule in r.input("rules") or []:
        prefix = (rule.get("filter") or {}).get("prefix") or "*"
        steps = [f"{t.get('storageClass')}@{t.get('days')}d" for t in rule.get("transitions") or []]
        if (rule.get("expiration") or {}).get("days"):
            steps.append(f"expire@{rule['expiration']['days']}d")
        if rule.get("noncurrentVersionExpiration"):
            steps.append(f"noncurrent@{rule['noncurrentVersionExpiration'].get('noncurrentDays')}d")
        if rule.get("abortIncompleteMultipartUpload"):
            steps.append(f"abort-mpu@{rule['abortIncompleteMultipartUpload'].get('daysAfterInitiation')}d")
        parts.append(f"{prefix} " + " ".join(steps))
    return "; ".join(parts)


def _fmt_instance(r) -> str:
    if r.input("replicateSourceDb"):
        where = r.input("region") or r.input("availabilityZone") or ""
        return f"replica {r.input('instanceClass')} in {where}"
    az = "multi-AZ" if r.input("multiAz") else f"single-AZ {r.input('availabilityZone')}"
    return (f"postgres {r.input('engineVersion')} {r.input('instanceClass')} {az}, "
            f"{r.input('allocatedStorage')}-{r.input('maxAllocatedStorage')} GiB gp3, "
            f"backups {r.input('backupRetentionPeriod')}d, KMS, deletion protection "
            f"{'on' if r.input('deletionProtection') else 'off'}")


def _fmt_cache(r) -> str:
    if r.input("clusterMode") == "enabled":
        shape = f"{r.input('numNodeGroups')} shards x {1 + int(r.input('replicasPerNodeGroup') or 0)} nodes"
    else:
        shape = f"{r.input('numCacheClusters')} node(s)"
    return (f"{r.input('engine')} {r.input('engineVersion')} {r.input('nodeType')} {shape}, "
            f"multi-AZ {'on' if r.input('multiAzEnabled') else 'off'}, TLS+AUTH, KMS, "
            f"snapshots {r.input('snapshotRetentionLimit')}d")


FACTS = {
    "aws:ec2/vpc:Vpc": lambda r: f"{r.input('cidrBlock')} {r.input('region') or ''}".strip(),
    "aws:ec2/subnet:Subnet": lambda r: f"{r.input('cidrBlock')} {r.input('availabilityZone')}",
    "aws:rds/instance:Instance": _fmt_instance,
    "aws:elasticache/replicationGroup:ReplicationGroup": _fmt_cache,
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": _fmt_lifecycle,
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": lambda r: r.input("description"),
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": lambda r: r.input("description"),
    "aws:rds/proxy:Proxy": lambda r: f"TLS required: {r.input('requireTls')}",
    "aws:cloudwatch/metricAlarm:MetricAlarm": lambda r: (
        f"{r.input('alarmDescription')} ({r.input('region') or 'stack region'}"
        f"{', silent' if r.input('actionsEnabled') is False else ''})"),
    "aws:cloudfront/distribution:Distribution": lambda r: (
        f"{', '.join(r.input('aliases') or [])}; {r.input('viewerCertificate')['minimumProtocolVersion']}, "
        f"{r.input('httpVersion')}, {'WAF attached' if r.input('webAclId') else 'no WAF'}"),
    "aws:wafv2/webAcl:WebAcl": lambda r: "; ".join(
        f"{x['name']} {x['statement']['rateBasedStatement']['limit']}/"
        f"{x['statement']['rateBasedStatement']['evaluationWindowSec']}s {next(iter(x['action']))}"
        for x in r.input("rules") if "rateBasedStatement" in x["statement"]),
    # A desired count of 0 only comes from a stack with no image yet (ecsMinCount is at least 1).
    "aws:ecs/service:Service": lambda r: (
        f"{r.input('desiredCount')} Fargate task(s), circuit breaker with rollback" if r.input("desiredCount")
        else "0 tasks: no image deployed yet (set ecsImageTag)"),
    "aws:lb/loadBalancer:LoadBalancer": lambda r: (
        f"deletion protection {'on' if r.input('enableDeletionProtection') else 'off'}, access logs on"),
    "aws:budgets/budget:Budget": lambda r: f"{r.input('limitAmount')} USD/month, alerts at 80/100/150 %",
    "vercel:index/project:Project": lambda r: (
        f"{r.input('framework')} on node {r.input('nodeVersion')}, regions "
        f"{', '.join((r.input('resourceConfig') or {}).get('functionDefaultRegions', []))}"),
    "vercel:index/projectEnvironmentVariable:ProjectEnvironmentVariable": lambda r: (
        f"{r.input('key')} → {', '.join(r.input('targets'))}{' (sensitive)' if r.input('sensitive') else ''}"),
    "cloudflare:index/dnsRecord:DnsRecord": lambda r: (
        f"{r.input('name')} {r.input('type')} {r.input('content')} ttl {r.input('ttl')}"
        f"{' proxied' if r.input('proxied') else ''}"),
    "cloudflare:index/zoneSetting:ZoneSetting": lambda r: f"{r.input('settingId')} = {r.input('value')}",
}


def fact_of(r) -> str:
    """The setting a reviewer checks first, or "" (also when it is still unknown, in preview)."""
    from offline.evaluate import UNKNOWN

    text = FACTS.get(r.type, lambda _r: "")(r)
    return "" if not text or UNKNOWN in str(text) else str(text)


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
    from offline.evaluate import StackFileError
    from stack_config import ConfigError

    if isinstance(err, (ConfigError, StackFileError, PackConfigError)):
        print(f"error: {err}", file=sys.stderr)
        return EXIT_CONFIG_ERROR
    print(f"error: {what} failed: {type(err).__name__}: {err}", file=sys.stderr)
    return EXIT_PROGRAM_ERROR


def _run(raw_config: dict, secret_keys: set, stack: str, path: Path, *, preview: bool):
    from offline.evaluate import run

    print(f"evaluating {path.name} ({'preview' if preview else 'update'} mode)…", file=sys.stderr, flush=True)
    return run(raw_config, secret_keys, stack, preview=preview)


def _diff(stack: str, path: Path, args) -> int:
    """`--diff OTHER`: both stacks in both modes; settings from preview mode, costs from update mode."""
    from offline.cost import estimate
    from offline.diff import diff, render
    from offline.evaluate import read_stack_config

    sides = []
    try:
        for name, file in ((stack, path), _stack_arg(args.diff)):
            if sides and name == stack:
                name += "-other"  # two files with one name: keep the sides apart
            raw_config, secret_keys = read_stack_config(file, name)
            sides.append({mode: _run(raw_config, secret_keys, name, file, preview=mode) for mode in (False, True)})
    except Exception as err:  # noqa: BLE001 - reported in one line
        return _failed(err, "the program")
    result = diff(sides[0][True], sides[1][True])
    costs = (estimate(sides[0][False]), estimate(sides[1][False]))
    print("\n".join(render(result, costs)))
    if args.json:
        args.json.write_text(json.dumps({"diff": result.to_dict(), "cost": {
            result.left: costs[0].to_dict(), result.right: costs[1].to_dict()}}, indent=2) + "\n")
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


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.stack and not args.config:
        parser.error("name a stack (staging, production) or give --config PATH")
    for option in ("config", "policy_pack_config", "json"):
        if getattr(args, option):
            setattr(args, option, _caller_path(getattr(args, option)))

    print("loading Pulumi SDKs…", file=sys.stderr, flush=True)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    from offline.analyzer import PolicyPackProcess, default_config_path, load_pack_config
    from offline.cost import estimate
    from offline.cost import render as render_cost
    from offline.evaluate import read_stack_config
    from offline.identity import collisions

    stack, path = _stack_arg(str(args.config)) if args.config else _stack_arg(args.stack)
    if args.diff:
        return _diff(stack, path, args)
    pack_config = args.policy_pack_config or default_config_path(stack)
    try:
        if pack_config:
            load_pack_config(pack_config)  # a bad pack config fails before anything runs
        raw_config, secret_keys = read_stack_config(path, stack)
    except Exception as err:  # noqa: BLE001 - reported in one line
        return _failed(err, "reading the stack")

    # The pack process starts now and loads its rules while the program runs; it judges the
    # update-mode graph in a thread while this one evaluates preview mode (two cores, one wall).
    # Its environment is the one the CLI gives a pack: the stack's config, project, stack, dry run.
    pack = PolicyPackProcess(env={"PULUMI_CONFIG": json.dumps(raw_config), "PULUMI_PROJECT": "platform",
                                  "PULUMI_STACK": stack, "PULUMI_DRY_RUN": "false"})
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            try:
                graphs = {False: _run(raw_config, secret_keys, stack, path, preview=False)}
                print("running the policy pack (analyzer protocol)…", file=sys.stderr, flush=True)
                judged = pool.submit(pack.analyze, graphs[False], pack_config, stack_config=raw_config)
                graphs[True] = _run(raw_config, secret_keys, stack, path, preview=True)
            except Exception as err:  # noqa: BLE001 - reported in one line
                return _failed(err, "the program")
            try:
                verdict = judged.result()
            except Exception as err:  # noqa: BLE001 - reported in one line
                return _failed(err, "the policy pack")
    finally:
        pack.close()

    graph = graphs[False]
    cost = estimate(graph)
    clashes = collisions(graph)
    counts = graph.counts()
    total = sum(counts.values())
    print(f"Offline plan of stack '{stack}' from {path.name} (mocks; no cloud calls, no credentials)")
    print(f"Evaluated in update and preview mode: {total} and "
          f"{sum(graphs[True].counts().values())} resources.\n")
    print("\n".join(render_tree(graph)))
    print(f"\nResources by type ({total}):")
    width = max(len(t) for t in counts)
    for typ, n in counts.items():
        print(f"  {typ.ljust(width)}  {n:>3}")
    print()
    print("\n".join(render_cost(cost)))
    print()
    print("\n".join(render_verdict(verdict)))
    if args.json:
        args.json.write_text(json.dumps(plan_document(stack, path, graphs, verdict, cost, clashes), indent=2) + "\n")
    if clashes:
        # Every mock registration succeeds; in the account the second create of one name fails.
        print(f"error: `pulumi up` would fail: {len(clashes)} physical name(s) claimed twice:", file=sys.stderr)
        for clash in clashes:
            print(f"  - {clash}", file=sys.stderr)
        return EXIT_PROGRAM_ERROR
    return EXIT_POLICY_VIOLATION if verdict.mandatory else EXIT_OK


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:  # `./plan production | head` is fine
        sys.exit(EXIT_OK)

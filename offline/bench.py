"""Benchmark: the offline plan's wall time against the bare import time of the SDKs it uses.

`scripts/bench-plan [STACK] [--rounds N]` first runs the plan once in-process to learn which SDK
modules it imports (pulumi, pulumi_aws.<service>, pulumi_random, ...), then alternates, N rounds,
three fresh processes: `python -c pass` (interpreter start), a process that only imports those
modules (with the collector off, as the plan does), and `python -m offline.plan STACK`. It prints the medians and the ratio plan / import.
A benchmark, not a test: the numbers depend on the machine, so nothing here asserts a limit.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from offline.evaluate import ROOT

SDKS = ("pulumi", "pulumi_aws", "pulumi_random", "pulumiverse_vercel", "pulumi_cloudflare")

DISCOVER = """
import json, runpy, sys, warnings
sys.argv = ["plan", {stack!r}]
sys.stdout = open({devnull!r}, "w")
try:
    runpy.run_module("offline.plan", run_name="__main__")
except SystemExit:
    pass
# pulumi_aws registers every service as a lazy module; count only those the plan really loaded
used = sorted(m for m, mod in sys.modules.items()
              if m.split(".")[0] in {sdks!r} and type(mod).__name__ != "_LazyModule")
open({out!r}, "w").write(json.dumps(used))
"""

# With the collector off, as ./plan imports them (offline/evaluate.py import_program_modules): the
# fastest these imports go, so the ratio is what the plan adds to them.
IMPORT_ONLY = """
import gc, importlib, json, warnings
gc.disable()
warnings.filterwarnings("ignore", category=DeprecationWarning)
for name in json.load(open({path!r})):
    importlib.import_module(name)
"""


def _wall(cmd: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    took = time.perf_counter() - start
    if done.returncode not in (0, 3):  # 3: the stack has mandatory violations; still a full plan
        sys.exit(f"bench: {' '.join(cmd[:4])} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return took


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench-plan", description=__doc__.splitlines()[0])
    parser.add_argument("stack", nargs="?", default="production")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        modules = Path(tmp) / "modules.json"
        code = DISCOVER.format(stack=args.stack, devnull="/dev/null", sdks=SDKS, out=str(modules))
        subprocess.run([py, "-c", code], cwd=ROOT, check=True, stderr=subprocess.DEVNULL)
        used = json.loads(modules.read_text())
        packages = sorted({m for m in used if "." not in m or m.count(".") == 1 and not m.split(".")[1].startswith("_")})
        print(f"plan of '{args.stack}' imports {len(used)} SDK modules; top levels: "
              f"{', '.join(p for p in packages if '.' not in p)}")
        print(f"service modules: {', '.join(p for p in packages if '.' in p and p.startswith('pulumi_aws.'))}")
        runs: dict[str, list[float]] = {"python -c pass": [], "import the same SDK modules": [],
                                        f"./plan {args.stack}": []}
        commands = [[py, "-c", "pass"], [py, "-c", IMPORT_ONLY.format(path=str(modules))],
                    [py, "-m", "offline.plan", args.stack]]
        for i in range(args.rounds):
            for samples, cmd in zip(runs.values(), commands, strict=True):
                samples.append(_wall(cmd))
            print(f"round {i + 1}/{args.rounds}: " + ", ".join(f"{s[-1]:.2f} s" for s in runs.values()),
                  file=sys.stderr, flush=True)
    medians = {label: statistics.median(s) for label, s in runs.items()}
    width = max(map(len, medians))
    print(f"\nmedian wall time of {args.rounds} rounds (fresh processes, same machine, interleaved):")
    for label, value in medians.items():
        print(f"  {label.ljust(width)}  {value:6.2f} s   (min {min(runs[label]):.2f}, max {max(runs[label]):.2f})")
    base, plan = list(medians.values())[1:]
    print(f"\nratio plan / SDK import: {plan / base:.2f}  (the plan's own work: {plan - base:.2f} s: "
          "update mode here and preview mode in a forked process, the policy pack, cost)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

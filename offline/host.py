"""`python -m offline.host --stack NAME --dry_run BOOL --out FILE`: run the program in a fresh process
the way the Python language host starts it, with config only in the environment.

pythonLanguageHost.Run (sdk/python/cmd/pulumi-language-python/main.go) starts a new interpreter
with PULUMI_CONFIG and PULUMI_CONFIG_SECRET_KEYS set and passes --stack and --dry_run among its
arguments (constructArguments); the monitor is this harness's mocks. The graph is written to FILE
as JSON, so a test can compare it with the in-process evaluation that ./plan and the tests use.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="offline.host")
    ap.add_argument("--stack", required=True)
    ap.add_argument("--dry_run", choices=("true", "false"), default="false")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)

    from offline.evaluate import run_program

    graph = run_program(args.stack, preview=args.dry_run == "true")
    args.out.write_text(json.dumps({"resources": [dataclasses.asdict(r) for r in graph.resources],
                                    "stack_outputs": graph.stack_outputs}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

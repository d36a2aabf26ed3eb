"""The command line every generated file shares (docs/configuration.md, docs/policies.md,
policies/_taggable.py): rewrite the file, or with --check exit 1 when the committed one is stale."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None, *, prog: str, description: str, path: Path,
         render: Callable[[], str]) -> int:
    command = f".venv/bin/python -m {prog}"
    shown = path.relative_to(ROOT)
    parser = argparse.ArgumentParser(prog=command, description=description)
    parser.add_argument("--check", action="store_true", help=f"exit 1 when {shown} is stale")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if not path.exists() or path.read_text() != text:
            print(f"{shown} is stale: run {command} and commit the result", file=sys.stderr)
            return 1
        return 0
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    print(f"wrote {shown} ({len(text.splitlines())} lines)")
    return 0

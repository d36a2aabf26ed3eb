"""The part of requirements.lock the ops image installs: the packages `python -m ops job` imports (ROOTS)
and everything the lock says they need, with the lock's hashes, for `pip install --require-hashes`.

The lock is the program's (pulumi, its providers, grpcio: ~300 MB the job never imports); the image
takes its pins instead of keeping a second lock. uv writes who needs each package under it
(`# via NAME`), so the closure is read from the lock itself; pip refuses the file if a package it
needs is missing (--require-hashes), and tests/test_ops_job.py checks the closure against the
installed metadata. Standard library only: it runs in the image's build stage.

    python ops/image_requirements.py requirements.lock > ops.lock
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOTS = ("boto3", "psycopg", "psycopg-binary")  # psycopg[binary]: the driver and its own libpq build
_ENTRY = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==")


def entries(lock: str) -> dict[str, tuple[str, set[str]]]:
    """{normalised name: (the entry's text, the names it is required by)} of a uv/pip-compile lock."""
    out: dict[str, tuple[str, set[str]]] = {}
    name = ""
    for line in lock.splitlines():
        m = _ENTRY.match(line)
        if m:
            name = _normal(m["name"])
            out[name] = (line, set())
        elif name and line.startswith("    ") and not line.strip().startswith("#"):
            out[name] = (out[name][0] + "\n" + line, out[name][1])  # a --hash continuation line
        elif name and line.startswith("    #   ") or name and line.startswith("    # via "):
            via = line.strip().removeprefix("#").strip().removeprefix("via").strip()
            if via and not via.startswith("-"):  # "-r requirements.txt", "-c requirements-dev.lock"
                out[name][1].add(_normal(via))
    return out


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()  # PEP 503


def subset(lock: str, roots: tuple[str, ...] = ROOTS) -> list[str]:
    """The entries of `roots` and of every package required, through the lock's `via`, by one of them."""
    found = entries(lock)
    missing = [r for r in roots if _normal(r) not in found]
    if missing:
        raise SystemExit(f"image_requirements: {', '.join(missing)} not in the lock")
    keep = {_normal(r) for r in roots}
    while True:
        more = {n for n, (_, via) in found.items() if n not in keep and via & keep}
        if not more:
            return [found[n][0] for n in sorted(keep)]
        keep |= more


if __name__ == "__main__":
    print("\n".join(subset(Path(sys.argv[1]).read_text())))

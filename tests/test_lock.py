"""The hash-pinned locks (scripts/lock) agree with the ranges people edit (requirements*.txt)."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
LOCKS = {  # lock -> the range file it is compiled from
    "requirements-dev.lock": "requirements-dev.txt",
    "requirements.lock": "requirements.txt",
    "policies/requirements.lock": "policies/requirements.txt",
}
_PIN = re.compile(r"^(?P<name>[A-Za-z0-9._-]+)==(?P<version>[^\s;\\]+)\s*(?:;\s*(?P<marker>[^\\]+?))?\s*\\?$")


def pins(lock: str) -> dict[str, tuple[str, str | None, int]]:
    """name -> (version, marker, number of hashes) as uv pip compile writes them."""
    out: dict[str, tuple[str, str | None, int]] = {}
    current = None
    for line in (ROOT / lock).read_text().splitlines():
        if m := _PIN.match(line):
            current = canonicalize_name(m["name"])
            out[current] = (m["version"], m["marker"], 0)
        elif current and line.strip().startswith("--hash=sha256:"):
            version, marker, hashes = out[current]
            out[current] = (version, marker, hashes + 1)
    return out


def ranges(path: str) -> list[Requirement]:
    reqs = []
    for line in (ROOT / path).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r "):
            reqs += ranges(str((ROOT / path).parent.relative_to(ROOT) / line[3:].strip()))
        elif line:
            reqs.append(Requirement(line))
    return reqs


@pytest.mark.parametrize("lock", LOCKS)
def test_every_range_is_pinned_inside_it_with_hashes(lock):
    locked = pins(lock)
    assert locked, f"{lock} pins nothing"
    stale = [f"{r} (locked {locked.get(canonicalize_name(r.name), ('nothing',))[0]})" for r in ranges(LOCKS[lock])
             if canonicalize_name(r.name) not in locked
             or not r.specifier.contains(locked[canonicalize_name(r.name)][0], prereleases=True)]
    assert not stale, f"{lock} is stale for {stale}: run scripts/lock"
    unhashed = [name for name, (_, _, hashes) in locked.items() if hashes == 0]
    assert not unhashed, f"pins without --hash in {lock}: {unhashed}"
    assert "scripts/lock" in (ROOT / lock).read_text().split("\n", 3)[1], "the header names the command that rewrites it"


def test_the_three_locks_pin_the_same_versions():
    dev = pins("requirements-dev.lock")
    for lock in ("requirements.lock", "policies/requirements.lock"):
        differ = {n: (v, dev.get(n, ("missing",))[0]) for n, (v, _, _) in pins(lock).items()
                  if dev.get(n, (None,))[0] != v}
        assert not differ, f"{lock} differs from requirements-dev.lock: {differ}"


def test_the_venv_is_the_dev_lock():
    """scripts/bootstrap.sh installs exactly the lock: every pin that applies here is what is installed."""
    wrong = {}
    for name, (version, marker, _) in pins("requirements-dev.lock").items():
        if marker and not Marker(marker).evaluate():
            continue
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = None
        if installed != version:
            wrong[name] = (version, installed)
    assert not wrong, f"installed versions differ from requirements-dev.lock (locked, installed): {wrong}"


FAKE_PYTHON = """#!/bin/bash
# A stand-in interpreter: logs its calls; `-m venv DIR` makes a venv naming it, `-m pip` installs nothing.
echo "$0 $*" >> "$LOG"
case "$*" in
  "-S -c"*) realpath "$0" ;;
  "-m venv "*) mkdir -p "$3/bin" && cp "$0" "$3/bin/python" && printf 'executable = %s\\n' "$(realpath "$0")" > "$3/pyvenv.cfg" ;;
esac
"""


def test_bootstrap_remakes_a_venv_another_interpreter_made_and_keeps_its_own(tmp_path):
    """scripts/bootstrap.sh: $PYTHON picks the interpreter; a .venv made by another one (pyvenv.cfg's
    `executable`) is made anew with it, then the lock is installed; the next run changes nothing; a
    PYTHON that does not run stops it before anything is removed."""
    import subprocess

    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "bootstrap.sh").write_text((ROOT / "scripts" / "bootstrap.sh").read_text())
    (tmp_path / "requirements-dev.lock").write_text("# empty\n")
    pythons = {}
    for name in ("old", "new"):
        pythons[name] = tmp_path / name / "python3.11"
        pythons[name].parent.mkdir()
        pythons[name].write_text(FAKE_PYTHON)
        pythons[name].chmod(0o755)
    log = tmp_path / "log"

    def bootstrap(python: Path, code: int = 0) -> str:
        done = subprocess.run(["bash", "-c", f"source {tmp_path}/scripts/bootstrap.sh"], capture_output=True,
                              text=True, env={"PATH": "/usr/bin:/bin", "PYTHON": str(python), "LOG": str(log)})
        assert done.returncode == code, done.stderr
        return done.stderr

    venv = tmp_path / ".venv"
    assert "creating" in bootstrap(pythons["old"]) and str(pythons["old"]) in (venv / "pyvenv.cfg").read_text()
    assert bootstrap(pythons["old"]) == ""  # made by this interpreter, lock installed: nothing to do
    said = bootstrap(pythons["new"])
    assert f"making {venv} anew with {pythons['new']} (it was made with {pythons['old']})" in said
    assert str(pythons["new"]) in (venv / "pyvenv.cfg").read_text()
    assert f"{venv}/bin/python -m pip install" in log.read_text().splitlines()[-1]  # the stamp went with the venv
    assert bootstrap(pythons["new"]) == ""
    # a PYTHON that does not run is an error that names it, and the venv that works stays
    assert "cannot run python3.99: set PYTHON" in bootstrap(Path("python3.99"), code=1)
    assert str(pythons["new"]) in (venv / "pyvenv.cfg").read_text()

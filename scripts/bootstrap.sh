# Sourced by ./plan, ./run-tests and scripts/lock: make .venv and keep it in step with the lock.
# requirements*.txt hold the ranges people edit; requirements-dev.lock (scripts/lock) pins every
# package, transitive ones included, with hashes, and pip refuses anything that does not match.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
# The interpreter: $PYTHON when set; else the distribution's python3.11 when it has venv (Debian builds
# it with PGO and LTO into one static binary: the test suite takes ~12% less CPU under it than under a
# default source build such as pyenv's, an unprofiled shared libpython); else python3 from PATH.
# (Debian's ensurepip, which venv needs, comes with python3.11-venv.)
if [ -n "${PYTHON:-}" ]; then PY="$PYTHON"
elif [ -x /usr/bin/python3.11 ] && [ -f /usr/lib/python3.11/ensurepip/__init__.py ]; then PY=/usr/bin/python3.11
else PY=python3; fi
stamp="$VENV/.requirements.sha256"
want="$(sha256sum < "$ROOT/requirements-dev.lock" | cut -d' ' -f1)"
# make_venv DIR: a venv of $PY at DIR; one made by another interpreter (an older bootstrap, another
# $PYTHON) is made anew.
make_venv() {
  local made_by want_exe
  # First make sure $PY runs: a mistyped PYTHON must not cost the venv that works.
  if ! want_exe="$("$PY" -S -c 'import os, sys; print(os.path.realpath(sys.executable))' 2>/dev/null)" \
      || [ -z "$want_exe" ]; then
    echo "bootstrap: cannot run $PY: set PYTHON to a Python 3.11 interpreter (or unset it)" >&2
    exit 1
  fi
  made_by="$(sed -n 's/^executable = //p' "$1/pyvenv.cfg" 2>/dev/null || true)"
  if [ -x "$1/bin/python" ] && [ -n "$made_by" ] && [ "$(realpath "$made_by")" != "$want_exe" ]; then
    echo "bootstrap: making $1 anew with $PY (it was made with $made_by)" >&2
    rm -rf "$1"
  fi
  if [ ! -x "$1/bin/python" ]; then
    echo "bootstrap: creating $1 with $PY" >&2
    "$PY" -m venv "$1"
  fi
}
make_venv "$VENV"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "bootstrap: installing requirements (first run takes about a minute)" >&2
  if ! "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
      --require-hashes -r "$ROOT/requirements-dev.lock" > "$VENV/pip.log" 2>&1; then
    tail -n 40 "$VENV/pip.log" >&2
    echo "bootstrap: pip install failed (full log: $VENV/pip.log)" >&2
    exit 1
  fi
  echo "$want" > "$stamp"
fi

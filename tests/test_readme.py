"""Every command the README and the docs/ pages show must run as written: the fenced bash (and
cron) blocks are read line by line and each command is checked as far as this machine can check it offline.

- `./plan …` and `python -m offline.plan …` run (exit 0); `$ ./plan …` in transcripts and every
  `python -m ops …` are parsed by the argparse of the command they call.
- `pulumi config set KEY VALUE` names a key of Pulumi.yaml; the `pulumi config set` lines of one
  block for one stack, applied to the committed stack file as the CLI stores them, pass
  stack_config (no ConfigError).
- `pulumi preview|up` names a stack file, a policy pack and a pack config that exist and load;
  `pulumi install` runs where a project or policy pack is; `pulumi stack output` names an output.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from conftest import EXAMPLES, ROOT, STACKS, config_of, example_graph, stack_file, stack_graph

import stack_config
from offline.analyzer import load_pack_config
from offline.cliconfig import read_stack_file
from offline.plan import build_parser as plan_parser
from ops.__main__ import _parser as ops_parser

README = ROOT / "README.md"
# The README and the reference pages it links (the generated ones hold no commands, but are read too).
DOCS = [README, *sorted((ROOT / "docs").glob("*.md"))]
SEPARATORS = {"&&", "||", ";", "|", "(", ")"}
FENCE = re.compile(r"^(?P<indent> *)```(?P<lang>\w*)\s*$")


@dataclass
class Command:
    block: str
    line: str
    argv: list[str]
    cwd: Path


@dataclass
class Block:
    index: str
    lang: str
    lines: list[str] = field(default_factory=list)


def blocks() -> list[Block]:
    out: list[Block] = []
    for doc in DOCS:
        current: Block | None = None
        count = 0
        for line in doc.read_text().splitlines():
            fence = FENCE.match(line)
            if fence and current is None:
                current = Block(f"{doc.relative_to(ROOT)} block {count}", fence["lang"])
                count += 1
            elif fence:
                out.append(current)
                current = None
            elif current is not None:
                current.lines.append(line.strip())
    return out


def _split(text: str) -> list[list[str]]:
    """A shell line into simple commands (split at && || ; | and subshell parentheses), without
    redirections (`>> file`, `2>&1`)."""
    lexer = shlex.shlex(text, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    commands, current = [], []
    tokens = iter(lexer)
    for token in tokens:
        if token in SEPARATORS:
            if current:
                commands.append(current)
            current = []
        elif re.fullmatch(r"[<>&]+", token):
            if current and current[-1].isdigit():
                current.pop()  # the descriptor of `2>&1`
            next(tokens, None)
        else:
            current.append(token)
    if current:
        commands.append(current)
    return commands


def _lines(block: Block) -> list[str]:
    """Shell lines: a trailing backslash continues a line, and so does an open quote."""
    out, pending = [], ""
    for line in block.lines:
        pending = f"{pending}\n{line}" if pending else line
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        try:
            shlex.split(pending, comments=True)
        except ValueError:  # a quoted string runs on
            continue
        out.append(pending)
        pending = ""
    assert not pending, f"{block.index} ends inside a command: {pending!r}"
    return out


def commands(lang: str) -> list[Command]:
    """Commands of every `lang` block (bash: whole lines, joined at a trailing backslash; cron: the
    command after the five time fields; text: `$ ` lines of transcripts)."""
    out = []
    for block in blocks():
        if block.lang != lang:
            continue
        for line in (_lines(block) if lang == "bash" else block.lines):
            if lang == "cron":
                if not line or line.startswith("#"):
                    continue
                line = line.split(None, 5)[5]
            elif lang == "text":
                if not line.startswith("$ "):
                    continue
                line = line[2:]
            cwd = ROOT
            for argv in _split(line):
                if argv[0] == "cd" and len(argv) == 2:
                    # the repo is where the README's examples start (/opt/platform in the cron lines)
                    cwd = ROOT if argv[1].startswith("/") else cwd / argv[1]
                    continue
                out.append(Command(block.index, line, argv, cwd))
    return out


def _python_module(argv: list[str]) -> tuple[str, list[str]] | None:
    if len(argv) >= 3 and re.fullmatch(r"(\S*/)?python3?", argv[0]) and argv[1] == "-m":
        return argv[2], argv[3:]
    return None


ALL = commands("bash") + commands("cron") + commands("text")


def test_the_readme_has_the_blocks_this_test_reads():
    argv0 = {c.argv[0] for c in ALL}
    assert {"./plan", "pulumi", "./run-tests"} <= argv0
    assert any(_python_module(c.argv) and _python_module(c.argv)[0] == "ops" for c in ALL)


@pytest.mark.parametrize("command", [c for c in commands("bash") if c.argv[0] == "./plan"
                                     or (_python_module(c.argv) or ("",))[0] == "offline.plan"],
                         ids=lambda c: c.line)
def test_every_plan_command_in_a_bash_block_runs(command, run_plan):
    args = command.argv[1:] if command.argv[0] == "./plan" else _python_module(command.argv)[1]
    # offline.plan's entry point in this process, from the block's directory (the script's own
    # bootstrap and exit codes: tests/test_plan.py runs it end to end).
    result = run_plan(*args, caller_cwd=command.cwd)
    assert result.returncode == 0, result.stderr[-2000:]


def test_every_plan_and_ops_command_parses():
    checked = 0
    for c in ALL:
        module = _python_module(c.argv)
        if c.argv[0] == "./plan" or (module and module[0] == "offline.plan"):
            args = c.argv[1:] if c.argv[0] == "./plan" else module[1]
            try:
                plan_parser().parse_args(args)
            except SystemExit:
                pytest.fail(f"{c.block}: `{c.line}` is not a valid ./plan command line")
        elif module and module[0] == "ops":
            try:
                ops_parser().parse_args(module[1])
            except SystemExit:
                pytest.fail(f"{c.block}: `{c.line}` is not a valid python -m ops command line")
        elif c.argv[0] in ("./run-tests", "scripts/bench-plan"):
            assert os.access(ROOT / c.argv[0], os.X_OK), c.line
        else:
            continue
        checked += 1
    assert checked >= 8


@dataclass
class ConfigSet:
    key: str  # without the project namespace
    namespace: str
    value: str
    index: int | None  # --path 'key[i]'
    secret: bool
    stack: str | None


def _config_set(argv: list[str]) -> ConfigSet:
    args = argv[3:]
    flags = {a for a in args if a in ("--path", "--secret", "--plaintext")}
    stack = None
    if "--stack" in args:
        i = args.index("--stack")
        stack = args[i + 1]
        args = args[:i] + args[i + 2:]
    key, value = [a for a in args if a not in flags]
    index = None
    if "--path" in flags and (m := re.fullmatch(r"(.+)\[(\d+)\]", key)):
        key, index = m[1], int(m[2])
    namespace, _, name = key.rpartition(":")
    return ConfigSet(name, namespace or "platform", value, index, "--secret" in flags, stack)


CONFIG_SETS = [(c, _config_set(c.argv)) for c in commands("bash") if c.argv[:3] == ["pulumi", "config", "set"]]


def test_every_config_set_names_a_declared_key():
    declared = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]
    assert CONFIG_SETS, "the README shows no `pulumi config set`"
    for c, s in CONFIG_SETS:
        assert s.namespace == "platform", f"`{c.line}`: only platform: keys are read (see 'Using it with the CLI')"
        assert s.key in declared, f"{c.block}: `{c.line}` sets {s.key!r}, which Pulumi.yaml does not declare"
        if s.index is not None:
            assert declared[s.key]["type"] == "array", c.line


def test_each_blocks_config_sets_give_a_valid_stack():
    by_stack: dict[tuple[int, str], list[ConfigSet]] = {}
    for c, s in CONFIG_SETS:
        assert s.stack, f"`{c.line}`: name the stack (--stack), as every README example does"
        by_stack.setdefault((c.block, s.stack), []).append(s)
    for (block, stack), sets in by_stack.items():
        current = read_stack_file(stack_file(stack))
        overrides: dict[str, object] = {}
        for s in sets:
            if s.index is None:
                overrides[s.key] = s.value
                continue
            # `--path 'key[i]'` writes one element of the array the stack holds (or a new one).
            full = f"platform:{s.key}"
            items = list(overrides.get(s.key) or (yaml.safe_load(current[full].text) if full in current else []))
            items[s.index:s.index + 1] = [s.value]
            overrides[s.key] = items
        raw, secret_keys = config_of(stack, secret=tuple(s.key for s in sets if s.secret), **overrides)
        try:
            stack_config.load(raw, secret_keys, stack)
        except stack_config.ConfigError as err:
            pytest.fail(f"{block}: its `pulumi config set` lines for {stack} give:\n{err}")


def _option(argv: list[str], name: str) -> str | None:
    return argv[argv.index(name) + 1] if name in argv else None


def test_pulumi_commands_name_what_exists():
    exported = {name for g in [*(stack_graph(s) for s in STACKS), *(example_graph(e) for e in EXAMPLES)]
                for name in g.stack_outputs}
    checked = set()
    for c in commands("bash"):
        if c.argv[0] != "pulumi" or len(c.argv) < 2:
            continue
        verb = c.argv[1]
        where = f"{c.block}: `{c.line}`"
        if stack := _option(c.argv, "--stack"):
            assert stack_file(stack).is_file(), f"{where}: no Pulumi.{stack}.yaml"
        if verb in ("preview", "up"):
            pack = _option(c.argv, "--policy-pack")
            assert pack and (c.cwd / pack / "PulumiPolicy.yaml").is_file(), f"{where}: runs without the policy pack"
            if config := _option(c.argv, "--policy-pack-config"):
                load_pack_config(c.cwd / config)
            checked.add(verb)
        elif verb == "install":
            # the CLI installs for the policy pack when run inside it (pkg/cmd/pulumi/install:
            # shouldInstallPolicyPackDependencies), else for the project
            assert (c.cwd / "PulumiPolicy.yaml").is_file() or (c.cwd / "Pulumi.yaml").is_file(), where
            checked.add(f"install:{c.cwd.relative_to(ROOT)}")
        elif c.argv[1:3] == ["stack", "output"]:
            names = [a for a in c.argv[3:] if not a.startswith("-") and a != _option(c.argv, "--stack")]
            assert set(names) <= exported, f"{where}: {set(names) - exported} is not a stack output"
    assert {"preview", "up", "install:policies"} <= checked


def test_the_policy_pack_venv_is_made_where_the_readme_says():
    # `--policy-pack policies` never installs a local pack's dependencies (pulumi/pulumi
    # pkg/engine/update.go: local packs go straight to loadPolicyAnalyzer); only packs from Pulumi
    # Cloud are installed (pkg/engine/policypacks.go installPolicyPack).
    runtime = yaml.safe_load((ROOT / "policies" / "PulumiPolicy.yaml").read_text())["runtime"]
    venv = runtime["options"]["virtualenv"]
    text = "\n".join(c.line for c in commands("bash"))
    assert "(cd policies && pulumi install)" in text
    assert f"python3 -m venv policies/{venv}" in text
    assert f"policies/{venv}/bin/pip install --require-hashes -r policies/requirements.lock" in text
    # the program's venv (Pulumi.yaml runtime.options.virtualenv) from its lock, as CI tested it
    project_venv = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["runtime"]["options"]["virtualenv"]
    assert f"python3 -m venv {project_venv} && {project_venv}/bin/pip install --require-hashes -r requirements.lock" in text
    assert "The CLI creates policies/venv" not in (ROOT / "policies" / "PulumiPolicy.yaml").read_text()
    assert "The first run creates `policies/venv`" not in README.read_text()


def test_the_drift_role_policy_covers_what_refresh_reads():
    # drift runs `pulumi preview --refresh`: the provider reads each SecretVersion back with
    # GetSecretValue (terraform-provider-aws secret_version.go resourceSecretVersionRead), which
    # needs kms:Decrypt on the secret's customer-managed key. The README's inline policy scopes
    # both by the Project and Stack tags, so every secret and key of a stack must carry them.
    block = next(b for b in blocks() if b.lang == "json" and "RefreshSecretVersions" in "".join(b.lines))
    statements = {s["Sid"]: s for s in json.loads("\n".join(block.lines))["Statement"]}
    secrets, keys = statements["RefreshSecretVersions"], statements["DecryptThoseSecrets"]
    assert secrets["Action"] == "secretsmanager:GetSecretValue" and keys["Action"] == "kms:Decrypt"
    assert keys["Condition"]["StringLike"]["kms:ViaService"] == "secretsmanager.*.amazonaws.com"
    for stack in ("staging", "production"):
        graph = stack_graph(stack)
        for r in graph.of_type("aws:secretsmanager/secret:Secret") + graph.of_type("aws:kms/key:Key"):
            tags = r.input("tags") or {}
            assert tags.get("Project") == secrets["Condition"]["StringEquals"]["aws:ResourceTag/Project"], r.name
            assert tags.get("Project") == keys["Condition"]["StringEquals"]["aws:ResourceTag/Project"], r.name
            assert tags.get("Stack") in secrets["Condition"]["StringEquals"]["aws:ResourceTag/Stack"], r.name
        for version in graph.of_type("aws:secretsmanager/secretVersion:SecretVersion"):
            secret = next(s for s in graph.of_type("aws:secretsmanager/secret:Secret")
                          if s.urn in version.dependencies)
            assert secret.input("kmsKeyId"), secret.name  # a customer-managed key: Decrypt is needed


def transcripts() -> list[tuple[str, list[str], list[str]]]:
    """(where, argv, shown lines) of each `text` block that starts with `$ ./plan …`: what it shows,
    less `…` elisions, must be what the command prints."""
    out = []
    for block in blocks():
        if block.lang == "text" and block.lines and block.lines[0].startswith("$ ./plan "):
            shown = [line for line in block.lines[1:] if line.strip(" │├└─…")]  # `…` and `│  …` elide
            argv = shlex.split(block.lines[0][2:], comments=True)[1:]
            config = argv[argv.index("--config") + 1] if "--config" in argv else None
            if config is None or (ROOT / config).exists():  # not an illustration's made-up file
                out.append((block.index, argv, shown))
    return out


@pytest.mark.parametrize("where, argv, shown", transcripts(), ids=[t[0] for t in transcripts()])
def test_every_plan_transcript_is_what_the_command_prints(where, argv, shown, run_plan):
    """A transcript's lines (stripped, as blocks() reads them) appear in the command's output in
    order: a resource count, cost or verdict that changed makes its transcript fail, not lie."""
    result = run_plan(*argv)
    printed = iter(line.strip() for line in (result.stdout + result.stderr).splitlines())
    missing = [line for line in shown if line not in printed]
    assert not missing, f"{where}: `./plan {' '.join(argv)}` no longer prints (in this order):\n  " + "\n  ".join(missing[:8])
    # the tier table is shown whole: its rows add up to its total, so a tier the program gained shows
    heads = [i for i, line in enumerate(shown) if line.startswith("Resources by tier (")]
    for i in heads:
        counted = []
        for line in shown[i + 1:]:
            if not (row := re.fullmatch(r"\S.*? +(\d+)  \S.*", line)):
                break
            counted.append(int(row[1]))
        assert sum(counted) == int(re.findall(r"\d+", shown[i])[0]), f"{where}: the tier table is not whole"

"""The config the program sees is the config the Pulumi CLI hands it (offline/cliconfig.py)."""

import json
import os
import subprocess
import sys

import pytest
import yaml
from conftest import EXAMPLES, ROOT, STACKS, config_of, evaluate, example_file, stack_graph

import stack_config
from offline.cliconfig import (
    SECRET_PLACEHOLDER,
    CliConfigError,
    ConfigValue,
    StackFileError,
    engine_config,
    read_stack_config,
    read_stack_file,
)
from offline.evaluate import run, stack_file

SCHEMA = stack_config.schema()


def _stack(tmp_path, body: str):
    path = tmp_path / "Pulumi.t.yaml"
    path.write_text(body)
    return path


# ---- 1. the stack file as yaml.v3 and config.Value read it -----------------------------------
def test_scalars_are_encoded_as_the_cli_encodes_them(tmp_path):
    path = _stack(tmp_path, "config:\n"
                  "  platform:azCount: 3\n"
                  "  platform:owner: yes\n"            # YAML 1.1 bool, a plain string to yaml.v3
                  "  platform:costCenter: 010\n"       # Go's ParseInt(_, 0, 64): octal
                  "  platform:applyImmediately: True\n"
                  "  platform:postgresEngineVersion: 16.0\n"   # a float; JSON drops the .0
                  "  platform:logRetentionDays: 1_000\n"
                  "  awsRegion: us-east-1\n")           # bare keys take the project's namespace
    values = read_stack_file(path)
    assert values["platform:azCount"] == ConfigValue("3")
    assert values["platform:owner"] == ConfigValue("yes")
    assert values["platform:costCenter"] == ConfigValue("8")
    assert values["platform:applyImmediately"] == ConfigValue("true")
    assert values["platform:postgresEngineVersion"] == ConfigValue("16")
    assert values["platform:logRetentionDays"] == ConfigValue("1000")
    assert values["platform:awsRegion"] == ConfigValue("us-east-1")


def test_lists_are_compact_json_objects_and_secure_values_are_flagged(tmp_path):
    path = _stack(tmp_path, "config:\n"
                  "  platform:databaseAllowedCidrs: [10.1.0.0/24, '10.2.0.0/24']\n"
                  "  platform:alarmEmails:\n    - secure: AAABAKx==\n"
                  "  platform:externalDatabaseUrl:\n    secure: AAABAKx==\n")
    values = read_stack_file(path)
    assert values["platform:databaseAllowedCidrs"] == ConfigValue('["10.1.0.0/24","10.2.0.0/24"]', False, True)
    assert values["platform:alarmEmails"] == ConfigValue(f'["{SECRET_PLACEHOLDER}"]', True, True)
    assert values["platform:externalDatabaseUrl"] == ConfigValue(SECRET_PLACEHOLDER, True, False)


def test_a_key_with_two_colons_is_refused_as_the_cli_refuses_it(tmp_path):
    with pytest.raises(StackFileError, match="could not parse a:b:c as a configuration key"):
        read_stack_file(_stack(tmp_path, "config:\n  a:b:c: 1\n"))


# ---- 2. defaults merged ------------------------------------------------------------------------
@pytest.mark.parametrize("stack", STACKS)
def test_the_program_sees_every_declared_key(stack):
    raw, secret = read_stack_config(stack_file(stack), stack)
    assert {k.split(":", 1)[1] for k in raw} >= set(SCHEMA)
    assert raw["platform:databaseAllowedCidrs"] == "[]"  # createConfigValue: JSON for a list
    assert raw["platform:vercelRegions"] == '["iad1"]'
    assert raw["platform:postgresEnabled"] == "true"
    assert secret == set()


def _by_urn(resources) -> dict:
    """Inputs by URN: the order of registration is not part of the graph (outputs resolve concurrently)."""
    by_urn = {r.urn: r.inputs for r in resources}
    assert len(by_urn) == len(resources)
    return by_urn


def _all_defaults_file(tmp_path, source):
    """The stack file with every key it does not set written out at its default."""
    doc = yaml.safe_load(source.read_text())
    for key, spec in SCHEMA.items():
        doc["config"].setdefault(f"platform:{key}", spec["default"])
    path = tmp_path / source.name
    path.write_text(yaml.safe_dump(doc))
    return path


@pytest.mark.parametrize("name", STACKS + EXAMPLES)
def test_setting_every_key_to_its_default_changes_nothing(tmp_path, name):
    stack = name if name in STACKS else "production"
    source = stack_file(name) if name in STACKS else example_file(name)
    raw, secret = read_stack_config(_all_defaults_file(tmp_path, source), stack)
    # The program reads nothing but this config: the same config is the same graph, by construction.
    assert (raw, secret) == config_of(stack, None if name in STACKS else name)


def test_a_conditional_key_is_an_error_only_when_it_differs_from_its_default():
    message = _config_error_text(vercelProjectName="my-app")  # staging hosts on ECS
    assert "vercelProjectName = 'my-app': has no effect unless appHosting is vercel" in message
    assert "vercelRegions" not in message  # present (merged default) but not set by the user


def _config_error_text(**overrides) -> str:
    from conftest import config_error
    return config_error(**overrides)


# ---- 3. the CLI's own type check ---------------------------------------------------------------
@pytest.mark.parametrize("key, value, typename", [
    ("postgresReadReplicas", "two", "integer"),
    ("postgresMultiAz", "yes", "boolean"),
    ("postgresMultiAz", "True", "boolean"),       # the CLI compares with "true"/"false" exactly
    ("databaseAllowedCidrs", "10.0.0.0/8", "array<string>"),
    ("databaseAllowedCidrs", '["10.0.0.0/8"]', "array<string>"),  # `config set` without --path: a string
    ("owner", ["a"], "string"),
    ("azCount", "\u0663", "integer"),                 # an Arabic-Indic 3: not an ASCII digit
    ("azCount", "9223372036854775808", "integer"),  # past int64
])
def test_a_value_of_the_wrong_type_stops_before_the_program(key, value, typename):
    with pytest.raises(CliConfigError) as info:
        config_of("staging", **{key: value})
    assert str(info.value) == f"Stack 'staging' with configuration key '{key}' must be of type '{typename}'"


def test_the_first_bad_key_in_key_order_is_the_one_reported():
    with pytest.raises(CliConfigError, match="'azCount'"):
        config_of("staging", postgresReadReplicas="x", azCount="y")


def test_a_yaml_11_boolean_in_a_stack_file_is_refused_by_the_cli(tmp_path):
    path = _stack(tmp_path, "config:\n  platform:postgresMultiAz: yes\n")
    with pytest.raises(CliConfigError, match="'postgresMultiAz' must be of type 'boolean'"):
        read_stack_config(path, "t")


def test_an_integer_spelt_plus_five_passes_the_cli_and_the_program():
    g = evaluate(postgresReadReplicas="+2")
    assert len([r for r in g.of_type("aws:rds/instance:Instance") if r.input("replicateSourceDb")]) == 2


def test_a_missing_key_without_default_is_named(tmp_path):
    project = tmp_path / "Pulumi.yaml"
    project.write_text("name: platform\nruntime: python\nconfig:\n  a:\n    type: string\n  b:\n    type: integer\n")
    with pytest.raises(CliConfigError, match="Stack 's' is missing configuration values 'a' and 'b'"):
        engine_config({}, "s", project)


def test_the_program_still_checks_types_when_the_cli_skips_validation():
    # `pulumi up --skip-config-validation` merges defaults without the type check (ApplyProjectConfig).
    with pytest.raises(stack_config.ConfigError, match="postgresReadReplicas = 'two': must be an integer"):
        stack_config.load({"platform:postgresReadReplicas": "two"}, set(), "staging")


# ---- 4. handed over through the environment, as the language host does -------------------------
@pytest.mark.slow
def test_a_fresh_process_configured_only_through_the_environment_builds_the_same_graph(tmp_path):
    raw, secret = read_stack_config(stack_file("staging"), "staging")
    out = tmp_path / "graph.json"
    env = {**os.environ, "PULUMI_CONFIG": json.dumps(raw), "PULUMI_CONFIG_SECRET_KEYS": json.dumps(sorted(secret))}
    subprocess.run([sys.executable, "-m", "offline.host", "--stack", "staging", "--dry_run", "false",
                    "--out", str(out)], cwd=ROOT, env=env, check=True, timeout=120)
    fresh = json.loads(out.read_text())
    in_process = stack_graph("staging")
    assert {r["urn"]: r["inputs"] for r in fresh["resources"]} == _by_urn(in_process.resources)
    assert fresh["stack_outputs"] == json.loads(json.dumps(in_process.stack_outputs))


def test_secret_config_reaches_the_program_as_a_secret():
    raw, secret = config_of("staging", secret=("externalDatabaseUrl",), postgresEnabled="false",
                            externalDatabaseUrl="libsql://db.turso.io")
    assert secret == {"platform:externalDatabaseUrl"}
    g = run(raw, secret, "staging", preview=False)
    assert g.stack_outputs["databaseUrl"]["value"] == "libsql://db.turso.io"  # a secret signature map

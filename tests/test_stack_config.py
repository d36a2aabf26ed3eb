"""Bad input gets one clear error naming the key, the value and the fix; nothing is registered."""

import dataclasses
import re
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, config_error

import stack_config
from components._validation import InvalidArgs
from offline import configdoc
from offline.cliconfig import StackFileError, read_stack_config


@pytest.mark.parametrize("overrides, expected", [
    ({"postgresReadReplicas": "-1"}, "postgresReadReplicas = -1: must be an integer from 0 to 15"),
    ({"postgresEngineVersion": "sixteen"}, "postgresEngineVersion = 'sixteen': must be a major"),
    ({"postgresEngineVersion": "12"}, "major version must be 13 to 17"),
    ({"environment": "prod"}, "environment = 'prod': must be one of development, staging, production"),
    ({"awsRegion": "us-east"}, "awsRegion = 'us-east': is not an AWS region botocore"),
    ({"logRetentionDays": "10"}, "logRetentionDays = 10: must be one of"),
    ({"natGateways": "many"}, "natGateways = 'many': must be one of none, single, perAz"),
    ({"databaseAllowedCidrs": ["10.0.0.0/8", "0.0.0.0/1"]}, "0.0.0.0/1 opens the port to the internet"),
    ({"databaseAllowedCidrs": ["10.0.0.0/8", "10.0.0.1/8"]}, "10.0.0.1/8 is not a CIDR"),
    ({"redisEngine": "valkey"}, "redisEngineVersion = '7.1': must be one of 7.2, 8.0, 8.1"),
    ({"backupDailyRetentionDays": "5", "backupDailyGlacierAfterDays": "10"},
     "backupDailyRetentionDays = 5: must be greater than daily_glacier_after_days"),
    ({"postgresDrRegion": "us-east-1"}, "postgresDrRegion = 'us-east-1': must differ from awsRegion"),
    ({"postgresDrVpcCidr": "10.0.0.0/16", "postgresDrRegion": "us-west-2"}, "must not overlap vpcCidr"),
    ({"backupReplicationRegion": "us-east-1"}, "must differ from awsRegion"),
    ({"redisEnabled": "false", "cacheAllowedCidrs": ["10.9.0.0/24"]}, "has no effect while redisEnabled is false"),
])
def test_bad_values_name_the_key_value_and_rule(overrides, expected):
    message = config_error(**overrides)
    assert expected in message
    key = next(iter(overrides))
    assert "fix: pulumi config" in message and "--stack staging" in message
    assert key in message


def test_retention_zero_in_production_is_refused():
    message = config_error("production", postgresBackupRetentionDays="0")
    assert "postgresBackupRetentionDays = 0: must be an integer from 1 to 35" in message
    assert "pulumi config set postgresBackupRetentionDays <value> --stack production" in message


def test_unknown_keys_get_a_suggestion_and_the_rm_command():
    message = config_error(postgresReplicas="2")
    assert "platform:postgresReplicas = '2': unknown key; did you mean 'postgresReadReplicas'?" in message
    assert "fix: pulumi config rm platform:postgresReplicas --stack staging" in message


def test_unknown_keys_and_range_errors_come_together():
    message = config_error(postgresReplicas="2", postgresReadReplicas="-1")
    assert "(2 problems)" in message and "unknown key" in message and "from 0 to 15" in message


def test_aws_region_key_points_at_aws_region():
    message = config_error(**{"aws:region": "eu-west-1"})
    assert "aws:region" in message and "pulumi config set awsRegion <region>" in message


def test_all_problems_are_reported_at_once():
    message = config_error(postgresReadReplicas="99", redisNodes="0", azCount="9")
    assert "(3 problems)" in message
    assert all(k in message for k in ("postgresReadReplicas", "redisNodes", "azCount"))
    assert "Traceback" not in message


def test_external_url_must_be_a_secret_and_never_echoed():
    message = config_error(postgresEnabled="false", externalDatabaseUrl="libsql://u:pw@db.turso.io")
    assert "externalDatabaseUrl = '[secret]': holds credentials, so it must be a secret" in message
    assert "pw@" not in message
    message = config_error(externalDatabaseUrl="libsql://db.turso.io", secret=("externalDatabaseUrl",))
    assert "conflicts with postgresEnabled=true" in message


def test_config_error_is_a_pulumi_run_error():
    import pulumi
    assert issubclass(stack_config.ConfigError, pulumi.RunError)  # the CLI prints no traceback


def test_missing_and_malformed_stack_files(tmp_path):
    with pytest.raises(StackFileError, match="no stack file"):
        read_stack_config(tmp_path / "Pulumi.nope.yaml", "nope")
    bad = tmp_path / "Pulumi.bad.yaml"
    bad.write_text("config: [unclosed\n")
    with pytest.raises(StackFileError, match="not valid YAML"):
        read_stack_config(bad, "bad")
    bad.write_text("config: just-a-string\n")
    with pytest.raises(StackFileError, match="`config:` mapping"):
        read_stack_config(bad, "bad")


def test_secure_values_become_secret_placeholders(tmp_path):
    f = tmp_path / "Pulumi.x.yaml"
    f.write_text("config:\n  platform:externalDatabaseUrl:\n    secure: AAABAKx==\n  platform:azCount: 3\n")
    raw, secret = read_stack_config(f, "x")
    assert secret == {"platform:externalDatabaseUrl"} and raw["platform:azCount"] == "3"


# ---- Pulumi.yaml is the one schema -------------------------------------------------------------
SCHEMA = stack_config.schema()
TYPES = {int: "integer", bool: "boolean", str: "string", tuple[str, ...]: "array"}
STACK_WIDE = {"environment", "awsRegion", "owner", "costCenter", "protectStatefulResources",
              "applyImmediately", "logRetentionDays", "postgresEnabled", "redisEnabled",
              "backupBucketEnabled", "backupJobsEnabled", "externalDatabaseUrl", "postgresDrVpcCidr"}


def test_every_key_has_type_default_and_description():
    for key, spec in SCHEMA.items():
        assert spec.get("type") in ("string", "integer", "boolean", "array"), key
        assert "default" in spec and spec.get("description"), key
        assert not spec.get("secret"), f"{key}: a secret key cannot carry a default (the CLI refuses it)"


def test_settings_fields_match_the_schema_types_and_defaults():
    consumed = set(STACK_WIDE)
    for cls, prefix, _ in stack_config.SECTIONS.values():
        hints = {f.name: f for f in dataclasses.fields(cls)}
        for field_name, key in stack_config.settings_keys(cls, prefix).items():
            assert key in SCHEMA, f"{cls.__name__}.{field_name} has no Pulumi.yaml key {key}"
            f = hints[field_name]
            annotation = eval(f.type) if isinstance(f.type, str) else f.type  # noqa: S307
            assert SCHEMA[key]["type"] == TYPES[annotation], key
            default = SCHEMA[key]["default"]
            assert (tuple(default) if isinstance(default, list) else default) == f.default, key
            consumed.add(key)
    assert consumed == set(SCHEMA), f"keys nobody reads: {set(SCHEMA) - consumed}"


def test_stack_files_only_use_declared_keys():
    for stack in ("staging", "production"):
        doc = yaml.safe_load((stack_config.PROJECT_FILE.parent / f"Pulumi.{stack}.yaml").read_text())
        for key in doc["config"]:
            assert key.startswith("platform:") and key.split(":", 1)[1] in SCHEMA, key


def test_every_declared_range_is_enforced_with_its_message():
    """A range or choice set declared on a Settings field (bounded/choice/choices) is checked:
    a value just outside it is refused, naming the field and what the declaration allows."""
    for cls, _, _ in stack_config.SECTIONS.values():
        for f in dataclasses.fields(cls):
            if "range" in f.metadata:
                lo, hi = f.metadata["range"]
                outside = [(lo - 1, f"must be an integer from {lo} to {hi}"),
                           (hi + 1, f"must be an integer from {lo} to {hi}")]
            elif "choices" in f.metadata:
                options = f.metadata["choices"]
                bad = -12345 if isinstance(options[0], int) else "not-a-choice"
                shown = ", ".join(map(str, options))
                outside = [((bad,) if isinstance(f.default, tuple) else bad, f"must be one of {shown}")]
            else:
                continue
            for value, allowed in outside:
                with pytest.raises(InvalidArgs) as info:
                    cls(**{f.name: value})
                found = [p.allowed for p in info.value.problems if p.field == f.name]
                assert allowed in found, f"{cls.__name__}.{f.name}={value!r}: {found}"


def test_the_configuration_doc_is_generated_from_the_current_sources():
    assert configdoc.DOC.exists() and configdoc.DOC.read_text() == configdoc.render(), (
        f"docs/configuration.md is stale: run {configdoc.COMMAND} and commit the result")


def test_the_configuration_doc_shows_every_key_and_every_declared_range():
    doc = configdoc.render()
    allowed = configdoc.allowed_by_key()
    assert set(allowed) <= set(SCHEMA), "a declared range maps to no Pulumi.yaml key"
    # Ranges of every kind: a Settings field, a stack-wide choice set.
    assert allowed["redisNodes"] == "1 to 6" and allowed["environment"] == "development, staging, production"
    for key, spec in SCHEMA.items():
        row = next((line for line in doc.splitlines() if line.startswith(f"| `{key}` |")), None)
        assert row is not None, key
        assert f"| {spec['type']} |" in row and allowed.get(key, "") in row, key


def test_descriptions_do_not_retype_a_declared_range():
    """The range lives on the Settings field; the generated table shows it next to the description."""
    for key, rule in configdoc.allowed_by_key().items():
        assert rule not in SCHEMA[key]["description"], f"{key}: drop '{rule}' from its Pulumi.yaml description"


def test_the_readme_points_at_the_configuration_doc():
    readme = (stack_config.PROJECT_FILE.parent / "README.md").read_text()
    section = readme.split("## Configuration reference", 1)[1].split("\n## ", 1)[0]
    assert "(docs/configuration.md)" in section and configdoc.COMMAND in section


# ---- what exists in AWS (components/_aws_catalog.py) ------------------------------------------------
def test_a_region_that_does_not_exist_is_one_error_with_a_suggestion_and_the_fix():
    message = config_error(awsRegion="eu-centrl-1")  # nothing registered: config_error checks it
    assert "(1 problem)" in message
    assert "awsRegion = 'eu-centrl-1': is not an AWS region botocore" in message
    assert "did you mean 'eu-central-1'?" in message
    assert "fix: pulumi config set awsRegion eu-central-1 --stack staging" in message


@pytest.mark.parametrize("key", ["postgresDrRegion", "backupReplicationRegion"])
def test_every_region_key_is_checked_against_botocore(key):
    message = config_error("production", **{key: "us-wst-2"})
    assert "(1 problem)" in message
    assert f"{key} = 'us-wst-2': is not an AWS region" in message and "did you mean 'us-west-2'?" in message
    assert f"fix: pulumi config set {key} us-west-2 --stack production" in message


def test_a_region_of_another_partition_is_refused_with_the_reason():
    message = config_error(awsRegion="cn-north-1")
    assert "awsRegion = 'cn-north-1': is a region of the aws-cn partition; this program builds ARNs" in message
    message = config_error("production", postgresDrRegion="us-gov-west-1")
    assert "postgresDrRegion = 'us-gov-west-1': is a region of the aws-us-gov partition" in message


def test_regions_come_from_botocores_endpoint_data():
    import json

    import botocore

    from components._aws_catalog import regions
    data = json.loads((Path(botocore.__file__).parent / "data" / "endpoints.json").read_text())
    assert set(regions()) == {r for p in data["partitions"] for r in p["regions"]}
    assert regions()["eu-central-1"] == "aws" and "eu-centrl-1" not in regions()


def test_an_instance_class_that_does_not_exist_is_a_config_error_naming_the_key():
    message = config_error("production", postgresInstanceClass="db.t3.mega")
    assert "(1 problem)" in message
    assert "postgresInstanceClass = 'db.t3.mega': is not an RDS DB instance class" in message
    assert "did you mean 'db.t3.small' or " in message
    assert "fix: pulumi config set postgresInstanceClass db.t3.small --stack production" in message
    message = config_error("production", postgresReplicaInstanceClass="db.r7g.lrage", postgresDrInstanceClass="db.x9.large")
    assert "(2 problems)" in message and "postgresReplicaInstanceClass = 'db.r7g.lrage'" in message
    assert "postgresDrInstanceClass = 'db.x9.large'" in message


def test_a_node_type_that_does_not_exist_or_is_previous_generation_is_refused():
    message = config_error(redisNodeType="cache.t4g.mega")
    assert "redisNodeType = 'cache.t4g.mega': is not a current-generation ElastiCache node type" in message
    assert "fix: pulumi config set redisNodeType cache.t4g.small --stack staging" in message
    # "creation of new clusters is not supported for these types" (botocore's elasticache model)
    assert "redisNodeType = 'cache.m3.large'" in config_error(redisNodeType="cache.m3.large")


def test_the_catalogs_hold_well_formed_names_and_the_classes_the_stacks_use():
    from components._aws_catalog import RDS_FAMILIES_NOT_IN_THE_ENUM, cache_node_types, rds_instance_classes
    nodes, classes = cache_node_types(), rds_instance_classes()
    assert len(nodes) > 40 and all(re.fullmatch(r"cache\.[a-z][a-z0-9]*\.(micro|small|medium|\d*x?large)", n)
                                   for n in nodes), sorted(nodes)
    assert {"cache.t4g.micro", "cache.r7g.large"} <= nodes and not {"cache.t1.micro", "cache.m1.small"} & nodes
    assert all(re.fullmatch(r"db\.[a-z][a-z0-9]*\.(micro|small|medium|\d*x?large)", c) for c in classes)
    from pulumi_aws.rds import InstanceType
    # the table adds only families the provider's enum lacks
    assert not {c.value.rsplit(".", 1)[0] for c in InstanceType} & set(RDS_FAMILIES_NOT_IN_THE_ENUM)
    used = {v for f in [*Path(ROOT).glob("Pulumi.*.yaml"), *Path(ROOT).glob("examples/*/Pulumi.*.yaml")]
            for k, v in (yaml.safe_load(f.read_text())["config"] or {}).items() if k.endswith("InstanceClass")}
    assert used and used <= classes


def test_the_schema_reads_as_pyyaml_safe_load_reads_it():
    """schema() parses Pulumi.yaml with libyaml's loader when there is one: the same document."""
    assert stack_config.schema() == yaml.safe_load(stack_config.PROJECT_FILE.read_text())["config"]

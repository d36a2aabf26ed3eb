"""Both real stack files through __main__.py: counts, wiring, providers, tags, protection."""

import pytest
from conftest import ROOT, STACKS, stack_graph, takes_tags

from offline.evaluate import contains_unknown, is_secret

STATEFUL = {"aws:rds/instance:Instance", "aws:elasticache/replicationGroup:ReplicationGroup",
            "aws:s3/bucket:Bucket", "aws:kms/key:Key", "aws:secretsmanager/secret:Secret"}


@pytest.mark.parametrize("stack", STACKS)
def test_both_modes_register_the_same_resources(stack):
    update, preview = stack_graph(stack), stack_graph(stack, preview=True)
    assert update.counts() == preview.counts()
    assert sorted(r.urn for r in update.resources) == sorted(r.urn for r in preview.resources)
    assert any(contains_unknown(r.inputs) for r in preview.resources)
    assert not any(contains_unknown(r.inputs) for r in update.resources)


def test_expected_counts(staging, production):
    s, p = staging.counts(), production.counts()
    assert s["aws:rds/instance:Instance"] == 2 and p["aws:rds/instance:Instance"] == 4  # +2 replicas, +DR
    assert s["aws:ec2/subnet:Subnet"] == 4 and p["aws:ec2/subnet:Subnet"] == 6 + 4  # + DR VPC
    assert p["aws:ec2/natGateway:NatGateway"] == 3 and s["aws:ec2/natGateway:NatGateway"] == 1
    # backups (+ logs, + replica and its logs in production), ALB access logs, CDN assets
    assert p["aws:s3/bucket:Bucket"] == 6 and s["aws:s3/bucket:Bucket"] == 4
    assert p["aws:rds/proxy:Proxy"] == 1 and "aws:rds/proxy:Proxy" not in s
    # production: + the DR replica's deletion-protection runbook (role, policy, association)
    assert sum(s.values()) == 168 and sum(p.values()) == 258


def test_components_have_three_part_tokens_and_own_their_children(any_stack):
    components = [r for r in any_stack.resources if not r.custom and r.type != "pulumi:pulumi:Stack"]
    assert {c.type for c in components} >= {"platform:network:Network", "platform:data:Postgres",
                                            "platform:cache:Redis", "platform:storage:BackupBucket"}
    for c in components:
        assert len(c.type.split(":")) == 3
        kids = any_stack.children(c.urn)
        assert kids and all(k.name.startswith(f"{c.name}-") for k in kids), c.name


def test_every_aws_resource_uses_the_explicit_provider(any_stack):
    provider = any_stack.named("aws")
    assert provider.input("region") == "us-east-1"
    for r in any_stack.resources:
        if r.custom and r.type.startswith("aws:"):
            assert r.provider.startswith(provider.urn + "::"), r.name


def test_every_taggable_resource_carries_the_stack_tags(any_stack):
    env = any_stack.stack
    for r in any_stack.resources:
        if r.custom and r.type.startswith("aws:") and takes_tags(r.type):
            tags = r.input("tags") or {}
            assert tags.get("Environment") == env and tags.get("Stack") == env, r.name
            assert {"Project", "Owner", "CostCenter", "ManagedBy"} <= set(tags), r.name


def test_production_protects_stateful_resources_and_staging_does_not(staging, production):
    for r in production.resources:
        # Network, app and alarm keys guard only what can be rebuilt (flow logs, generated secrets,
        # images, notifications);
        # protecting the app tier would block every task-definition replacement.
        if r.type in STATEFUL and not r.name.startswith(("dr-network", "network", "app-", "alarms-")):
            assert r.protect, r.name
    assert not any(r.protect for r in staging.resources)


def test_production_is_the_hardened_shape(production, staging):
    p, s = production.named("postgres-primary"), staging.named("postgres-primary")
    assert (p.input("multiAz"), p.input("backupRetentionPeriod"), p.input("deletionProtection")) == (True, 30, True)
    assert (s.input("multiAz"), s.input("backupRetentionPeriod"), s.input("deletionProtection")) == (False, 7, False)


def test_secrets_stay_secret(any_stack):
    for name in ("databaseUrl", "databaseReadUrl", "redisUrl"):
        assert is_secret(any_stack.stack_outputs[name]), name
    assert not is_secret(any_stack.stack_outputs["databaseWriterEndpoint"])
    for r in any_stack.of_type("random:index/randomPassword:RandomPassword"):
        users = [u for u in any_stack.resources if r.urn in u.dependencies]
        assert users, r.name


def test_program_never_branches_on_the_stack_name():
    source = (ROOT / "__main__.py").read_text()
    for word in ("get_stack", "production", "staging"):
        assert word not in source

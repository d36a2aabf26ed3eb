"""The five seed apps as stack configs (examples/<app>/Pulumi.production.yaml): each evaluates in both
modes and has what its guide asks of infrastructure."""

import pytest
from conftest import EXAMPLES, example_graph

from offline.evaluate import contains_unknown


@pytest.mark.parametrize("app", EXAMPLES)
def test_example_evaluates_the_same_in_both_modes(app):
    update, preview = example_graph(app), example_graph(app, preview=True)
    assert sorted(r.urn for r in update.resources) == sorted(r.urn for r in preview.resources)
    assert not any(contains_unknown(r.inputs) for r in update.resources)
    assert update.of_type("platform:observability:Alarms")


def rds(g):
    return g.of_type("aws:rds/instance:Instance")


def test_study_sphere_vercel_cloudflare_replica_pool_and_30_day_backups():
    g = example_graph("study-sphere")
    assert g.named("app-project").input("name") == "study-sphere"
    assert g.of_type("cloudflare:index/ruleset:Ruleset") and g.of_type("vercel:index/network:Network")
    assert len(rds(g)) == 2 and g.named("postgres-proxy") is not None
    assert g.named("postgres-primary").input("backupRetentionPeriod") == 30
    rules = {r["id"]: r for r in g.named("backups-bucket-lifecycle").input("rules")}
    daily = next(r for r in rules.values() if r["filter"].get("prefix") == "daily/")
    assert daily["expiration"]["days"] == 30 and not daily.get("transitions")
    assert not g.of_type("aws:cloudfront/distribution:Distribution")


def test_generic_guide_load_balanced_autoscaled_with_replicas():
    g = example_graph("generic-guide")
    assert g.named("aws").input("region") == "eu-west-1"
    assert g.named("app-service") and g.named("app-alb")
    assert g.named("app-scaling").input("maxCapacity") == 8
    assert len([r for r in rds(g) if r.input("replicateSourceDb")]) == 2
    assert g.named("app-tg").input("healthCheck")["path"] == "/health"


def test_project_spark_aws_tier_redis_cluster_cloudfront():
    g = example_graph("project-spark")
    assert g.named("app-service").input("desiredCount") == 3
    assert g.named("app-tg").input("healthCheck")["path"] == "/health"
    assert g.named("postgres-primary").input("instanceClass") == "db.t3.medium"
    group = g.named("redis-group")
    assert (group.input("clusterMode"), group.input("numNodeGroups")) == ("enabled", 3)
    assert g.named("cdn-distribution").input("webAclId") == g.named("cdn-waf").outputs["arn"]
    assert g.named("cdn-distribution").input("orderedCacheBehaviors")[1]["pathPattern"] == "/uploads/*"
    container = g.named("app-task")
    assert (container.input("cpu"), container.input("memory")) == ("2048", "8192")


def test_group_spaces_three_regions_and_an_external_database():
    g = example_graph("group-spaces")
    assert g.named("app-project").input("resourceConfig") == {"functionDefaultRegions": ["iad1", "sfo1", "cdg1"]}
    assert not rds(g) and not g.of_type("aws:elasticache/replicationGroup:ReplicationGroup")
    env = {v.input("key"): v.input("value") for v in
           g.of_type("vercel:index/projectEnvironmentVariable:ProjectEnvironmentVariable")}
    assert env["DATABASE_URL"] == "offline://secret-placeholder"  # the secure value from the stack file
    assert "REDIS_URL" not in env and "DATABASE_READ_URL" not in env
    assert {"BETTER_AUTH_SECRET", "NEXTAUTH_SECRET"} <= set(env)
    rules = g.named("backups-bucket-lifecycle").input("rules")
    assert next(r for r in rules if r["filter"].get("prefix") == "daily/")["expiration"]["days"] == 7


def test_contribux_glacier_archive_dr_and_budget():
    g = example_graph("contribux")
    rules = g.named("backups-bucket-lifecycle").input("rules")
    daily = next(r for r in rules if r["filter"].get("prefix") == "daily/")
    assert daily["transitions"] == [{"days": 30, "storageClass": "GLACIER"}]
    assert g.named("postgres-dr-replica").input("region") == "us-west-2"
    assert g.named("backups-replication").input("rules")
    assert g.named("alarms-budget").input("limitAmount") == "500"
    assert g.named("alarms-slack").input("slackChannelId") == "C00000000"  # Slack through AWS Chatbot
    assert g.named("network-peering")

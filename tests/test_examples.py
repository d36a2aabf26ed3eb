"""The five seed apps as stack configs (examples/<app>/Pulumi.production.yaml): each evaluates in both
modes and has what its guide asks of infrastructure. NOT_SEEDS are examples without a seed guide
(the sixth app of issue 17, written from the docs alone): they get the generic checks and their own."""

import logging
import re

import pytest
import yaml
from conftest import EXAMPLES, evaluate, example_file, example_graph

from offline.evaluate import contains_unknown

# RFC 2606 second-level names: a user (and a preflight) can tell a placeholder from a real domain.
RESERVED_DOMAINS = ("example.com", "example.net", "example.org")
NAME_KEYS = ("platform:appDomain", "platform:appDnsZone")
AWS_ID = re.compile(r"\b(?:pcx|vpc|sg|subnet)-[0-9a-f]{8,17}\b")
NOT_SEEDS = ("ledgerly",)
ALL_EXAMPLES = (*EXAMPLES, *NOT_SEEDS)


def test_every_example_directory_is_a_seed_or_marked_as_not_one():
    from conftest import ROOT
    assert sorted(p.parent.name for p in (ROOT / "examples").glob("*/Pulumi.*.yaml")) == sorted(ALL_EXAMPLES)
    assert not set(NOT_SEEDS) & set(EXAMPLES)
    for app in NOT_SEEDS:
        assert example_file(app).read_text().startswith("# Not a seed:")


@pytest.mark.parametrize("app", ALL_EXAMPLES)
def test_example_evaluates_the_same_in_both_modes(app):
    update, preview = example_graph(app), example_graph(app, preview=True)
    assert sorted(r.urn for r in update.resources) == sorted(r.urn for r in preview.resources)
    assert not any(contains_unknown(r.inputs) for r in update.resources)
    # Named, not typed: a component's type token may be renamed (with an alias), its name may not.
    assert any(not r.custom and r.name == "alarms" for r in update.resources)


def names_in(key: str, value) -> list[str]:
    """Domain names a stack file value holds: a domain key's value, e-mail domains, URL hosts."""
    texts = [str(v) for v in value] if isinstance(value, list) else [str(value)]
    names = list(texts) if key in NAME_KEYS else []
    for text in texts:
        names += re.findall(r"[\w.+-]+@([\w.-]+)", text) + re.findall(r"://([^/:?#\s]+)", text)
    return names


@pytest.mark.parametrize("app", ALL_EXAMPLES)
def test_example_holds_only_placeholders_a_user_replaces(app):
    text = example_file(app).read_text()
    config = yaml.safe_load(text)["config"]
    # A `secure:` value only decrypts with the secrets provider that wrote it: the CLI would stop there.
    assert not [k for k, v in config.items() if isinstance(v, dict) and "secure" in v]
    # A made-up AWS id looks real and fails the `up` (e.g. accepting a peering that does not exist).
    assert not AWS_ID.findall(text)
    names = [n for key, value in config.items() for n in names_in(key, value)]
    assert names and all(any(n.lower() == d or n.lower().endswith("." + d) for d in RESERVED_DOMAINS)
                         for n in names), names


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
    assert g.named("app-scaling").input("maxCapacity") == 0  # no image yet
    assert evaluate(example="generic-guide", ecsImageTag="v1").named("app-scaling").input("maxCapacity") == 8
    assert len([r for r in rds(g) if r.input("replicateSourceDb")]) == 2
    assert g.named("app-tg").input("healthCheck")["path"] == "/health"


def test_project_spark_aws_tier_redis_cluster_cloudfront():
    g = example_graph("project-spark")
    assert g.named("app-service").input("desiredCount") == 0  # no image yet
    assert evaluate(example="project-spark", ecsImageTag="v1").named("app-service").input("desiredCount") == 3
    assert g.named("app-tg").input("healthCheck")["path"] == "/health"
    assert g.named("postgres-primary").input("instanceClass") == "db.t3.medium"
    group = g.named("redis-group")
    assert (group.input("clusterMode"), group.input("numNodeGroups")) == ("enabled", 3)
    assert g.named("cdn-distribution").input("webAclId") == g.named("cdn-waf").outputs["arn"]
    assert g.named("cdn-distribution").input("orderedCacheBehaviors")[1]["pathPattern"] == "/uploads/*"
    container = g.named("app-task")
    assert (container.input("cpu"), container.input("memory")) == ("2048", "8192")


def test_group_spaces_three_regions_and_an_external_database():
    g = evaluate(example="group-spaces", externalDatabaseUrl="libsql://db.example.com", secret=("externalDatabaseUrl",))
    assert g.named("app-project").input("resourceConfig") == {"functionDefaultRegions": ["iad1", "sfo1", "cdg1"]}
    assert not rds(g) and not g.of_type("aws:elasticache/replicationGroup:ReplicationGroup")
    env = {v.input("key"): v.input("value") for v in
           g.of_type("vercel:index/projectEnvironmentVariable:ProjectEnvironmentVariable")}
    assert env["DATABASE_URL"] == "libsql://db.example.com"
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
    # First `up` of Secure Compute: the network exists and is trusted; nothing to accept yet.
    assert g.named("app-secure-compute") and g.named("network-db-from-peer")
    assert not g.of_type("aws:ec2/vpcPeeringConnectionAccepter:VpcPeeringConnectionAccepter")


def test_group_spaces_plans_before_its_database_url_is_set_and_says_so(caplog):
    with caplog.at_level(logging.WARNING):
        g = evaluate(example="group-spaces", fresh=True)  # the warning is logged while it evaluates
    env = {v.input("key") for v in g.of_type("vercel:index/projectEnvironmentVariable:ProjectEnvironmentVariable")}
    assert "DATABASE_URL" not in env and "databaseUrl" not in g.stack_outputs
    warnings = [r.getMessage() for r in caplog.records if "externalDatabaseUrl" in r.getMessage()]
    assert warnings == ["postgresEnabled is false and externalDatabaseUrl is empty, so the app gets no DATABASE_URL. "
                        "Set it: pulumi config set --secret externalDatabaseUrl <url> --stack production"]


def test_ledgerly_the_sixth_app_plans_with_an_honest_first_screen(run_plan):
    """Written from the docs alone, in eu-central-1: ECS behind CloudFront with its own CSP."""
    from offline.cost import estimate

    g = example_graph("ledgerly")
    assert g.named("aws").input("region") == "eu-central-1"
    csp = g.named("cdn-security-headers").input("securityHeadersConfig")["contentSecurityPolicy"]
    assert csp["contentSecurityPolicy"].startswith("default-src 'self'; script-src 'self';") and csp["override"]
    result = run_plan("--config", "examples/ledgerly/Pulumi.production.yaml", "--summary")
    assert result.returncode == 0, result.stderr
    head = result.stdout.splitlines()
    assert head[0].startswith("Offline plan of stack 'production' from examples/ledgerly/Pulumi.production.yaml")
    assert head[2].startswith("Policy:    PASS: 0 mandatory, 0 advisory violation(s)")
    unpriced = len(estimate(g).of_kind("unpriced"))
    assert head[3].startswith("Cost:      ") and f"; {unpriced} unpriced" in head[3]
    if unpriced:  # whatever the price table holds for eu-central-1, the total never hides it
        assert "NOT in the total" in head[3] and "a lower bound" in head[3]

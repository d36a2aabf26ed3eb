"""Both real stack files through __main__.py: each tier sized by its config, wiring, providers, tags,
protection."""

import pytest
from conftest import ROOT, STACKS, config_of, stack_graph, takes_tags

import stack_config
from offline.evaluate import Graph, Resource, contains_unknown, is_secret

STATEFUL = {"aws:rds/instance:Instance", "aws:elasticache/replicationGroup:ReplicationGroup",
            "aws:s3/bucket:Bucket", "aws:kms/key:Key", "aws:secretsmanager/secret:Secret"}


@pytest.mark.parametrize("stack", STACKS)
def test_both_modes_register_the_same_resources(stack):
    update, preview = stack_graph(stack), stack_graph(stack, preview=True)
    assert update.counts() == preview.counts()
    assert sorted(r.urn for r in update.resources) == sorted(r.urn for r in preview.resources)
    assert any(contains_unknown(r.inputs) for r in preview.resources)
    assert not any(contains_unknown(r.inputs) for r in update.resources)


def tier(graph: Graph, name: str) -> list[Resource]:
    """Every resource under the top-level component(s) named `name` (children, theirs, ...). A tier's
    assertions look only here, so a change in another tier cannot fail them."""
    found: list[Resource] = []
    parents = {r.urn for r in graph.resources if not r.custom and r.name == name}
    while parents:
        kids = [r for r in graph.resources if r.parent in parents]
        found += kids
        parents = {r.urn for r in kids if not r.custom}
    return [r for r in found if r.custom]


def count(resources: list[Resource], typ: str) -> int:
    return sum(r.type == typ for r in resources)


def settings(stack: str) -> stack_config.StackSettings:
    raw, secret = config_of(stack)
    return stack_config.load(raw, secret, stack)


RDS, SUBNET, NAT, BUCKET = ("aws:rds/instance:Instance", "aws:ec2/subnet:Subnet", "aws:ec2/natGateway:NatGateway",
                            "aws:s3/bucket:Bucket")
# What makes each tier that tier, in every stack that has it (not how many of everything it holds).
ESSENTIALS = {
    "network": {"aws:ec2/vpc:Vpc", SUBNET, "aws:ec2/flowLog:FlowLog"},
    "postgres": {RDS, "aws:rds/subnetGroup:SubnetGroup", "aws:rds/parameterGroup:ParameterGroup",
                 "aws:secretsmanager/secret:Secret"},
    "redis": {"aws:elasticache/replicationGroup:ReplicationGroup", "aws:elasticache/subnetGroup:SubnetGroup"},
    "backups": {BUCKET, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"},
    "app": {"aws:ecs/service:Service", "aws:lb/loadBalancer:LoadBalancer", "aws:ecr/repository:Repository",
            BUCKET},  # the ALB's access logs
    "cdn": {"aws:cloudfront/distribution:Distribution", "aws:wafv2/webAcl:WebAcl", BUCKET},  # + the assets
    "dns": {"aws:route53/record:Record"},
    "alarms": {"aws:cloudwatch/metricAlarm:MetricAlarm", "aws:sns/topic:Topic"},
}


@pytest.mark.parametrize("name", ESSENTIALS)
def test_each_tier_holds_its_essentials(any_stack, name):
    types = {r.type for r in tier(any_stack, name)}
    assert ESSENTIALS[name] <= types, f"{name}: missing {ESSENTIALS[name] - types}"


@pytest.mark.parametrize("stack", STACKS)
def test_tier_sizes_follow_the_stack_config(stack):
    g, cfg = stack_graph(stack), settings(stack)
    pg, backups, net = cfg.postgres, cfg.backups, cfg.network
    assert pg is not None and backups is not None
    # One primary, one instance per read replica, and the DR replica when postgresDrRegion is set.
    assert count(tier(g, "postgres"), RDS) == 1 + pg.read_replicas + bool(pg.dr_region)
    assert bool(count(tier(g, "postgres"), "aws:rds/proxy:Proxy")) == pg.proxy_enabled
    # A public and a private subnet per AZ; NAT gateways as natGateways asks.
    assert count(tier(g, "network"), SUBNET) == 2 * net.az_count
    assert count(tier(g, "network"), NAT) == {"none": 0, "single": 1, "perAz": net.az_count}[net.nat_gateways]
    assert bool(tier(g, "dr-network")) == bool(pg.dr_region)
    # The backup bucket and its access-log bucket, in the replica region too when one is set.
    assert count(tier(g, "backups"), BUCKET) == 2 * (1 + bool(backups.replication_region))


def test_production_is_staging_scaled_up(staging, production):
    s, p = staging.counts(), production.counts()
    assert all(p.get(typ, 0) >= n for typ, n in s.items()), {t: (n, p.get(t, 0)) for t, n in s.items()
                                                              if p.get(t, 0) < n}
    ps, pp = settings("staging"), settings("production")
    assert ps.postgres and pp.postgres and pp.postgres.read_replicas > ps.postgres.read_replicas
    assert pp.network.az_count > ps.network.az_count and pp.postgres.dr_region and not ps.postgres.dr_region


def test_components_have_three_part_tokens_and_own_their_children(any_stack):
    components = [r for r in any_stack.resources if not r.custom and r.type != "pulumi:pulumi:Stack"]
    assert {c.name for c in components} >= {"network", "postgres", "redis", "backups", "app", "alarms"}
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
        # Network, app, backup-job, alarm, CDN and rotation log keys guard only what can be rebuilt (flow
        # logs, generated secrets, images, job logs, notifications, access, WAF and rotation logs);
        # protecting the app tier would block every task-definition replacement.
        if r.type in STATEFUL and not r.name.startswith(("dr-network", "network", "app-", "backup-jobs-", "alarms-",
                                                         "cdn-waf-logs", "cdn-access-logs", "postgres-rotation-logs")):
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


def test_an_evaluation_leaves_no_event_loop_open():
    """MockMonitor gives each executor thread a loop and never closes it: the garbage collector did,
    printing "Exception ignored in BaseEventLoop.__del__" at the end of a test run or a script."""
    import asyncio
    import gc

    from conftest import evaluate

    evaluate("staging", fresh=True, postgresReadReplicas="2")  # Invoke (zone, AZs) and RegisterResource both
    assert [o for o in gc.get_objects() if isinstance(o, asyncio.BaseEventLoop) and not o.is_closed()] == []


def test_a_failed_registration_is_the_error_even_with_registrations_in_flight(caplog):
    """A duplicate URN fails its RPC while other executor threads are still in the monitor: the
    evaluation waits for them before closing their loops, so the user sees "Duplicate resource URN",
    not "Cannot close a running event loop" (which the first version of the loop clean-up raised).
    The race itself needs minutes to show (120 topics of 20,000 tags: 1 to 2 runs in 4 failed); this
    keeps the error path's outcome: the program's error, and no loop left open."""
    import asyncio
    import gc

    import pulumi
    import pulumi_aws as aws
    from conftest import inline_graph

    tags = {f"k{j}": "v" for j in range(500)}

    def program() -> None:
        prev = None
        for i in range(40):
            prev = aws.sns.Topic(f"t{i}", tags=tags, display_name=prev.name if prev else "x")
        aws.sns.Topic("t0", display_name=prev.name)

    for _ in range(3):
        with pytest.raises(ValueError, match="Duplicate resource URN"):
            inline_graph(program)
    assert [o for o in gc.get_objects() if isinstance(o, asyncio.BaseEventLoop) and not o.is_closed()] == []
    # and the failed runs' tasks do not reach the next run (it raised "Event loop is closed")
    assert len(inline_graph(lambda: aws.sns.Topic("t", display_name=pulumi.Output.json_dumps({"a": "b"}))).resources) > 1
    gc.collect()  # nor does each failed output print the error again when collected (600 KB of tracebacks)
    assert not [r for r in caplog.records if "exception was never retrieved" in r.getMessage()]


@pytest.mark.parametrize("preview", [False, True], ids=["update", "preview"])
def test_json_output_registers_what_the_sdks_json_dumps_does(preview):
    """components._common.json_output (one Output.all over the leaves) in place of the SDK's quadratic
    Output.json_dumps: the same string, secrecy, unknown-ness and dependencies for one document with
    resource, secret and plain leaves in dicts, lists and tuples."""
    import pulumi
    import pulumi_aws as aws
    from conftest import inline_graph

    from components._common import json_output

    def program() -> None:
        key, topic = aws.kms.Key("key"), aws.sns.Topic("topic")
        for name, dump in (("sdk", pulumi.Output.json_dumps), ("ours", json_output)):
            aws.sns.TopicPolicy(name, arn=topic.arn, policy=dump({"Version": "2012-10-17", "Statement": [
                {"Sid": "A", "Resource": key.arn, "Condition": {"StringEquals": {"x": pulumi.Output.secret("s")}}},
                {"Principal": {"AWS": [topic.name, "*"]}, "Action": ("sns:Publish", 1, None, True), "E": [{}]}]}))

    g = inline_graph(program, preview=preview)
    sdk, ours = g.named("sdk"), g.named("ours")
    assert is_secret(ours.inputs["policy"]) and contains_unknown(ours.inputs["policy"]) == preview
    assert ours.inputs == sdk.inputs
    assert sorted(ours.dependencies) == sorted(sdk.dependencies)
    assert {k: sorted(v) for k, v in ours.property_dependencies.items()} == \
        {k: sorted(v) for k, v in sdk.property_dependencies.items()}
    key = g.named("key").urn
    assert key in ours.property_dependencies["policy"]


def test_the_harness_imports_a_functions_own_imports_and_skips_a_missing_optional_one():
    """offline/evaluate.py imports what the program's modules import before the first evaluation, a
    function's own imports too (pulumi_cloudflare, components/_dns_zone.py); one that is not installed
    (a stub under TYPE_CHECKING) is left to the program, as the CLI would leave it."""
    import ast
    import sys

    from offline.evaluate import _resolve_module_attributes

    _resolve_module_attributes(ast.parse("def f():\n    import no_such_module_anywhere\n    import pulumi_random\n"))
    assert "pulumi_random" in sys.modules and "no_such_module_anywhere" not in sys.modules

"""No two resources claim one physical object (offline/identity.py), as the account would refuse."""

import dataclasses
import subprocess
import sys

import pytest
from conftest import EXAMPLES, ROOT, STACKS, example_graph, stack_graph

from offline.evaluate import Graph
from offline.identity import collisions


@pytest.mark.parametrize("name", STACKS + EXAMPLES)
def test_no_physical_name_is_claimed_twice(name):
    graph = stack_graph(name) if name in STACKS else example_graph(name)
    assert [str(c) for c in collisions(graph)] == []


def _with_copy(graph: Graph, typ: str, new_name: str, **outputs) -> Graph:
    original = graph.of_type(typ)[0]
    twin = dataclasses.replace(original, name=new_name, urn=original.urn + "-twin",
                               outputs={**original.outputs, **outputs})
    return Graph(stack=graph.stack, preview=graph.preview, resources=[*graph.resources, twin])


def test_a_second_bucket_of_the_same_name_is_named_with_both_owners(production):
    bucket = production.named("backups-bucket")
    graph = _with_copy(Graph("production", False, [bucket]), "aws:s3/bucket:Bucket", "uploads")
    [clash] = collisions(graph)
    assert str(clash) == (f"S3 bucket {bucket.outputs['bucket']}: claimed by both backups-bucket "
                          "(aws:s3/bucket:Bucket) and uploads (aws:s3/bucket:Bucket)")


def test_log_groups_collide_per_region_only(production):
    group = production.named("network-flow-logs")  # by name: registration order varies between runs
    same_region = Graph("production", False, [group, dataclasses.replace(group, name="twin", urn=group.urn + "2")])
    assert len(collisions(same_region)) == 1
    elsewhere = dataclasses.replace(group, name="twin", urn=group.urn + "2",
                                    inputs={**group.inputs, "region": "eu-north-1"})
    assert collisions(Graph("production", False, [group, elsewhere])) == []


def test_a_cname_beside_another_record_of_the_same_name_collides(production):
    record = next(r for r in production.of_type("aws:route53/record:Record") if r.input("type") == "A")
    cname = dataclasses.replace(record, name="www-cname", urn=record.urn + "-cname",
                                inputs={**record.inputs, "type": "CNAME"}, outputs={**record.outputs, "type": "CNAME"})
    [clash] = collisions(Graph("production", False, [record, cname]))
    assert "a CNAME and another record" in str(clash) and "www-cname" in str(clash)


def test_weighted_records_with_distinct_set_identifiers_do_not_collide(production):
    weighted = [r for r in production.of_type("aws:route53/record:Record") if r.input("setIdentifier")]
    assert len(weighted) >= 2 and len({r.input("name") for r in weighted}) == 1
    assert collisions(Graph("production", False, weighted)) == []


def test_preview_names_the_provider_has_not_chosen_are_skipped():
    assert collisions(stack_graph("production", preview=True)) == []


def test_an_auto_name_too_long_for_its_type_fails_as_the_provider_fails():
    from offline.mocks import PlatformMocks

    prop, name = PlatformMocks._autoname("aws:lb/targetGroup:TargetGroup", "a" * 24)
    assert prop == "name" and len(name) == 32
    with pytest.raises(ValueError, match=r"name 'a{25}-' plus 7 random chars is longer than maximum length 32"):
        PlatformMocks._autoname("aws:lb/targetGroup:TargetGroup", "a" * 25)


# ---- URNs as the engine makes them ------------------------------------------------------------
def test_urns_carry_the_whole_parent_chain_and_not_the_root_stack(production):
    assert production.named("backups").urn == "urn:pulumi:production::platform::platform:storage:BackupBucket::backups"
    bucket = production.named("backups-bucket")
    parent_type = bucket.parent.split("::")[2]
    assert bucket.urn == f"urn:pulumi:production::platform::{parent_type}$aws:s3/bucket:Bucket::backups-bucket"
    assert "pulumi:pulumi:Stack$" not in parent_type and parent_type.startswith("platform:storage:BackupBucket")


def test_a_second_registration_of_one_urn_fails_as_the_engine_fails():
    # In a fresh interpreter: the SDK keeps event-loop state per process that a half-run
    # registration would leave behind for the tests after this one.
    script = """
import asyncio, pulumi
from pulumi.runtime.proto import resource_pb2
from offline.evaluate import Graph, _recording_monitor
from offline.mocks import PlatformMocks
asyncio.set_event_loop(asyncio.new_event_loop())
mocks = PlatformMocks(preview=False)
monitor = _recording_monitor(mocks, Graph("t", False))
pulumi.runtime.set_mocks(mocks, project="platform", stack="t", preview=False, monitor=monitor)
request = resource_pb2.RegisterResourceRequest(type="aws:sns/topic:Topic", name="alerts", custom=True)
monitor.RegisterResource(request)
try:
    monitor.RegisterResource(request)
except ValueError as err:
    print(err)
"""
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == ("Duplicate resource URN 'urn:pulumi:t::platform::aws:sns/topic:Topic::alerts'; "
                                     "try giving it a unique name"), result.stderr

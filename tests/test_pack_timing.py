"""When a rule can block. The engine sends each resource to Analyze before it creates or updates
it (pulumi/pulumi pkg/resource/deploy/step_generator.go: "Send the resource off to any Analyzers
before being operated on"), and the whole graph to AnalyzeStack once the program has finished: in
`pulumi up` without a preview (pulumi/actions), after every resource exists. In a preview, a
stack rule that has to read a computed value can only say that it could not run (advisory).

So a resource rule blocks a violating resource in a preview (and in up, before creating it) where
the same check as a stack rule would not; and a stack rule judged resource by resource lets an
unknown skip only the resource it belongs to."""

from __future__ import annotations

import textwrap

import pulumi
import pulumi_aws as aws
import pytest
from conftest import ROOT, inline_graph

from offline.analyzer import PolicyPackProcess

CASES: list = []  # a tests/test_pack_*.py file: no Case here, its rules' Cases are in test_pack_s3.py

TAGS = {"Project": "platform", "Stack": "production", "Environment": "production", "Owner": "platform-team",
        "CostCenter": "eng", "ManagedBy": "pulumi"}


def public_block_on_a_new_bucket() -> None:
    """The block's bucket is the bucket's id: unknown in a preview, until the bucket exists."""
    b = aws.s3.Bucket("uploads", tags=TAGS)
    aws.s3.BucketPublicAccessBlock("uploads-public-access", bucket=b.id, block_public_acls=True,
                                   block_public_policy=False, ignore_public_acls=True, restrict_public_buckets=True)


# The same check as a stack rule that, like any rule matching a block to its bucket by what the block
# names, reads the block's `bucket`: how s3-public-access-block looked before it judged the block alone.
STACK_ONLY_PACK = textwrap.dedent(f"""
    import sys
    sys.path.insert(0, {str(ROOT / "policies")!r})
    from _rules import REGISTRY, stack_rule
    from _types import BUCKET_PUBLIC_ACCESS_BLOCK
    from pulumi_policy import EnforcementLevel, PolicyPack

    @stack_rule("stack-public-access-block", "Public access blocks set all four settings true.",
                types=[BUCKET_PUBLIC_ACCESS_BLOCK], severity="critical", fix="Set all four true.")
    def _check(stack, block, report, cfg):
        bucket = block.props["bucket"]
        off = [k for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
               if block.props.get(k) is not True]
        if off:
            report(f"the block of {{bucket}} leaves {{', '.join(off)}} off.")

    PolicyPack(name="stack-only", policies=REGISTRY, enforcement_level=EnforcementLevel.MANDATORY)
""")


@pytest.fixture(scope="module")
def stack_only_pack(tmp_path_factory):
    pack_dir = tmp_path_factory.mktemp("stack-only-pack")
    (pack_dir / "__main__.py").write_text(STACK_ONLY_PACK)
    (pack_dir / "PulumiPolicy.yaml").write_text("runtime: python\n")
    with PolicyPackProcess(pack_dir) as process:
        yield process


def test_a_resource_rule_blocks_in_preview_before_anything_exists(pack):
    graph = inline_graph(public_block_on_a_new_bucket, preview=True)
    block = graph.named("uploads-public-access")
    # Analyze only: what the engine asks before it creates each resource.
    before = pack.analyze(graph, stack=False)
    fired = [d for d in before.diagnostics if d.policy == "s3-public-access-block"]
    assert [(d.level, d.urn) for d in fired] == [("mandatory", block.urn)]
    assert "not true: blockPublicPolicy" in fired[0].message
    # The whole pack in that preview: the stack rules add nothing that would let this block through.
    assert "s3-public-access-block" in {d.policy for d in pack.analyze(graph).mandatory}


def test_the_same_check_as_a_stack_rule_only_says_it_cannot_run_in_preview(stack_only_pack):
    preview = stack_only_pack.analyze(inline_graph(public_block_on_a_new_bucket, preview=True))
    assert [d.level for d in preview.diagnostics] == ["advisory"], preview.diagnostics
    assert "uploads-public-access" in preview.diagnostics[0].message
    # In an update it fires, mandatory: but AnalyzeStack runs once the bucket and its block exist.
    update = stack_only_pack.analyze(inline_graph(public_block_on_a_new_bucket))
    assert [(d.level, "blockPublicPolicy off" in d.message) for d in update.diagnostics] == [("mandatory", True)]
    assert update.diagnostics[0].urn.endswith("::uploads-public-access")


def two_buckets_one_unknown() -> None:
    """`pending` encrypts with an algorithm computed from another resource (unknown in preview);
    `plain` uses SSE-S3 and is no log destination: a real s3-sse-kms violation."""
    key = aws.kms.Key("key", description="bucket key", enable_key_rotation=True, tags=TAGS)
    pending = aws.s3.Bucket("pending", bucket="pending-bucket", tags=TAGS)
    aws.s3.BucketServerSideEncryptionConfiguration("pending-sse", bucket=pending.id, rules=[{
        "apply_server_side_encryption_by_default": {
            "sse_algorithm": key.arn.apply(lambda _: "aws:kms"), "kms_master_key_id": key.arn}}])
    plain = aws.s3.Bucket("plain", bucket="plain-bucket", tags=TAGS)
    aws.s3.BucketServerSideEncryptionConfiguration("plain-sse", bucket=plain.id, rules=[{
        "apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}],
        opts=pulumi.ResourceOptions(depends_on=[key]))


def test_an_unknown_on_one_bucket_skips_only_that_bucket(pack):
    graph = inline_graph(two_buckets_one_unknown, preview=True)
    found = [d for d in pack.analyze(graph).diagnostics if d.policy == "s3-sse-kms"]
    mandatory = [d for d in found if d.level == "mandatory"]
    advisory = [d for d in found if d.level == "advisory"]
    assert [d.urn for d in mandatory] == [graph.named("plain").urn]
    assert "SSE-S3 on a bucket that is not a log destination" in mandatory[0].message
    assert len(advisory) == 1 and "pending" in advisory[0].message and "plain" not in advisory[0].message
    # Once the values are known (the update), the bucket that was skipped is judged: it complies.
    update = [d for d in pack.analyze(inline_graph(two_buckets_one_unknown)).diagnostics if d.policy == "s3-sse-kms"]
    assert [(d.level, d.urn) for d in update] == [("mandatory", graph.named("plain").urn)]

"""offline/tfplan.py: the offline graph as a Terraform plan for Checkov, and Checkov's verdict on it.

The converter tests need no Checkov. The last test runs Checkov (scripts/checkov's .venv-checkov) on
production and the five seed examples and holds the result to policies/checkov-waivers.yaml.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from conftest import EXAMPLES, ROOT, STACKS, example_graph, inline_graph, stack_graph

from offline import tfplan
from offline.evaluate import UNKNOWN

CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"


def _graphs():
    return [stack_graph(s) for s in STACKS] + [example_graph(e) for e in EXAMPLES]


def _resource(plan: dict, address: str) -> dict:
    found = [r for r in plan["planned_values"]["root_module"]["resources"] if r["address"] == address]
    assert len(found) == 1, f"{len(found)} resources at {address}"
    return found[0]


def _expressions(plan: dict, address: str) -> dict:
    return next(r for r in plan["configuration"]["root_module"]["resources"] if r["address"] == address)["expressions"]


@pytest.fixture(scope="module")
def production_plan() -> dict:
    return tfplan.plan(stack_graph("production"))


# ---- types ----------------------------------------------------------------------------------------
def test_every_custom_resource_of_the_stacks_and_seeds_has_a_terraform_type():
    missing = {r.type for g in _graphs() for r in g.resources
               if tfplan.is_terraform_resource(r) and r.type not in tfplan.TF_TYPES}
    assert missing == set(), f"no Terraform type for {sorted(missing)}: a scan would not see them"


def test_a_type_missing_from_the_map_is_an_error_not_a_skipped_resource():
    graph = stack_graph("production")
    resource = next(r for r in graph.resources if r.type == "aws:kms/key:Key")
    odd = type(resource)(**{**resource.__dict__, "type": "aws:kms/replicaKey:ReplicaKey"})
    with pytest.raises(tfplan.UnmappedType, match="aws:kms/replicaKey:ReplicaKey"):
        tfplan.tf_resources(type(graph)(stack="x", preview=False, resources=[odd]))


@pytest.mark.parametrize("token", sorted(tfplan.TF_TYPES))
def test_each_mapped_token_names_an_sdk_resource_class(token):
    schema = tfplan.resource_schema(token)  # imports pulumi_<pkg>.<module>.<Class>
    assert schema, f"{token}: the SDK class has no properties"


def test_the_map_is_the_bridge_metadata_for_irregular_names():
    # bridge-metadata.json "renames" -> "resources": the names that are not the module + resource name.
    assert tfplan.tf_type("aws:rds/instance:Instance") == "aws_db_instance"
    assert tfplan.tf_type("aws:lb/loadBalancer:LoadBalancer") == "aws_lb"
    assert tfplan.tf_type("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup") == "aws_default_security_group"
    assert tfplan.tf_type("aws:s3/bucketReplicationConfig:BucketReplicationConfig") == \
        "aws_s3_bucket_replication_configuration"
    assert tfplan.tf_type("aws:s3/bucket:Bucket") == "aws_s3_bucket"  # pulumi-aws 7: the former BucketV2


# ---- names and shapes -----------------------------------------------------------------------------
@pytest.mark.parametrize(("pulumi", "terraform"), [
    ("kmsKeyId", "kms_key_id"), ("s3BucketName", "s3_bucket_name"), ("ipv6CidrBlock", "ipv6_cidr_block"),
    ("enableDnsHostnames", "enable_dns_hostnames"), ("tags", "tags")])
def test_snake_case_undoes_the_bridges_camel_case(pulumi, terraform):
    assert tfplan.snake_case(pulumi) == terraform


def test_blocks_become_lists_of_objects_and_maps_keep_their_keys(production_plan):
    distribution = _resource(production_plan, "aws_cloudfront_distribution.cdn-distribution")["values"]
    assert isinstance(distribution["default_cache_behavior"], list) and len(distribution["default_cache_behavior"]) == 1
    assert distribution["default_cache_behavior"][0]["viewer_protocol_policy"] == "redirect-to-https"
    assert distribution["viewer_certificate"][0]["minimum_protocol_version"].startswith("TLSv1.2")
    # Repeated blocks go back to Terraform's singular name, one object per item.
    assert "origin" in distribution and "origins" not in distribution
    assert all(isinstance(b, dict) for b in distribution["ordered_cache_behavior"])
    assert distribution["aliases"] and all(isinstance(a, str) for a in distribution["aliases"])  # a list of strings
    assert distribution["tags"]["CostCenter"] == "engineering"  # a map: keys as written, not snake_cased


def test_blocks_named_in_the_plural_in_terraform_stay_plural(production_plan):
    group = _resource(production_plan, "aws_default_security_group.network-default-sg")["values"]
    assert "ingress" not in group or isinstance(group["ingress"], list)
    assert "ingres" not in group and "egres" not in group
    acl = _resource(production_plan, "aws_wafv2_web_acl.cdn-waf")["values"]
    names = [r["statement"][0]["managed_rule_group_statement"][0]["name"]
             for r in acl["rule"] if "managed_rule_group_statement" in r["statement"][0]]
    assert "AWSManagedRulesKnownBadInputsRuleSet" in names  # the path CKV2_AWS_47 reads


def test_renamed_fields_and_irregular_plurals():
    import pulumi_aws as aws

    def program():
        zone = aws.route53.Zone("zone", name="example.com")
        aws.route53.Record("apex", zone_id=zone.zone_id, name="example.com", type="A",
                           aliases=[{"name": "d.cloudfront.net", "zone_id": "Z2FDTNDATAQYW2",
                                     "evaluate_target_health": False}])
        topic = aws.sns.Topic("alerts")
        aws.sns.TopicSubscription("mail", topic=topic.arn, protocol="email", endpoint="ops@example.com")
        aws.cloudwatch.MetricAlarm("cpu", name="cpu-high", comparison_operator="GreaterThanThreshold",
                                   evaluation_periods=1, metric_name="CPUUtilization", namespace="AWS/EC2",
                                   period=60, statistic="Average", threshold=80)

    plan = tfplan.plan(inline_graph(program))
    assert _resource(plan, "aws_route53_record.apex")["values"]["alias"][0]["name"] == "d.cloudfront.net"
    assert _resource(plan, "aws_cloudwatch_metric_alarm.cpu")["values"]["alarm_name"] == "cpu-high"
    assert _expressions(plan, "aws_sns_topic_subscription.mail")["topic_arn"]["references"][0] == \
        "aws_sns_topic.alerts.arn"


def test_every_repeated_block_of_the_stacks_gets_a_reviewed_terraform_name():
    """A new repeated block in the program is a name to check against the Terraform provider's schema."""
    reviewed = {
        "cost_filter", "notification", "ordered_cache_behavior", "origin", "custom_header", "parameter", "auth",
        "egress", "ingress", "encryption_configuration", "setting", "load_balancer", "log_delivery_configuration",
        "default_action", "action", "condition", "alias", "weighted_routing_policy", "vpc", "rule", "transition",
        "rule_action_override", "text_transformation", "rules",  # cloudflare_ruleset: plural in Terraform
        "volume",  # aws_ecs_task_definition: volume { name }
        "redacted_fields",  # aws_wafv2_web_acl_logging_configuration: plural in Terraform
    }
    repeated: set[str] = set()
    for graph in _graphs():
        for r in graph.resources:
            if tfplan.is_terraform_resource(r):
                repeated |= _repeated_names(r.input, tfplan.resource_schema(r.type), r.type.split(":")[0])
    assert repeated <= reviewed, f"unreviewed repeated blocks: {sorted(repeated - reviewed)}"


def _repeated_names(get, schema, package) -> set[str]:
    """Terraform names of the properties whose Pulumi value is a list of objects, at any depth."""
    kind = tfplan._kind
    out: set[str] = set()

    def visit(value, schema):
        if not isinstance(value, dict):
            return
        for name, item in value.items():
            if not item:  # not set by this program
                continue
            typ = schema.get(name)
            k, inner = kind(typ)
            if k == "list" and kind(inner)[0] == "object":
                out.add(tfplan._field_name(name, typ, {}, package in tfplan.SINGULAR_BLOCK_PACKAGES))
                for element in item:
                    visit(element, kind(inner)[1])
            elif k == "object":
                visit(item, inner)

    visit({name: get(name) for name in schema}, schema)
    return out


# ---- references -----------------------------------------------------------------------------------
def test_an_attribute_another_new_resource_computes_is_a_reference(production_plan):
    address = "aws_s3_bucket_public_access_block.backups-bucket-public-access"
    assert "bucket" not in _resource(production_plan, address)["values"]  # unknown until the bucket exists
    assert _expressions(production_plan, address)["bucket"]["references"] == [
        "aws_s3_bucket.backups-bucket.id", "aws_s3_bucket.backups-bucket"]


def test_references_inside_lists_and_blocks_read_the_right_attribute(production_plan):
    primary = _resource(production_plan, "aws_db_instance.postgres-primary")
    assert primary["values"]["vpc_security_group_ids"] == ["aws_security_group.network-db-sg.id"]
    assert "kms_key_id" not in primary["values"]
    assert _expressions(production_plan, "aws_db_instance.postgres-primary")["kms_key_id"]["references"][0] == \
        "aws_kms_key.postgres-key.arn"
    alb = _resource(production_plan, "aws_lb.app-alb")["values"]
    assert alb["access_logs"][0]["bucket"] == "aws_s3_bucket.app-alb-logs.id"


def test_no_unknown_sentinel_reaches_the_plan_in_preview():
    plan = tfplan.plan(stack_graph("production", preview=True))
    assert UNKNOWN not in json.dumps(plan)
    assert len(plan["planned_values"]["root_module"]["resources"]) == len(plan["resource_changes"])


def test_addresses_are_unique_identifiers(production_plan):
    addresses = [r["address"] for r in production_plan["planned_values"]["root_module"]["resources"]]
    assert len(addresses) == len(set(addresses))
    assert all(a.split(".", 1)[1][0].isalpha() or a.split(".", 1)[1][0] == "_" for a in addresses)


# ---- waivers --------------------------------------------------------------------------------------
def test_every_waiver_and_gap_says_why_or_how():
    entries = tfplan.load_waivers()
    assert {e.kind for e in entries} <= {"waiver", "gap"}
    assert all(len(e.text) > 40 for e in entries), "a waiver is a justification, a gap a fix: write it out"


def test_judge_matches_addresses_and_stack_qualified_patterns(tmp_path: Path):
    path = tmp_path / "w.yaml"
    path.write_text("waivers:\n  CKV_1:\n    resources: ['production:aws_lb.*']\n    why: behind the CDN\n"
                    "gaps:\n  CKV_2:\n    resources: ['aws_kms_key.*']\n    fix: an explicit key policy\n"
                    "  CKV_3:\n    resources: ['aws_sns_topic.*']\n    fix: fixed already\n")
    entries = tfplan.load_waivers(path)
    found = [tfplan.Failure("CKV_1", "", "production", "aws_lb.app-alb"),
             tfplan.Failure("CKV_1", "", "generic-guide", "aws_lb.app-alb"),
             tfplan.Failure("CKV_2", "", "contribux", "aws_kms_key.redis-key")]
    verdict = tfplan.judge(found, entries)
    assert verdict.open == [found[1]]  # the waiver names production only
    assert [f for f, _ in verdict.gaps] == [found[2]]
    assert [e.check_id for e in verdict.stale] == ["CKV_3"]


def test_a_waiver_without_a_justification_is_refused(tmp_path: Path):
    path = tmp_path / "w.yaml"
    path.write_text("waivers:\n  CKV_1:\n    resources: ['aws_lb.*']\n")
    with pytest.raises(ValueError, match="CKV_1: `why`"):
        tfplan.load_waivers(path)


# ---- Checkov itself -------------------------------------------------------------------------------
@pytest.mark.slow
def test_checkov_finds_nothing_outside_the_waivers_and_known_gaps(tmp_path: Path):
    if not CHECKOV.exists():
        # .ci/run installs it (scripts/checkov --install) and sets CHECKOV_REQUIRED: CI never skips.
        if os.environ.get("CHECKOV_REQUIRED"):
            pytest.fail("CHECKOV_REQUIRED is set but .venv-checkov has no checkov: run scripts/checkov --install")
        pytest.skip("Checkov is not installed: scripts/checkov creates .venv-checkov")
    targets = ["production"] + [f"examples/{e}/Pulumi.production.yaml" for e in EXAMPLES]
    graphs = [stack_graph("production")] + [example_graph(e) for e in EXAMPLES]
    files = []
    for target, graph in zip(targets, graphs, strict=True):
        label = tfplan.target(str(ROOT / target) if "/" in target else target)[0]
        path = tmp_path / f"{label}.json"
        path.write_text(json.dumps(tfplan.plan(graph)))
        files += ["-f", str(path)]
    run = subprocess.run([str(CHECKOV), "--framework", "terraform_plan", "--skip-download", "--soft-fail",
                          "--quiet", "--compact", "-o", "json", *files],
                         capture_output=True, text=True, timeout=600, check=True)
    report = json.loads(run.stdout)
    summaries = [r["summary"] for r in (report if isinstance(report, list) else [report])]
    assert all(s["parsing_errors"] == 0 for s in summaries)
    assert sum(s["resource_count"] for s in summaries) > 900  # every stack's resources were read
    verdict = tfplan.judge(tfplan.failures(report), tfplan.load_waivers())
    assert verdict.open == [], "failed checks outside policies/checkov-waivers.yaml:\n" + "\n".join(map(str, verdict.open))
    assert verdict.stale == [], "entries that cover nothing (fixed? delete them): " + ", ".join(
        f"{e.kind} {e.check_id}" for e in verdict.stale)

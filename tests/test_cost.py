"""The monthly cost estimate (offline/cost.py) and the stack diff (offline/diff.py)."""

from __future__ import annotations

import copy
import re

import pytest
from conftest import EXAMPLES, ROOT, STACKS, evaluate, example_graph, stack_graph

from offline.cost import FREE, PLAN, PRICERS, USAGE, estimate, load_prices, render
from offline.diff import diff
from offline.diff import render as render_diff
from offline.evaluate import SECRET_PLACEHOLDER, Resource

PRICES = load_prices()
US = PRICES["regions"]["us-east-1"]
HOURS = PRICES["hoursPerMonth"]


def line(est, name):
    return next(x for x in est.lines if x.name == name)


def test_price_table_names_its_source_and_date():
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", PRICES["asOf"]) and PRICES["currency"] == "USD"
    assert all(url.startswith("https://aws.amazon.com/") for url in PRICES["sources"].values())
    assert HOURS == 730


def test_production_lines_follow_the_table():
    est = estimate(stack_graph("production"))
    rds, fargate = US["rds"], US["fargate"]["X86_64"]
    primary = 2 * (HOURS * rds["postgresHour"]["db.t3.medium"] + 50 * rds["gp3GbMonth"])  # multi-AZ: two copies
    replica = HOURS * rds["postgresHour"]["db.t3.medium"] + 50 * rds["gp3GbMonth"]  # storage of the source
    assert line(est, "postgres-primary").monthly == pytest.approx(primary, abs=0.01)
    for name in ("postgres-replica-0", "postgres-replica-1", "postgres-dr-replica"):
        assert line(est, name).monthly == pytest.approx(replica, abs=0.01)
    assert line(est, "postgres-dr-replica").region == "us-west-2"
    task = HOURS * (1 * fargate["vcpuHour"] + 2 * fargate["gbHour"])
    assert line(est, "app-service").monthly == 0  # no image deployed yet: 0 tasks
    assert line(est, "app-service").basis == "0 tasks: no image deployed yet (set ecsImageTag)"
    assert line(est, "app-service").note == f"once an image runs, each task: 1 vCPU/2 GB X86_64 ${task:,.2f}/month"
    running = line(estimate(evaluate("production", ecsImageTag="v1")), "app-service")
    assert running.monthly == pytest.approx(3 * task, abs=0.01)
    assert running.basis.startswith("3 task(s) × 1 vCPU/2 GB X86_64") and "autoscaling up to 12 tasks" in running.note
    assert line(est, "redis-group").monthly == pytest.approx(2 * HOURS * US["elasticache"]["nodeHour"]["cache.t4g.small"],
                                                              abs=0.01)
    assert line(est, "postgres-proxy").monthly == pytest.approx(2 * HOURS * rds["proxyVcpuHour"], abs=0.01)
    assert line(est, "cdn-waf").monthly == 5 + 7 * 1  # web ACL + 7 rules
    assert line(est, "alarms-uptime-check").monthly == 0.75 + 2 * 2.00  # HTTPS and latency features
    nat = [x for x in est.lines if x.type == "aws:ec2/natGateway:NatGateway"]
    assert len(nat) == 3 and all(x.monthly == pytest.approx(HOURS * 0.045, abs=0.01) for x in nat)
    # Every alarm the stack holds has its line: one standard-resolution metric at the table's rate.
    alarms = [x for x in est.lines if x.type == "aws:cloudwatch/metricAlarm:MetricAlarm"]
    in_graph = stack_graph("production").of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    assert alarms and sorted(x.name for x in alarms) == sorted(r.name for r in in_graph)
    assert all(x.monthly == pytest.approx(US["cloudwatch"]["alarmMetricMonth"]) for x in alarms)
    # 9 keys, plus (issue 15) one per log group without a key of its tier to share: the flow logs of
    # the VPC and of the DR VPC, the CDN's access logs and its WAF logs in us-east-1; (issue 16)
    # the backup jobs' key for their image repository and logs.
    keys = [x for x in est.lines if x.type == "aws:kms/key:Key" and x.monthly == 1.0]
    assert len(keys) == 14
    assert {x.name for x in keys} >= {"network-flow-logs-key", "dr-network-flow-logs-key", "cdn-access-logs-key",
                                      "cdn-waf-logs-key"}
    assert est.total == pytest.approx(sum(x.monthly for x in est.of_kind("priced")), abs=0.01)
    assert est.budget == 1500 and est.budget_thresholds == [80, 100, 150]


@pytest.mark.parametrize("name", [*STACKS, *EXAMPLES])
def test_every_resource_has_one_line_and_nothing_falls_through(name):
    graph = stack_graph(name) if name in STACKS else example_graph(name)
    est = estimate(graph)
    custom = [r for r in graph.resources if r.custom]
    assert len(est.lines) == len(custom)
    for x in est.of_kind("unpriced"):  # only what a vendor plan prices, or a region the table lacks
        assert x.type in PLAN or "no " in x.basis and "prices for region" in x.basis, (x.name, x.basis)
    # Priced at 0 only with the reason shown: a service with no image yet runs no task.
    assert all(x.monthly > 0 or x.basis.startswith("0 tasks: no image deployed yet") for x in est.of_kind("priced"))
    assert all(x.monthly == 0 and x.usage for x in est.of_kind("usage"))


def test_the_type_lists_do_not_overlap():
    assert not (set(FREE) & set(USAGE)) and not (set(FREE) & set(PRICERS)) and not (set(USAGE) & set(PRICERS))
    assert not (set(PLAN) & (set(FREE) | set(USAGE) | set(PRICERS)))


def test_a_resource_missing_from_the_table_is_listed_never_zero():
    graph = copy.deepcopy(stack_graph("staging"))
    graph.resources.append(Resource(
        urn="urn:pulumi:staging::platform::aws:opensearch/domain:Domain::search", type="aws:opensearch/domain:Domain",
        name="search", parent="", custom=True, inputs={}, outputs={}, dependencies=[], property_dependencies={},
        provider="", protect=False, ignore_changes=[], delete_before_replace=False))
    est = estimate(graph)
    assert line(est, "search").kind == "unpriced"
    assert "aws:opensearch/domain:Domain is not in the price table" in line(est, "search").basis
    text = "\n".join(render(est))
    assert "unpriced (1):\n    search (aws:opensearch/domain:Domain): aws:opensearch/domain:Domain is not in" in text


def test_a_region_or_class_missing_from_the_table_is_unpriced():
    prices = copy.deepcopy(PRICES)
    del prices["regions"]["us-west-2"]
    del prices["regions"]["us-east-1"]["rds"]["postgresHour"]["db.t3.medium"]
    est = estimate(stack_graph("production"), prices)
    assert line(est, "postgres-dr-replica").kind == "unpriced"
    assert "no rds prices for region us-west-2" in line(est, "postgres-dr-replica").basis
    assert line(est, "postgres-primary").basis == "no price for db.t3.medium in us-east-1"
    assert line(est, "postgres-proxy").kind == "priced"  # priced by the class's vCPUs, still in the table
    assert line(est, "redis-group").kind == "priced"


def test_generic_guide_in_eu_west_1_is_unpriced_not_cheap():
    est = estimate(example_graph("generic-guide"))
    assert line(est, "postgres-primary").kind == "unpriced"
    assert "no rds prices for region eu-west-1" in line(est, "postgres-primary").basis
    assert "unpriced (" in "\n".join(render(est))


def test_budget_comparison():
    staging = "\n".join(render(estimate(stack_graph("staging"))))
    assert re.search(r"budget 200\.00 \(alarms-budget\): the estimate is \d+ % of it; below the first alert at 80 %",
                     staging)
    tight = "\n".join(render(estimate(evaluate("staging", budgetMonthlyUsd="100"))))
    assert "OVER BUDGET on fixed charges alone" in tight
    near = estimate(evaluate("staging", budgetMonthlyUsd="150"))
    assert 80 <= near.total / 150 * 100 < 100
    assert "WARNING: fixed charges alone pass the 80 % alert" in "\n".join(render(near))


def test_valkey_nodes_are_cheaper():
    redis = line(estimate(evaluate("staging", redisEngine="valkey", redisEngineVersion="8.0")), "redis-group")
    assert redis.monthly == pytest.approx(HOURS * 0.016 * 0.8, abs=0.01) and "(valkey)" in redis.basis


# ---- diff ------------------------------------------------------------------------------------
def test_diff_staging_production_shows_config_differences_only():
    d = diff(stack_graph("staging", preview=True), stack_graph("production", preview=True))
    only_prod = {name for name, _ in d.only_right}
    assert {"postgres-replica-1", "postgres-dr-replica", "network-nat-2", "postgres-proxy"} <= only_prod
    assert d.only_left == []
    changed = {c.name: dict((p, (a, b)) for p, a, b in c.settings) for c in d.changed}
    assert changed["postgres-primary"]["instanceClass"] == ("'db.t4g.micro'", "'db.t3.medium'")
    assert changed["postgres-primary"]["multiAz"] == ("false", "true")
    assert changed["postgres-primary"]["backupRetentionPeriod"] == ("7", "30")
    assert changed["app-task"]["cpu"] == ("'256'", "'1024'")
    assert changed["cdn-distribution"]["priceClass"] == ("'PriceClass_100'", "'PriceClass_200'")
    # tags and names that differ only by the stack's name are counted, not listed
    assert d.stack_name_only > 100
    assert not any(p.startswith("tags.") for c in d.changed for p, _, _ in c.settings)
    assert "network-vpc" not in changed
    assert d.same + len(d.changed) + len(d.only_left) == len(stack_graph("staging", True).resources) - 1


def test_diff_of_a_stack_with_itself_is_empty_and_secrets_stay_hidden():
    a = evaluate("staging", preview=True, secret=("appDomain",))
    d = diff(a, stack_graph("staging", preview=True))
    assert d.only_left == d.only_right == []
    text = "\n".join(render_diff(d))
    assert "[secret]" in text  # the secret domain differs in encoding, shown without its value
    assert "staging.example.com" not in text and SECRET_PLACEHOLDER not in text


def test_the_plan_transcript_matches_the_price_table_date():
    doc = (ROOT / "docs" / "plan.md").read_text()
    assert f"on-demand list prices as of {PRICES['asOf']}" in doc

"""The monthly cost estimate (offline/cost.py) and the stack diff (offline/diff.py)."""

from __future__ import annotations

import copy
import re
from collections import Counter

import pytest
import yaml
from conftest import EXAMPLES, ROOT, STACKS, evaluate, example_graph, stack_graph

from offline.cost import FREE, PLAN, PRICERS, PRICES_FILE, USAGE, estimate, headline, load_prices, price_of, render
from offline.diff import cost_comparison, cost_line, diff
from offline.diff import render as render_diff
from offline.evaluate import SECRET_PLACEHOLDER, Resource

PRICES = load_prices()
HOURS = PRICES["hoursPerMonth"]


def us(item: str) -> float:
    return price_of(PRICES, "us-east-1", item)


def line(est, name):
    return next(x for x in est.lines if x.name == name)


def test_the_table_reads_as_pyyaml_safe_load_reads_it():
    """load_prices parses with libyaml's loader when there is one: the same document."""
    assert load_prices() == yaml.safe_load(PRICES_FILE.read_text())


def test_price_table_names_its_source_and_date():
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", PRICES["asOf"]) and PRICES["currency"] == "USD"
    # A page (https) or, where AWS's pages render prices in the browser, the document quoting them.
    assert all(str(src).startswith(("https://", "AWS Price List ", "a public ")) for src in PRICES["sources"].values())
    assert HOURS == 730


def test_production_lines_follow_the_table():
    est = estimate(stack_graph("production"))
    primary = 2 * (HOURS * us("rds/postgresHour/db.t3.medium") + 50 * us("rds/gp3GbMonth"))  # multi-AZ: two copies
    replica = HOURS * us("rds/postgresHour/db.t3.medium") + 50 * us("rds/gp3GbMonth")  # storage of the source
    assert line(est, "postgres-primary").monthly == pytest.approx(primary, abs=0.01)
    for name in ("postgres-replica-0", "postgres-replica-1", "postgres-dr-replica"):
        assert line(est, name).monthly == pytest.approx(replica, abs=0.01)
    assert line(est, "postgres-dr-replica").region == "us-west-2"
    task = HOURS * (1 * us("fargate/X86_64/vcpuHour") + 2 * us("fargate/X86_64/gbHour"))
    assert line(est, "app-service").monthly == 0  # no image deployed yet: 0 tasks
    assert line(est, "app-service").basis == "0 tasks: no image deployed yet (set ecsImageTag)"
    assert line(est, "app-service").note == f"once an image runs, each task: 1 vCPU/2 GB X86_64 ${task:,.2f}/month"
    running = line(estimate(evaluate("production", ecsImageTag="v1")), "app-service")
    assert running.monthly == pytest.approx(3 * task, abs=0.01)
    assert running.basis.startswith("3 task(s) × 1 vCPU/2 GB X86_64") and "autoscaling up to 12 tasks" in running.note
    assert line(est, "redis-group").monthly == pytest.approx(2 * HOURS * us("elasticache/nodeHour/cache.t4g.small"),
                                                              abs=0.01)
    assert line(est, "postgres-proxy").monthly == pytest.approx(2 * HOURS * us("rds/proxyVcpuHour"), abs=0.01)
    assert line(est, "cdn-waf").monthly == 5 + 7 * 1  # web ACL + 7 rules
    assert line(est, "alarms-uptime-check").monthly == 0.75 + 2 * 2.00  # HTTPS and latency features
    nat = [x for x in est.lines if x.type == "aws:ec2/natGateway:NatGateway"]
    assert len(nat) == 3 and all(x.monthly == pytest.approx(HOURS * 0.045, abs=0.01) for x in nat)
    # Every alarm the stack holds has its line: one standard-resolution metric at the table's rate.
    alarms = [x for x in est.lines if x.type == "aws:cloudwatch/metricAlarm:MetricAlarm"]
    in_graph = stack_graph("production").of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    assert alarms and sorted(x.name for x in alarms) == sorted(r.name for r in in_graph)
    assert all(x.monthly == pytest.approx(us("cloudwatch/alarmMetricMonth")) for x in alarms)
    # 9 keys, plus (issue 15) one per log group without a key of its tier to share: the flow logs of
    # the VPC and of the DR VPC, the CDN's access logs and its WAF logs in us-east-1, the rotation function's logs;
    # (issue 16) the backup jobs' key for their image repository and logs.
    keys = [x for x in est.lines if x.type == "aws:kms/key:Key" and x.monthly == 1.0]
    assert len(keys) == 15
    assert {x.name for x in keys} >= {"network-flow-logs-key", "dr-network-flow-logs-key", "cdn-access-logs-key",
                                      "cdn-waf-logs-key", "postgres-rotation-logs-key", "backup-jobs-key"}
    assert est.total == pytest.approx(sum(x.monthly for x in est.of_kind("priced")), abs=0.01)
    assert est.budget == 1500 and est.budget_thresholds == [80, 100, 150]


@pytest.mark.parametrize("name", [*STACKS, *EXAMPLES])
def test_every_resource_has_one_line_and_nothing_falls_through(name):
    graph = stack_graph(name) if name in STACKS else example_graph(name)
    est = estimate(graph)
    custom = [r for r in graph.resources if r.custom]
    assert len(est.lines) == len(custom)
    for x in est.of_kind("unpriced"):  # only what a vendor plan prices, or a region the table lacks
        assert x.type in PLAN or x.basis.startswith("no ") and x.region in x.basis and "prices.yaml" in x.basis, \
            (x.name, x.basis)
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
    del prices["regions"]["us-east-1"]["rds/postgresHour/db.t3.medium"]
    est = estimate(stack_graph("production"), prices)
    assert line(est, "postgres-dr-replica").kind == "unpriced"
    assert "no rds prices for region us-west-2" in line(est, "postgres-dr-replica").basis
    assert line(est, "postgres-primary").basis == ("no price for rds/postgresHour/db.t3.medium in us-east-1 "
                                                   "(prices.yaml has no source for it)")
    assert line(est, "postgres-proxy").kind == "priced"  # priced by the class's vCPUs, still in the table
    assert line(est, "redis-group").kind == "priced"


def test_generic_guide_in_eu_west_1_is_unpriced_not_cheap():
    est = estimate(example_graph("generic-guide"))
    assert line(est, "postgres-primary").kind == "unpriced"  # eu-west-1 has no source for db.m6g.large yet
    assert line(est, "postgres-primary").basis == ("no price for rds/postgresHour/db.m6g.large in eu-west-1 "
                                                   "(prices.yaml has no source for it)")
    assert line(est, "app-alb").kind == "priced" and line(est, "app-alb").basis == "730 h × $0.0252"
    assert f"unpriced ({est.unpriced}):" in "\n".join(render(est)) and est.unpriced > 0


# What generic-guide (eu-west-1, backup copies in eu-central-1) still lacks, reason by reason: a price
# added (or lost) changes this list, so a regression shows and a new source is counted.
GENERIC_GUIDE_UNPRICED = {
    ("eu-west-1", "no price for rds/postgresHour/db.m6g.large in eu-west-1 (prices.yaml has no source for it)"): 3,
    ("eu-west-1", "no elasticache prices for region eu-west-1 in prices.yaml"): 1,
    ("eu-west-1", "no kms prices for region eu-west-1 in prices.yaml"): 9,
    ("eu-west-1", "no scheduler prices for region eu-west-1 in prices.yaml"): 3,
    ("eu-west-1", "no secretsmanager prices for region eu-west-1 in prices.yaml"): 4,
    ("eu-west-1", "no lambda prices for region eu-west-1 in prices.yaml"): 1,
    ("eu-west-1", "no s3 prices for region eu-west-1 in prices.yaml"): 4,
    ("eu-west-1", "no price for cloudwatch/dashboardMonth in eu-west-1 (prices.yaml has no source for it)"): 1,
    ("eu-west-1", "no price for ec2/usage/flowLog in eu-west-1 (prices.yaml has no source for it)"): 1,
    ("eu-central-1", "no kms prices for region eu-central-1 in prices.yaml"): 1,
    ("eu-central-1", "no s3 prices for region eu-central-1 in prices.yaml"): 2,
}


def test_generic_guide_unpriced_lines_are_exactly_those_without_a_source():
    est = estimate(example_graph("generic-guide"))
    assert Counter((x.region, x.basis) for x in est.of_kind("unpriced")) == GENERIC_GUIDE_UNPRICED
    assert est.unpriced == 30 and est.unpriced_breakdown() == {"missingFromTable": 30, "vendorPlans": 0}
    # What the eu-west-1 sources price: NAT hours from the offer file, alarms, WAF, ALB, IPv4, Fargate.
    nat = [x for x in est.lines if x.type == "aws:ec2/natGateway:NatGateway"]
    assert len(nat) == 3 and all(x.kind == "priced" and x.basis == "730 h × $0.048" for x in nat)
    assert line(est, "alarms-alb-5xx").basis == "1 metric(s) × $0.10" and line(est, "alarms-alb-5xx").region == "eu-west-1"
    assert line(est, "app-waf").kind == "priced" and line(est, "app-waf").basis.startswith("web ACL $5.00 + ")
    assert line(est, "app-repo").usage == "$0.10/GB-month of image storage"


def test_a_region_block_holds_only_its_own_values():
    # No YAML anchors or aliases: a value shared between regions would be a copy, which the table forbids.
    events = list(yaml.parse(PRICES_FILE.read_text()))
    assert not [e for e in events if isinstance(e, yaml.AliasEvent) or getattr(e, "anchor", None)]
    ids = [id(entry) for block in PRICES["regions"].values() for entry in block.values()]
    assert len(ids) == len(set(ids))
    # A region other than us-east-1 never takes a us-east-1 value from the us-east-1 page: its source is its own.
    for region, block in PRICES["regions"].items():
        if region not in ("us-east-1", "us-west-2"):
            assert not {e["source"] for e in block.values()} & {"rds", "elasticache", "vpc", "elb", "fargate",
                                                                   "cloudwatch", "kms", "secretsmanager"}, region


# ---- the coverage table of docs/cost.md, computed from prices.yaml ----------------------------------------------
COVERAGE_GROUPS = [("RDS", ("rds/postgresHour/", "rds/gp3GbMonth", "rds/proxyVcpuHour")),
                   ("ElastiCache", ("elasticache/nodeHour/", "elasticache/valkeyFactor")),
                   ("NAT", ("ec2/natGatewayHour",)), ("IPv4", ("ec2/publicIpv4Hour",)), ("ALB", ("elb/albHour",)),
                   ("Fargate", ("fargate/",)),
                   ("CloudWatch", ("cloudwatch/alarmMetricMonth", "cloudwatch/alarmHighResMetricMonth",
                                   "cloudwatch/dashboardMonth")),
                   ("WAF", ("wafv2/webAclMonth", "wafv2/ruleMonth")), ("KMS", ("kms/",)),
                   ("Secrets Manager", ("secretsmanager/secretMonth",)), ("usage texts", ("/usage",))]


def coverage_table(prices: dict) -> str:
    """Region × service: ✓ every item us-east-1 has, p (n/m) some, – none."""
    full = prices["regions"]["us-east-1"]

    def items(block: dict, keys: tuple[str, ...]) -> set[str]:
        if keys == ("/usage",):
            return {i for i in block if "/usage" in i}
        return {i for i in block if "/usage" not in i and i.startswith(keys)}

    rows = ["| region | " + " | ".join(g for g, _ in COVERAGE_GROUPS) + " |",
            "|---" * (len(COVERAGE_GROUPS) + 1) + "|"]
    for region, block in prices["regions"].items():
        cells = []
        for _, keys in COVERAGE_GROUPS:
            have, want = len(items(block, keys) & items(full, keys)), len(items(full, keys))
            cells.append("✓" if have == want else "–" if not have else f"p ({have}/{want})")
        rows.append(f"| {region} | " + " | ".join(cells) + " |")
    rows.append("| any other | " + " | ".join("–" for _ in COVERAGE_GROUPS) + " |")
    return "\n".join(rows)


def test_the_coverage_table_in_docs_is_the_one_prices_yaml_gives():
    doc = (ROOT / "docs" / "cost.md").read_text()
    table = coverage_table(PRICES)
    assert table in doc, "docs/cost.md's coverage table is stale; replace it with:\n" + table
    assert coverage_table(PRICES).count("✓") >= 2 * len(COVERAGE_GROUPS)  # us-east-1 and us-west-2 complete


# ---- the unpriced count beside every figure ----------------------------------------------------------
def test_a_region_the_table_lacks_shows_its_unpriced_count_beside_total_and_budget():
    est = estimate(evaluate("staging", awsRegion="af-south-1"))  # Cape Town: not in the table
    n = est.unpriced
    assert n >= 40 and est.unpriced_breakdown() == {"missingFromTable": n, "vendorPlans": 0}
    assert all("af-south-1" in x.basis for x in est.of_kind("unpriced"))
    text = "\n".join(render(est))
    assert re.search(rf"\n  total +[\d.]+  fixed charges of \d+ resources; {n} unpriced \({n} missing from the "
                     r"price table\), NOT in the total: a lower bound; usage comes on top", text)
    # A lower bound cannot say the stack stays below an alert.
    assert re.search(rf"budget 200\.00 \(alarms-budget\): the estimate is at least \d+ % of it \({n} resources "
                     r"unpriced\); cannot tell whether it stays below the first alert at 80 %", text)
    assert "below the first alert" not in text.replace("stays below the first alert", "")
    assert headline(est).endswith(f"{n} unpriced ({n} missing from the price table) — NOT in the total; at least "
                                  f"{est.total / 200 * 100:.0f} % of the 200.00 budget (a lower bound: unpriced "
                                  "resources left out)")
    doc = est.to_dict()
    assert doc["unpriced"] == {"count": n, "missingFromTable": n, "vendorPlans": 0} and doc["totalIsLowerBound"]
    # Crossing an alert stays certain when resources are unpriced: said, with the count.
    tight = "\n".join(render(estimate(evaluate("staging", awsRegion="af-south-1", budgetMonthlyUsd="10"))))
    assert f"OVER BUDGET on fixed charges alone, even without the {n} unpriced resources" in tight


def test_a_fully_priced_stack_says_zero_unpriced_everywhere():
    est = estimate(stack_graph("staging"))
    assert est.unpriced == 0 and not est.to_dict()["totalIsLowerBound"]
    assert headline(est) == (f"{est.total:,.2f} USD/month fixed charges of {len(est.of_kind('priced'))} resources "
                             f"(usage on top); 0 unpriced; {est.total / 2:.0f} % of the 200.00 budget")
    vercel = estimate(example_graph("group-spaces"))  # a Vercel plan is unpriced by design, and counted
    assert vercel.unpriced_breakdown() == {"missingFromTable": 0, "vendorPlans": 1}
    assert "1 unpriced (1 billed by a vendor plan) — NOT in the total" in headline(vercel)


def test_the_diff_never_calls_a_stack_cheaper_when_either_side_has_unpriced_resources():
    left = estimate(evaluate("staging", awsRegion="af-south-1"))
    right = estimate(stack_graph("production"))
    d = diff(stack_graph("staging", preview=True), stack_graph("production", preview=True))
    text = cost_line(d, left, right)
    assert f"difference not comparable: {left.unpriced} unpriced in staging, each total a lower bound" in text
    assert f"unpriced: {left.unpriced} → 0" in text and not re.search(r"\([+-][\d,.]+\)", text)
    doc = cost_comparison(d, left, right)
    assert doc["comparable"] is False and doc["difference"] is None
    assert doc["staging"]["unpriced"] == left.unpriced and doc["production"]["unpriced"] == 0
    both = cost_line(d, estimate(stack_graph("staging")), right)
    assert re.search(r"\(\+[\d,.]+\); budget: 200\.00 → 1,500\.00; unpriced: 0 → 0$", both)
    assert cost_comparison(d, estimate(stack_graph("staging")), right)["difference"] == round(
        right.total - estimate(stack_graph("staging")).total, 2)


# ---- the table itself ------------------------------------------------------------------------------------
def test_every_price_has_a_value_a_source_and_a_date():
    for block in [PRICES["global"], *PRICES["regions"].values()]:
        for item, entry in block.items():
            assert set(entry) == {"value", "source", "date"}, item
            assert isinstance(entry["value"], (int, float, str)) and entry["value"] != "", item
            assert entry["source"] in PRICES["sources"] or str(entry["source"]).startswith(
                ("https://", "AWS Price List ")), item
            assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", entry["date"]) and entry["date"] <= PRICES["asOf"], item
    assert PRICES["asOf"] == max(e["date"] for b in PRICES["regions"].values() for e in b.values())


@pytest.mark.parametrize("name", EXAMPLES)
def test_an_example_in_fully_priced_regions_has_no_aws_resource_unpriced(name):
    est = estimate(example_graph(name))
    aws = [x for x in est.of_kind("unpriced") if x.type not in PLAN]
    regions = {x.region for x in est.lines if x.region}
    if regions <= {"us-east-1", "us-west-2"}:
        assert aws == [], [(x.name, x.basis) for x in aws]
    else:  # generic-guide (eu-west-1, eu-central-1): priced where a source exists, the rest said
        assert aws and all(x.region in x.basis for x in aws)


def test_budget_comparison():
    staging = "\n".join(render(estimate(stack_graph("staging"))))
    assert re.search(r"budget 200\.00 \(alarms-budget\): the estimate is \d+ % of it \(0 unpriced\); below the first alert at 80 %",
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

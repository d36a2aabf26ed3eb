"""scripts/update-prices (offline/pricelist.py): AWS Price List bulk offer files -> offline/prices.yaml.

The fixtures under tests/data/pricelist/ are offer files in the documented format (products with
productFamily and attributes, terms.OnDemand/Reserved with priceDimensions), one region file per
service, with decoys beside each wanted SKU; their prices are invented.
"""

from __future__ import annotations

import json
import re
import subprocess

import pytest
import yaml
from conftest import ROOT, example_graph

from offline.cost import PRICES_FILE, estimate, price_of
from offline.pricelist import RULES, find, load_offers, resolve_current, update

FIXTURES = ROOT / "tests" / "data" / "pricelist"
OFFERS = load_offers([str(FIXTURES)])


def rule(item: str):
    return next(r for r in RULES if r.item == item)


@pytest.mark.parametrize(("item", "cls", "want"), [
    ("rds/postgresHour/{class}", "db.t4g.micro", "0.0171"),  # not Multi-AZ, MySQL, eu-west-2 nor the reserved term
    ("rds/postgresHour/{class}", "db.m6g.large", "0.1681"),
    ("rds/gp3GbMonth", None, "0.1271"),                       # not the Multi-AZ gp3 nor gp2 storage
    ("elasticache/nodeHour/{class}", "cache.t4g.micro", "0.0181"),  # Redis, not Valkey nor Memcached
    ("ec2/natGatewayHour", None, "0.0481"),                   # hours, not bytes nor regional NAT gateways
    ("elb/albHour", None, "0.0251"),                          # application, not network; hours, not LCUs
    ("fargate/X86_64/vcpuHour", None, "0.0401"),              # Linux x86, not Windows nor Spot
    ("fargate/X86_64/gbHour", None, "0.0041"),
    ("fargate/ARM64/vcpuHour", None, "0.0321"),
    ("fargate/ARM64/gbHour", None, "0.0031"),
])
def test_picks_the_one_on_demand_sku_among_decoys(item, cls, want):
    found = find(OFFERS, rule(item), "eu-west-1", cls)
    assert not isinstance(found, str), found
    assert found.value == want and found.date.startswith("2026-11-0")
    assert re.fullmatch(r"AWS Price List \w+ 2026110\d000000 \(.*/index\.json\)", found.source)


def test_a_sku_with_only_a_reserved_term_or_in_another_region_is_not_the_price():
    assert find(OFFERS, rule("rds/postgresHour/{class}"), "eu-west-1", "db.t3.medium") == "no on-demand SKU matches"
    assert find(OFFERS, rule("rds/postgresHour/{class}"), "eu-west-2", "db.t4g.micro").value == "0.0181"
    assert find(OFFERS, rule("ec2/natGatewayHour"), "eu-west-2") == "no on-demand SKU matches"


def test_two_skus_that_disagree_are_reported_not_guessed():
    offers = load_offers([str(FIXTURES / "AWSELB")])
    nlb = next(p for p in offers[0].products.values() if p["productFamily"] == "Load Balancer-Network")
    nlb["productFamily"] = "Load Balancer-Application"  # now two application SKUs, 0.0251 and 0.0252
    assert find(offers, rule("elb/albHour"), "eu-west-1") == "2 SKUs match with different prices"


TABLE = """asOf: "2026-11-22"
currency: USD
hoursPerMonth: 730
regions:
  us-east-1:
    rds/postgresHour/db.t4g.micro: {value: 0.016, source: rds, date: "2026-11-22"}
  eu-west-1:
    rds/postgresHour/db.t4g.micro: {value: 0.017, source: rds, date: "2026-11-22"}
    rds/postgresHour/db.t3.medium: {value: 0.076, source: rds, date: "2026-11-22"}
    kms/keyMonth: {value: 1.0, source: kms, date: "2026-11-22"}
"""


def test_rewrites_the_matching_lines_adds_what_was_missing_and_leaves_the_rest():
    text, report = update(TABLE, OFFERS)
    lines = text.splitlines()
    assert report.changed == ["eu-west-1 rds/postgresHour/db.t4g.micro: 0.017 → 0.0171"]
    new = next(x for x in lines if x.startswith("    rds/postgresHour/db.t4g.micro: {value: 0.0171"))
    assert re.fullmatch(r'    rds/postgresHour/db\.t4g\.micro: \{value: 0\.0171, source: "AWS Price List AmazonRDS '
                        r'20261101000000 \(.*tests/data/pricelist/AmazonRDS/eu-west-1/index\.json\)", date: "2026-11-01"\}',
                        new)
    # Not in the offer files: left exactly as it was, and reported.
    assert '    rds/postgresHour/db.t3.medium: {value: 0.076, source: rds, date: "2026-11-22"}' in lines
    assert "eu-west-1 rds/postgresHour/db.t3.medium: no on-demand SKU matches in the AmazonRDS offer files" in \
        report.missing
    # No rule reads KMS: kept by hand. us-east-1 is not in the files: untouched.
    assert '    kms/keyMonth: {value: 1.0, source: kms, date: "2026-11-22"}' in lines and report.by_hand == 2
    assert '    rds/postgresHour/db.t4g.micro: {value: 0.016, source: rds, date: "2026-11-22"}' in lines
    assert "eu-west-1 rds/gp3GbMonth: 0.1271" in report.added and "eu-west-1 elb/albHour: 0.0251" in report.added
    assert all(a.startswith("eu-west-1 ") for a in report.added)
    # The added lines are in the eu-west-1 block, and the table still loads.
    table = yaml.safe_load(text)
    assert table["regions"]["eu-west-1"]["elb/albHour"]["value"] == 0.0251
    assert set(table["regions"]["us-east-1"]) == {"rds/postgresHour/db.t4g.micro"}
    assert table["asOf"] == "2026-11-22"  # the newest date of the table


def test_running_it_twice_changes_nothing():
    once, _ = update(TABLE, OFFERS)
    twice, report = update(once, OFFERS)
    assert twice == once and report.changed == report.added == []


def without(text: str, region: str) -> str:
    """The table without the block of `region` (the fixtures price eu-west-1, which it may hold)."""
    lines, out, skip = text.splitlines(), [], False
    for line in lines:
        if re.match(r"^  [a-z0-9-]+:\s*$", line):
            skip = line == f"  {region}:"
        if not skip:
            out.append(line)
    return "\n".join(out) + "\n"


def test_the_real_table_takes_a_new_region_and_cost_prices_it():
    def body(t: str) -> list[str]:
        return [x for x in t.splitlines() if not x.startswith("asOf:")]

    real = without(PRICES_FILE.read_text(), "eu-west-1")
    text, report = update(real, OFFERS, regions=["eu-west-3"])
    assert body(text) == [*body(real), "  eu-west-3:"] and report.missing == []  # no eu-west-3 products in the files
    text, report = update(real, OFFERS, regions=["eu-west-1"])

    assert body(text)[:len(body(real))] == body(real)  # every line kept, in place; the region appended
    assert re.search(r'^asOf: "2026-11-0\d"', text, re.M) is None  # the newest date stays asOf, not the files

    prices = yaml.safe_load(text)
    assert price_of(prices, "eu-west-1", "rds/postgresHour/db.m6g.large") == 0.1681
    primary = next(x for x in estimate(example_graph("generic-guide"), prices).lines if x.name == "postgres-primary")
    assert primary.kind == "priced" and "db.m6g.large multi-AZ: 2 × 730 h × $0.1681 + 2 × " in primary.basis
    assert primary.usage == "usage rates for eu-west-1 not in prices.yaml"  # said, and the line still priced


def test_resolves_the_current_regional_files_from_the_offer_index(tmp_path):
    base = tmp_path / "offers" / "v1.0" / "aws"
    (base / "index.json").parent.mkdir(parents=True)
    (base / "index.json").write_text(json.dumps({"offers": {
        code: {"offerCode": code, "currentRegionIndexUrl": f"/offers/v1.0/aws/{code}/current/region_index.json"}
        for code in ("AmazonRDS", "AmazonElastiCache", "AmazonEC2", "AWSELB", "AmazonECS", "AmazonS3")}}))
    for code in ("AmazonRDS", "AmazonElastiCache", "AmazonEC2", "AWSELB", "AmazonECS"):
        index = base / code / "current" / "region_index.json"
        index.parent.mkdir(parents=True)
        index.write_text(json.dumps({"regions": {r: {"regionCode": r, "currentVersionUrl":
                                                     f"/offers/v1.0/aws/{code}/20261101000000/{r}/index.json"}
                                                 for r in ("eu-west-1", "us-east-1")}}))
    urls = resolve_current(["eu-west-1"], f"file://{base}/index.json")
    assert urls == [f"file://{tmp_path}/offers/v1.0/aws/{code}/20261101000000/eu-west-1/index.json"
                    for code in ("AWSELB", "AmazonEC2", "AmazonECS", "AmazonElastiCache", "AmazonRDS")]


def test_the_script_runs_as_documented(tmp_path):
    table = tmp_path / "prices.yaml"
    table.write_text(TABLE)
    result = subprocess.run([str(ROOT / "scripts" / "update-prices"), str(FIXTURES), "--table", str(table)],
                            capture_output=True, text=True, check=False, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "changed (1):\n  eu-west-1 rds/postgresHour/db.t4g.micro: 0.017 → 0.0171" in result.stdout
    assert "not found (left as it was) (" in result.stdout
    assert "value: 0.0171" in table.read_text()
    dry = subprocess.run([str(ROOT / "scripts" / "update-prices"), "--dry-run", str(FIXTURES), "--table", str(table)],
                         capture_output=True, text=True, check=False)
    assert dry.returncode == 0 and "changed (0):" in dry.stdout

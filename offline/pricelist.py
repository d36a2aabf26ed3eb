"""`scripts/update-prices`: rewrite offline/prices.yaml from AWS Price List bulk offer files.

An offer file (https://docs.aws.amazon.com/awsaccountbilling/latest/aboutv2/using-the-aws-price-list-bulk-api.html)
holds `products` (SKU -> productFamily and attributes such as regionCode, instanceType,
databaseEngine, deploymentOption, usagetype) and `terms` (`OnDemand` and `Reserved`: SKU -> offer
term -> priceDimensions -> unit and pricePerUnit.USD). For each table item with a rule below, the
script finds the one on-demand SKU of the region that matches, and writes its USD price into the
item's line with the offer file as source and its publication date as date. Items without a rule
(RDS Proxy, CloudWatch, WAF, KMS, Secrets Manager, public IPv4, the usage texts) stay as they are,
kept by hand; so does every line of a region the offer files do not cover.

Inputs are offer files, directories of them, or URLs; `--aws` resolves the current regional offer
files of the services below from the public offer index (no credentials needed).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import urllib.request
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from offline.cost import PRICES_FILE

INDEX_URL = "https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/index.json"
CLASS = "{class}"  # in an item name: one line per class the table lists for that item
ANY_PREFIX = r"^([A-Z0-9]+-)?"  # usagetypes carry a region prefix (EU-, USE2-, APN1-) except in us-east-1


@dataclass(frozen=True)
class Rule:
    item: str                 # table item, `service/name[/{class}]`
    offer: str                # offer code (AmazonRDS, ...)
    attributes: dict          # product attribute -> exact value, or re.Pattern for usagetype
    family: str
    unit: str | None = None   # the price dimension's unit, when it tells SKUs apart


def _usage(suffix: str) -> re.Pattern:
    return re.compile(ANY_PREFIX + re.escape(suffix) + "$")


RULES = [
    Rule("rds/postgresHour/" + CLASS, "AmazonRDS", {"databaseEngine": "PostgreSQL", "deploymentOption": "Single-AZ",
                                                    "instanceType": CLASS}, "Database Instance", "Hrs"),
    Rule("rds/gp3GbMonth", "AmazonRDS", {"databaseEngine": "PostgreSQL", "deploymentOption": "Single-AZ",
                                         "usagetype": _usage("RDS:GP3-Storage")}, "Database Storage", "GB-Mo"),
    Rule("elasticache/nodeHour/" + CLASS, "AmazonElastiCache", {"cacheEngine": "Redis", "instanceType": CLASS},
         "Cache Instance", "Hrs"),
    Rule("ec2/natGatewayHour", "AmazonEC2", {"usagetype": _usage("NatGateway-Hours")}, "NAT Gateway", "Hrs"),
    Rule("elb/albHour", "AWSELB", {"usagetype": _usage("LoadBalancerUsage")}, "Load Balancer-Application", "Hrs"),
    Rule("fargate/X86_64/vcpuHour", "AmazonECS", {"usagetype": _usage("Fargate-vCPU-Hours:perCPU")}, "Compute"),
    Rule("fargate/X86_64/gbHour", "AmazonECS", {"usagetype": _usage("Fargate-GB-Hours")}, "Compute"),
    Rule("fargate/ARM64/vcpuHour", "AmazonECS", {"usagetype": _usage("Fargate-ARM-vCPU-Hours:perCPU")}, "Compute"),
    Rule("fargate/ARM64/gbHour", "AmazonECS", {"usagetype": _usage("Fargate-ARM-GB-Hours")}, "Compute"),
]
OFFERS = sorted({rule.offer for rule in RULES})


@dataclass
class Offer:
    code: str
    source: str   # where it was read: the URL (which holds the version), or version and file path
    date: str     # publicationDate, YYYY-MM-DD
    products: dict
    on_demand: dict


@dataclass
class Found:
    value: str
    source: str
    date: str


@dataclass
class Report:
    changed: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)    # a rule, a region covered, no single SKU
    by_hand: int = 0                                    # lines of covered regions no rule reads


# ---- reading offer files ---------------------------------------------------------------------
def _read(source: str) -> dict:
    if re.match(r"^(https?|file)://", source):
        with urllib.request.urlopen(source) as response:  # noqa: S310 (the URL is the user's input)
            return json.load(response)
    return json.loads(Path(source).read_text())


def load_offers(sources: list[str]) -> list[Offer]:
    files: list[str] = []
    for source in sources:
        path = Path(source)
        files += sorted(str(p) for p in path.rglob("*.json")) if path.is_dir() else [source]
    offers = []
    for name in files:
        data = _read(name)
        if "products" not in data or "offerCode" not in data:
            continue  # an offer index or region index, not an offer file
        date = str(data.get("publicationDate", ""))[:10]
        where = name if re.match(r"^https?://", name) else f"AWS Price List {data['offerCode']} {data.get('version')} ({name})"
        offers.append(Offer(data["offerCode"], where, date, data["products"], data.get("terms", {}).get("OnDemand", {})))
    return offers


def resolve_current(regions: list[str], index_url: str = INDEX_URL) -> list[str]:
    """The URLs of the current regional offer files of OFFERS for `regions`, from the offer index."""
    base = re.sub(r"(?<=[^/])/offers/.*$", "", index_url)
    offers = _read(index_url)["offers"]
    urls = []
    for code in OFFERS:
        region_index = _read(base + offers[code]["currentRegionIndexUrl"])["regions"]
        urls += [base + region_index[r]["currentVersionUrl"] for r in regions if r in region_index]
    return urls


# ---- matching --------------------------------------------------------------------------------
def _matches(product: dict, rule: Rule, region: str, cls: str | None) -> bool:
    attrs = product.get("attributes", {})
    if product.get("productFamily") != rule.family or attrs.get("regionCode") != region:
        return False
    for key, want in rule.attributes.items():
        have = attrs.get(key, "")
        if isinstance(want, re.Pattern) and not want.search(have):
            return False
        if isinstance(want, str) and have != (cls if want == CLASS else want):
            return False
    return True


def _on_demand_price(offer: Offer, sku: str, unit: str | None) -> str | None:
    """The first-tier USD price of the SKU's one on-demand term (Reserved terms are never read)."""
    terms = list(offer.on_demand.get(sku, {}).values())
    if len(terms) != 1:
        return None
    dimensions = [d for d in terms[0].get("priceDimensions", {}).values()
                  if str(d.get("beginRange", "0")) == "0" and (unit is None or d.get("unit") == unit)]
    return dimensions[0]["pricePerUnit"].get("USD") if len(dimensions) == 1 else None


def find(offers: list[Offer], rule: Rule, region: str, cls: str | None = None) -> Found | str:
    """The price of `rule` in `region`, or why there is none (no SKU, or SKUs that disagree)."""
    found: dict[str, Found] = {}
    for offer in (o for o in offers if o.code == rule.offer):
        for sku, product in offer.products.items():
            if _matches(product, rule, region, cls):
                usd = _on_demand_price(offer, sku, rule.unit)
                if usd is not None:
                    found[f"{Decimal(usd).normalize():f}"] = Found(f"{Decimal(usd).normalize():f}", offer.source,
                                                                  offer.date)
    if len(found) == 1:
        return next(iter(found.values()))
    return "no on-demand SKU matches" if not found else f"{len(found)} SKUs match with different prices"


def covered_regions(offers: list[Offer]) -> dict[str, set[str]]:
    """offer code -> the regions its files hold products for."""
    out: dict[str, set[str]] = {}
    for offer in offers:
        out.setdefault(offer.code, set()).update(
            p.get("attributes", {}).get("regionCode", "") for p in offer.products.values())
    return out


# ---- the table ---------------------------------------------------------------------------------
REGION_LINE = re.compile(r"^  ([a-z0-9-]+):\s*$")
ENTRY_LINE = re.compile(r"^    (\S+): \{value: (.*), source: (.*), date: \"(\d{4}-\d{2}-\d{2})\"\}\s*$")


def _entry(item: str, found: Found) -> str:
    return f'    {item}: {{value: {found.value}, source: "{found.source}", date: "{found.date}"}}'


def _blocks(lines: list[str]) -> dict[str, tuple[int, int]]:
    """region -> (index of its header line, index after its last entry line)."""
    start = lines.index("regions:")
    blocks: dict[str, tuple[int, int]] = {}
    region, first = None, 0
    for i in range(start + 1, len(lines) + 1):
        line = lines[i] if i < len(lines) else ""
        header = REGION_LINE.match(line)
        if header or i == len(lines) or (line and not line.startswith(" ") and not line.startswith("#")):
            if region:
                last = max((j for j in range(first, i) if ENTRY_LINE.match(lines[j])), default=first)
                blocks[region] = (first, last + 1)
            if not header:
                break
            region, first = header.group(1), i
    return blocks


def _classes(lines: list[str], item: str) -> set[str]:
    prefix = item.replace(CLASS, "")
    return {m.group(1)[len(prefix):] for m in map(ENTRY_LINE.match, lines) if m and m.group(1).startswith(prefix)}


def _wanted(lines: list[str]) -> list[tuple[Rule, str, str | None]]:
    """(rule, item, class) for every item the rules produce, classes taken from the whole table."""
    out: list[tuple[Rule, str, str | None]] = []
    for rule in RULES:
        if CLASS in rule.item:
            out += [(rule, rule.item.replace(CLASS, c), c) for c in sorted(_classes(lines, rule.item))]
        else:
            out.append((rule, rule.item, None))
    return out


def update(text: str, offers: list[Offer], regions: list[str] | None = None) -> tuple[str, Report]:
    """The table with the lines the offer files price rewritten (or added), and what happened.
    `regions`: the regions to update (default: those of the table the offer files cover)."""
    lines, report = text.splitlines(), Report()
    covered = covered_regions(offers)
    blocks = _blocks(lines)
    targets = regions or sorted(r for r in blocks if any(r in rs for rs in covered.values()))
    for region in targets:
        if region not in blocks:
            lines += [f"  {region}:"]
            blocks = _blocks(lines)
        start, end = blocks[region]
        items = {m.group(1): i for i in range(start, end) if (m := ENTRY_LINE.match(lines[i]))}
        done = set()
        for rule, item, cls in _wanted(lines):
            if region not in covered.get(rule.offer, set()):
                continue
            result = find(offers, rule, region, cls)
            if isinstance(result, str):
                report.missing.append(f"{region} {item}: {result} in the {rule.offer} offer files")
                continue
            done.add(item)
            new = _entry(item, result)
            if item in items and lines[items[item]] != new:
                was = ENTRY_LINE.match(lines[items[item]])
                report.changed.append(f"{region} {item}: {was.group(2) if was else '?'} → {result.value}")
                lines[items[item]] = new
            elif item not in items:
                report.added.append(f"{region} {item}: {result.value}")
                lines.insert(end, new)
                end += 1
                blocks = _blocks(lines)
        report.by_hand += len(set(items) - done)
    dates = [m.group(4) for m in map(ENTRY_LINE.match, lines) if m]
    lines = [re.sub(r'^asOf: "[\d-]+"', f'asOf: "{max(dates)}"', line) if line.startswith("asOf:") else line
             for line in lines]
    return "\n".join(lines) + "\n", report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/update-prices", description=__doc__.split("\n\n")[0])
    parser.add_argument("sources", nargs="*", help="offer files, directories of them, or their URLs")
    parser.add_argument("--aws", action="store_true",
                        help="read the current regional offer files of AmazonRDS, AmazonElastiCache, AmazonEC2, "
                             "AWSELB and AmazonECS from the public Price List index (large downloads)")
    parser.add_argument("--region", action="append", default=[],
                        help="update (or add) this region; repeatable (default: the table's regions the files cover)")
    parser.add_argument("--table", type=Path, default=PRICES_FILE, help="the price table (default: %(default)s)")
    parser.add_argument("--dry-run", action="store_true", help="report what would change, write nothing")
    args = parser.parse_args(argv)
    sources = list(args.sources)
    if args.aws:
        regions = args.region or sorted(_blocks(args.table.read_text().splitlines()))
        sources += resolve_current(regions)
    if not sources:
        parser.error("give offer files, directories or URLs, or --aws")
    text, report = update(args.table.read_text(), load_offers(sources), args.region or None)
    for title, entries in (("changed", report.changed), ("added", report.added),
                           ("not found (left as it was)", report.missing)):
        print(f"{title} ({len(entries)}):" + "".join(f"\n  {e}" for e in entries))
    print(f"kept by hand (no Price List rule): {report.by_hand} lines of the regions updated")
    if not args.dry_run:
        args.table.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

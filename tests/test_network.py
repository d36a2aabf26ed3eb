import ipaddress

import pytest
from conftest import evaluate, stack_graph, without_app

from components._validation import InvalidArgs
from components.network import NetworkSettings


def rules(graph, kind):
    return {r.name: r for r in graph.of_type(f"aws:vpc/securityGroup{kind}Rule:SecurityGroup{kind}Rule")}


def test_staging_spans_two_azs_with_one_nat(staging):
    subnets = staging.of_type("aws:ec2/subnet:Subnet")
    assert len(subnets) == 4
    assert {s.input("availabilityZone") for s in subnets} == {"us-east-1a", "us-east-1b"}
    assert len(staging.of_type("aws:ec2/natGateway:NatGateway")) == 1
    routes = [r for r in staging.of_type("aws:ec2/route:Route") if r.input("natGatewayId")]
    assert len(routes) == 1


def test_production_spans_three_azs_with_a_nat_per_az(production):
    net = [s for s in production.of_type("aws:ec2/subnet:Subnet") if s.name.startswith("network-")]
    assert {s.input("availabilityZone") for s in net} == {"us-east-1a", "us-east-1b", "us-east-1c"}
    nats = {n.outputs["id"]: n for n in production.of_type("aws:ec2/natGateway:NatGateway")}
    assert len(nats) == 3
    routes = [r for r in production.of_type("aws:ec2/route:Route") if r.input("natGatewayId")]
    # each private route table sends egress through a different NAT
    assert sorted(r.input("natGatewayId") for r in routes) == sorted(nats)


def test_subnets_are_disjoint_and_inside_the_vpc(any_stack):
    vpc = ipaddress.ip_network(any_stack.named("network-vpc").input("cidrBlock"))
    nets = [ipaddress.ip_network(s.input("cidrBlock"))
            for s in any_stack.of_type("aws:ec2/subnet:Subnet") if s.name.startswith("network-")]
    assert all(n.subnet_of(vpc) for n in nets)
    assert all(not a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1:])


def test_private_subnets_never_map_public_ips(any_stack):
    for s in any_stack.of_type("aws:ec2/subnet:Subnet"):
        assert s.input("mapPublicIpOnLaunch") in (False, None)


def test_isolated_network_has_no_nat_and_no_default_route():
    g = evaluate(natGateways="none", **without_app())
    assert g.of_type("aws:ec2/natGateway:NatGateway") == []
    private_routes = [r for r in g.of_type("aws:ec2/route:Route") if "private" in r.name]
    assert private_routes == []


def test_flow_logs_capture_all_traffic_into_the_log_group(staging):
    flow = staging.named("network-flow-log")
    group = staging.named("network-flow-logs")
    role = staging.named("network-flow-logs-role")
    assert flow.input("trafficType") == "ALL"
    assert flow.input("logDestination") == group.outputs["arn"]
    assert flow.input("iamRoleArn") == role.outputs["arn"]
    assert flow.input("vpcId") == staging.named("network-vpc").outputs["id"]
    assert group.input("retentionInDays") == 14


def test_default_security_group_is_emptied(staging):
    default = staging.named("network-default-sg")
    assert default.input("ingress") == [] and default.input("egress") == []


def test_database_and_cache_accept_only_the_app_group(staging):
    ingress = rules(staging, "Ingress")
    app = staging.named("network-app-sg").outputs["id"]
    db = staging.named("network-db-sg").outputs["id"]
    cache = staging.named("network-cache-sg").outputs["id"]
    assert ingress["network-db-from-app"].input("securityGroupId") == db
    assert ingress["network-db-from-app"].input("referencedSecurityGroupId") == app
    assert ingress["network-db-from-app"].input("fromPort") == 5432
    assert ingress["network-cache-from-app"].input("securityGroupId") == cache
    assert ingress["network-cache-from-app"].input("referencedSecurityGroupId") == app
    assert ingress["network-cache-from-app"].input("toPort") == 6379
    # and the rotation function's group (components/db_rotation.py; tests/test_rotation.py), and
    # (issue 16) the scheduled backup jobs' group, on 5432 only (tests/test_backup_jobs.py)
    assert ingress["network-db-from-ops"].input("securityGroupId") == db
    assert ingress["network-db-from-ops"].input("referencedSecurityGroupId") == staging.named("network-ops-sg").outputs["id"]
    assert {n for n in ingress if n.startswith("network-")} == {"network-db-from-app", "network-cache-from-app",
                                                                "network-db-from-rotation", "network-db-from-ops"}


def test_proxy_sits_between_app_and_database(production):
    ingress = rules(production, "Ingress")
    egress = rules(production, "Egress")
    proxy = production.named("network-proxy-sg").outputs["id"]
    db = production.named("network-db-sg").outputs["id"]
    assert ingress["network-db-from-proxy"].input("referencedSecurityGroupId") == proxy
    assert ingress["network-db-from-proxy"].input("securityGroupId") == db
    assert egress["network-proxy-to-db"].input("referencedSecurityGroupId") == db


def test_allow_listed_cidrs_get_their_own_rules():
    g = evaluate(databaseAllowedCidrs=["10.50.0.0/24"], cacheAllowedCidrs=["10.60.0.0/24"])
    ingress = rules(g, "Ingress")
    assert ingress["network-db-from-cidr-0"].input("cidrIpv4") == "10.50.0.0/24"
    assert ingress["network-cache-from-cidr-0"].input("cidrIpv4") == "10.60.0.0/24"


def test_no_ingress_from_the_internet_and_every_rule_described(any_stack):
    for kind in ("Ingress", "Egress"):
        for rule in rules(any_stack, kind).values():
            assert rule.input("description"), rule.name
            if kind == "Ingress":
                assert rule.input("cidrIpv4") not in ("0.0.0.0/0",) and rule.input("cidrIpv6") != "::/0"


@pytest.mark.parametrize("kwargs, field", [
    ({"az_count": 1}, "az_count"),
    ({"az_count": 7}, "az_count"),
    ({"vpc_cidr": "10.0.0.0/8"}, "vpc_cidr"),
    ({"vpc_cidr": "not-a-cidr"}, "vpc_cidr"),
    ({"nat_gateways": "two"}, "nat_gateways"),
    ({"database_allowed_cidrs": ("0.0.0.0/0",)}, "database_allowed_cidrs"),
    ({"cache_allowed_cidrs": ("::/0",)}, "cache_allowed_cidrs"),
    ({"cache_allowed_cidrs": ("10.0.0.1/24",)}, "cache_allowed_cidrs"),
])
def test_settings_refuse(kwargs, field):
    with pytest.raises(InvalidArgs) as info:
        NetworkSettings(**kwargs)
    assert [p.field for p in info.value.problems] == [field]


def test_dr_network_lives_in_the_dr_region(production):
    vpc = production.named("dr-network-vpc")
    assert vpc.input("region") == "us-west-2"
    assert vpc.input("cidrBlock") == "10.1.0.0/16"
    assert production.of_type("aws:ec2/natGateway:NatGateway") and all(
        not n.name.startswith("dr-") for n in production.of_type("aws:ec2/natGateway:NatGateway"))
    assert stack_graph("staging").of_type("aws:ec2/vpc:Vpc")[0].input("region") is None


# ---- what EC2 accepts in descriptions --------------------------------------------------------
def _ec2_description_rules() -> dict[str, tuple[set[str], int]]:
    """Allowed characters and maximum length of each EC2 description, as botocore's model states them."""
    import glob
    import gzip
    import html
    import json
    import re

    import botocore

    path = sorted(glob.glob(f"{botocore.__path__[0]}/data/ec2/*/service-2.json*"))[-1]
    raw = gzip.open(path).read() if path.endswith(".gz") else open(path, "rb").read()
    shapes = json.loads(raw)["shapes"]
    out = {}
    for shape in ("CreateSecurityGroupRequest", "IpRange", "Ipv6Range", "PrefixListId", "UserIdGroupPair"):
        doc = html.unescape(re.sub(r"<[^>]+>", " ", shapes[shape]["members"]["Description"]["documentation"]))
        chars = re.search(r"(?:Allowed|Valid) characters(?: are|:) a-z, A-Z, 0-9, spaces, and (\S+)", doc).group(1)
        length = int(re.search(r"Up to (\d+) characters", doc).group(1))
        letters = {chr(c) for c in range(128) if chr(c).isalnum()}
        out[shape] = (letters | {" "} | set(chars), length)
    return out


def test_every_security_group_description_is_one_ec2_accepts():
    from conftest import EXAMPLES, STACKS, example_graph

    rules_by_shape = _ec2_description_rules()
    assert "&" not in rules_by_shape["UserIdGroupPair"][0] and "→" not in rules_by_shape["IpRange"][0]
    checked = 0
    for g in [stack_graph(s) for s in STACKS] + [example_graph(a) for a in EXAMPLES]:
        for r in g.resources:
            if r.type == "aws:ec2/securityGroup:SecurityGroup":
                described = [("CreateSecurityGroupRequest", r.input("description"))]
                described += [(shape, rule.get("description")) for rule in
                              (r.input("ingress") or []) + (r.input("egress") or [])
                              for shape in ("IpRange", "UserIdGroupPair", "PrefixListId")]
            elif r.type in ("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
                            "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"):
                shape = ("IpRange" if r.input("cidrIpv4") else "Ipv6Range" if r.input("cidrIpv6")
                         else "PrefixListId" if r.input("prefixListId") else "UserIdGroupPair")
                described = [(shape, r.input("description"))]
            else:
                continue
            for shape, text in described:
                if text is None:
                    continue
                allowed, limit = rules_by_shape[shape]
                bad = sorted(set(text) - allowed)
                assert not bad and len(text) <= limit, f"{g.stack} {r.name}: {text!r} has {bad} or > {limit}"
                checked += 1
    assert checked > 50

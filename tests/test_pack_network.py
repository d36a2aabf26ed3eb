"""Network rules, written as a user would (policy_cases.Case): world-open ingress on every spelling
(IPv4, IPv6, split ranges, inline, rule resources, the deprecated-style ec2.SecurityGroupRule), NACLs,
flow logs, instances with public IPs or IMDSv1, subnets that hand out public IPs."""

from __future__ import annotations

import pulumi_aws as aws
import pytest
from policy_cases import Case, assert_case, ids

TAGS = {"Project": "platform", "Environment": "production", "Owner": "platform-team", "ManagedBy": "pulumi"}
SSH = {"ip_protocol": "tcp", "from_port": 22, "to_port": 22}


def _vpc():
    vpc = aws.ec2.Vpc("vpc", cidr_block="10.0.0.0/16", tags=TAGS)
    aws.ec2.FlowLog("vpc-flow", vpc_id=vpc.id, traffic_type="ALL", log_destination_type="s3",
                    log_destination="arn:aws:s3:::flow-logs", tags=TAGS)
    return vpc


def _group(vpc, name="app", **kwargs):
    return aws.ec2.SecurityGroup(name, vpc_id=vpc.id, description=f"{name} tier", tags=TAGS, **kwargs)


def _ingress_rules(*sources: dict, ports: dict = SSH):
    """One vpc.SecurityGroupIngressRule per source ({"cidr_ipv4": ...} or {"cidr_ipv6": ...})."""
    def program() -> None:
        group = _group(_vpc())
        for i, source in enumerate(sources):
            aws.vpc.SecurityGroupIngressRule(f"in-{i}", security_group_id=group.id, description="admin",
                                             tags=TAGS, **ports, **source)
    return program


def _legacy_rule(cidrs: list[str], ipv6: list[str] | None = None, protocol="tcp", from_port: object = 22,
                 to_port: object = 22):
    def program() -> None:
        group = _group(_vpc())
        aws.ec2.SecurityGroupRule("legacy", type="ingress", security_group_id=group.id, protocol=protocol,
                                  from_port=from_port, to_port=to_port, cidr_blocks=cidrs,
                                  ipv6_cidr_blocks=ipv6, description="admin")
    return program


def _inline(entries: list[dict], default=False):
    def program() -> None:
        vpc = _vpc()
        rules = [{"description": "admin", **e} for e in entries]
        if default:
            aws.ec2.DefaultSecurityGroup("default", vpc_id=vpc.id, ingress=rules, tags=TAGS)
        else:
            _group(vpc, ingress=rules)
    return program


def _web(on_load_balancer: bool, port=443):
    def program() -> None:
        vpc = _vpc()
        group = _group(vpc, "web")
        aws.vpc.SecurityGroupIngressRule("https", security_group_id=group.id, ip_protocol="tcp", from_port=port,
                                         to_port=port, cidr_ipv4="0.0.0.0/0", description="visitors", tags=TAGS)
        other = _group(vpc, "lb")
        aws.lb.LoadBalancer("alb", load_balancer_type="application", internal=False, subnets=["subnet-1"],
                            security_groups=[(group if on_load_balancer else other).id], tags=TAGS)
    return program


def _nacl_rule(cidr: str, from_port=22, to_port=22, protocol="tcp", ipv6=False):
    def program() -> None:
        acl = aws.ec2.NetworkAcl("acl", vpc_id=_vpc().id, tags=TAGS)
        source = {"ipv6_cidr_block": cidr} if ipv6 else {"cidr_block": cidr}
        aws.ec2.NetworkAclRule("acl-ssh", network_acl_id=acl.id, rule_number=100, egress=False,
                               protocol=protocol, rule_action="allow", from_port=from_port, to_port=to_port,
                               **source)
    return program


def _nacl_inline(cidr: str, to_port: int):
    def program() -> None:
        aws.ec2.NetworkAcl("acl", vpc_id=_vpc().id, tags=TAGS, ingress=[{
            "protocol": "tcp", "rule_no": 100, "action": "allow", "cidr_block": cidr,
            "from_port": 0, "to_port": to_port}])
    return program


def _flow_log(traffic: str):
    def program() -> None:
        vpc = aws.ec2.Vpc("vpc", cidr_block="10.0.0.0/16", tags=TAGS)
        aws.ec2.FlowLog("vpc-flow", vpc_id=vpc.id, traffic_type=traffic, log_destination_type="s3",
                        log_destination="arn:aws:s3:::flow-logs", tags=TAGS)
    return program


IMDS2 = {"http_tokens": "required", "http_endpoint": "enabled"}


def _instance(public=False, metadata: dict | None = None):
    def program() -> None:
        aws.ec2.Instance("box", ami="ami-0123456789abcdef0", instance_type="t3.micro",
                         associate_public_ip_address=public, metadata_options=metadata or IMDS2, tags=TAGS)
    return program


def _launch_template(public: str = "false", metadata: dict | None = None):
    def program() -> None:
        aws.ec2.LaunchTemplate("tpl", image_id="ami-0123456789abcdef0", instance_type="t3.micro",
                               metadata_options=metadata or IMDS2, tags=TAGS,
                               network_interfaces=[{"device_index": 0, "associate_public_ip_address": public}])
    return program


def _launch_configuration(public=False, metadata: dict | None = None):
    def program() -> None:
        aws.ec2.LaunchConfiguration("cfg", image_id="ami-0123456789abcdef0", instance_type="t3.micro",
                                    associate_public_ip_address=public, metadata_options=metadata or IMDS2)
    return program


def _subnet(**kwargs):
    def program() -> None:
        aws.ec2.Subnet("public", vpc_id=_vpc().id, cidr_block="10.0.0.0/24", tags=TAGS, **kwargs)
    return program


V4 = {"cidr_ipv4": "0.0.0.0/0"}
OFFICE = {"cidr_ipv4": "198.51.100.10/32"}
NO_PUBLIC = "sg-no-public-ingress"
WEB = "sg-public-web-on-load-balancers"

CASES = [
    # vpc.SecurityGroupIngressRule: IPv4, IPv6, a wide prefix that is not /0, every protocol.
    Case(NO_PUBLIC, _ingress_rules(V4), _ingress_rules(OFFICE), "opens tcp 22 to 0.0.0.0/0", id="ipv4"),
    Case(NO_PUBLIC, _ingress_rules({"cidr_ipv6": "::/0"}), _ingress_rules({"cidr_ipv6": "2001:db8::/48"}),
         "opens tcp 22 to ::/0", id="ipv6"),
    Case(NO_PUBLIC, _ingress_rules({"cidr_ipv6": "2000::/3"}), _ingress_rules({"cidr_ipv6": "2600:1f18::/32"}),
         "to 2000::/3", id="ipv6-global-unicast"),
    Case(NO_PUBLIC, _ingress_rules({"cidr_ipv4": "0.0.0.0/1"}), _ingress_rules({"cidr_ipv4": "10.0.0.0/8"}),
         "to 0.0.0.0/1", id="half-the-internet"),
    Case(NO_PUBLIC, _ingress_rules(V4, ports={"ip_protocol": "-1"}),
         _ingress_rules(OFFICE, ports={"ip_protocol": "-1"}), "opens all 0-65535", id="all-protocols"),
    Case(NO_PUBLIC, _ingress_rules(V4, ports={"ip_protocol": "tcp", "from_port": 80, "to_port": 443}),
         _ingress_rules(OFFICE, ports={"ip_protocol": "tcp", "from_port": 80, "to_port": 443}),
         "opens tcp 80-443", id="range-spanning-web-ports"),
    # ec2.SecurityGroupRule: lists, split halves in one rule, ports as strings and floats.
    Case(NO_PUBLIC, _legacy_rule(["0.0.0.0/1", "128.0.0.0/1"]), _legacy_rule(["10.0.0.0/8", "192.168.0.0/16"]),
         "0.0.0.0/1, 128.0.0.0/1", id="ec2-rule-split"),
    Case(NO_PUBLIC, _legacy_rule([], ["::/1", "8000::/1"]), _legacy_rule([], ["fd00::/8"]),
         "::/1, 8000::/1", id="ec2-rule-ipv6-split"),
    Case(NO_PUBLIC, _legacy_rule(["0.0.0.0/0"], protocol="all", from_port=0, to_port=0),
         _legacy_rule(["10.0.0.0/8"], protocol="all", from_port=0, to_port=0), "opens all 0-65535",
         id="ec2-rule-all"),
    Case(NO_PUBLIC, _legacy_rule(["0.0.0.0/0"], from_port="5432", to_port=5432.0),
         _legacy_rule(["10.0.0.0/16"], from_port="5432", to_port=5432.0), "opens tcp 5432", id="ports-as-strings"),
    # Inline rules on a group and on the default group; halves split over two entries.
    Case(NO_PUBLIC, _inline([{"protocol": "tcp", "from_port": 3389, "to_port": 3389, "cidr_blocks": ["0.0.0.0/0"]}]),
         _inline([{"protocol": "tcp", "from_port": 3389, "to_port": 3389, "cidr_blocks": ["10.0.0.0/16"]}]),
         "opens tcp 3389", id="inline"),
    Case(NO_PUBLIC, _inline([{"protocol": "tcp", "from_port": 22, "to_port": 22, "cidr_blocks": ["0.0.0.0/1"]},
                             {"protocol": "tcp", "from_port": 22, "to_port": 22, "cidr_blocks": ["128.0.0.0/1"]}]),
         _inline([{"protocol": "tcp", "from_port": 22, "to_port": 22, "cidr_blocks": ["10.0.0.0/9"]},
                  {"protocol": "tcp", "from_port": 22, "to_port": 22, "cidr_blocks": ["10.128.0.0/9"]}]),
         "0.0.0.0/1, 128.0.0.0/1", id="inline-split-entries"),
    Case(NO_PUBLIC, _inline([{"protocol": "-1", "from_port": 0, "to_port": 0, "ipv6_cidr_blocks": ["::/0"]}],
                            default=True),
         _inline([{"protocol": "-1", "from_port": 0, "to_port": 0, "ipv6_cidr_blocks": ["fd00::/8"]}],
                 default=True), "to ::/0", id="default-group"),
    # Preview: the rule is judged before anything exists, though the group id is still unknown.
    Case(NO_PUBLIC, _ingress_rules(V4), _ingress_rules(OFFICE), "opens tcp 22 to 0.0.0.0/0", id="preview",
         preview=True),
    # Many rules, each no wider than a /8, that add up to more than a /8 of public space: only the
    # graph sees it. The twin keeps one public /8 and private ranges.
    Case(WEB, _ingress_rules(*({"cidr_ipv4": f"{i}.0.0.0/8"} for i in range(256))),
         _ingress_rules({"cidr_ipv4": "3.0.0.0/8"}, {"cidr_ipv4": "10.0.0.0/8"}, {"cidr_ipv4": "172.16.0.0/12"}),
         "opens tcp 22 to the world through 256 rules", id="split-into-256-rules"),
    Case(WEB, _web(on_load_balancer=False), _web(on_load_balancer=True),
         "takes tcp 443 from the world but no load balancer uses this group", id="web-port-off-load-balancer"),
    Case("nacl-no-admin-ingress", _nacl_rule("0.0.0.0/0"), _nacl_rule("198.51.100.0/24"),
         "allows tcp 22-22 (port 22) from 0.0.0.0/0", id="rule"),
    Case("nacl-no-admin-ingress", _nacl_rule("::/0", protocol="-1", from_port=0, to_port=0, ipv6=True),
         _nacl_rule("::/0", protocol="tcp", from_port=443, to_port=443, ipv6=True), "port 22, 3389", id="all-ipv6"),
    Case("nacl-no-admin-ingress", _nacl_inline("0.0.0.0/0", 65535), _nacl_inline("0.0.0.0/0", 21),
         "allows tcp 0-65535", id="inline"),
    Case("vpc-flow-logs-all-traffic", _flow_log("REJECT"), _flow_log("ALL"), "trafficType is 'REJECT'"),
    Case("ec2-no-public-ip", _instance(public=True), _instance(), "associatePublicIpAddress is true",
         id="instance"),
    Case("ec2-no-public-ip", _launch_template("true"), _launch_template("false"),
         "networkInterfaces[0] sets associatePublicIpAddress true", id="launch-template"),
    Case("ec2-no-public-ip", _launch_configuration(True), _launch_configuration(False),
         "associatePublicIpAddress is true", id="launch-configuration"),
    Case("ec2-imdsv2", _instance(metadata={"http_tokens": "optional"}), _instance(),
         "httpTokens is 'optional'", id="instance"),
    Case("ec2-imdsv2", _instance(metadata={"http_endpoint": "enabled"}),
         _instance(metadata={"http_endpoint": "disabled"}), "httpTokens is None", id="instance-unset"),
    Case("ec2-imdsv2", _launch_template(metadata={"http_tokens": "optional"}), _launch_template(),
         "httpTokens is 'optional'", id="launch-template"),
    Case("ec2-imdsv2", _launch_configuration(metadata={"http_put_response_hop_limit": 1}),
         _launch_configuration(), "httpTokens is None", id="launch-configuration"),
    Case("vpc-subnet-no-auto-public-ip", _subnet(map_public_ip_on_launch=True), _subnet(map_public_ip_on_launch=False),
         "mapPublicIpOnLaunch is true"),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_case(pack, case):
    assert_case(pack, case)


def test_world_open_counts_public_addresses_however_the_ranges_are_split():
    from conftest import pack_module

    network = pack_module("network")
    public_span, world_open = network.public_span, network.world_open

    assert world_open(["0.0.0.0/0"]) and world_open(["::/0"]) and world_open(["0.0.0.0/1", "128.0.0.0/1"])
    assert world_open(["2.0.0.0/7"]) and not world_open(["3.0.0.0/8"])  # more than a /8 of public space
    assert not world_open(["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10"])
    assert not world_open(["fd00::/8", "fe80::/10", "2001:db8::/32"])
    assert public_span(["0.0.0.0/1", "0.0.0.0/2"])[4] == public_span(["0.0.0.0/1"])[4]  # overlaps once
    assert public_span(["10.0.0.0/7"])[4] == 2 ** 24  # 11.0.0.0/8 is public, 10/8 is not
    with pytest.raises(ValueError):
        world_open(["0.0.0.0/33"])

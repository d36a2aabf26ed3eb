"""Network: no world-open ingress except web ports on load balancers, described rules, flow logs of
all traffic, no public IPs or IMDSv1 on instances.

"World-open" (`world_open`): the source CIDRs of one rule (or of all rules on one security group for
the same protocol and ports) cover more public addresses than one /8 of IPv4 (2**24) or one /32 of
IPv6 (2**96, a regional registry's allocation to one provider). Public means IPv4 outside the
special-purpose ranges (RFC 6890: private, loopback, link-local, CGNAT, documentation, multicast,
reserved) and IPv6 inside global unicast 2000::/3. So 0.0.0.0/0, ::/0, 0.0.0.0/1 + 128.0.0.0/1,
0.0.0.0/7 and 2000::/3 are world-open; 10.0.0.0/8, 198.51.100.10/32 and 2001:db8::/32 are not.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

from _rules import Stack, as_list, is_set, resource_rule, shown, stack_rule
from _types import (
    ALB_LOAD_BALANCER,
    DEFAULT_NETWORK_ACL,
    DEFAULT_SECURITY_GROUP,
    EC2_INSTANCE,
    FLOW_LOG,
    LAUNCH_CONFIGURATION,
    LAUNCH_TEMPLATE,
    LOAD_BALANCER,
    NETWORK_ACL,
    NETWORK_ACL_RULE,
    SECURITY_GROUP,
    SG_EGRESS_RULE,
    SG_INGRESS_RULE,
    SG_RULE,
    SPOT_INSTANCE_REQUEST,
    SUBNET,
    VPC,
)

WEB_PORTS = {80, 443}
ADMIN_PORTS = (22, 3389)  # SSH, RDP: what Security Hub EC2.21 and Checkov CKV_AWS_231/232 watch on NACLs
MAX_PUBLIC = {4: 2 ** 24, 6: 2 ** 96}
# IPv4 special-purpose blocks (IANA registry, RFC 6890), disjoint: what is left is public.
NOT_PUBLIC_V4 = [ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24",
    "203.0.113.0/24", "224.0.0.0/3")]
GLOBAL_V6 = ipaddress.ip_network("2000::/3")
DOC_V6 = ipaddress.ip_network("2001:db8::/32")
# Security group and NACL protocols: "-1"/"all" is every protocol and port; a protocol other than
# tcp/udp/icmp/icmpv6 also opens every port (EC2 API, IpPermission.IpProtocol).
ALL_PROTOCOLS = {"-1", "all"}
PORTED = {"tcp": "tcp", "6": "tcp", "udp": "udp", "17": "udp"}


def _overlap(a, b) -> int:
    if a.version != b.version or not a.overlaps(b):
        return 0
    return min(a.num_addresses, b.num_addresses)


def public_span(cidrs: Iterable[Any]) -> dict[int, int]:
    """Public addresses the CIDRs cover together, per IP version (overlaps counted once)."""
    nets = [ipaddress.ip_network(str(c).strip(), strict=False) for c in cidrs if c]
    v4 = ipaddress.collapse_addresses(n for n in nets if isinstance(n, ipaddress.IPv4Network))
    v6 = ipaddress.collapse_addresses(n for n in nets if isinstance(n, ipaddress.IPv6Network))
    return {4: sum(n.num_addresses - sum(_overlap(n, r) for r in NOT_PUBLIC_V4) for n in v4),
            6: sum(_overlap(n, GLOBAL_V6) - _overlap(n, DOC_V6) for n in v6)}


def world_open(cidrs: Iterable[Any]) -> bool:
    span = public_span(cidrs)
    return span[4] > MAX_PUBLIC[4] or span[6] > MAX_PUBLIC[6]


def _port(value: Any) -> int:
    """A port as the engine sends it (22.0), or as a user may spell it ("22")."""
    if isinstance(value, bool):
        raise TypeError(f"port {value!r} is not a number")
    return int(float(value))


def port_range(protocol: Any, from_port: Any, to_port: Any) -> tuple[str, int, int]:
    """(protocol family, lowest port, highest port) a rule opens; every port for all protocols."""
    proto = str(protocol).lower().removesuffix(".0")
    if proto not in PORTED:
        return ("all" if proto in ALL_PROTOCOLS else proto), 0, 65535
    low, high = _port(from_port), _port(to_port)
    if low == -1 or high == -1:
        return PORTED[proto], 0, 65535
    return PORTED[proto], low, high


def web_only(key: tuple[str, int, int]) -> bool:
    proto, low, high = key
    return proto == "tcp" and low == high and low in WEB_PORTS


def _ports(key: tuple[str, int, int]) -> str:
    proto, low, high = key
    return f"{proto} {low}" if low == high else f"{proto} {low}-{high}"


def _ingress_of(resource_type: str, props: Mapping) -> list[tuple[tuple[str, int, int], list]]:
    """(ports, source CIDRs) of each ingress rule a resource declares, on every spelling."""
    if resource_type == SG_INGRESS_RULE:
        return [(port_range(props.get("ipProtocol"), props.get("fromPort"), props.get("toPort")),
                 [props.get("cidrIpv4"), props.get("cidrIpv6")])]
    if resource_type == SG_RULE:
        if props.get("type") != "ingress":
            return []
        return [(port_range(props.get("protocol"), props.get("fromPort"), props.get("toPort")),
                 [*as_list(props.get("cidrBlocks")), *as_list(props.get("ipv6CidrBlocks"))])]
    return [(port_range(e.get("protocol"), e.get("fromPort"), e.get("toPort")),
             [*as_list(e.get("cidrBlocks")), *as_list(e.get("ipv6CidrBlocks"))])
            for e in as_list(props.get("ingress"))]


def _by_ports(rules: list[tuple[tuple[str, int, int], list]]) -> dict[tuple[str, int, int], list]:
    grouped: dict[tuple[str, int, int], list] = {}
    for key, cidrs in rules:
        grouped.setdefault(key, []).extend(c for c in cidrs if c)
    return grouped


@resource_rule(
    "sg-no-public-ingress", "No security group ingress open to the world (IPv4 or IPv6, however the "
    "range is split) except tcp 80/443.",
    types=[SG_INGRESS_RULE, SG_RULE, SECURITY_GROUP, DEFAULT_SECURITY_GROUP], severity="critical",
    checkov=["CKV_AWS_24", "CKV_AWS_25", "CKV_AWS_277"], securityhub="EC2.18",
    fix="Reference the app security group (referencedSecurityGroupId / sourceSecurityGroupId) or list "
        "specific CIDRs; only tcp 80/443 may take traffic from anywhere (and only on a load balancer).")
def _no_public_ingress(props, report, cfg, args):
    for key, cidrs in _by_ports(_ingress_of(args.resource_type, props)).items():
        if world_open(cidrs) and not web_only(key):
            report(f"opens {_ports(key)} to {', '.join(map(str, cidrs))}: the world "
                   f"(more public addresses than a /8 of IPv4 or a /32 of IPv6).")


def _ingress_on(stack: Stack, group) -> list[tuple[str, tuple[str, int, int], list]]:
    """(who declared it, ports, CIDRs) of every ingress rule on `group`: its inline rules (one
    member per port range, as the resource rule judges them) and the rule resources that name it."""
    found = [("inline", key, cidrs) for key, cidrs in
             _by_ports(_ingress_of(group.resource_type, group.props)).items()]
    for typ in (SG_INGRESS_RULE, SG_RULE):
        for rule in stack.referencing(group, typ, "securityGroupId"):
            found += [(rule.name, key, cidrs) for key, cidrs in _ingress_of(typ, rule.props)]
    return found


@stack_rule(
    "sg-public-web-on-load-balancers", "World-open tcp 80/443 only on a load balancer's security group, "
    "and no world-open ingress assembled from several rules.",
    types=[SECURITY_GROUP, DEFAULT_SECURITY_GROUP], severity="critical", checkov=["CKV_AWS_260"],
    fix="Open 80/443 to the world only on the group attached to the load balancer (securityGroups); "
        "give instances and tasks ingress from that group (referencedSecurityGroupId), not from CIDRs.")
def _public_web(stack: Stack, group, report, cfg):
    lb_groups = stack.index(("load-balancer-groups",), lambda: {
        sg.urn for lb in stack.of_type(LOAD_BALANCER, ALB_LOAD_BALANCER) for sg in stack.referenced(lb, "securityGroups")})
    members: dict[tuple[str, int, int], list[tuple[str, list]]] = {}
    for who, key, cidrs in _ingress_on(stack, group):
        members.setdefault(key, []).append((who, cidrs))
    for key, parts in members.items():
        if not world_open([c for _, cidrs in parts for c in cidrs]):
            continue
        if web_only(key) and group.urn not in lb_groups:
            report(f"takes {_ports(key)} from the world but no load balancer uses this group.")
        elif not web_only(key) and not any(world_open(cidrs) for _, cidrs in parts):
            names = sorted(who for who, _ in parts)
            report(f"opens {_ports(key)} to the world through {len(parts)} rules whose ranges add up "
                   f"({', '.join(names[:5])}{', ...' if len(names) > 5 else ''}).")


@resource_rule(
    "sg-rule-descriptions", "Security groups and every rule in them say what they allow and why.",
    types=[SECURITY_GROUP, SG_INGRESS_RULE, SG_EGRESS_RULE], severity="low", checkov=["CKV_AWS_23"],
    fix="Set description on the security group and on each ingress/egress rule.")
def _descriptions(props, report, cfg, args):
    if args.resource_type == SECURITY_GROUP:
        if (props.get("description") or "Managed by Pulumi") == "Managed by Pulumi":
            report("the security group has no description of its own.")
        inline = [*as_list(props.get("ingress")), *as_list(props.get("egress"))]
        if any(not r.get("description") for r in inline):
            report("an inline rule has no description.")
    elif not props.get("description"):
        report("the rule has no description.")


def _nacl_ingress(resource_type: str, props: Mapping) -> list[tuple[tuple[str, int, int], list]]:
    """(ports, CIDRs) of the allow rules a network ACL (or one of its rules) lets in."""
    if resource_type == NETWORK_ACL_RULE:
        if props.get("egress") or str(props.get("ruleAction")).lower() != "allow":
            return []
        entries = [{"action": "allow", **{k: props.get(k) for k in (
            "protocol", "fromPort", "toPort", "cidrBlock", "ipv6CidrBlock")}}]
    else:
        entries = as_list(props.get("ingress"))
    return [(port_range(e.get("protocol"), e.get("fromPort"), e.get("toPort")),
             [e.get("cidrBlock"), e.get("ipv6CidrBlock")])
            for e in entries if str(e.get("action")).lower() == "allow"]


@resource_rule(
    "nacl-no-admin-ingress", "Network ACLs do not let SSH (22) or RDP (3389) in from the world.",
    types=[NETWORK_ACL_RULE, NETWORK_ACL, DEFAULT_NETWORK_ACL], severity="high",
    checkov=["CKV_AWS_231", "CKV_AWS_232"], securityhub="EC2.21",
    fix="Narrow the allow rule's cidrBlock/ipv6CidrBlock to known networks, or its port range so that it "
        "excludes 22 and 3389 (reach instances through SSM Session Manager instead).")
def _nacl_admin(props, report, cfg, args):
    for (proto, low, high), cidrs in _nacl_ingress(args.resource_type, props):
        admin = [p for p in ADMIN_PORTS if low <= p <= high and proto in ("tcp", "all")]
        if admin and world_open(cidrs):
            report(f"allows {proto} {low}-{high} (port {', '.join(map(str, admin))}) from "
                   f"{', '.join(str(c) for c in cidrs if c)}.")


@stack_rule(
    "vpc-flow-logs", "Every VPC records flow logs.",
    severity="medium", checkov=["CKV2_AWS_11"], securityhub="EC2.6",
    fix="Add aws.ec2.FlowLog for the VPC (components/network.py sends ALL traffic to CloudWatch Logs).")
def _flow_logs(stack: Stack, report, cfg):
    for vpc in stack.of_type(VPC):
        if not stack.referencing(vpc, FLOW_LOG, "vpcId"):
            report("has no flow log.", vpc.urn)


@resource_rule(
    "vpc-flow-logs-all-traffic", "Flow logs capture all traffic, accepted and rejected.",
    types=[FLOW_LOG], severity="medium",
    fix='Set trafficType "ALL" on the flow log (ACCEPT or REJECT alone records part of the traffic).')
def _flow_log_traffic(props, report, cfg, args):
    # TrafficType: ACCEPT | REJECT | ALL (botocore ec2 service-2.json). Transit gateway flow logs take none.
    if is_set(props, "transitGatewayId") or is_set(props, "transitGatewayAttachmentId"):
        return
    traffic = props.get("trafficType")
    if traffic != "ALL":
        report(f'trafficType is {repr(traffic) if isinstance(traffic, str) else shown(traffic)}: the flow log records part of the traffic (needs "ALL").')


INSTANCE_TYPES = [EC2_INSTANCE, SPOT_INSTANCE_REQUEST, LAUNCH_TEMPLATE, LAUNCH_CONFIGURATION]


def _true(value: Any) -> bool:
    """A boolean the SDK may type as a string (LaunchTemplate networkInterfaces: "true")."""
    return value is True or str(value).lower() == "true"


@resource_rule(
    "ec2-no-public-ip", "Instances, launch templates and launch configurations do not assign public IPv4 "
    "addresses.",
    types=INSTANCE_TYPES, severity="high", checkov=["CKV_AWS_88"], securityhub="EC2.9",
    fix="Set associatePublicIpAddress false (on a launch template, on every networkInterfaces entry), run "
        "in a private subnet and reach the instance through a load balancer or SSM.")
def _no_public_ip(props, report, cfg, args):
    if _true(props.get("associatePublicIpAddress")):
        report("associatePublicIpAddress is true: the instance is reachable from the internet.")
    for i, nic in enumerate(as_list(props.get("networkInterfaces"))):
        if _true(nic.get("associatePublicIpAddress")):
            report(f"networkInterfaces[{i}] sets associatePublicIpAddress true.")


@resource_rule(
    "ec2-imdsv2", "Instances require IMDSv2 session tokens (IMDSv1 off).",
    types=INSTANCE_TYPES, severity="high", checkov=["CKV_AWS_79"], securityhub="EC2.8",
    fix='Set metadataOptions.httpTokens "required" (or httpEndpoint "disabled" when nothing on the '
        "instance reads its metadata).")
def _imdsv2(props, report, cfg, args):
    # HttpTokensState: optional | required; InstanceMetadataEndpointState: disabled | enabled (botocore ec2).
    options = props.get("metadataOptions") or {}
    if not options and args.resource_type != LAUNCH_TEMPLATE and is_set(props, "launchTemplate"):
        # The instance takes the launch template's metadata options (RunInstances: parameters not
        # given come from the template), and the template is judged on its own by this rule.
        return
    if options.get("httpEndpoint") == "disabled":
        return
    tokens = options.get("httpTokens")
    if tokens != "required":
        report(f"metadataOptions.httpTokens is {tokens!r}: IMDSv1 answers requests without a token "
               '(SSRF can read the role credentials); set "required".')


@resource_rule(
    "vpc-subnet-no-auto-public-ip", "Subnets do not give every instance launched in them a public address.",
    types=[SUBNET], severity="medium", checkov=["CKV_AWS_130"], securityhub="EC2.15",
    fix="Set mapPublicIpOnLaunch false (and assignIpv6AddressOnCreation false); give only what must be "
        "public an address of its own (load balancers, NAT gateways' Elastic IPs).")
def _subnet_public_ip(props, report, cfg, args):
    for key in ("mapPublicIpOnLaunch", "assignIpv6AddressOnCreation"):
        if _true(props.get(key)):
            report(f"{key} is true: every instance launched here gets a public address.")


"""Network: no world-open ingress except web ports on load balancers, described rules, flow logs."""

from __future__ import annotations

from _rules import Stack, as_list, cidr_open, num, resource_rule, stack_rule
from _types import DEFAULT_SECURITY_GROUP, FLOW_LOG, LOAD_BALANCER, SECURITY_GROUP, SG_EGRESS_RULE, SG_INGRESS_RULE, VPC

WEB_PORTS = {80, 443}


def _web_only(protocol, from_port, to_port) -> bool:
    if str(protocol) in ("-1", "all"):
        return False
    try:
        low, high = int(from_port), int(to_port)
    except (TypeError, ValueError):
        return False
    return low == high and low in WEB_PORTS


@stack_rule(
    "sg-no-public-ingress", "No ingress from 0.0.0.0/0 or ::/0, except ports 80/443 on load balancers.",
    severity="critical", checkov=["CKV_AWS_24", "CKV_AWS_25", "CKV_AWS_260", "CKV_AWS_277"],
    securityhub="EC2.18",
    fix="Reference the app security group (referencedSecurityGroupId) or list specific CIDRs; only a "
        "load balancer's group may take 80/443 from anywhere.")
def _no_public_ingress(stack: Stack, report, cfg):
    lb_groups = {sg.urn for lb in stack.of_type(LOAD_BALANCER) for sg in stack.referenced(lb, "securityGroups")}
    for rule in stack.of_type(SG_INGRESS_RULE):
        p = rule.props
        source = p.get("cidrIpv4") or p.get("cidrIpv6")
        if not cidr_open(source):
            continue
        groups = {g.urn for g in stack.referenced(rule, "securityGroupId")}
        if _web_only(p.get("ipProtocol"), p.get("fromPort"), p.get("toPort")) and groups & lb_groups:
            continue
        report(f"opens {p.get('ipProtocol')} {num(p.get('fromPort'))}-{num(p.get('toPort'))} to {source}"
               f"{'' if groups & lb_groups else ' on a group no load balancer uses'}.", rule.urn)
    for group in stack.of_type(SECURITY_GROUP, DEFAULT_SECURITY_GROUP):
        for entry in as_list(group.props.get("ingress")):
            sources = [c for c in [*as_list(entry.get("cidrBlocks")), *as_list(entry.get("ipv6CidrBlocks"))]
                       if cidr_open(c)]
            if sources and not (group.urn in lb_groups and _web_only(
                    entry.get("protocol"), entry.get("fromPort"), entry.get("toPort"))):
                report(f"has an inline ingress rule open to {', '.join(sources)} "
                       f"on ports {num(entry.get('fromPort'))}-{num(entry.get('toPort'))}.", group.urn)


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


@stack_rule(
    "vpc-flow-logs", "Every VPC records flow logs.",
    severity="medium", checkov=["CKV2_AWS_11"], securityhub="EC2.6",
    fix="Add aws.ec2.FlowLog for the VPC (components/network.py sends ALL traffic to CloudWatch Logs).")
def _flow_logs(stack: Stack, report, cfg):
    for vpc in stack.of_type(VPC):
        if not stack.referencing(vpc, FLOW_LOG, "vpcId"):
            report("has no flow log.", vpc.urn)

"""Elastic Load Balancing v2: listeners (HTTPS redirect, TLS policy) and load balancers (invalid
headers, deletion protection, access logs). Each judges one resource from its own inputs, so all
are resource rules: they block before the listener or load balancer is created.

pulumi-aws registers the same resources under aws.lb and the older aws.alb module; both are judged.
"""

from __future__ import annotations

import re

from _rules import Stack, as_list, is_set, resource_rule, shown, stack_rule
from _types import ALB_LISTENER, ALB_LISTENER_RULE, ALB_LOAD_BALANCER, LISTENER, LISTENER_RULE, LOAD_BALANCER

LISTENERS = (LISTENER, ALB_LISTENER)
LOAD_BALANCERS = (LOAD_BALANCER, ALB_LOAD_BALANCER)

# Predefined ELB security policies that negotiate TLS 1.2 or newer only (Application Load Balancer
# guide, "Security policies"): TLS13-1-2-*, TLS13-1-3-*, TLS-1-2-*, FS-1-2-* (with their Res, Ext,
# FIPS and PQ variants). TLS13-1-0/1-1, TLS-1-1, FS-2018-06 and the 2016-08 default accept TLS 1.0/1.1.
MODERN_SSL_POLICY = re.compile(r"^ELBSecurityPolicy-(TLS13-1-[23]|TLS-1-2|FS-1-2)-[\w-]+$")


def _protocol(props) -> str:
    # An ALB listener without protocol is HTTP (pulumi_aws lb ListenerArgs.protocol: "For Application
    # Load Balancers, valid values are HTTP and HTTPS, with a default of HTTP").
    return str(props.get("protocol") or "HTTP").upper()


def _redirects_to_https(action) -> bool:
    # botocore elbv2 RedirectActionConfig.Protocol: HTTP, HTTPS or "#{protocol}" (keeps the viewer's).
    return action.get("type") == "redirect" and str((action.get("redirect") or {}).get("protocol")).upper() == "HTTPS"


@resource_rule(
    "alb-http-redirect", "HTTP listeners only redirect to HTTPS.",
    types=LISTENERS, severity="high", checkov=["CKV_AWS_2", "CKV2_AWS_20"], securityhub="ELB.1",
    fix='Give the HTTP listener one default action {"type": "redirect", "redirect": {"protocol": "HTTPS", '
        '"port": "443", "statusCode": "HTTP_301"}} and serve the site on an HTTPS listener.')
def _http_redirect(props, report, cfg, args):
    if _protocol(props) != "HTTP":
        return
    actions = as_list(props.get("defaultActions"))
    if not actions or not all(_redirects_to_https(a) for a in actions):
        kinds = ", ".join(str(a.get("type")) for a in actions) or "none"
        report(f"plain HTTP listener on port {props.get('port')} answers with {kinds} instead of a redirect "
               "to HTTPS.")


@stack_rule(
    "alb-http-rules-redirect", "Listener rules on an HTTP listener only redirect to HTTPS.",
    types=[LISTENER_RULE, ALB_LISTENER_RULE], severity="high", checkov=["CKV2_AWS_20"], securityhub="ELB.1",
    fix='Attach the forwarding rule to the HTTPS listener; on the HTTP listener a rule may only redirect '
        '({"type": "redirect", "redirect": {"protocol": "HTTPS"}}).')
def _http_rules_redirect(stack: Stack, rule, report, cfg):
    # Rules are evaluated before the listener's default action (ALB guide, "Listener rules"), so a
    # forwarding rule on the HTTP listener serves its paths over plain HTTP although the default
    # action redirects. The listener is the one listenerArn references in this stack.
    http = [lst for lst in stack.referenced(rule, "listenerArn") if _protocol(lst.props) == "HTTP"]
    actions = as_list(rule.props.get("actions"))
    if http and not all(_redirects_to_https(a) for a in actions):
        kinds = ", ".join(str(a.get("type")) for a in actions) or "none"
        report(f"sits on the plain HTTP listener {http[0].name} and answers with {kinds}: the paths it "
               "matches are served over HTTP.")


@resource_rule(
    "alb-tls-policy", "HTTPS and TLS listeners negotiate TLS 1.2 or newer.",
    types=LISTENERS, severity="high", checkov=["CKV_AWS_103"], securityhub="ELB.17",
    fix='Set sslPolicy "ELBSecurityPolicy-TLS13-1-2-2021-06" (AWS\'s recommended policy; TLS 1.3 and 1.2).')
def _tls_policy(props, report, cfg, args):
    if _protocol(props) not in ("HTTPS", "TLS"):
        return
    policy = props.get("sslPolicy")
    if not policy:
        report("sslPolicy is not set: ELB uses ELBSecurityPolicy-2016-08, which accepts TLS 1.0 and 1.1.")
    elif not MODERN_SSL_POLICY.match(str(policy)):
        report(f"sslPolicy {shown(policy)} accepts TLS versions older than 1.2.")


def _application(props) -> bool:
    # loadBalancerType defaults to application (pulumi_aws lb LoadBalancerArgs.load_balancer_type).
    return (props.get("loadBalancerType") or "application") == "application"


@resource_rule(
    "alb-drop-invalid-headers", "Application load balancers drop HTTP headers with invalid names.",
    types=LOAD_BALANCERS, severity="medium", checkov=["CKV_AWS_131"], securityhub="ELB.4",
    fix="Set dropInvalidHeaderFields true on the load balancer.")
def _drop_invalid_headers(props, report, cfg, args):
    if _application(props) and props.get("dropInvalidHeaderFields") is not True:
        report("dropInvalidHeaderFields is not true: headers with invalid names reach the targets "
               "(request smuggling, header injection).")


@resource_rule(
    "alb-deletion-protection", "Load balancers have deletion protection.",
    types=LOAD_BALANCERS, severity="medium", checkov=["CKV_AWS_150"], securityhub="ELB.6",
    fix="Set enableDeletionProtection true (config ecsDeletionProtection, true by default); staging's pack "
        "config makes this advisory.")
def _deletion_protection(props, report, cfg, args):
    if props.get("enableDeletionProtection") is not True:
        report("enableDeletionProtection is not true: one delete takes the site offline and its DNS name "
               "with it.")


@resource_rule(
    "alb-access-logs", "Application load balancers deliver access logs to S3.",
    types=LOAD_BALANCERS, severity="medium", checkov=["CKV_AWS_91"], securityhub="ELB.5",
    fix='Set accessLogs {"bucket": <log bucket>, "prefix": "alb", "enabled": true} (components/ecs_service.py '
        "creates the bucket and its delivery policy).")
def _access_logs(props, report, cfg, args):
    if not _application(props):
        return
    logs = props.get("accessLogs") or {}
    # enabled defaults to false "even when bucket is specified" (pulumi_aws lb LoadBalancerAccessLogsArgs).
    if logs.get("enabled") is not True or not is_set(logs, "bucket"):
        report("accessLogs is not enabled with a bucket: requests to the load balancer leave no record.")

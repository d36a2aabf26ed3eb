"""Serverless entry points: Lambda function URLs and permissions, API Gateway routes and methods.

What a caller needs before the function runs is decided by the entry point's own inputs, so each
rule judges one resource before it is created. An endpoint meant to be public (a webhook that
checks its own signature, a health check) is named in the rule's `allow` list in the pack config,
by its Pulumi resource name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from _rules import is_set, resource_rule
from _types import APIGATEWAY_METHOD, APIGATEWAYV2_ROUTE, LAMBDA_FUNCTION_URL, LAMBDA_PERMISSION


def allow_list(what: str) -> dict[str, dict]:
    return {"allow": {
        "type": "array", "items": {"type": "string"}, "default": [],
        "description": f"Pulumi resource names of {what} that are public by design (each must "
                       "authenticate its callers itself, e.g. a signed webhook)."}}


def allowed(args, cfg: Mapping) -> bool:
    return args.name in cfg["allow"]


@resource_rule(
    "lambda-url-auth", "Lambda function URLs require IAM authentication.",
    types=[LAMBDA_FUNCTION_URL], severity="high", checkov=["CKV_AWS_258"],
    config=allow_list("function URLs"),
    fix='Set authorizationType "AWS_IAM" and sign requests (SigV4, or CloudFront origin access control), '
        "or list the URL in this rule's allow config if the function authenticates callers itself.")
def _function_url(props, report, cfg, args):
    # FunctionUrlAuthType is NONE or AWS_IAM (botocore lambda 2015-03-31 FunctionUrlAuthType).
    if props.get("authorizationType") != "AWS_IAM" and not allowed(args, cfg):
        report(f"authorizationType is {props.get('authorizationType')!r}: anyone on the internet can "
               "invoke the function through its URL.")


# A WebSocket API authorizes callers on $connect only; its other routes cannot take an
# authorization type (API Gateway Developer Guide, "Controlling and managing access to a
# WebSocket API"). HTTP API route keys are "$default" or "<METHOD> <path>".
HTTP_ROUTE = re.compile(r"^[A-Z]+ /")


@resource_rule(
    "apigw-route-auth", "API Gateway v2 routes name an authorization type other than NONE.",
    types=[APIGATEWAYV2_ROUTE], severity="high", checkov=["CKV_AWS_309"], securityhub="APIGateway.8",
    config=allow_list("routes"),
    fix='Set authorizationType to "JWT" (with authorizerId), "AWS_IAM" or "CUSTOM" (a Lambda authorizer), '
        "or list the route in this rule's allow config.")
def _route(props, report, cfg, args):
    # AuthorizationType is NONE, AWS_IAM, CUSTOM or JWT; absent means NONE (botocore apigatewayv2
    # 2018-11-29 AuthorizationType; pulumi_aws/apigatewayv2/route.py "Defaults to NONE").
    key = str(props.get("routeKey"))
    judged = key in ("$connect", "$default") or HTTP_ROUTE.match(key)
    if judged and (props.get("authorizationType") or "NONE") == "NONE" and not allowed(args, cfg):
        report(f"route {key} has authorizationType NONE: it is open to anyone who can reach the API.")


@resource_rule(
    "apigw-method-auth", "API Gateway REST methods other than OPTIONS require authorization.",
    types=[APIGATEWAY_METHOD], severity="high", checkov=["CKV_AWS_59"],
    config=allow_list("methods"),
    fix='Set authorization to "AWS_IAM", "CUSTOM" (with authorizerId) or "COGNITO_USER_POOLS", or list '
        "the method in this rule's allow config.")
def _method(props, report, cfg, args):
    # OPTIONS stays open: browsers send CORS preflight requests without credentials. Unlike
    # Checkov's CKV_AWS_59, apiKeyRequired does not count: API keys identify a usage plan, they
    # are not authentication (API Gateway Developer Guide, "Usage plans and API keys").
    if str(props.get("httpMethod")).upper() == "OPTIONS" or allowed(args, cfg):
        return
    if props.get("authorization") == "NONE":
        report(f"{props.get('httpMethod')} has authorization NONE: it is open to anyone who can reach the API.")


@resource_rule(
    "lambda-permission-not-public", 'Lambda permissions do not let any principal ("*") invoke the function.',
    types=[LAMBDA_PERMISSION], severity="critical", checkov=["CKV_AWS_301"], securityhub="Lambda.1",
    fix="Set principal to the service or account that invokes the function, or set sourceArn, "
        "sourceAccount or principalOrgId to pin the callers.")
def _permission_public(props, report, cfg, args):
    if props.get("principal") != "*":
        return
    if not any(is_set(props, k) for k in ("sourceArn", "sourceAccount", "principalOrgId")):
        via = " through a function URL" if props.get("functionUrlAuthType") == "NONE" else ""
        report(f'principal is "*" with no sourceArn, sourceAccount or principalOrgId: anyone can invoke '
               f"the function{via}.")


@resource_rule(
    "lambda-permission-source", "Lambda permissions for AWS services name the source (confused deputy).",
    types=[LAMBDA_PERMISSION], severity="medium", checkov=["CKV_AWS_364"],
    fix="Set sourceArn to the ARN of the resource that invokes the function (the bucket, topic, rule, "
        "API), or sourceAccount to this account.")
def _permission_source(props, report, cfg, args):
    # A service principal without a source lets that service invoke the function on behalf of any
    # account's resource (IAM User Guide, "The confused deputy problem").
    principal = str(props.get("principal"))
    if principal.endswith((".amazonaws.com", ".amazonaws.com.cn")) and not (
            is_set(props, "sourceArn") or is_set(props, "sourceAccount")):
        report(f"principal {principal} has no sourceArn or sourceAccount: any account's resources of that "
               "service can invoke the function.")

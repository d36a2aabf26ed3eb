"""Lambda function URLs and permissions, API Gateway v2 routes and REST methods, written as a user
would (policy_cases.Case)."""

from __future__ import annotations

import json

import pulumi_aws as aws
import pytest
from policy_cases import Case, assert_case, ids, judge

TAGS = {"Project": "platform", "Stack": "production", "Environment": "production", "Owner": "platform-team",
        "CostCenter": "platform", "ManagedBy": "pulumi"}
FUNCTION = "report-builder"


# ---- lambda-url-auth --------------------------------------------------------------------------------
def _url(auth: str, name: str = "url"):
    def program() -> None:
        aws.lambda_.FunctionUrl(name, function_name=FUNCTION, authorization_type=auth)
    return program


# ---- apigw-route-auth ---------------------------------------------------------------------------------
def _route(key: str, auth: str | None, name: str = "route"):
    def program() -> None:
        extra = {"authorizer_id": "abc123", "authorization_scopes": ["reports.read"]} if auth == "JWT" else {}
        aws.apigatewayv2.Route(name, api_id="a1b2c3d4e5", route_key=key, authorization_type=auth,
                               target="integrations/xyz789", **extra)
    return program


# ---- apigw-method-auth ---------------------------------------------------------------------------------
def _method(verb: str, auth: str, api_key: bool = False):
    def program() -> None:
        aws.apigateway.Method("method", rest_api="a1b2c3d4e5", resource_id="r2d2c3", http_method=verb,
                              authorization=auth, api_key_required=api_key)
    return program


# ---- Lambda permissions --------------------------------------------------------------------------------
def _permission(principal: str, **extra):
    def program() -> None:
        # A topic in both twins: its ARN is what a twin names, unknown in preview.
        topic = aws.sns.Topic("events", kms_master_key_id="alias/events", tags=TAGS)
        source = {k: (topic.arn if v == "topic" else v) for k, v in extra.items()}
        aws.lambda_.Permission("invoke", function=FUNCTION, action="lambda:InvokeFunction", principal=principal,
                               **source)
    return program


CASES = [
    Case("lambda-url-auth", _url("NONE"), _url("AWS_IAM"), "authorizationType is 'NONE'"),
    Case("apigw-route-auth", _route("GET /reports", None), _route("GET /reports", "JWT"),
         "route GET /reports has authorizationType NONE", "http-default-none"),
    Case("apigw-route-auth", _route("$default", "NONE"), _route("$default", "AWS_IAM"),
         "route $default has authorizationType NONE", "http-catch-all"),
    Case("apigw-route-auth", _route("$connect", "NONE"), _route("$connect", "CUSTOM"),
         "route $connect", "websocket-connect"),
    Case("apigw-method-auth", _method("GET", "NONE"), _method("GET", "AWS_IAM"), "GET has authorization NONE"),
    # An API key identifies a usage plan; it is not authentication (Checkov's CKV_AWS_59 accepts it).
    Case("apigw-method-auth", _method("POST", "NONE", api_key=True), _method("POST", "COGNITO_USER_POOLS"),
         "POST has authorization NONE", "api-key-is-not-auth"),
    Case("lambda-permission-not-public", _permission("*"), _permission("*", source_account="123456789012"),
         'principal is "*"'),
    Case("lambda-permission-not-public", _permission("*", function_url_auth_type="NONE"),
         _permission("*", function_url_auth_type="NONE", principal_org_id="o-abc123def4"),
         "anyone can invoke the function through a function URL", "function-url"),
    Case("lambda-permission-source", _permission("sns.amazonaws.com"),
         _permission("sns.amazonaws.com", source_arn="topic"), "principal sns.amazonaws.com has no sourceArn"),
    # The source ARN is the topic's, unknown in preview: set all the same.
    Case("lambda-permission-source", _permission("s3.amazonaws.com"),
         _permission("s3.amazonaws.com", source_arn="topic"), "has no sourceArn or sourceAccount", "preview",
         preview=True),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_case(pack, case):
    assert_case(pack, case)


def test_entry_points_public_by_design_are_allowed_by_name_in_the_pack_config(pack, tmp_path):
    config = tmp_path / "allow.json"
    config.write_text(json.dumps({"lambda-url-auth": {"allow": ["stripe-webhook-url"]},
                                  "apigw-route-auth": {"allow": ["health-route"]}}))
    assert_case(pack, Case("lambda-url-auth", _url("NONE", "other-url"), _url("NONE", "stripe-webhook-url"),
                           "authorizationType is 'NONE'", config=config))
    assert_case(pack, Case("apigw-route-auth", _route("GET /items", None, "items-route"),
                           _route("GET /health", None, "health-route"), "route GET /items", config=config))


def test_routes_and_methods_that_cannot_take_authorization_are_not_judged(pack):
    def program() -> None:
        # WebSocket message routes: only $connect takes an authorization type.
        for key in ("$disconnect", "sendmessage"):
            aws.apigatewayv2.Route(key.strip("$"), api_id="w1s2k3", route_key=key, target="integrations/ws")
        # CORS preflight: browsers send it without credentials.
        aws.apigateway.Method("preflight", rest_api="a1b2c3d4e5", resource_id="r2d2c3", http_method="OPTIONS",
                              authorization="NONE")
    assert judge(pack, Case("", program, program, ""), program).diagnostics == []

"""IAM identity policies, trust policies and managed-policy attachments, written as a user would
(policy_cases.Case): JSON strings and PolicyDocumentArgs objects, one statement or a list, the
separate policy resources and iam.Role's deprecated inline forms."""

from __future__ import annotations

import json

import pulumi_aws as aws
import pytest
from policy_cases import Case, assert_case, ids, judge

TAGS = {"Project": "platform", "Stack": "production", "Environment": "production", "Owner": "platform-team",
        "CostCenter": "platform", "ManagedBy": "pulumi"}
BUCKET = "arn:aws:s3:::reports/*"
ROLE_ARN = "arn:aws:iam::123456789012:role/app-task"
ECS_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "ecs-tasks.amazonaws.com"}}]})


def doc(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action, resource, **extra) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


# ---- iam-no-admin-policy ----------------------------------------------------------------------------
def _policy(statement: dict, kind: str = "policy"):
    """One identity policy holding `statement`, as the resource `kind` a user would pick."""
    def program() -> None:
        if kind == "policy":
            aws.iam.Policy("p", policy=doc(statement), tags=TAGS)
        elif kind == "role-inline":  # deprecated in pulumi_aws 7, still accepted
            aws.iam.Role("r", assume_role_policy=ECS_TRUST, tags=TAGS,
                         inline_policies=[{"name": "app", "policy": doc(statement)}])
        elif kind == "role-policy-object":  # an object, Statement a single statement
            aws.iam.RolePolicy("rp", role="app", policy={"Version": "2012-10-17", "Statement": statement})
        elif kind == "user-policy":
            aws.iam.UserPolicy("up", user="ci", policy=doc(statement))
        elif kind == "group-policy":
            aws.iam.GroupPolicy("gp", group="ops", policy=doc(statement))
    return program


ADMIN = [
    Case("iam-no-admin-policy", _policy(allow("*", "*")), _policy(allow("*", BUCKET)),
         'allows Action * on every resource', "policy-string"),
    Case("iam-no-admin-policy", _policy(allow(["*"], ["*"]), "role-inline"),
         _policy(allow(["*"], [BUCKET]), "role-inline"), "inlinePolicies[0] (app)", "role-inline-lists"),
    Case("iam-no-admin-policy", _policy(allow("*", "*", Sid="Everything"), "role-policy-object"),
         _policy(allow("*", BUCKET, Sid="Everything"), "role-policy-object"), 'statement "Everything"',
         "role-policy-object"),
    Case("iam-no-admin-policy",
         _policy({"Effect": "Allow", "NotAction": ["iam:*"], "Resource": "*"}, "user-policy"),
         _policy({"Effect": "Allow", "NotAction": ["iam:*"], "Resource": BUCKET}, "user-policy"),
         "NotAction iam:* (every other action)", "user-policy-notaction"),
    Case("iam-no-admin-policy", _policy(allow("*", "arn:aws:*:*:*:*"), "group-policy"),
         _policy(allow("*", BUCKET), "group-policy"), "full administrator access", "group-policy-arn-wildcard"),
]


# ---- iam-no-wildcard-actions ------------------------------------------------------------------------
def _typed_role_policy(action: str):
    """aws.iam.PolicyDocumentArgs: the SDK's typed document, sent as an object. Strings, not lists:
    the pulumi 3 SDK refuses a list for its Union[str, Sequence[str]] fields ("Expected 'list'")."""
    def program() -> None:
        aws.iam.RolePolicy("rp", role="app", policy=aws.iam.PolicyDocumentArgs(
            version="2012-10-17",
            statement=[aws.iam.PolicyStatementArgs(effect="Allow", action=action, resource="*")]))
    return program


def _role_policy_on_new_key(action: str):
    """An object document whose Resource is a key created by the same program. The provider's Check
    turns an object holding an unknown into one unknown string (offline/json_documents.py), so in
    preview the rule cannot read it (see the test below); in up it judges the object."""
    def program() -> None:
        key = aws.kms.Key("key", enable_key_rotation=True, tags=TAGS)
        aws.iam.RolePolicy("rp", role="app", policy={"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": [action], "Resource": key.arn}]})
    return program


WILDCARD = [
    Case("iam-no-wildcard-actions", _role_policy_on_new_key("kms:*"), _role_policy_on_new_key("kms:Decrypt"),
         "allows kms:*", "object-naming-a-new-key"),
    Case("iam-no-wildcard-actions", _policy(allow("s3:*", BUCKET)), _policy(allow("s3:GetObject", BUCKET)),
         "allows s3:*", "service-wildcard"),
    Case("iam-no-wildcard-actions", _policy(allow(["s3:GetObject", "*"], BUCKET), "role-inline"),
         _policy(allow(["s3:GetObject"], BUCKET), "role-inline"), "allows *", "star-in-list"),
    Case("iam-no-wildcard-actions", _typed_role_policy("ec2:*"), _typed_role_policy("ec2:DescribeInstances"),
         "allows ec2:*", "policy-document-args"),
    Case("iam-no-wildcard-actions",
         _policy({"Effect": "Allow", "NotAction": "s3:DeleteObject", "Resource": BUCKET}),
         _policy(allow("s3:PutObject", BUCKET)), "allows NotAction s3:DeleteObject", "notaction"),
]


# ---- iam-passrole-scoped ------------------------------------------------------------------------------
PASSROLE = [
    Case("iam-passrole-scoped", _policy(allow(["ecs:RunTask", "iam:PassRole"], "*")),
         _policy(allow(["ecs:RunTask", "iam:PassRole"], "*",
                       Condition={"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}})),
         "allows iam:PassRole", "condition"),
    Case("iam-passrole-scoped", _policy(allow("iam:Pass*", "*"), "role-inline"),
         _policy(allow("iam:PassRole", ROLE_ARN), "role-inline"), "allows iam:PassRole", "named-role"),
    # A negated operator lets every other service through: not a narrowing condition.
    Case("iam-passrole-scoped",
         _policy(allow("iam:PassRole", "*", Condition={"StringNotEquals": {"iam:PassedToService": "ec2.amazonaws.com"}})),
         _policy(allow("iam:PassRole", "*", Condition={"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}})),
         "no iam:PassedToService condition", "negated-condition"),
]


# ---- trust policies -------------------------------------------------------------------------------------
def _trust(statement: dict | None = None, typed=None):
    def program() -> None:
        policy = typed if typed is not None else doc(statement)
        aws.iam.Role("r", assume_role_policy=policy, tags=TAGS)
    return program


def assume(principal, **extra) -> dict:
    return {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": principal, **extra}


ORG = {"StringEquals": {"aws:PrincipalOrgID": "o-abc123def4"}}
TYPED_PUBLIC = aws.iam.PolicyDocumentArgs(version="2012-10-17", statement=[aws.iam.PolicyStatementArgs(
    effect="Allow", action="sts:AssumeRole", principal=aws.iam.AWSPrincipalArgs(aws="*"))])
TYPED_SERVICE = aws.iam.PolicyDocumentArgs(version="2012-10-17", statement=[aws.iam.PolicyStatementArgs(
    effect="Allow", action="sts:AssumeRole", principal=aws.iam.ServicePrincipalArgs(service="ecs-tasks.amazonaws.com"))])
GITHUB = {"Federated": "arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com"}
AUDIENCE = {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}


def github(**sub) -> dict:
    return {"Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity", "Principal": GITHUB,
            "Condition": {"StringEquals": AUDIENCE, **sub}}


TRUST = [
    # AWS's guide for GitHub OIDC: without a condition on `sub`, every repository's workflows can assume it.
    Case("iam-trust-not-public", _trust(github()),
         _trust(github(StringLike={"token.actions.githubusercontent.com:sub": "repo:my-org/platform:*"})),
         "token.actions.githubusercontent.com:sub", "github-oidc-no-sub"),
    Case("iam-trust-not-public",
         _trust(github(StringLike={"token.actions.githubusercontent.com:sub": "repo:*"})),
         _trust(github(StringEquals={**AUDIENCE, "token.actions.githubusercontent.com:sub":
                                     "repo:my-org/platform:ref:refs/heads/main"})),
         "any workflow of any repository", "github-oidc-any-owner"),
    Case("iam-trust-not-public", _trust(assume({"AWS": "*"})), _trust(assume({"AWS": "*"}, Condition=ORG)),
         'lets "*" assume the role', "aws-star"),
    Case("iam-trust-not-public", _trust(assume("*")), _trust(assume({"Service": "ecs-tasks.amazonaws.com"})),
         'lets "*" assume the role', "principal-string"),
    Case("iam-trust-not-public", _trust(assume({"AWS": [ROLE_ARN, "*"]})), _trust(assume({"AWS": [ROLE_ARN]})),
         'lets "*" assume the role', "star-in-list"),
    Case("iam-trust-not-public", _trust(typed=TYPED_PUBLIC), _trust(typed=TYPED_SERVICE),
         'lets "*" assume the role', "policy-document-args"),
    Case("iam-trust-not-public",
         _trust(assume({"AWS": "*"}, Condition={"StringEqualsIfExists": {"aws:PrincipalOrgID": "o-abc123def4"}})),
         _trust(assume({"AWS": "*"}, Condition=ORG)), "no condition on aws:PrincipalOrgID", "if-exists"),
    Case("iam-trust-not-public",
         _trust({"Effect": "Allow", "Action": "sts:AssumeRole", "NotPrincipal": {"AWS": ROLE_ARN}}),
         _trust(assume({"Service": "ecs-tasks.amazonaws.com"})), "NotPrincipal (everyone else)", "not-principal"),
    Case("iam-trust-cross-account", _trust(assume({"AWS": "arn:aws:iam::210987654321:root"})),
         _trust(assume({"AWS": "arn:aws:iam::210987654321:root"},
                       Condition={"StringEquals": {"sts:ExternalId": "vendor-7f3a"}})),
         "account(s) 210987654321", "external-id"),
    Case("iam-trust-cross-account", _trust(assume({"AWS": ["210987654321"]})),
         _trust(assume({"Service": "ecs-tasks.amazonaws.com"})), "account(s) 210987654321", "account-id"),
]


# ---- iam-no-admin-managed-policy ------------------------------------------------------------------------
READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"


def _attached(arn: str, kind: str):
    def program() -> None:
        if kind == "role":
            aws.iam.RolePolicyAttachment("a", role="app", policy_arn=arn)
        elif kind == "user":
            aws.iam.UserPolicyAttachment("a", user="ci", policy_arn=arn)
        elif kind == "group":
            aws.iam.GroupPolicyAttachment("a", group="ops", policy_arn=arn)
        elif kind == "policy-attachment":
            aws.iam.PolicyAttachment("a", policy_arn=arn, roles=["app"])
        elif kind == "exclusive":
            aws.iam.RolePolicyAttachmentsExclusive("a", role_name="app", policy_arns=[READ_ONLY, arn])
        elif kind == "role-managed-arns":  # deprecated in pulumi_aws 7, still accepted
            aws.iam.Role("r", assume_role_policy=ECS_TRUST, managed_policy_arns=[arn], tags=TAGS)
    return program


ADMIN_ARN = aws.iam.ManagedPolicy.ADMINISTRATOR_ACCESS
MANAGED = [
    Case("iam-no-admin-managed-policy", _attached(ADMIN_ARN, kind), _attached(READ_ONLY, kind),
         "attaches the AWS-managed policy AdministratorAccess", kind)
    for kind in ("role", "user", "group", "policy-attachment", "exclusive", "role-managed-arns")
] + [
    Case("iam-no-admin-managed-policy", _attached("arn:aws-us-gov:iam::aws:policy/IAMFullAccess", "user"),
         _attached("arn:aws-us-gov:iam::aws:policy/IAMReadOnlyAccess", "user"),
         "AWS-managed policy IAMFullAccess", "iam-full-access-govcloud"),
]

CASES = ADMIN + WILDCARD + PASSROLE + TRUST + MANAGED


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_case(pack, case):
    assert_case(pack, case)


def test_trusted_accounts_come_from_the_pack_config(pack, tmp_path):
    config = tmp_path / "trusted.json"
    config.write_text(json.dumps({"iam-trust-cross-account": {"trustedAccounts": ["111122223333"]}}))
    assert_case(pack, Case("iam-trust-cross-account", _trust(assume({"AWS": "arn:aws:iam::210987654321:root"})),
                           _trust(assume({"AWS": "arn:aws:iam::111122223333:role/deploy"})),
                           "account(s) 210987654321", config=config))


def test_a_document_that_is_not_json_is_reported_not_crashed(pack):
    def program() -> None:
        aws.iam.Policy("p", policy='{"Statement": [', tags=TAGS)
    fired = [d for d in judge(pack, Case("", program, program, ""), program).diagnostics
             if d.policy.startswith("iam-")]
    assert {d.policy for d in fired} == {"iam-no-admin-policy", "iam-no-wildcard-actions", "iam-passrole-scoped"}
    assert all("wrong shape" in d.message for d in fired)


def test_a_policy_unknown_in_preview_is_reported_once_as_advisory(pack):
    def program() -> None:
        key = aws.kms.Key("k", enable_key_rotation=True, tags=TAGS)
        aws.iam.Policy("p", tags=TAGS, policy=key.arn.apply(lambda arn: doc(allow("kms:Decrypt", arn))))
    verdict = judge(pack, Case("", program, program, "", preview=True), program)
    fired = [d for d in verdict.diagnostics if d.policy.startswith("iam-")]
    assert fired and all(d.level == "advisory" and "during preview" in d.message for d in fired), fired
    # The same for a document passed as an object around an unknown ARN: the provider hands the pack
    # one unknown string (TransformJSONDocument), not an object with one unknown field.
    object_doc = _role_policy_on_new_key("kms:*")
    verdict = judge(pack, Case("", object_doc, object_doc, "", preview=True), object_doc)
    fired = [d for d in verdict.diagnostics if d.policy.startswith("iam-")]
    assert fired and all(d.level == "advisory" and "during preview" in d.message for d in fired), fired

"""IAM: what identity policies allow, who a role trusts, which AWS-managed policies are attached.

Each rule judges one resource before it is created. Identity policies are read wherever pulumi_aws 7
accepts them: iam.Policy, RolePolicy, UserPolicy, GroupPolicy (`policy`), and iam.Role's
deprecated-but-accepted `inlinePolicies[].policy` (pulumi_aws/iam/role.py, RoleInlinePolicyArgs).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from _documents import accounts, action_matches, allows, anyone, listing, narrowed, on_everything, statements, values
from _rules import as_list, resource_rule
from _types import (
    IAM_GROUP_POLICY,
    IAM_GROUP_POLICY_ATTACHMENT,
    IAM_GROUP_POLICY_ATTACHMENTS_EXCLUSIVE,
    IAM_POLICY,
    IAM_POLICY_ATTACHMENT,
    IAM_ROLE,
    IAM_ROLE_POLICY,
    IAM_ROLE_POLICY_ATTACHMENT,
    IAM_ROLE_POLICY_ATTACHMENTS_EXCLUSIVE,
    IAM_USER_POLICY,
    IAM_USER_POLICY_ATTACHMENT,
    IAM_USER_POLICY_ATTACHMENTS_EXCLUSIVE,
)

IDENTITY_POLICY_TYPES = [IAM_POLICY, IAM_ROLE_POLICY, IAM_USER_POLICY, IAM_GROUP_POLICY, IAM_ROLE]


def identity_statements(props: Mapping) -> Iterator[tuple[str, Mapping]]:
    """(where, statement) for every statement of the identity policies the resource carries."""
    if "policy" in list(props):
        for st in statements(props["policy"]):
            yield "policy", st
    for i, inline in enumerate(as_list(props.get("inlinePolicies"))):
        if inline.get("policy"):
            for st in statements(inline["policy"]):
                yield f"inlinePolicies[{i}] ({inline.get('name') or 'unnamed'})", st


def _sid(st: Mapping) -> str:
    return f'statement "{st["Sid"]}"' if st.get("Sid") else "a statement"


def _grants(st: Mapping) -> str:
    if "NotAction" in st:
        return f"NotAction {listing(values(st, 'NotAction'))} (every other action)"
    return f"Action {listing(values(st, 'Action'))}"


@resource_rule(
    "iam-no-admin-policy", 'Identity policies do not allow every action on every resource ("*" on "*").',
    types=IDENTITY_POLICY_TYPES, severity="critical", checkov=["CKV_AWS_62"], securityhub="IAM.1",
    fix='Replace Action "*" (or an Allow with NotAction) on Resource "*" with the actions the principal '
        "needs, on the ARNs it needs them for.")
def _admin(props, report, cfg, args):
    for where, st in identity_statements(props):
        if allows(st) and action_matches(st, "*") and on_everything(st):
            report(f"{where}: {_sid(st)} allows {_grants(st)} on every resource: full administrator access.")


def _service_wide(st: Mapping) -> list[str]:
    """The actions of an Allow that cover a whole service ("*", "s3:*") or, with NotAction, all but some."""
    if not allows(st):
        return []
    if "NotAction" in st:
        return ["NotAction " + listing(values(st, "NotAction"))]
    return [a for a in values(st, "Action") if a == "*" or re.fullmatch(r"[^:]+:\*+", a)]


@resource_rule(
    "iam-no-wildcard-actions", 'Identity policies name actions, not every action of a service ("s3:*", "*").',
    types=IDENTITY_POLICY_TYPES, severity="high", checkov=["CKV_AWS_63"], securityhub="IAM.21",
    fix='List the actions (e.g. "s3:GetObject", "s3:PutObject") instead of "<service>:*", "*" or an Allow '
        "with NotAction.")
def _wildcard_actions(props, report, cfg, args):
    for where, st in identity_statements(props):
        broad = _service_wide(st)
        if broad:
            report(f"{where}: {_sid(st)} allows {listing(broad)}: every action of the service(s).")


def _passrole_narrowed(st: Mapping) -> bool:
    """iam:PassedToService pins which service may receive the role (IAM User Guide, "Granting a user
    permissions to pass a role to an AWS service"); a resource tag condition pins which roles."""
    condition_keys = {str(k) for block in (st.get("Condition") or {}).values() if isinstance(block, Mapping)
                      for k in block}
    tag_keys = [k for k in condition_keys if k.lower().startswith(("aws:resourcetag/", "iam:resourcetag/"))]
    return narrowed(st, ["iam:PassedToService", "iam:AssociatedResourceArn", *tag_keys])


@resource_rule(
    "iam-passrole-scoped", "iam:PassRole is allowed on named roles, or only towards named services.",
    types=IDENTITY_POLICY_TYPES, severity="high",
    fix='Set Resource of the statement allowing iam:PassRole to the role ARNs it passes, or add Condition '
        '{"StringEquals": {"iam:PassedToService": "<service>.amazonaws.com"}}.')
def _passrole(props, report, cfg, args):
    # Passing any role to a service that runs code (Lambda, ECS, EC2) hands that code the role's
    # permissions: a principal with iam:PassRole on "*" can reach any role in the account.
    for where, st in identity_statements(props):
        # Action before Resource: a Resource unknown in preview is read only when it matters.
        if not allows(st) or not action_matches(st, "iam:PassRole") or action_matches(st, "*"):
            continue  # "*" (on everything) is iam-no-admin-policy's finding
        if on_everything(st) and not _passrole_narrowed(st):
            report(f"{where}: {_sid(st)} allows iam:PassRole ({_grants(st)}) on every role with no "
                   "iam:PassedToService condition: any role in the account can be handed to code this "
                   "principal runs.")


# ---- trust policies ----------------------------------------------------------------------------
# Conditions that pin who may assume a role open to "*" (IAM User Guide, "AWS global condition
# context keys"; sts:ExternalId for third parties, "The confused deputy problem").
TRUST_NARROWING = ("sts:ExternalId", "aws:PrincipalOrgID", "aws:PrincipalOrgPaths", "aws:PrincipalAccount",
                   "aws:PrincipalArn", "aws:SourceAccount", "aws:SourceArn", "aws:SourceOwner")


def trust_statements(props: Mapping) -> list[Mapping]:
    return [st for st in statements(props.get("assumeRolePolicy")) if allows(st)]


GITHUB_OIDC = "token.actions.githubusercontent.com"


def _github_subject_pinned(st) -> bool:
    """GitHub's OIDC token is issued to every workflow of every repository: only the `sub` claim
    ("repo:<owner>/<repo>:...") says whose. AWS's guide for GitHub OIDC requires a condition on it;
    a pattern counts when its owner is literal ("repo:my-org/*"), not when it is "*" or "repo:*"."""
    for operator, block in (st.get("Condition") or {}).items():
        if str(operator).lower() not in ("stringequals", "stringlike"):
            continue
        for key, given in (block or {}).items():
            if str(key).lower() == f"{GITHUB_OIDC}:sub":
                values = [str(v) for v in as_list(given)]
                return bool(values) and all(re.match(r"^repo:[^*?/:]+/", v) for v in values)
    return False


def _federated(st) -> list[str]:
    principal = st.get("Principal")
    return [str(p) for p in as_list(principal.get("Federated"))] if isinstance(principal, Mapping) else []


@resource_rule(
    "iam-trust-not-public", 'Role trust policies do not let anyone ("*") assume the role.',
    types=[IAM_ROLE], severity="critical", checkov=["CKV_AWS_60"],
    fix='Name the principals in assumeRolePolicy (a service such as "ecs-tasks.amazonaws.com", or role '
        'ARNs) instead of "*", or pin them with a Condition on aws:PrincipalOrgID, aws:PrincipalAccount '
        "or sts:ExternalId; a GitHub OIDC trust needs token.actions.githubusercontent.com:sub naming "
        'your repositories ("repo:<owner>/<repo>:...").')
def _trust_public(props, report, cfg, args):
    for st in trust_statements(props):
        if st.get("Effect") == "Allow" and any(p.endswith(GITHUB_OIDC) for p in _federated(st)) \
                and not _github_subject_pinned(st):
            report(f"assumeRolePolicy: {_sid(st)} trusts GitHub's OIDC provider without a condition on "
                   f"{GITHUB_OIDC}:sub naming your repositories: any workflow of any repository can assume it.")
        if anyone(st) and not narrowed(st, TRUST_NARROWING):
            who = "NotPrincipal (everyone else)" if "NotPrincipal" in st else '"*"'
            report(f"assumeRolePolicy: {_sid(st)} lets {who} assume the role with no condition on "
                   "aws:PrincipalOrgID, aws:PrincipalAccount, aws:SourceAccount or sts:ExternalId.")


CROSS_ACCOUNT_NARROWING = ("sts:ExternalId", "aws:PrincipalOrgID", "aws:PrincipalOrgPaths")


@resource_rule(
    "iam-trust-cross-account", "Role trust policies name only the accounts the pack config trusts.",
    types=[IAM_ROLE], severity="medium", checkov=["CKV_AWS_61"],
    config={"trustedAccounts": {
        "type": "array", "items": {"type": "string", "pattern": "^[0-9]{12}$"}, "default": [],
        "description": "12-digit account ids a role may trust directly (this stack's own account, a CI "
                       "account). Others need an sts:ExternalId or aws:PrincipalOrgID condition."}},
    fix="Add the account to this rule's trustedAccounts in the pack config if it is yours, or add a "
        'Condition {"StringEquals": {"sts:ExternalId": "<id>"}} (a third party) or aws:PrincipalOrgID.')
def _trust_cross_account(props, report, cfg, args):
    trusted = set(cfg["trustedAccounts"])
    for st in trust_statements(props):
        named = sorted(accounts(st) - trusted)
        if named and not narrowed(st, CROSS_ACCOUNT_NARROWING):
            report(f"assumeRolePolicy: {_sid(st)} lets account(s) {listing(named)} assume the role; they are "
                   "not in trustedAccounts and no sts:ExternalId or aws:PrincipalOrgID condition applies.")


# ---- AWS-managed policies -----------------------------------------------------------------------
ATTACHMENT_TYPES = [IAM_ROLE_POLICY_ATTACHMENT, IAM_USER_POLICY_ATTACHMENT, IAM_GROUP_POLICY_ATTACHMENT,
                    IAM_POLICY_ATTACHMENT, IAM_ROLE_POLICY_ATTACHMENTS_EXCLUSIVE,
                    IAM_USER_POLICY_ATTACHMENTS_EXCLUSIVE, IAM_GROUP_POLICY_ATTACHMENTS_EXCLUSIVE, IAM_ROLE]
# arn:<partition>:iam::aws:policy[/path]/<name>: AWS-managed (account "aws"), in every partition.
AWS_MANAGED = re.compile(r"^arn:[^:]+:iam::aws:policy/(?:.*/)?([^/]+)$")


def attached_arns(props: Mapping) -> list[str]:
    """policyArn of the *Attachment types, policyArns of the *AttachmentsExclusive types, and the
    deprecated iam.Role managedPolicyArns (pulumi_aws/iam/role.py)."""
    arns = [props["policyArn"]] if props.get("policyArn") else []
    return [str(a) for a in arns + as_list(props.get("policyArns")) + as_list(props.get("managedPolicyArns"))]


@resource_rule(
    "iam-no-admin-managed-policy", "No role, user or group gets AdministratorAccess or IAMFullAccess.",
    types=ATTACHMENT_TYPES, severity="critical", checkov=["CKV_AWS_274"],
    config={"forbiddenPolicies": {
        "type": "array", "items": {"type": "string"}, "default": ["AdministratorAccess", "IAMFullAccess"],
        "description": "Names of AWS-managed policies no principal of the stack may hold (IAMFullAccess "
                       "lets its holder grant itself anything)."}},
    fix="Attach a customer-managed policy (aws.iam.Policy) with the actions the principal needs instead "
        "of the AWS-managed administrator policy.")
def _admin_managed(props, report, cfg, args):
    forbidden = set(cfg["forbiddenPolicies"])
    for arn in attached_arns(props):
        found = AWS_MANAGED.match(arn)
        if found and found.group(1) in forbidden:
            report(f"attaches the AWS-managed policy {found.group(1)} ({arn}).")

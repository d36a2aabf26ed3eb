"""S3 buckets. pulumi-aws 7 splits a bucket's settings into separate resources, still accepts their
deprecated V2 spellings and the bucket's own inline arguments (acl, policy, versioning, ...).

What one resource decides is a resource rule, judged in Analyze before that resource exists: a
public access block with a setting off, versioning not Enabled, a KMS default without a customer
key, ownership other than BucketOwnerEnforced, a bucket policy that grants to everyone or another
account or lacks the TLS denial, a public ACL. The stack rules keep what needs the graph: a bucket
with NO public access block / versioning / ownership controls / policy, encryption whose allowed
algorithm depends on what writes into the bucket, backup buckets' lifecycle and replication, and
two resources writing the same setting.

Companions are linked to their bucket by a property dependency on `bucket` or, when the program
spells the name out, by the literal name (`BucketVersioning("v", bucket="my-bucket")`)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from _documents import narrowed
from _rules import (
    SHAPE_ERRORS,
    Stack,
    as_list,
    is_set,
    policy_document,
    resource_rule,
    stack_rule,
    statements,
    tags_of,
)
from _types import (
    ALB_LOAD_BALANCER,
    BUCKET,
    BUCKET_ACL,
    BUCKET_ACL_V2,
    BUCKET_ENCRYPTION,
    BUCKET_ENCRYPTION_V2,
    BUCKET_LIFECYCLE,
    BUCKET_LIFECYCLE_V2,
    BUCKET_LOGGING,
    BUCKET_LOGGING_V2,
    BUCKET_OWNERSHIP_CONTROLS,
    BUCKET_POLICY,
    BUCKET_PUBLIC_ACCESS_BLOCK,
    BUCKET_REPLICATION,
    BUCKET_V2,
    BUCKET_VERSIONING,
    BUCKET_VERSIONING_V2,
    LOAD_BALANCER,
)
from pulumi_policy.proxy import UnknownValueError

BUCKETS = (BUCKET, BUCKET_V2)
VERSIONINGS = (BUCKET_VERSIONING, BUCKET_VERSIONING_V2)
ENCRYPTIONS = (BUCKET_ENCRYPTION, BUCKET_ENCRYPTION_V2)
ACLS = (BUCKET_ACL, BUCKET_ACL_V2)
LIFECYCLES = (BUCKET_LIFECYCLE, BUCKET_LIFECYCLE_V2)
LOGGINGS = (BUCKET_LOGGING, BUCKET_LOGGING_V2)
GLACIER_CLASSES = {"GLACIER", "GLACIER_IR", "DEEP_ARCHIVE"}
PUBLIC_ACCESS_KEYS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
# Canned ACLs that grant to a group outside the account (botocore s3 BucketCannedACL; the SDK's
# pulumi_aws.s3.CannedAcl adds the object-level ones, which grant to the owner or log delivery).
PUBLIC_ACLS = {"public-read", "public-read-write", "authenticated-read"}
PUBLIC_GROUPS = {"http://acs.amazonaws.com/groups/global/AllUsers",
                 "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"}
# Elastic Load Balancing's regional log-delivery accounts (regions opened before August 2022; newer
# ones use the logdelivery.elasticloadbalancing.amazonaws.com service principal), as listed by AWS
# ("Enable access logs for your Application Load Balancer") and returned by aws.elb.getServiceAccount.
# A bucket policy may let them s3:PutObject, nothing else.
ELB_LOG_ACCOUNTS = {
    "127311923021", "033677994240", "027434742980", "797873946194", "098369216593", "754344448648",
    "718504428378", "383597477331", "600734575887", "114774131450", "783225319266", "582318560864",
    "985666609251", "054676820928", "156460612806", "652711504416", "635631232127", "009996457667",
    "897822967062", "076674570225", "507241528517", "048591011584", "190560391635", "638102146993",
    "037604701340",
}
# Condition keys that confine an Allow to known callers: the calling resource or account (confused
# deputy keys for service principals) or the caller's organization, account, VPC or endpoint.
NARROWING_KEYS = {"aws:sourcearn", "aws:sourceaccount", "aws:sourceorgid", "aws:sourceorgpaths",
                  "aws:principalorgid", "aws:principalorgpaths", "aws:principalaccount", "aws:principalarn",
                  "aws:sourcevpc", "aws:sourcevpce"}


# ---- reading ------------------------------------------------------------------------------------
def plain(value: Any) -> Any:
    """A property as plain dicts and lists (the read-only proxies do not compare by value)."""
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return [plain(v) for v in value]
    return value


def literal(props: Mapping, *path: str) -> str | None:
    """A name written in the program, used only to link resources. A name computed from another
    resource is unknown in preview, and that resource is then linked by its property dependency:
    here it reads as "no literal name", never as a verdict."""
    value: Any = props
    try:
        for key in path:
            value = value.get(key) if isinstance(value, Mapping) else None
    except UnknownValueError:
        return None
    return value if isinstance(value, str) and value else None


def points_at(resource, bucket, prop: str, *sub: str) -> bool:
    """Whether `resource`'s `prop` (or the field `sub` inside it) names `bucket`."""
    if any(d.urn == bucket.urn for d in resource.property_dependencies.get(prop, [])):
        return True
    name = literal(bucket.props, "bucket")
    return name is not None and literal(resource.props, prop, *sub) == name


def linked(stack: Stack, bucket, types: Iterable[str], prop: str = "bucket", *sub: str) -> list:
    """The resources of `types` that point at `bucket` (points_at), in the graph's order: looked up
    in an index of the graph built once per (types, prop, sub), not by asking every resource."""
    types = tuple(types)
    by_urn, by_name = stack.index(("linked", types, prop, sub), lambda: _links(stack, types, prop, sub))
    name = literal(bucket.props, "bucket")
    found = [*by_urn.get(bucket.urn, ()), *(by_name.get(name, ()) if name is not None else ())]
    return stack.in_order(r for r in found if r.urn != bucket.urn)


def _links(stack: Stack, types: tuple[str, ...], prop: str, sub: tuple[str, ...]) -> tuple[dict, dict]:
    """points_at as two look-ups: by the URNs `prop` was computed from, and by its literal name."""
    by_urn: dict[str, list] = {}
    by_name: dict[str, list] = {}
    for r in stack.of_type(*types):
        for urn in dict.fromkeys(d.urn for d in r.property_dependencies.get(prop, [])):
            by_urn.setdefault(urn, []).append(r)
        name = literal(r.props, prop, *sub)
        if name is not None:
            by_name.setdefault(name, []).append(r)
    return by_urn, by_name


def data_class(bucket) -> str:
    return tags_of(bucket.props).get("DataClass", "")


def has_key(props: Mapping, key: str) -> bool:
    return key in list(props)  # iterating keys never touches (possibly unknown) values


def inline_blocks(props: Mapping, typ: str, key: str) -> list:
    """An inline setting of a bucket as a list of blocks: aws.s3.Bucket takes one block
    (`versioning`, `logging`, `serverSideEncryptionConfiguration`, `replicationConfiguration`), the
    deprecated BucketV2 a list under the plural name (pulumi_aws/s3/bucket_v2.py: `versionings`, ...)."""
    if typ == BUCKET_V2:
        return [b for b in as_list(props.get(f"{key}s")) if b is not None]
    value = props.get(key)
    return [] if value is None else [value]


def logs_into(source, bucket) -> bool:
    """Whether bucket `source`'s inline logging targets `bucket` (by dependency or literal name)."""
    key = "loggings" if source.resource_type == BUCKET_V2 else "logging"
    if any(d.urn == bucket.urn for d in source.property_dependencies.get(key, [])):
        return True
    name = literal(bucket.props, "bucket")
    try:
        targets = [literal(b, "targetBucket") for b in inline_blocks(source.props, source.resource_type, "logging")]
    except UnknownValueError:  # computed from a resource: linked by the dependency above, if by anything
        return False
    return name is not None and name in targets


def is_log_destination(stack: Stack, bucket) -> bool:
    """ALB access logs and S3 server access logs can only be written with SSE-S3 (AES256)."""
    return bool(linked(stack, bucket, [LOAD_BALANCER, ALB_LOAD_BALANCER], "accessLogs", "bucket")
                or linked(stack, bucket, LOGGINGS, "targetBucket")
                or any(logs_into(b, bucket) for b in _logging_candidates(stack, bucket) if b.urn != bucket.urn))


def _logging_candidates(stack: Stack, bucket) -> list:
    """The buckets whose inline logging may target `bucket` (logs_into decides): those with a
    dependency on it and those whose inline logging names a target it could be, from an index of
    the graph built once, not every bucket for every bucket."""
    by_urn, by_name, unreadable = stack.index(("inline-logging",), lambda: _inline_logging(stack))
    name = literal(bucket.props, "bucket")
    return stack.in_order([*by_urn.get(bucket.urn, ()), *(by_name.get(name, ()) if name is not None else ()),
                           *unreadable])


def _inline_logging(stack: Stack) -> tuple[dict, dict, list]:
    by_urn: dict[str, list] = {}
    by_name: dict[str, list] = {}
    unreadable = []
    for source in stack.of_type(*BUCKETS):
        key = "loggings" if source.resource_type == BUCKET_V2 else "logging"
        for urn in dict.fromkeys(d.urn for d in source.property_dependencies.get(key, [])):
            by_urn.setdefault(urn, []).append(source)
        try:
            targets = {literal(b, "targetBucket") for b in inline_blocks(source.props, source.resource_type, "logging")}
        except UnknownValueError:
            continue
        except SHAPE_ERRORS:  # logs_into raises these for this bucket: it must still be asked
            unreadable.append(source)
            continue
        for target in targets:
            if target is not None:
                by_name.setdefault(target, []).append(source)
    return by_urn, by_name, unreadable


# ---- versioning ---------------------------------------------------------------------------------
def inline_versioning_on(props: Mapping, typ: str) -> bool:
    return any(v.get("enabled") is True for v in inline_blocks(props, typ, "versioning"))


def versioning_status(props: Mapping) -> Any:
    return (props.get("versioningConfiguration") or {}).get("status")


@resource_rule(
    "s3-versioning", "Bucket versioning is Enabled wherever it is set (BucketVersioning, its V2 spelling, "
    "or the bucket's inline versioning).",
    types=[*VERSIONINGS, *BUCKETS], severity="high", checkov=["CKV_AWS_21"], securityhub="S3.14",
    fix='Set versioningConfiguration.status "Enabled" (components/_common.py HardenedBucket does); '
        "on an inline versioning block, enabled true.")
def _versioning(props, report, cfg, args):
    if args.resource_type in BUCKETS:
        if any(v.get("enabled") is not True for v in inline_blocks(props, args.resource_type, "versioning")):
            report("inline versioning.enabled is not true: the bucket keeps no object versions.")
        return
    # Enabled | Suspended (botocore s3 BucketVersioningStatus); the provider also takes Disabled.
    status = versioning_status(props)
    if status != "Enabled":
        report(f"versioningConfiguration.status is {status}, not Enabled: the bucket keeps no object versions.")


@stack_rule(
    "s3-has-versioning", "Every bucket has versioning configured.",
    types=BUCKETS, severity="high", checkov=["CKV_AWS_21"], securityhub="S3.14",
    fix="Add aws.s3.BucketVersioning for the bucket (bucket=the bucket's id or its literal name), "
        'status "Enabled".')
def _has_versioning(stack: Stack, bucket, report, cfg):
    if not linked(stack, bucket, VERSIONINGS) and not inline_versioning_on(bucket.props, bucket.resource_type):
        report("has no BucketVersioning (nor inline versioning enabled).")


# ---- encryption ---------------------------------------------------------------------------------
def encryption_defaults(props: Mapping, typ: str) -> list:
    """The applyServerSideEncryptionByDefault blocks of an encryption configuration resource
    (`rules`), of aws.s3.Bucket's inline configuration (one `rule`), or of BucketV2's (lists all the
    way down: serverSideEncryptionConfigurations[].rules[].applyServerSideEncryptionByDefaults[])."""
    if typ == BUCKET_V2:
        return [d or {} for c in inline_blocks(props, typ, "serverSideEncryptionConfiguration")
                for r in as_list(c.get("rules")) for d in as_list(r.get("applyServerSideEncryptionByDefaults"))]
    if typ == BUCKET:
        rules = [r for c in inline_blocks(props, typ, "serverSideEncryptionConfiguration") for r in as_list(c.get("rule"))]
    else:
        rules = as_list(props.get("rules"))
    return [r.get("applyServerSideEncryptionByDefault") or {} for r in rules]


def is_kms(default: Mapping) -> bool:
    # aws:kms and aws:kms:dsse (botocore s3 ServerSideEncryption: AES256 | aws:fsx | aws:backup |
    # aws:kms | aws:kms:dsse).
    return str(default.get("sseAlgorithm") or "").startswith("aws:kms")


@resource_rule(
    "s3-sse-customer-key", "Default bucket encryption with SSE-KMS names a customer-managed key.",
    types=[*ENCRYPTIONS, *BUCKETS], severity="high",
    fix="Set applyServerSideEncryptionByDefault.kmsMasterKeyId to a customer-managed key's ARN "
        "(components/_common.py HardenedBucket passes key.arn).")
def _customer_key(props, report, cfg, args):
    for default in encryption_defaults(props, args.resource_type):
        if is_kms(default) and not is_set(default, "kmsMasterKeyId"):
            report(f'sseAlgorithm "{default.get("sseAlgorithm")}" without kmsMasterKeyId encrypts with the '
                   "AWS-managed key aws/s3, whose key policy cannot be restricted.")


def effective_encryption(stack: Stack, bucket) -> list:
    """A configuration resource replaces the bucket's default encryption; without one, the bucket's
    own (inline, or in its state what S3 applies by default)."""
    found = linked(stack, bucket, ENCRYPTIONS)
    if found:
        return [d for e in found for d in encryption_defaults(e.props, e.resource_type)]
    return encryption_defaults(bucket.props, bucket.resource_type)


@stack_rule(
    "s3-sse-kms", "Buckets encrypt with SSE-KMS (customer-managed key); log destinations may use SSE-S3.",
    types=BUCKETS, severity="high", checkov=["CKV_AWS_145"], securityhub="S3.17",
    fix='Add BucketServerSideEncryptionConfiguration with sseAlgorithm "aws:kms" and kmsMasterKeyId; '
        "only buckets that receive ALB or S3 access logs may use AES256, which AWS requires there.")
def _sse_kms(stack: Stack, bucket, report, cfg):
    defaults = effective_encryption(stack, bucket)
    if any(is_kms(d) for d in defaults):
        return  # whether it names a customer key is s3-sse-customer-key's, before it is created
    if any(d.get("sseAlgorithm") == "AES256" for d in defaults):
        if not is_log_destination(stack, bucket):
            report("SSE-S3 on a bucket that is not a log destination.")
        return
    report("no default encryption.")


# ---- public access ------------------------------------------------------------------------------
@resource_rule(
    "s3-public-access-block", "Bucket public access blocks set all four settings true.",
    types=[BUCKET_PUBLIC_ACCESS_BLOCK], severity="critical",
    checkov=["CKV_AWS_53", "CKV_AWS_54", "CKV_AWS_55", "CKV_AWS_56"], securityhub="S3.8",
    fix="Set blockPublicAcls, blockPublicPolicy, ignorePublicAcls and restrictPublicBuckets all true; "
        "serve public content through CloudFront with OAC.")
def _public_access(props, report, cfg, args):
    off = [k for k in PUBLIC_ACCESS_KEYS if props.get(k) is not True]
    if off:
        report(f"public access block settings not true: {', '.join(off)}.")


@stack_rule(
    "s3-has-public-access-block", "Every bucket has a public access block.",
    types=BUCKETS, severity="critical", checkov=["CKV2_AWS_6"], securityhub="S3.8",
    fix="Add aws.s3.BucketPublicAccessBlock for the bucket with all four settings true "
        "(components/_common.py HardenedBucket does).")
def _has_public_access_block(stack: Stack, bucket, report, cfg):
    if not linked(stack, bucket, [BUCKET_PUBLIC_ACCESS_BLOCK]):
        report("has no BucketPublicAccessBlock.")


def acl_grants(props: Mapping, typ: str) -> list[tuple[Any, Any]]:
    """(grantee group URI, permission) of a bucket's inline `grants` or a BucketAcl's
    accessControlPolicy.grants."""
    if typ in BUCKETS:
        return [(g.get("uri"), ",".join(as_list(g.get("permissions")))) for g in as_list(props.get("grants"))]
    policy = props.get("accessControlPolicy") or {}
    return [((g.get("grantee") or {}).get("uri"), g.get("permission")) for g in as_list(policy.get("grants"))]


@resource_rule(
    "s3-no-public-acl", "No bucket ACL grants to everyone or to every authenticated AWS user.",
    types=[*ACLS, *BUCKETS], severity="critical", checkov=["CKV_AWS_20", "CKV_AWS_57"], securityhub="S3.2",
    fix='Remove the ACL (or set acl "private") and the AllUsers/AuthenticatedUsers grants; with '
        "BucketOwnershipControls BucketOwnerEnforced, ACLs are disabled altogether.")
def _no_public_acl(props, report, cfg, args):
    acl = props.get("acl")
    if acl in PUBLIC_ACLS:
        report(f'acl is "{acl}": every {"AWS user" if acl == "authenticated-read" else "one"} can '
               f'{"read and write" if acl == "public-read-write" else "read"} it.')
    for uri, permission in acl_grants(props, args.resource_type):
        if uri in PUBLIC_GROUPS:
            report(f"a grant gives {permission} to the group {str(uri).rsplit('/', 1)[-1]}.")


@resource_rule(
    "s3-owner-enforced", "Bucket ACLs are disabled (object ownership BucketOwnerEnforced).",
    types=[BUCKET_OWNERSHIP_CONTROLS], severity="medium", checkov=["CKV2_AWS_65"], securityhub="S3.12",
    fix='Set rule.objectOwnership "BucketOwnerEnforced".')
def _owner_enforced(props, report, cfg, args):
    # BucketOwnerPreferred | ObjectWriter | BucketOwnerEnforced (botocore s3 ObjectOwnership)
    ownership = (props.get("rule") or {}).get("objectOwnership")
    if ownership != "BucketOwnerEnforced":
        report(f"objectOwnership is {ownership}: does not enforce bucket-owner object ownership (ACLs still apply).")


@stack_rule(
    "s3-has-ownership-controls", "Every bucket declares its object ownership controls.",
    types=BUCKETS, severity="medium", checkov=["CKV2_AWS_65"], securityhub="S3.12",
    fix='Add aws.s3.BucketOwnershipControls for the bucket with rule.objectOwnership "BucketOwnerEnforced" '
        "(S3's default only for buckets created since April 2023; declaring it keeps imports honest).")
def _has_ownership_controls(stack: Stack, bucket, report, cfg):
    if not linked(stack, bucket, [BUCKET_OWNERSHIP_CONTROLS]):
        report("has no BucketOwnershipControls (ACLs may still apply).")


# ---- bucket policies ----------------------------------------------------------------------------
def policy_of(props: Mapping, typ: str) -> dict | None:
    """The document a BucketPolicy sets, or the bucket's inline `policy`; None when a bucket has none."""
    if typ in BUCKETS and not (has_key(props, "policy") and props["policy"]):
        return None
    return policy_document(props.get("policy"))


def principal_is_everyone(principal: Any) -> bool:
    if principal == "*":
        return True
    return isinstance(principal, Mapping) and "*" in as_list(principal.get("AWS"))


def _denies_plain_http(doc: dict) -> bool:
    for s in statements(doc):
        actions = as_list(s.get("Action"))
        conditions = s.get("Condition") or {}
        flags = {k.lower(): v for op in ("Bool", "BoolIfExists") for k, v in (conditions.get(op) or {}).items()}
        if (s.get("Effect") == "Deny" and principal_is_everyone(s.get("Principal"))
                and ("s3:*" in actions or "*" in actions)
                and str(flags.get("aws:securetransport")).lower() == "false"
                and _covers_bucket_and_objects([str(r) for r in as_list(s.get("Resource"))])):
            return True
    return False


def _covers_bucket_and_objects(resources: list[str]) -> bool:
    """The denial reaches the bucket (ListBucket, GetBucketPolicy ...) and every object, not a prefix:
    "*", or the bucket's ARN and "<bucket ARN>/*" (the fix this rule gives)."""
    if "*" in resources:
        return True
    bucket = any(re.fullmatch(r"arn:[^:]+:s3:::[^/*?]+", r) for r in resources)
    objects = any(re.fullmatch(r"arn:[^:]+:s3:::[^/*?]+/\*", r) for r in resources)
    return bucket and objects


@resource_rule(
    "s3-tls-only", "Bucket policies deny every request made without TLS.",
    types=[BUCKET_POLICY, *BUCKETS], severity="high", securityhub="S3.5",
    fix='Add a statement: Effect Deny, Principal "*", Action "s3:*", Resource the bucket and bucket/*, '
        'Condition {"Bool": {"aws:SecureTransport": "false"}}.')
def _tls_only(props, report, cfg, args):
    doc = policy_of(props, args.resource_type)
    if doc is not None and not _denies_plain_http(doc):
        report("the policy has no statement denying aws:SecureTransport=false.")


@stack_rule(
    "s3-has-tls-policy", "Every bucket has a bucket policy (which s3-tls-only requires to deny plain HTTP).",
    types=BUCKETS, severity="high", securityhub="S3.5",
    fix="Add aws.s3.BucketPolicy for the bucket with the DenyInsecureTransport statement "
        "(components/_common.py HardenedBucket does).")
def _has_tls_policy(stack: Stack, bucket, report, cfg):
    if not linked(stack, bucket, [BUCKET_POLICY]) and policy_of(bucket.props, bucket.resource_type) is None:
        report("has no bucket policy: nothing denies requests made without TLS (aws:SecureTransport=false).")


def account_of(principal: str) -> str | None:
    """The account an AWS principal (an id or an IAM/STS ARN) belongs to; None for AWS-owned
    principals such as a CloudFront origin access identity (arn:aws:iam::cloudfront:user/...)."""
    if principal.isdigit():
        return principal
    parts = principal.split(":")
    return parts[4] if len(parts) > 4 and parts[4].isdigit() else None


def only_put_object(statement: Mapping) -> bool:
    actions = as_list(statement.get("Action"))
    return bool(actions) and all(a == "s3:PutObject" for a in actions)


def foreign_grants(statement: Mapping, trusted: set[str]) -> list[str]:
    """The principals outside `trusted` that an Allow statement admits."""
    if "NotPrincipal" in statement:
        return ["everyone but NotPrincipal"]
    principal = statement.get("Principal")
    if principal_is_everyone(principal):
        return ["*"]
    aws = as_list(principal.get("AWS")) if isinstance(principal, Mapping) else []
    out = []
    for p in aws:
        account = account_of(str(p))
        if account is None or account in trusted or (account in ELB_LOG_ACCOUNTS and only_put_object(statement)):
            continue
        out.append(str(p))
    return out


@resource_rule(
    "s3-policy-no-public-grant",
    "Bucket policies allow nothing to everyone or to another AWS account without a narrowing condition.",
    types=[BUCKET_POLICY, *BUCKETS], severity="critical", checkov=["CKV_AWS_70"], securityhub="S3.6",
    config={"trustedAccounts": {
        "type": "array", "items": {"type": "string"}, "default": [],
        "description": "Account ids bucket policies may grant to (this stack's own account when a policy "
                       "names its roles, partners). ELB's log-delivery accounts may always s3:PutObject."}},
    fix='Grant to a service principal with an aws:SourceArn/aws:SourceAccount condition, add '
        'aws:PrincipalOrgID to a "*" grant, or list the account in trustedAccounts (pack config).')
def _no_public_grant(props, report, cfg, args):
    doc = policy_of(props, args.resource_type)
    trusted = set(cfg["trustedAccounts"])
    for i, s in enumerate(statements(doc or {})):
        # The IAM/KMS/SNS rules' test of a condition that names one caller (_documents.narrowed).
        if s.get("Effect") != "Allow" or narrowed(s, NARROWING_KEYS):
            continue
        who = foreign_grants(s, trusted)
        if who:
            report(f"statement {s.get('Sid') or i} allows {', '.join(who)} without a narrowing condition "
                   f"({', '.join(sorted(NARROWING_KEYS))}).")


# ---- lifecycle, replication, logging ------------------------------------------------------------
def lifecycle_rules(stack: Stack, bucket) -> list[tuple[set, bool]]:
    """(storage classes it transitions to, whether it aborts incomplete uploads) per enabled rule,
    from the lifecycle configuration resources or else the bucket's inline lifecycleRules."""
    found = linked(stack, bucket, LIFECYCLES)
    if found:
        return [({t.get("storageClass") for t in as_list(r.get("transitions"))},
                 bool(r.get("abortIncompleteMultipartUpload")))
                for lc in found for r in as_list(lc.props.get("rules")) if r.get("status") == "Enabled"]
    return [({t.get("storageClass") for t in as_list(r.get("transitions"))},
             bool(r.get("abortIncompleteMultipartUploadDays")))
            for r in as_list(bucket.props.get("lifecycleRules")) if r.get("enabled") is True]


@stack_rule(
    "s3-backup-lifecycle", "Backup buckets move objects to a Glacier class and abort stale multipart uploads.",
    types=BUCKETS, severity="medium", checkov=["CKV2_AWS_61", "CKV_AWS_300"], securityhub="S3.13",
    config={"dataClasses": {"type": "array", "items": {"type": "string"}, "default": ["backup", "backup-replica"],
                            "description": "DataClass tag values that mark backup buckets."}},
    fix="Keep backupDailyGlacierAfterDays / backupWeeklyDeepArchiveAfterDays above 0 in one of the "
        "rules and the abort-incomplete-multipart rule (components/backup_bucket.py).")
def _backup_lifecycle(stack: Stack, bucket, report, cfg):
    if data_class(bucket) not in cfg["dataClasses"]:
        return
    rules = lifecycle_rules(stack, bucket)
    if not set().union(*(classes for classes, _ in rules)) & GLACIER_CLASSES:
        report("holds backups but no enabled lifecycle rule moves them to GLACIER, GLACIER_IR or DEEP_ARCHIVE.")
    if not any(aborts for _, aborts in rules):
        report("holds backups but never aborts incomplete multipart uploads "
               "(failed dump uploads would be billed forever).")


@stack_rule(
    "s3-replication", "Backup buckets replicate to a second region.",
    types=BUCKETS, severity="high", checkov=["CKV_AWS_144"], securityhub="S3.7",
    config={"dataClasses": {"type": "array", "items": {"type": "string"}, "default": ["backup"],
                            "description": "DataClass tag values whose buckets must replicate."}},
    fix="pulumi config set backupReplicationRegion <region> (e.g. us-west-2).")
def _replication(stack: Stack, bucket, report, cfg):
    if data_class(bucket) not in cfg["dataClasses"]:
        return
    found = [c.props.get("rules") for c in linked(stack, bucket, [BUCKET_REPLICATION])]
    if not found:
        found = [c.get("rules") for c in inline_blocks(bucket.props, bucket.resource_type, "replicationConfiguration")]
    if not any(r.get("status") == "Enabled" for rules in found for r in as_list(rules)):
        report("holds backups in one region only: no enabled replication rule.")


@stack_rule(
    "s3-access-logging", "Buckets log server access, except buckets that are themselves log destinations.",
    types=BUCKETS, severity="medium", checkov=["CKV_AWS_18"], securityhub="S3.9",
    config={"exemptDataClasses": {
        "type": "array", "items": {"type": "string"}, "default": ["logs", "static-assets"],
        "description": "DataClass tags exempt: log buckets (logging them recurses) and static assets "
                       "read only through CloudFront, whose access logs record every read."}},
    fix="Add aws.s3.BucketLogging to an in-region log bucket (components/backup_bucket.py _access_logs).")
def _access_logging(stack: Stack, bucket, report, cfg):
    if data_class(bucket) in cfg["exemptDataClasses"]:
        return
    if not linked(stack, bucket, LOGGINGS) and not any(
            is_set(b, "targetBucket") for b in inline_blocks(bucket.props, bucket.resource_type, "logging")):
        report("has no server access logging.")


# ---- one writer per setting ---------------------------------------------------------------------
WRITERS = {
    "policy": (BUCKET_POLICY,), "versioning": VERSIONINGS, "default encryption": ENCRYPTIONS, "ACL": ACLS,
    "lifecycle": LIFECYCLES, "access logging": LOGGINGS, "public access block": (BUCKET_PUBLIC_ACCESS_BLOCK,),
    "ownership controls": (BUCKET_OWNERSHIP_CONTROLS,), "replication": (BUCKET_REPLICATION,),
}


def _inline_differs(setting: str, bucket, writer) -> bool:
    """Whether the bucket's own (inline) value of `setting` is one the program wrote and differs from
    what `writer` sets. Its state also shows what S3 reports (versioning off, SSE-S3 by default, and
    after a refresh whatever the separate resource set), so only values S3 would not choose by
    itself count: a policy, versioning enabled, an SSE-KMS default."""
    b = bucket.props
    if setting == "policy":
        inline = policy_of(b, bucket.resource_type)
        return inline is not None and plain(inline) != plain(policy_of(writer.props, writer.resource_type))
    if setting == "versioning":
        return inline_versioning_on(b, bucket.resource_type) and versioning_status(writer.props) != "Enabled"
    if setting == "default encryption":
        mine = [plain(d) for d in encryption_defaults(b, bucket.resource_type) if is_kms(d)]
        return bool(mine) and mine != [plain(d) for d in encryption_defaults(writer.props, writer.resource_type)]
    return False


@stack_rule(
    "s3-single-writer", "Each bucket setting (policy, versioning, encryption, ...) is written by one resource.",
    types=BUCKETS, severity="high",
    fix="Keep one resource per setting: merge the statements into one BucketPolicy, drop the V2 or the "
        "inline duplicate; the last one applied wins and deleting either removes the setting.")
def _single_writer(stack: Stack, bucket, report, cfg):
    for setting, types in WRITERS.items():
        writers = linked(stack, bucket, types)
        if len(writers) > 1:
            report(f"its {setting} is set by {len(writers)} resources ({', '.join(sorted(w.name for w in writers))}): "
                   "the last one applied wins.")
        elif writers and _inline_differs(setting, bucket, writers[0]):
            report(f"its {setting} is set inline on the bucket and, differently, by {writers[0].name}: "
                   "the last one applied wins.")

"""S3 buckets, whole-stack and tag rules, written as a user would (policy_cases.Case): the modern
resources, their deprecated V2 spellings and the bucket's inline arguments, companions linked by a
dependency or by the literal bucket name, and tags from the provider's defaultTags."""

from __future__ import annotations

import json
from collections.abc import Callable

import pulumi
import pulumi_aws as aws
import pytest
from conftest import pack_module
from policy_cases import Case, assert_case, ids

TAGS = {"Project": "platform", "Stack": "production", "Environment": "production", "Owner": "platform-team",
        "CostCenter": "eng", "ManagedBy": "pulumi"}
NAME = "my-literal-bucket"
ARN = f"arn:aws:s3:::{NAME}"
TLS_DENY = {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": [ARN, f"{ARN}/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
ORG = {"StringEquals": {"aws:PrincipalOrgID": "o-abcdef1234"}}


def doc(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [TLS_DENY, *statements]})


def allow(principal, action="s3:GetObject", condition: dict | None = None, sid="Grant") -> dict:
    s = {"Sid": sid, "Effect": "Allow", "Principal": principal, "Action": action, "Resource": f"{ARN}/*"}
    return {**s, "Condition": condition} if condition else s


def bucket(cls=aws.s3.Bucket, **inline):
    return cls("b", bucket=NAME, tags=TAGS, **inline)


def with_bucket(*companions: Callable, cls=aws.s3.Bucket, **inline) -> Callable[[], None]:
    """A program: the bucket (named NAME) and companions, each called with the bucket."""
    def program() -> None:
        b = bucket(cls, **inline)
        for make in companions:
            make(b)
    return program


def key_arn(name: str) -> pulumi.Output[str]:
    return aws.kms.Key(name, description="bucket key", enable_key_rotation=True, tags=TAGS).arn


# ---- companions, each a function of the bucket --------------------------------------------------
def versioning(status="Enabled", cls=aws.s3.BucketVersioning, name="v", target=None):
    return lambda b: cls(name, bucket=target or b.id, versioning_configuration={"status": status})


def sse(algorithm="aws:kms", with_key=True, cls=aws.s3.BucketServerSideEncryptionConfiguration, name="sse",
        target=None):
    def make(b):
        default = {"sse_algorithm": algorithm}
        if with_key:
            default["kms_master_key_id"] = key_arn(f"{name}-key")
        cls(name, bucket=target or b.id, rules=[{"apply_server_side_encryption_by_default": default}])
    return make


def pab(name="pab", target=None, **off):
    settings = {k: off.get(k, True) for k in ("block_public_acls", "block_public_policy", "ignore_public_acls",
                                              "restrict_public_buckets") if off.get(k, True) is not None}
    return lambda b: aws.s3.BucketPublicAccessBlock(name, bucket=target or b.id, **settings)


def ownership(value="BucketOwnerEnforced"):
    return lambda b: aws.s3.BucketOwnershipControls("own", bucket=b.id, rule={"object_ownership": value})


def policy(document: str, name="policy"):
    return lambda b: aws.s3.BucketPolicy(name, bucket=b.id, policy=document)


def acl(value: str | None = None, cls=aws.s3.BucketAcl, **more):
    return lambda b: cls("acl", bucket=b.id, **({"acl": value} if value else {}), **more)


def logging_to(target: str):
    return lambda b: aws.s3.BucketLogging("log", bucket=b.id, target_bucket=target, target_prefix="s3/")


ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
OWNER_GRANT = {"grantee": {"type": "CanonicalUser", "id": "owner-canonical-id"}, "permission": "FULL_CONTROL"}
PUBLIC_GRANT = {"grantee": {"type": "Group", "uri": ALL_USERS}, "permission": "READ"}


def acp(*grants):
    return {"access_control_policy": {"owner": {"id": "owner-canonical-id"}, "grants": list(grants)}}


def log_destination_program(target: str) -> Callable[[], None]:
    """An SSE-S3 bucket `logs` and a source bucket whose access logs go to `target`."""
    def program() -> None:
        logs = aws.s3.Bucket("logs", bucket="central-logs", tags=TAGS)
        aws.s3.BucketServerSideEncryptionConfiguration(
            "logs-sse", bucket=logs.id, rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}])
        other = aws.s3.Bucket("other", bucket="other-logs", tags=TAGS)
        sse(name="other-sse")(other)
        src = bucket()
        sse(name="src-sse")(src)
        logging_to(target)(src)
    return program


def backup_bucket(**inline) -> Callable[[], None]:
    return lambda: aws.s3.Bucket("b", bucket=NAME, tags={**TAGS, "DataClass": "backup"}, **inline)


GLACIER_RULE = {"enabled": True, "abort_incomplete_multipart_upload_days": 7,
                "transitions": [{"days": 30, "storage_class": "GLACIER"}]}
REPLICATION = {"role": "arn:aws:iam::123456789012:role/replication",
               "rules": [{"id": "all", "status": "Enabled", "destination": {"bucket": "arn:aws:s3:::replica"}}]}


def tagged_by_provider(default_tags: dict | None) -> Callable[[], None]:
    def program() -> None:
        provider = aws.Provider("tagged", region="us-east-1", **({"default_tags": {"tags": default_tags}}
                                                                  if default_tags is not None else {}))
        aws.cloudwatch.EventRule("rule", schedule_expression="rate(1 day)", tags={"Owner": "platform-team"},
                                 opts=pulumi.ResourceOptions(provider=provider))
    return program


def protected(protect: bool) -> Callable[[], None]:
    return lambda: aws.s3.BucketV2("b", bucket=NAME, tags={**TAGS, "DataClass": "backup"},
                                   opts=pulumi.ResourceOptions(protect=protect))


CASES = [
    # -- versioning: the value (resource rule) and the absence (stack rule)
    Case("s3-versioning", with_bucket(versioning("Suspended")), with_bucket(versioning()),
         "versioningConfiguration.status is Suspended", id="bucket-versioning"),
    Case("s3-versioning", with_bucket(versioning("Suspended", aws.s3.BucketVersioningV2)),
         with_bucket(versioning("Enabled", aws.s3.BucketVersioningV2)), "status is Suspended", id="v2"),
    Case("s3-versioning", with_bucket(versioning(), versioning={"enabled": False}),
         with_bucket(versioning(), versioning={"enabled": True}), "inline versioning.enabled is not true",
         id="inline"),
    Case("s3-versioning", with_bucket(versioning(), cls=aws.s3.BucketV2, versionings=[{"enabled": False}]),
         with_bucket(versioning(), cls=aws.s3.BucketV2, versionings=[{"enabled": True}]),
         "inline versioning.enabled is not true", id="bucket-v2-inline"),
    Case("s3-has-versioning", with_bucket(), with_bucket(versioning()), "has no BucketVersioning"),
    Case("s3-has-versioning", with_bucket(versioning(target="some-other-bucket")),
         with_bucket(versioning(target=NAME)), "has no BucketVersioning", id="literal-name"),
    Case("s3-has-versioning", with_bucket(), with_bucket(versioning={"enabled": True}),
         "has no BucketVersioning", id="inline-counts"),
    Case("s3-has-versioning", with_bucket(cls=aws.s3.BucketV2),
         with_bucket(versioning("Enabled", aws.s3.BucketVersioningV2), cls=aws.s3.BucketV2),
         "has no BucketVersioning", id="bucket-v2"),
    # -- encryption
    Case("s3-sse-customer-key", with_bucket(sse(with_key=False)), with_bucket(sse()), "without kmsMasterKeyId"),
    Case("s3-sse-customer-key", with_bucket(sse("aws:kms:dsse", with_key=False)), with_bucket(sse("aws:kms:dsse")),
         'sseAlgorithm "aws:kms:dsse" without kmsMasterKeyId', id="dsse"),
    Case("s3-sse-customer-key", with_bucket(sse(with_key=False, cls=aws.s3.BucketServerSideEncryptionConfigurationV2)),
         with_bucket(sse(cls=aws.s3.BucketServerSideEncryptionConfigurationV2)), "without kmsMasterKeyId", id="v2"),
    Case("s3-sse-customer-key",
         with_bucket(server_side_encryption_configuration={
             "rule": {"apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms"}}}),
         with_bucket(server_side_encryption_configuration={
             "rule": {"apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms",
                                                                  "kms_master_key_id": "alias/app-data"}}}),
         "without kmsMasterKeyId", id="inline"),
    # The key's ARN is unknown in preview: it will be set, so the compliant twin passes.
    Case("s3-sse-customer-key", with_bucket(sse(with_key=False)), with_bucket(sse()), "without kmsMasterKeyId",
         id="preview", preview=True),
    Case("s3-sse-kms", with_bucket(sse("AES256", with_key=False)), with_bucket(sse()),
         "SSE-S3 on a bucket that is not a log destination"),
    Case("s3-sse-kms", log_destination_program("other-logs"), log_destination_program("central-logs"),
         "SSE-S3 on a bucket that is not a log destination", id="log-destination-by-literal-name"),
    Case("s3-sse-kms", with_bucket(),
         with_bucket(server_side_encryption_configuration={
             "rule": {"apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms",
                                                                  "kms_master_key_id": "alias/app-data"}}}),
         "no default encryption", id="inline-counts"),
    # -- public access
    Case("s3-public-access-block", with_bucket(pab(block_public_policy=False)), with_bucket(pab()),
         "not true: blockPublicPolicy"),
    Case("s3-public-access-block", with_bucket(pab(restrict_public_buckets=None, ignore_public_acls=None)),
         with_bucket(pab()), "not true: ignorePublicAcls, restrictPublicBuckets", id="omitted"),
    Case("s3-has-public-access-block", with_bucket(), with_bucket(pab()), "has no BucketPublicAccessBlock"),
    Case("s3-has-public-access-block", with_bucket(pab(target="elsewhere")), with_bucket(pab(target=NAME)),
         "has no BucketPublicAccessBlock", id="literal-name"),
    Case("s3-no-public-acl", with_bucket(acl("public-read")), with_bucket(acl("private")), 'acl is "public-read"'),
    Case("s3-no-public-acl", with_bucket(acl("authenticated-read")), with_bucket(acl("private")),
         'acl is "authenticated-read"', id="authenticated-read"),
    Case("s3-no-public-acl", with_bucket(acl(cls=aws.s3.BucketAclV2, **acp(OWNER_GRANT, PUBLIC_GRANT))),
         with_bucket(acl(cls=aws.s3.BucketAclV2, **acp(OWNER_GRANT))), "gives READ to the group AllUsers",
         id="v2-grant"),
    Case("s3-no-public-acl", with_bucket(acl="public-read-write"), with_bucket(acl="private"),
         'acl is "public-read-write"', id="inline"),
    Case("s3-no-public-acl", with_bucket(grants=[{"type": "Group", "uri": ALL_USERS, "permissions": ["READ"]}]),
         with_bucket(grants=[{"type": "CanonicalUser", "id": "owner-canonical-id", "permissions": ["FULL_CONTROL"]}]),
         "gives READ to the group AllUsers", id="inline-grants"),
    Case("s3-owner-enforced", with_bucket(ownership("ObjectWriter")), with_bucket(ownership()),
         "objectOwnership is ObjectWriter"),
    Case("s3-owner-enforced", with_bucket(ownership("BucketOwnerPreferred")), with_bucket(ownership()),
         "does not enforce bucket-owner object ownership", id="preferred"),
    Case("s3-has-ownership-controls", with_bucket(), with_bucket(ownership()), "has no BucketOwnershipControls"),
    # -- bucket policies
    Case("s3-tls-only", with_bucket(policy(json.dumps({"Statement": [allow({"Service": "logging.s3.amazonaws.com"},
                                                                            condition=ORG)]}))),
         with_bucket(policy(doc(allow({"Service": "logging.s3.amazonaws.com"}, condition=ORG)))),
         "no statement denying aws:SecureTransport=false"),
    Case("s3-tls-only",
         with_bucket(policy(doc().replace('"Principal": "*"', '"Principal": {"AWS": "123456789012"}'))),
         with_bucket(policy(doc().replace('"Principal": "*"', '"Principal": {"AWS": ["*"]}'))),
         "no statement denying", id="principal-spelling"),
    Case("s3-tls-only", with_bucket(policy=json.dumps({"Statement": []})), with_bucket(policy=doc()),
         "no statement denying", id="inline"),
    Case("s3-has-tls-policy", with_bucket(), with_bucket(policy(doc())), "has no bucket policy"),
    Case("s3-has-tls-policy", with_bucket(), with_bucket(policy=doc()), "has no bucket policy", id="inline-counts"),
    Case("s3-policy-no-public-grant", with_bucket(policy(doc(allow("*")))),
         with_bucket(policy(doc(allow("*", condition=ORG)))), "statement Grant allows * without a narrowing"),
    Case("s3-policy-no-public-grant", with_bucket(policy(doc(allow({"AWS": "*"})))),
         with_bucket(policy(doc(allow({"Service": "cloudfront.amazonaws.com"}, condition={
             "StringEquals": {"AWS:SourceArn": "arn:aws:cloudfront::123456789012:distribution/E1"}})))),
         "allows *", id="aws-star"),
    Case("s3-policy-no-public-grant",
         with_bucket(policy(doc(allow({"AWS": ["arn:aws:iam::111122223333:role/partner"]})))),
         with_bucket(policy(doc(allow({"AWS": ["arn:aws:iam::111122223333:role/partner"]}, condition=ORG)))),
         "allows arn:aws:iam::111122223333:role/partner", id="foreign-account"),
    # ELB's log-delivery account may write logs, nothing else.
    Case("s3-policy-no-public-grant", with_bucket(policy(doc(allow({"AWS": "arn:aws:iam::127311923021:root"},
                                                                   ["s3:PutObject", "s3:GetObject"])))),
         with_bucket(policy(doc(allow({"AWS": "arn:aws:iam::127311923021:root"}, "s3:PutObject")))),
         "allows arn:aws:iam::127311923021:root", id="elb-account-reads"),
    Case("s3-policy-no-public-grant",
         with_bucket(policy(doc({**allow({}), "NotPrincipal": {"AWS": "arn:aws:iam::123456789012:root"}}))),
         with_bucket(policy(doc(allow({"Service": "logging.s3.amazonaws.com"})))), "everyone but NotPrincipal",
         id="not-principal"),
    # A *IfExists condition passes when the key is absent: it does not narrow.
    Case("s3-policy-no-public-grant",
         with_bucket(policy(doc(allow("*", condition={"StringEqualsIfExists": {"aws:PrincipalOrgID": "o-1"}})))),
         with_bucket(policy(doc(allow("*", condition={"StringEquals": {"aws:PrincipalOrgID": "o-1"}})))),
         "allows *", id="if-exists"),
    Case("s3-policy-no-public-grant", with_bucket(policy=doc(allow("*"))),
         with_bucket(policy=doc(allow("*", condition=ORG))), "allows *", id="inline"),
    # -- one writer per setting
    Case("s3-single-writer", with_bucket(policy(doc()), policy(doc(), "policy-2")), with_bucket(policy(doc())),
         "its policy is set by 2 resources (policy, policy-2)"),
    Case("s3-single-writer", with_bucket(versioning(), versioning("Enabled", aws.s3.BucketVersioningV2, "v2")),
         with_bucket(versioning()), "its versioning is set by 2 resources", id="versioning-v2"),
    Case("s3-single-writer",
         with_bucket(sse(), sse(cls=aws.s3.BucketServerSideEncryptionConfigurationV2, name="sse-2", target=NAME)),
         with_bucket(sse()), "its default encryption is set by 2 resources", id="encryption-by-literal-name"),
    # The same document inline and separate (as the bucket's state shows after a refresh) is one value.
    Case("s3-single-writer", with_bucket(policy(doc()), policy=doc(allow("*", condition=ORG))),
         with_bucket(policy(doc()), policy=doc()), "set inline on the bucket and, differently, by policy",
         id="inline-policy"),
    Case("s3-single-writer", with_bucket(versioning("Suspended"), versioning={"enabled": True}),
         with_bucket(versioning("Suspended")), "its versioning is set inline", id="inline-versioning"),
    # -- backups, logging (inline spellings; the split resources are in tests/test_policies.py FIXTURES)
    Case("s3-backup-lifecycle", backup_bucket(lifecycle_rules=[{**GLACIER_RULE, "transitions": []}]),
         backup_bucket(lifecycle_rules=[GLACIER_RULE]), "GLACIER, GLACIER_IR or DEEP_ARCHIVE", id="inline"),
    Case("s3-replication", backup_bucket(replication_configuration={
        **REPLICATION, "rules": [{**REPLICATION["rules"][0], "status": "Disabled"}]}),
         backup_bucket(replication_configuration=REPLICATION), "no enabled replication rule", id="inline"),
    Case("s3-access-logging", with_bucket(), with_bucket(logging={"target_bucket": "central-logs"}),
         "has no server access logging", id="inline"),
    Case("s3-access-logging", with_bucket(cls=aws.s3.BucketV2),
         with_bucket(lambda b: aws.s3.BucketLoggingV2("log", bucket=b.id, target_bucket="central-logs",
                                                              target_prefix="s3/"),
                     cls=aws.s3.BucketV2), "has no server access logging", id="v2"),
    # -- whole stack, tags
    Case("stateful-protected", protected(False), protected(True), "is not protected", id="bucket-v2"),
    Case("required-tags", tagged_by_provider(None), tagged_by_provider(TAGS), "missing tags: Project",
         id="provider-default-tags"),
    Case("required-tags", tagged_by_provider({"Project": "platform"}), tagged_by_provider(TAGS),
         "missing tags: Stack, Environment, CostCenter, ManagedBy", id="partial-default-tags"),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_case(pack, case):
    assert_case(pack, case)


def test_the_taggable_types_are_generated_from_the_installed_sdks_and_current():
    from conftest import takes_tags

    from offline import taggable

    assert taggable.main(["--check"]) == 0, f"policies/_taggable.py is stale: run {taggable.COMMAND}"
    module = pack_module("_taggable")
    assert len(module.AWS) > 800 and module.CLOUDFLARE
    # The generated list agrees with the SDK classes' own signatures, both ways.
    for token in ("aws:s3/bucket:Bucket", "aws:cloudwatch/eventRule:EventRule", "aws:ssm/parameter:Parameter",
                  "aws:autoscaling/group:Group"):
        assert token in module.AWS and takes_tags(token), token
    for token in ("aws:s3/bucketPolicy:BucketPolicy", "aws:iam/rolePolicy:RolePolicy"):
        assert token not in module.AWS and not takes_tags(token), token
    assert module.AWS["aws:autoscaling/group:Group"] == "list"  # [{key, value, propagateAtLaunch}]

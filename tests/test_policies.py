"""The policy pack, driven as the CLI drives it: policies/__main__.py spawned, then GetAnalyzerInfo,
ConfigureStack, Configure, Analyze per resource and AnalyzeStack over gRPC (offline/analyzer.py).

Every rule has a fixture: a compliant graph (production or a seed example) with one thing broken,
which must make exactly that rule fire, mandatory, with its message."""

from __future__ import annotations

import copy
import importlib
import json
import keyword
import re
from pathlib import Path

import pytest
from conftest import EXAMPLES, ROOT, STACKS, evaluate, example_graph, pack_module, stack_graph, takes_tags

from offline import policydoc
from offline.analyzer import (
    CONFIG_DIR,
    PackConfigError,
    PolicyPackProcess,
    default_config_path,
    load_pack_config,
    reconcile,
)
from offline.evaluate import UNKNOWN, is_secret
from offline.mocks import ACCOUNT


# ---- graph surgery for fixtures ------------------------------------------------------------------
def _walk(container, path: list):
    for key in path[:-1]:
        if isinstance(container, dict) and is_secret(container):
            container = container["value"]
        container = container[key]
    return container, path[-1]


def _split(path: str) -> list:
    return [int(p) if p.isdigit() else p for p in path.split(".")]


def set_prop(graph, name: str, path: str, value):
    """Set (or with value=None delete) a property in both inputs and outputs."""
    r = graph.named(name)
    for props in (r.inputs, r.outputs):
        try:
            parent, key = _walk(props, _split(path))
        except (KeyError, IndexError, TypeError):
            continue
        if value is None:
            if isinstance(parent, dict):
                parent.pop(key, None)
        else:
            parent[key] = value


def drop(graph, *names: str):
    graph.resources = [r for r in graph.resources if r.name not in names]


def mutated(base, *steps):
    graph = copy.deepcopy(base)
    before = {r.urn: json.dumps(r.inputs, sort_keys=True) + str(r.protect) for r in graph.resources}
    for step in steps:
        step(graph)
    changed = {r.urn for r in graph.resources if before.get(r.urn) != json.dumps(r.inputs, sort_keys=True)
               + str(r.protect)}
    return graph, changed


def origin_index(graph, origin_id: str) -> int:
    origins = graph.named("cdn-distribution").inputs["origins"]
    return next(i for i, o in enumerate(origins) if o["originId"] == origin_id)


def bucket_policy_without_tls_denial(g):
    r = g.named("backups-bucket-policy")
    doc = json.loads(r.inputs["policy"])
    doc["Statement"] = [s for s in doc["Statement"] if s.get("Sid") != "DenyInsecureTransport"]
    set_prop(g, "backups-bucket-policy", "policy", json.dumps(doc))


def lifecycle_without_archive(g):
    rules = g.named("backups-bucket-lifecycle").inputs["rules"]
    set_prop(g, "backups-bucket-lifecycle", "rules", [{k: v for k, v in r.items() if k != "transitions"}
                                                      for r in rules])


def params_without_force_ssl(g):
    params = g.named("postgres-params").inputs["parameters"]
    set_prop(g, "postgres-params", "parameters", [p for p in params if p["name"] != "rds.force_ssl"])


def open_statement(name: str, sid: str):
    """The statement `sid` of `name`'s policy granted to "*" with its Condition dropped."""
    def step(g):
        doc = json.loads(g.named(name).inputs["policy"])
        for st in doc["Statement"]:
            if st.get("Sid") == sid:
                st["Principal"] = {"AWS": "*"}
                st.pop("Condition", None)
        set_prop(g, name, "policy", json.dumps(doc))
    return step


def unprotect(name):
    def step(g):
        g.named(name).protect = False
    return step


def alarms_on(g, target: str) -> list[str]:
    urn = g.named(target).urn
    return [r.name for r in g.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
            if urn in r.property_dependencies.get("dimensions", [])]


def vercel_secret_not_sensitive(g):
    var = next(r for r in g.of_type("vercel:index/projectEnvironmentVariable:ProjectEnvironmentVariable")
               if r.inputs.get("key") == "DATABASE_URL")
    set_prop(g, var.name, "sensitive", False)


def S(name, path, value):  # noqa: N802 - reads like a table row
    return lambda g: set_prop(g, name, path, value)


def D(*names):  # noqa: N802
    return lambda g: drop(g, *names)


# (policy, base graph, mutation steps, message the rule must report)
FIXTURES = [
    ("rds-storage-encrypted", "production", [S("postgres-primary", "storageEncrypted", False)],
     "storageEncrypted is not true"),
    ("rds-not-public", "production", [S("postgres-primary", "publiclyAccessible", True)],
     "does not set allowPublic"),
    ("rds-backup-retention", "production", [S("postgres-primary", "backupRetentionPeriod", 7)],
     "backupRetentionPeriod is 7 days; this environment needs at least 30"),
    ("rds-multi-az", "production", [S("postgres-primary", "multiAz", False)], "multiAz is not true"),
    ("rds-deletion-protection", "production", [S("postgres-primary", "deletionProtection", False)],
     "deletionProtection is not true"),
    ("rds-enhanced-monitoring", "production", [S("postgres-replica-0", "monitoringInterval", 0)],
     "monitoringInterval is 0"),
    ("rds-log-exports", "production", [S("postgres-primary", "enabledCloudwatchLogsExports", ["upgrade"])],
     'does not include "postgresql"'),
    ("rds-iam-auth", "production", [S("postgres-primary", "iamDatabaseAuthenticationEnabled", False)],
     "iamDatabaseAuthenticationEnabled is not true"),
    ("rds-auto-minor-upgrade", "production", [S("postgres-primary", "autoMinorVersionUpgrade", False)],
     "autoMinorVersionUpgrade is false"),
    ("rds-performance-insights-encrypted", "production",
     [S("postgres-primary", "performanceInsightsKmsKeyId", None)], "set performanceInsightsKmsKeyId"),
    ("rds-copy-tags-to-snapshot", "production", [S("postgres-primary", "copyTagsToSnapshot", False)],
     "copyTagsToSnapshot is not true"),
    ("rds-force-ssl", "production", [params_without_force_ssl], "does not set rds.force_ssl=1"),
    ("rds-deletion-protection", "production", [S("postgres-replica-1", "deletionProtection", False)],
     "deletionProtection is not true"),
    ("rds-ca-certificate", "production", [S("postgres-replica-0", "caCertIdentifier", "rds-ca-2019")],
     "caCertIdentifier is rds-ca-2019, not a current CA"),
    ("rds-proxy-tls", "production", [S("postgres-proxy", "requireTls", False)], "requireTls is not true"),
    ("rds-storage-encrypted", "production", [S("postgres-replica-0", "kmsKeyId", "alias/aws/rds")],
     "AWS-managed key alias/aws/rds"),
    ("logs-encrypted", "production", [S("dr-network-flow-logs", "kmsKeyId", None)], "kmsKeyId is not set"),
    ("logs-retention", "production", [S("app-logs", "retentionInDays", 14)], "retentionInDays is 14"),
    ("secrets-cmk", "production", [S("postgres-credentials", "kmsKeyId", "alias/aws/secretsmanager")],
     "AWS-managed key alias/aws/secretsmanager"),
    # postgres-credentials rotates in production (tests/test_rotation.py); the app-env secret is still exempt.
    ("secrets-rotation", "production", [S("app-env", "tags.RotationExempt", None)],
     "no RotationExempt tag"),
    ("elasticache-encryption-at-rest", "production", [S("redis-group", "atRestEncryptionEnabled", False)],
     "atRestEncryptionEnabled is not true"),
    ("elasticache-encryption-in-transit", "production", [S("redis-group", "transitEncryptionMode", "preferred")],
     "plaintext clients are still accepted"),
    ("elasticache-auth", "production", [S("redis-group", "authToken", None)], "neither authToken nor userGroupIds"),
    ("elasticache-failover", "production", [S("redis-group", "automaticFailoverEnabled", False)],
     "not both true"),
    ("elasticache-snapshot-retention", "production", [S("redis-group", "snapshotRetentionLimit", 0)],
     "snapshotRetentionLimit is 0"),
    ("elasticache-subnet-group", "production", [S("redis-group", "subnetGroupName", "default")],
     "subnetGroupName is default"),
    ("s3-versioning", "production", [S("backups-bucket-versioning", "versioningConfiguration.status", "Suspended")],
     "versioningConfiguration.status is Suspended, not Enabled"),
    ("s3-sse-kms", "production",
     [S("cdn-assets-encryption", "rules.0.applyServerSideEncryptionByDefault", {"sseAlgorithm": "AES256"})],
     "SSE-S3 on a bucket that is not a log destination"),
    ("s3-public-access-block", "production", [S("backups-bucket-public-access", "restrictPublicBuckets", False)],
     "not true: restrictPublicBuckets"),
    ("s3-owner-enforced", "production", [S("backups-bucket-ownership", "rule.objectOwnership", "ObjectWriter")],
     "does not enforce bucket-owner object ownership"),
    ("s3-tls-only", "production", [bucket_policy_without_tls_denial], "denying aws:SecureTransport=false"),
    ("s3-backup-lifecycle", "production", [lifecycle_without_archive], "GLACIER, GLACIER_IR or DEEP_ARCHIVE"),
    ("s3-replication", "production", [D("backups-replication")], "no enabled replication rule"),
    ("s3-access-logging", "production", [S("cdn-assets", "tags.DataClass", "uploads")],
     "has no server access logging"),
    ("cloudfront-https-only", "production",
     [S("cdn-distribution", "defaultCacheBehavior.viewerProtocolPolicy", "allow-all")], "allows plain HTTP"),
    ("cloudfront-tls-policy", "production",
     [S("cdn-distribution", "viewerCertificate.minimumProtocolVersion", "TLSv1")], "minimumProtocolVersion is TLSv1"),
    ("cloudfront-waf", "production", [S("cdn-distribution", "webAclId", None)], "webAclId is empty"),
    ("cloudfront-logging", "production", [D("cdn-log-source")], "has no access-log delivery"),
    ("cloudfront-security-headers", "production",
     [S("cdn-security-headers", "securityHeadersConfig.strictTransportSecurity.accessControlMaxAgeSec", 300)],
     "lacks HSTS with max-age >= 31536000"),
    ("cloudfront-security-headers", "production",
     [S("cdn-distribution", "orderedCacheBehaviors.1.responseHeadersPolicyId", None)],
     "behavior /uploads/*: has no response headers policy"),
    ("waf-logging", "production", [D("cdn-waf-logging")], "has no WebAclLoggingConfiguration"),
    ("cloudfront-s3-oac", "production",
     [lambda g: set_prop(g, "cdn-distribution", f"origins.{origin_index(g, 'assets')}.originAccessControlId", None)],
     "S3 origin assets has no originAccessControlId"),
    ("cloudfront-origin-https", "production",
     [lambda g: set_prop(g, "cdn-distribution",
                         f"origins.{origin_index(g, 'app')}.customOriginConfig.originProtocolPolicy", "http-only")],
     "origin app uses originProtocolPolicy http-only"),
    ("sg-no-public-ingress", "production",
     [S("network-db-from-app", "cidrIpv4", "0.0.0.0/0"), S("network-db-from-app", "referencedSecurityGroupId", None)],
     "opens tcp 5432 to 0.0.0.0/0"),
    ("sg-public-web-on-load-balancers", "production",
     [S("network-db-from-app", "cidrIpv4", "0.0.0.0/0"), S("network-db-from-app", "referencedSecurityGroupId", None),
      S("network-db-from-app", "fromPort", 443), S("network-db-from-app", "toPort", 443)],
     "takes tcp 443 from the world but no load balancer uses this group"),
    ("vpc-flow-logs-all-traffic", "production", [S("network-flow-log", "trafficType", "REJECT")],
     "trafficType is 'REJECT'"),
    ("vpc-subnet-no-auto-public-ip", "production", [S("network-public-0", "mapPublicIpOnLaunch", True)],
     "mapPublicIpOnLaunch is true"),
    ("cloudflare-always-https", "study-sphere", [S("dns-always-use-https", "value", "off")],
     'always_use_https is "off"'),
    ("cloudflare-zone-settings-present", "study-sphere", [D("dns-always-use-https")], "but not always_use_https"),
    ("sg-rule-descriptions", "production", [S("network-db-from-app", "description", None)],
     "the rule has no description"),
    ("vpc-flow-logs", "production", [D("network-flow-log")], "has no flow log"),
    ("kms-key-rotation", "production", [S("postgres-key", "enableKeyRotation", False)], "enableKeyRotation is not true"),
    ("sns-topic-encrypted", "production", [S("alarms-topic", "kmsMasterKeyId", None)], "kmsMasterKeyId is empty"),
    ("kms-key-policy-not-public", "production", [open_statement("cdn-assets-key", "CloudFrontReadsAssets")],
     'statement "CloudFrontReadsAssets" allows any principal to use the key'),
    ("sns-topic-policy-not-public", "production", [open_statement("alarms-topic-policy", "AlarmsAndBudgetsPublish")],
     'statement "AlarmsAndBudgetsPublish" lets any principal act on the topic'),
    ("alarm-actions-enabled", "production", [S("alarms-db-primary-cpu", "actionsEnabled", False)],
     "actionsEnabled is false"),
    ("vercel-sensitive-env", "study-sphere", [vercel_secret_not_sensitive],
     "DATABASE_URL is named like a secret but is not sensitive"),
    ("cloudflare-tls", "study-sphere", [lambda g: set_prop(g, next(
        r.name for r in g.of_type("cloudflare:index/zoneSetting:ZoneSetting") if r.inputs["settingId"] == "ssl"),
        "value", "flexible")], 'ssl is "flexible"'),
    ("required-tags", "production", [S("postgres-primary", "tags.Owner", None)], "missing tags: Owner"),
    ("cost-allowed-classes", "production", [S("postgres-primary", "instanceClass", "db.r6i.32xlarge")],
     "instanceClass db.r6i.32xlarge is not in this environment's allow-list"),
    ("alarms-coverage", "production", [lambda g: drop(g, *alarms_on(g, "postgres-replica-0"))],
     "has no CloudWatch alarm watching it"),
    ("rds-read-replica", "production",
     [lambda g: drop(g, *[n for r in ("postgres-replica-0", "postgres-replica-1", "postgres-dr-replica")
                          for n in (r, *alarms_on(g, r))])],
     "has 0 read replica(s); at least 1 required"),
    ("backup-bucket-exists", "production", [D("backups-bucket")], "no bucket tagged DataClass=backup"),
    ("stateful-protected", "production", [unprotect("postgres-primary")], "is not protected"),
]


def base_graph(name: str):
    return stack_graph(name) if name in STACKS else example_graph(name)


def _inline_case_policies() -> set[str]:
    """The rules the tests/test_pack_*.py families (policy_cases.Case) cover."""
    names: set[str] = set()
    for path in sorted(Path(__file__).parent.glob("test_pack_*.py")):
        names |= {case.policy for case in importlib.import_module(path.stem).CASES}
    return names


def test_every_policy_has_a_fixture(pack):
    covered = {p for p, *_ in FIXTURES} | _inline_case_policies()
    assert sorted(pack.policies()) == sorted(covered)


@pytest.mark.parametrize("policy,base,steps,message", FIXTURES, ids=[f[0] for f in FIXTURES])
def test_each_rule_fires_alone_on_its_fixture(pack, policy, base, steps, message):
    graph, changed = mutated(base_graph(base), *steps)
    verdict = pack.analyze(graph, only=changed)
    assert verdict.fired() == {policy}, [(d.policy, d.message) for d in verdict.diagnostics]
    assert all(d.level == "mandatory" for d in verdict.diagnostics)
    assert any(message in d.message for d in verdict.diagnostics), [d.message for d in verdict.diagnostics]
    assert all(d.urn for d in verdict.diagnostics if policy != "backup-bucket-exists")


# ---- the real stacks and every seed example ------------------------------------------------------
@pytest.mark.parametrize("preview", [False, True], ids=["update", "preview"])
@pytest.mark.parametrize("name", [*STACKS, *EXAMPLES])
def test_real_stacks_have_no_mandatory_violations(pack, name, preview):
    graph = stack_graph(name, preview) if name in STACKS else example_graph(name, preview)
    verdict = pack.analyze(graph, default_config_path(graph.stack))
    assert verdict.mandatory == [], [(d.policy, d.resource, d.message) for d in verdict.mandatory]
    if not preview and name != "staging":
        assert verdict.diagnostics == []  # production and the seeds pass every rule outright


# What production's preview cannot judge, and why. The provider hands the pack each policy document
# as one JSON string, unknown while any value in it is (components/_common.py, "ARNs a preview
# knows"): the program builds the ARNs it can from names, which a preview knows; what remains names
# an identifier AWS assigns only when it creates the resource.
_KEY = "names a KMS key's ARN: KMS assigns the key id at creation"
_SECRET = "names a Secrets Manager secret's ARN: the service appends a random suffix at creation"
_IAM = frozenset({"iam-no-admin-policy", "iam-no-wildcard-actions", "iam-passrole-scoped"})
_BUCKET = frozenset({"s3-tls-only", "s3-policy-no-public-grant"})
_ECS = frozenset({"ecs-no-plaintext-secrets", "ecs-non-privileged", "ecs-non-root-user", "ecs-read-only-root"})
UNJUDGED_IN_PRODUCTION_PREVIEW: dict[str, tuple[frozenset[str], str]] = {
    "backups-bucket-policy": (_BUCKET, _KEY + " (DenyOtherKmsKeys)"),
    "backups-replica-policy": (_BUCKET, _KEY + " (DenyOtherKmsKeys)"),
    "cdn-assets-policy": (_BUCKET, _KEY + "; and the distribution's ARN (CloudFront assigns its id)"),
    "backups-writer-policy": (_IAM, _KEY),
    "backups-operator-policy": (_IAM, _KEY),
    "backups-replication-policy": (_IAM, _KEY),
    "app-task-uploads": (_IAM, _KEY),
    "app-execution-secrets": (_IAM, _SECRET + "; " + _KEY),
    "postgres-proxy-secret-access": (_IAM, _SECRET + "; " + _KEY),
    "postgres-rotation-policy": (_IAM, _SECRET + "; " + _KEY),
    # Not a policy document: container definitions are a string-only input (aws.ecs.TaskDefinition
    # container_definitions: str) naming the ECR repository URL and the env secret's ARN.
    "app-task": (_ECS, "the image URL and " + _SECRET),
    # (issue 16) the backup jobs: the bucket key, the database secret and its key; their task
    # definitions name the ops repository URL and the database secret's ARN.
    "backup-jobs-backup-role-policy": (_IAM, _KEY),
    "backup-jobs-drill-role-policy": (_IAM, _KEY),
    "backup-jobs-execution-role-policy": (_IAM, _SECRET + "; " + _KEY),
    "backup-jobs-scheduler-role-policy": (_IAM, _KEY + " (the schedules' key, DecryptSchedules)"),
    "backup-jobs-daily": (_ECS, "the image URL and " + _SECRET),
    "backup-jobs-weekly": (_ECS, "the image URL and " + _SECRET),
    "backup-jobs-drill": (_ECS, "the image URL and " + _SECRET),
}


def test_production_preview_judges_every_policy_document_without_an_aws_assigned_id(pack):
    verdict = pack.analyze(stack_graph("production", preview=True))
    assert all("during preview" in d.message and d.level == "advisory" for d in verdict.diagnostics), \
        [(d.policy, d.resource, d.message) for d in verdict.diagnostics if "during preview" not in d.message]
    unjudged: dict[str, set[str]] = {}
    for d in verdict.diagnostics:
        unjudged.setdefault(d.resource, set()).add(d.policy)
    assert unjudged == {name: set(rules) for name, (rules, _) in UNJUDGED_IN_PRODUCTION_PREVIEW.items()}
    # Judged in preview since their ARNs are built from names: the flow-log roles' policies, the
    # alarm topics' policies, the S3 access-log buckets' policies and the ALB log bucket's policy.
    for judged in ("network-flow-logs-policy", "dr-network-flow-logs-policy", "alarms-topic-policy",
                   "alarms-topic-policy-us-west-2", "backups-logs-policy", "backups-replica-logs-policy",
                   "app-alb-logs-policy"):
        assert judged in {r.name for r in stack_graph("production", preview=True).resources}
        assert judged not in unjudged


@pytest.mark.parametrize("name", [*STACKS, *EXAMPLES])
def test_every_kms_key_has_an_explicit_policy_the_account_administers(name):
    """Checkov CKV2_AWS_64: no key on the default policy. Each policy starts with the account root's
    kms:* (what the default policy grants); the keys that services use through IAM have only that."""
    graph = stack_graph(name) if name in STACKS else example_graph(name)
    keys = graph.of_type("aws:kms/key:Key")
    assert keys
    account_only = {"backups-key", "backups-replica-key", "postgres-key", "postgres-dr-key"}
    for key in keys:
        doc = json.loads(key.input("policy") or "{}")
        first, *others = doc.get("Statement") or [{}]
        assert first == {"Sid": "AccountAdministers", "Effect": "Allow", "Action": "kms:*", "Resource": "*",
                         "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}}, (key.name, doc)
        if key.name in account_only:
            assert others == [], (key.name, others)
    if name == "production":  # the one graph with backup replication and a DR replica
        assert account_only <= {k.name for k in keys}


def test_staging_relaxes_named_rules_to_advisory_through_pack_config(pack):
    # Judged now, one config after the other on the same pack process (not verdicts SessionPack kept).
    verdict = PolicyPackProcess.analyze(pack, stack_graph("staging"), CONFIG_DIR / "staging.json")
    assert verdict.fired() == {"alarm-actions-enabled", "elasticache-failover", "rds-deletion-protection",
                               "rds-multi-az", "s3-replication", "stateful-protected",
                               "alb-deletion-protection"}
    assert {d.level for d in verdict.diagnostics} == {"advisory"}
    # Without the staging config the same graph is judged as production.
    strict = PolicyPackProcess.analyze(pack, stack_graph("staging"))
    assert {d.policy for d in strict.mandatory} >= {"rds-multi-az", "rds-backup-retention", "stateful-protected"}


def test_staging_may_run_without_replicas_under_its_pack_config(pack):
    """Staging's config lets it drop its replica (postgresReadReplicas 0) without a finding the
    production default would make mandatory."""
    graph = evaluate("staging", postgresReadReplicas="0")
    assert not graph.of_type("aws:rds/instance:Instance")[1:], "one database, no replica"
    staging = pack.analyze(graph, CONFIG_DIR / "staging.json")
    assert staging.mandatory == [] and "rds-read-replica" not in staging.fired()
    assert "rds-read-replica" in {d.policy for d in pack.analyze(graph).mandatory}


def test_staging_thresholds_come_from_pack_config(pack):
    graph, changed = mutated(stack_graph("production"), S("postgres-primary", "instanceClass", "db.m6g.large"),
                             S("postgres-primary", "backupRetentionPeriod", 7))
    production = pack.analyze(graph, only=changed)
    assert {d.policy for d in production.mandatory} == {"rds-backup-retention"}
    staging = pack.analyze(graph, CONFIG_DIR / "staging.json", only=changed)
    assert {d.policy for d in staging.mandatory} == {"cost-allowed-classes"}


def test_public_database_is_refused_unless_the_pack_config_allows_it(pack, tmp_path):
    # natGateways single: with RDS the stack runs its backup jobs, which need NAT (else backup-schedule fires).
    g = evaluate(example="group-spaces", postgresEnabled="true", externalDatabaseUrl=None, natGateways="single",
                 postgresPubliclyAccessible="true", databaseAllowedCidrs=["198.51.100.10/32"],
                 postgresMultiAz="true", postgresBackupRetentionDays="30", postgresReadReplicas="1")
    assert {d.policy for d in pack.analyze(g).mandatory} == {"rds-not-public"}
    allow = tmp_path / "allow.json"
    allow.write_text(json.dumps({"rds-not-public": {"allowPublic": True}}))
    assert pack.analyze(g, allow).mandatory == []
    # Allowed, but the allow-list opened to the world: refused again.
    rule = next(r.name for r in g.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
                if r.inputs.get("cidrIpv4") == "198.51.100.10/32")
    broken, _ = mutated(g, S(rule, "cidrIpv4", "0.0.0.0/0"))
    messages = [d.message for d in pack.analyze(broken, allow).mandatory if d.policy == "rds-not-public"]
    assert messages and "allow-list" in messages[0]
    # Half of the address space is no allow-list either (the config refuses it; a user's own
    # program need not): the rule measures the public addresses the ranges admit, not one spelling.
    half, _ = mutated(g, S(rule, "cidrIpv4", "0.0.0.0/1"))
    split = [d.message for d in pack.analyze(half, allow).mandatory if d.policy == "rds-not-public"]
    assert split and "allow-list" in split[0]


def test_required_tags_cover_every_taggable_type_the_stacks_use(pack):
    """Drop the tags of one resource per taggable type (per the SDK): required-tags must notice."""
    graph = copy.deepcopy(stack_graph("production"))
    seen, changed = set(), set()
    for r in graph.resources:
        if r.custom and r.type.startswith("aws:") and r.type not in seen and takes_tags(r.type):
            seen.add(r.type)
            r.inputs.pop("tags", None)
            changed.add(r.urn)
    verdict = pack.analyze(graph, only=changed, stack=False)
    flagged = {d.resource_type for d in verdict.diagnostics if d.policy == "required-tags"}
    assert flagged == seen and len(seen) > 30


def test_unknown_values_in_preview_do_not_count_as_missing(pack):
    graph, changed = mutated(stack_graph("production"), S("postgres-primary", "kmsKeyId", UNKNOWN),
                             S("alarms-topic", "kmsMasterKeyId", UNKNOWN))
    assert pack.analyze(graph, only=changed, stack=False).diagnostics == []


# ---- type tokens ---------------------------------------------------------------------------------
TOKEN = re.compile(r"^[a-z0-9]+:[a-zA-Z0-9]+(/[a-zA-Z0-9]+)?:[A-Za-z0-9]+$")
SDK_PACKAGES = {"aws": "pulumi_aws", "cloudflare": "pulumi_cloudflare", "vercel": "pulumiverse_vercel"}


def _pack_types() -> dict[str, str]:
    """policies/_types.py's constants, loaded from the file as the pack's own venv would."""
    module = pack_module("_types")
    return {k: v for k, v in vars(module).items() if k.isupper() and isinstance(v, str)}


def _sdk_token(token: str) -> str | None:
    """The token of the SDK class the token names (`aws:rds/instance:Instance` -> pulumi_aws.rds.Instance),
    or None when there is no such class."""
    from pulumi.type_token import get_type_token

    package, module_path, name = token.split(":")
    module = SDK_PACKAGES.get(package)
    submodule = module_path.split("/")[0]
    submodule += "_" * keyword.iskeyword(submodule)  # the SDKs' Python name for aws:lambda/... is lambda_
    try:
        found = importlib.import_module(module if submodule == "index" else f"{module}.{submodule}")
    except (ImportError, TypeError):
        return None
    cls = getattr(found, name, None)
    return get_type_token(cls) if isinstance(cls, type) else None


def test_every_type_token_the_pack_names_is_a_type_of_the_installed_sdks():
    """A misspelt token would match no resource and its rule would pass everything in silence."""
    types = _pack_types()
    assert len(types) > 50 and len(set(types.values())) == len(types), "one constant per token"
    wrong = {name: token for name, token in types.items() if _sdk_token(token) != token}
    assert not wrong, f"not a resource type of pulumi_aws/pulumi_cloudflare/pulumiverse_vercel: {wrong}"
    for typo in ("aws:rds/instances:Instance", "aws:rds/instance:Instanse", "vercel:index/projekt:Project"):
        assert _sdk_token(typo) != typo  # the check itself tells a typo apart


def test_rule_modules_take_their_type_tokens_from_one_module_and_import_no_sdk():
    # The pack's venv has no provider SDK (policies/requirements.txt): tokens are strings, kept in _types.py.
    for path in sorted((ROOT / "policies").glob("*.py")):
        text = path.read_text()
        assert not re.search(r"^\s*(import|from) (pulumi_aws|pulumi_cloudflare|pulumiverse_vercel)\b", text,
                             re.MULTILINE), path.name
        if path.name not in ("_types.py", "_taggable.py"):  # _taggable.py: generated from the SDKs
            literals = [s for s in re.findall(r"[\"']([^\"'\s]+)[\"']", text) if TOKEN.match(s)]
            assert not literals, f"{path.name} spells type tokens itself: {literals}; name them in _types.py"


# ---- metadata and config ------------------------------------------------------------------------
def test_every_policy_carries_its_metadata(pack):
    info = pack.info()
    assert info.name == "platform-guardrails"
    for p in pack.policies().values():
        assert p.description and p.remediation and p.severity in ("low", "medium", "high", "critical"), p.name
        assert p.level == "mandatory", p.name  # production is the default
        for tag in p.tags:
            assert re.fullmatch(r"checkov:CKV2?_AWS_\d+|securityhub:[A-Za-z0-9]+\.\d+", tag), (p.name, tag)
        if p.securityhub:
            assert f"securityhub:{p.securityhub}" in p.tags


def test_the_rule_table_is_generated_from_the_pack_and_current(pack):
    doc = policydoc.render(pack.policies())
    assert policydoc.DOC.exists() and policydoc.DOC.read_text() == doc, (
        f"docs/policies.md is stale: run {policydoc.COMMAND} and commit the result")
    for p in pack.policies().values():
        row = next((line for line in doc.splitlines() if line.startswith(f"| `{p.name}` |")), None)
        assert row and "| ? |" not in row, f"no row, or no module, for {p.name}"
        for tag in p.tags:
            assert tag.split(":", 1)[1] in row, (p.name, tag)
    assert "(docs/policies.md)" in (ROOT / "README.md").read_text()


def test_pack_config_is_validated_like_the_cli(pack, tmp_path):
    policies = pack.policies()
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"rds-backup-retention": {"minimumDays": "seven", "days": 3},
                               "rds-multi-az": "sometimes"}))
    with pytest.raises(PackConfigError, match="not an enforcement level"):
        load_pack_config(bad)
    bad.write_text(json.dumps({"rds-backup-retention": {"minimumDays": "seven", "days": 3}}))
    with pytest.raises(PackConfigError) as err:
        reconcile(policies, load_pack_config(bad), str(bad))
    assert "rds-backup-retention: minimumDays: expected integer" in str(err.value)
    assert "rds-backup-retention: unknown property 'days'" in str(err.value)
    config, warnings = reconcile(policies, {"all": ("advisory", {}), "rds-multi-az": ("mandatory", {})})
    assert config["rds-multi-az"][0] == "mandatory" and config["s3-versioning"][0] == "advisory"
    assert config["rds-backup-retention"][1] == {"minimumDays": 30}
    assert warnings == []


def test_an_unknown_rule_name_is_refused_with_a_suggestion(pack):
    # Stricter than the CLI (ReconcilePolicyPackConfig keeps unknown names silently): a typo
    # would otherwise leave the rule it meant to relax mandatory, or the one it meant to tighten not.
    with pytest.raises(PackConfigError) as err:
        reconcile(pack.policies(), {"rds-multi-az": ("advisory", {}), "rds-mulit-az": ("advisory", {}),
                                    "no-such-rule": ("disabled", {})}, "staging.json")
    message = str(err.value)
    assert "'rds-mulit-az' is not a policy in the pack; did you mean 'rds-multi-az'?" in message
    assert "'no-such-rule' is not a policy in the pack; the CLI would ignore it" in message
    assert "fix: correct or remove it in staging.json" in message


def _floor(requirements: Path, package: str) -> tuple[int, ...]:
    line = next(line for line in requirements.read_text().splitlines() if line.startswith(f"{package}>="))
    assert line.endswith(",<2"), line  # the major stays pinned
    return tuple(int(part) for part in re.match(rf"{package}>=([\d.]+),", line).group(1).split("."))


def test_requirements_name_the_pulumi_policy_the_pack_needs():
    # Severity, PolicyComplianceFramework and remediation_steps arrived in 1.18 (pulumi-policy
    # CHANGELOG, PR #410); a violation carries its severity from 1.20 (PR #427), read by offline/analyzer.py.
    assert _floor(ROOT / "policies" / "requirements.txt", "pulumi-policy") >= (1, 18)
    assert _floor(ROOT / "requirements-dev.txt", "pulumi-policy") >= (1, 20)


def test_pack_files_follow_the_cli_layout():
    pack_dir = ROOT / "policies"
    assert {"PulumiPolicy.yaml", "__main__.py", "requirements.txt"} <= {p.name for p in pack_dir.iterdir()}
    main = (pack_dir / "__main__.py").read_text()
    assert "PolicyPack(" in main and "def " not in main  # __main__ only builds the pack
    for path in Path(CONFIG_DIR).glob("*.json"):
        load_pack_config(path)


def test_policy_documents_reach_the_pack_as_the_providers_check_returns_them():
    """pulumi-aws JSON-encodes its PolicyDocument inputs in Check (TransformJSONDocument), and makes an
    object holding an unknown one unknown string: the harness sends the same, not the SDK's object."""
    from offline.json_documents import as_checked, document_fields

    fields = document_fields()
    assert fields["aws:iam/role:Role"] == {"assumeRolePolicy"} and fields["aws:s3/bucketPolicy:BucketPolicy"] == {"policy"}
    assert "aws:sns/topic:Topic" not in fields  # a string-only input: nothing to transform
    known = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
    assert json.loads(as_checked("aws:iam/policy:Policy", {"policy": known, "name": "p"})["policy"]) == known
    partly = {"Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": UNKNOWN}]}
    assert as_checked("aws:iam/rolePolicy:RolePolicy", {"policy": partly}) == {"policy": UNKNOWN}
    plain = {"environment": partly}
    assert as_checked("aws:lambda/function:Function", plain) == plain and as_checked(
        "aws:lambda/function:Function", plain) is not plain  # a copy: the caller adds outputs to it


def test_an_analysis_leaves_the_shared_graph_as_it_was(pack):
    """The graphs are cached and shared by every test (conftest.cached_run): AnalyzeStack's state is
    built from a resource's inputs plus its outputs, on a copy, never in the recorded inputs."""
    graph = stack_graph("staging")
    before = copy.deepcopy([(r.inputs, r.outputs) for r in graph.resources])
    PolicyPackProcess.analyze(pack, graph)  # judged now, not a verdict the session kept (conftest.SessionPack)
    assert [(r.inputs, r.outputs) for r in graph.resources] == before

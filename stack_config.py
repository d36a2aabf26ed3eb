"""Stack configuration, parsed once: Pulumi.yaml's schema + the stack's values -> typed settings.

Pulumi.yaml's `config:` block is the single source of each key's type, default and description.
The components' Settings classes declare the ranges on their fields (bounded, choice); this module
maps their fields to config keys (postgres + read_replicas -> postgresReadReplicas), collects every
problem and raises one ConfigError naming each key, its value, what is allowed and the fixing command.
offline/configdoc.py renders docs/configuration.md from the same sources (SECTIONS, settings_keys).
"""

from __future__ import annotations

import dataclasses
import difflib
import ipaddress
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import pulumi
import yaml

from components._aws_catalog import region_problem
from components._validation import CLOUDWATCH_RETENTION_DAYS, InvalidArgs
from components.alarms import ObservabilitySettings
from components.app import AppSettings, EcsSettings, VercelSettings
from components.backup_bucket import BackupSettings
from components.backup_jobs import BackupJobsSettings
from components.cdn import CdnSettings
from components.dns import RATE_LIMIT_PLANS, RULES, CloudflareSettings
from components.network import NetworkSettings
from components.postgres import PostgresSettings
from components.rate_limits import RateLimitSettings
from components.redis import RedisSettings

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T")

PROJECT = "platform"
PROJECT_FILE = Path(__file__).with_name("Pulumi.yaml")
ENVIRONMENTS = ("development", "staging", "production")
_TAG_VALUE = re.compile(r"^[\w .:/=+\-@]{1,256}$")


class ConfigError(pulumi.RunError):
    """Bad stack configuration. A RunError, so the Pulumi CLI prints it without a traceback."""


Spec = dict[str, dict[str, object]]  # Pulumi.yaml's `config:` block: key -> type, default, description


def schema() -> Spec:
    # libyaml's safe loader when PyYAML has it (its wheels do): the same document in a tenth of the time
    # (0.003 s against 0.035 s for Pulumi.yaml), which every evaluation pays once.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(PROJECT_FILE.read_text(), Loader=loader)["config"]  # noqa: S506 - a safe loader


@dataclass(frozen=True)
class StackSettings:
    stack: str
    environment: str
    aws_region: str
    owner: str
    cost_center: str
    protect_stateful_resources: bool
    apply_immediately: bool
    log_retention_days: int
    network: NetworkSettings
    postgres: PostgresSettings | None
    dr_vpc_cidr: str
    external_database_url: pulumi.Output[str] | None
    redis: RedisSettings | None
    backups: BackupSettings | None
    backup_jobs: BackupJobsSettings | None  # only with RDS PostgreSQL and the backup bucket
    app: AppSettings
    vercel: VercelSettings | None
    ecs: EcsSettings | None
    cdn: CdnSettings | None
    rate_limits: RateLimitSettings
    cloudflare: CloudflareSettings | None
    observability: ObservabilitySettings

    @property
    def project_name(self) -> str:
        return f"{PROJECT}-{self.stack}"

    @property
    def backup_jobs_runnable(self) -> bool:
        """The jobs' tasks reach ECR, S3, Secrets Manager and CloudWatch from private subnets: through NAT."""
        return self.backup_jobs is not None and self.network.nat_gateways != "none"

    @property
    def credentials_rotated(self) -> bool:
        """Secrets Manager rotates the database credentials unless the app reads DATABASE_URL at deploy
        (Vercel) or the rotation function would have no route to Secrets Manager (no NAT):
        docs/operations.md."""
        return self.postgres is not None and self.app.hosting != "vercel" and self.network.nat_gateways != "none"

    @property
    def tags(self) -> dict[str, str]:
        """Built once and handed to every component; the policy pack checks them."""
        return {
            "Project": PROJECT,
            "Stack": self.stack,
            "Environment": self.environment,
            "Owner": self.owner,
            "CostCenter": self.cost_center,
            "ManagedBy": "pulumi",
        }


class _Problems:
    def __init__(self, stack: str):
        self.stack = stack
        self.lines: list[str] = []

    def bad(self, key: str, value: object, allowed: str, fix: str | None = None) -> None:
        fix = fix or f"pulumi config set {key} <value> --stack {self.stack}"
        self.lines.append(f"  - {key} = {value!r}: {allowed}\n    fix: {fix}")

    def raise_if_any(self) -> None:
        if self.lines:
            n = len(self.lines)
            raise ConfigError(
                f"invalid configuration for stack '{self.stack}' ({n} problem{'s' * (n != 1)}):\n"
                + "\n".join(self.lines)
                + "\n(keys, types and defaults: Pulumi.yaml `config:`; docs/configuration.md)")


# What a config value is once parsed: Pulumi.yaml's string, integer, boolean and array (of strings).
Value = str | int | bool | tuple[str, ...]


class Values(dict[str, Value]):
    """Every key of Pulumi.yaml with its parsed value (the stack's, else the default). The typed
    getters only narrow: _parse_all has already refused a value of the wrong type."""

    def _typed(self, key: str, kind: type[T]) -> T:
        value = self[key]
        if not isinstance(value, kind):
            raise TypeError(f"{key} holds {value!r}, not a {kind.__name__}")
        return value

    def text(self, key: str) -> str:
        return self._typed(key, str)

    def number(self, key: str) -> int:
        return self._typed(key, int)

    def flag(self, key: str) -> bool:
        return self._typed(key, bool)

    def items_of(self, key: str) -> tuple[str, ...]:
        return self._typed(key, tuple)


def _default(entry: Mapping[str, object]) -> Value:
    default = entry["default"]
    if isinstance(default, list):
        return tuple(str(item) for item in default)
    if isinstance(default, str | int | bool):
        return default
    raise TypeError(f"Pulumi.yaml default {default!r} is not a string, integer, boolean or list")


def _parse(key: str, spec: Mapping[str, object], text: str, problems: _Problems) -> Value | None:
    kind = spec["type"]
    if kind == "integer":
        if re.fullmatch(r"[+-]?[0-9]+", text.strip()):  # strconv.Atoi's digits, as the CLI checks them
            return int(text)
        problems.bad(key, text, "must be an integer")
    elif kind == "boolean":
        if text.strip().lower() in ("true", "false"):
            return text.strip().lower() == "true"
        problems.bad(key, text, "must be true or false")
    elif kind == "array":
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(value)
        problems.bad(key, text, "must be a list of strings",
                     f"pulumi config set --path '{key}[0]' <value> --stack {problems.stack}")
    else:
        return text
    return None


def _camel(prefix: str, field: str) -> str:
    words = field.split("_")
    if not prefix:
        return words[0] + "".join(w.title() for w in words[1:])
    return prefix + "".join(w.title() for w in words)


def settings_keys(cls: type[DataclassInstance], prefix: str) -> dict[str, str]:
    """Settings field -> config key."""
    return {f.name: _camel(prefix, f.name) for f in dataclasses.fields(cls)}


# (settings class, config key prefix, key that turns the tier off or None)
SECTIONS: dict[str, tuple[type[DataclassInstance], str, str | None]] = {
    "network": (NetworkSettings, "", None),
    "postgres": (PostgresSettings, "postgres", "postgresEnabled"),
    "redis": (RedisSettings, "redis", "redisEnabled"),
    "backups": (BackupSettings, "backup", "backupBucketEnabled"),
    "backup_jobs": (BackupJobsSettings, "backup", "backupJobsEnabled"),
    "app": (AppSettings, "app", None),
    "vercel": (VercelSettings, "vercel", None),
    "ecs": (EcsSettings, "ecs", None),
    "cdn": (CdnSettings, "cdn", "cdnEnabled"),
    "rate_limits": (RateLimitSettings, "rateLimit", None),
    "cloudflare": (CloudflareSettings, "cloudflare", None),
    "observability": (ObservabilitySettings, "", None),
}
# Sections that only mean something in some stacks: (condition on the values, what makes them count).
# Setting one of their keys anywhere else is a mistake worth an error, not a silent no-op.
CONDITIONAL: dict[str, tuple[Callable[[Values], bool], str]] = {
    "backup_jobs": (lambda v: v.flag("postgresEnabled") and v.flag("backupBucketEnabled"),
                    "postgresEnabled and backupBucketEnabled are true (the jobs dump RDS into the bucket)"),
    "vercel": (lambda v: v["appHosting"] == "vercel", "appHosting is vercel"),
    "ecs": (lambda v: v["appHosting"] == "aws", "appHosting is aws"),
    "cdn": (lambda v: v.flag("cdnEnabled"), "cdnEnabled is true"),
    "cloudflare": (lambda v: v["appDnsProvider"] == "cloudflare" and v["appHosting"] != "none",
                   "appDnsProvider is cloudflare and an app is hosted"),
}
# The stack-wide keys with a fixed set of values (the Settings classes declare their own ranges).
STACK_WIDE_CHOICES: dict[str, tuple[object, ...]] = {
    "environment": ENVIRONMENTS,
    "logRetentionDays": CLOUDWATCH_RETENTION_DAYS,
}


def load(raw: Mapping[str, str], secret_keys: set[str], stack: str) -> StackSettings:
    """Validate `raw` ({"platform:key": "text"}, as the engine passes config) for `stack`.

    Each step adds its problems in turn; one ConfigError lists them all, in this order."""
    spec = schema()
    problems = _Problems(stack)
    _check_key_names(raw, spec, problems)
    values = _parse_all(raw, spec, problems)  # raises on a value of the wrong type
    _check_stack_wide(values, problems)
    built = _build_sections(values, spec, problems)
    _check_regions_and_allow_lists(values, built, problems)
    _check_app(values, built, problems)
    _check_cloudflare_plan(built, problems)
    _check_external_database(values, secret_keys, problems)
    problems.raise_if_any()
    return _stack_settings(stack, values, built)


def _check_key_names(raw: Mapping[str, str], spec: Spec, problems: _Problems) -> None:
    """Keys Pulumi.yaml does not declare, and aws:* keys this program never reads."""
    stack = problems.stack
    for full in sorted(raw):
        namespace, _, key = full.partition(":")
        if namespace == PROJECT and key not in spec:
            close = difflib.get_close_matches(key, spec, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            problems.bad(full, raw[full], f"unknown key; {hint}every key is listed in Pulumi.yaml",
                         f"pulumi config rm {full} --stack {stack}")
        elif namespace == "aws":
            problems.bad(full, raw[full],
                         "not read: this program builds its own AWS provider from awsRegion and "
                         "takes credentials from the environment (AWS_PROFILE, OIDC)",
                         f"pulumi config rm {full} --stack {stack}"
                         + (" && pulumi config set awsRegion <region>" if key == "region" else ""))


def _parse_all(raw: Mapping[str, str], spec: Spec, problems: _Problems) -> Values:
    """Every declared key, typed; stops here on a value of the wrong type (the checks after it need types)."""
    values = Values()
    before_parsing = len(problems.lines)
    for key, entry in spec.items():
        text = raw.get(f"{PROJECT}:{key}")
        parsed = _default(entry) if text is None else _parse(key, entry, text, problems)
        if parsed is not None:
            values[key] = parsed
    if len(problems.lines) > before_parsing:
        problems.raise_if_any()
    return values


def _check_choice(key: str, values: Values, problems: _Problems) -> None:
    allowed = STACK_WIDE_CHOICES[key]
    if values[key] not in allowed:
        problems.bad(key, values[key], "must be one of " + ", ".join(map(str, allowed)))


def _check_stack_wide(values: Values, problems: _Problems) -> None:
    _check_choice("environment", values, problems)
    if region := region_problem(values.text("awsRegion")):
        allowed, closest = region
        problems.bad("awsRegion", values["awsRegion"], allowed,
                     f"pulumi config set awsRegion {closest} --stack {problems.stack}" if closest else None)
    for key in ("owner", "costCenter"):
        if not _TAG_VALUE.match(values.text(key)):
            problems.bad(key, values[key], "must be 1-256 characters allowed in AWS tags")
    _check_choice("logRetentionDays", values, problems)


class Sections(dict[str, object]):
    """One settings object per SECTIONS entry, or None: the tier is off, not part of this stack, or
    its settings were refused (then a problem says why). The getters narrow to the section's class."""

    def get_as(self, section: str, kind: type[T]) -> T | None:
        value = self[section]
        if value is not None and not isinstance(value, kind):
            raise TypeError(f"section {section} holds a {type(value).__name__}, not a {kind.__name__}")
        return value

    def required(self, section: str, kind: type[T]) -> T:
        """A section without an on/off key: it exists whenever the configuration is valid."""
        value = self.get_as(section, kind)
        if value is None:
            raise TypeError(f"section {section} is missing from a configuration without problems")
        return value


def _build_sections(values: Values, spec: Spec, problems: _Problems) -> Sections:
    built = Sections()
    for section, (cls, prefix, enabled_key) in SECTIONS.items():
        built[section] = None
        if section in CONDITIONAL and not CONDITIONAL[section][0](values):
            _check_unused_section(section, settings_keys(cls, prefix), enabled_key, values, spec, problems)
        elif not enabled_key or values.flag(enabled_key):
            built[section] = _build_section(cls, settings_keys(cls, prefix), values, problems)
    return built


def _check_unused_section(section: str, keys: dict[str, str], enabled_key: str | None, values: Values,
                          spec: Spec, problems: _Problems) -> None:
    # The CLI hands the program every key, defaults merged in (pkg/workspace/config.go,
    # mergeConfig): only a value that differs from the default can be a mistake.
    for key in keys.values():
        if key != enabled_key and values[key] != _default(spec[key]):
            problems.bad(key, values[key], f"has no effect unless {CONDITIONAL[section][1]}",
                         f"pulumi config rm {key} --stack {problems.stack}")


def _build_section(cls: type[DataclassInstance], keys: dict[str, str], values: Values,
                   problems: _Problems) -> object | None:
    """The section's Settings (which check their own ranges), or None with its problems reported by key."""
    try:
        return cls(**{f: values[k] for f, k in keys.items()})
    except InvalidArgs as err:
        for p in err.problems:
            key = keys[p.field]
            way_out = _way_out(key, values, problems.stack) or (
                f"pulumi config set {key} {p.suggestion} --stack {problems.stack}" if p.suggestion else None)
            problems.bad(key, values[key], p.allowed, way_out)
        return None


def _check_regions_and_allow_lists(values: Values, built: Sections, problems: _Problems) -> None:
    """Copies in other regions, and allow-lists of a tier that is off."""
    stack = problems.stack
    pg = built.get_as("postgres", PostgresSettings)
    if pg and pg.dr_region:
        if pg.dr_region == values["awsRegion"]:
            problems.bad("postgresDrRegion", pg.dr_region, "must differ from awsRegion")
        _check_dr_cidr(values, problems)
        _check_dr_engine(pg, problems)
    backups = built.get_as("backups", BackupSettings)
    if backups and backups.replication_region == values["awsRegion"]:
        problems.bad("backupReplicationRegion", values["awsRegion"], "must differ from awsRegion")
    if not values["postgresEnabled"] and values["databaseAllowedCidrs"]:
        problems.bad("databaseAllowedCidrs", list(values.items_of("databaseAllowedCidrs")),
                     "has no effect while postgresEnabled is false", f"pulumi config rm databaseAllowedCidrs --stack {stack}")
    if not values["redisEnabled"] and values["cacheAllowedCidrs"]:
        problems.bad("cacheAllowedCidrs", list(values.items_of("cacheAllowedCidrs")),
                     "has no effect while redisEnabled is false", f"pulumi config rm cacheAllowedCidrs --stack {stack}")


def _check_external_database(values: Values, secret_keys: set[str], problems: _Problems) -> None:
    """externalDatabaseUrl holds credentials: a secret, never echoed, and only without RDS."""
    external = values.text("externalDatabaseUrl")
    if not external:
        return
    stack, shown = problems.stack, "[secret]"
    if values["postgresEnabled"]:
        problems.bad("externalDatabaseUrl", shown, "conflicts with postgresEnabled=true",
                     f"pulumi config set postgresEnabled false --stack {stack}")
    if f"{PROJECT}:externalDatabaseUrl" not in secret_keys:
        problems.bad("externalDatabaseUrl", shown, "holds credentials, so it must be a secret",
                     f"pulumi config set --secret externalDatabaseUrl <url> --stack {stack}")
    if "://" not in external:
        problems.bad("externalDatabaseUrl", shown, "must be a URL such as libsql://db.turso.io")


def _stack_settings(stack: str, values: Values, built: Sections) -> StackSettings:
    external = values.text("externalDatabaseUrl")
    return StackSettings(
        stack=stack,
        environment=values.text("environment"),
        aws_region=values.text("awsRegion"),
        owner=values.text("owner"),
        cost_center=values.text("costCenter"),
        protect_stateful_resources=values.flag("protectStatefulResources"),
        apply_immediately=values.flag("applyImmediately"),
        log_retention_days=values.number("logRetentionDays"),
        dr_vpc_cidr=values.text("postgresDrVpcCidr"),
        external_database_url=pulumi.Output.secret(external) if external else None,
        network=built.required("network", NetworkSettings),
        postgres=built.get_as("postgres", PostgresSettings),
        redis=built.get_as("redis", RedisSettings),
        backups=built.get_as("backups", BackupSettings),
        backup_jobs=built.get_as("backup_jobs", BackupJobsSettings),
        app=built.required("app", AppSettings),
        vercel=built.get_as("vercel", VercelSettings),
        ecs=built.get_as("ecs", EcsSettings),
        cdn=built.get_as("cdn", CdnSettings),
        rate_limits=built.required("rate_limits", RateLimitSettings),
        cloudflare=built.get_as("cloudflare", CloudflareSettings),
        observability=built.required("observability", ObservabilitySettings),
    )


def _way_out(key: str, values: Values, stack: str) -> str | None:
    """The fix of a Settings problem when it is not `pulumi config set <key> <value>`."""
    if key == "ecsImageTag" and values["ecsImage"]:
        return (f"pulumi config rm ecsImageTag --stack {stack}  (keeps ecsImage; or, to deploy the stack's "
                f"repository at that tag: pulumi config rm ecsImage --stack {stack})")
    return None


def _check_app(values: Values, built: Sections, problems: _Problems) -> None:
    """How the app reaches the data tier, and what the edge needs. Each rule names the way out."""
    stack = problems.stack
    hosting = values["appHosting"]
    pg = built.get_as("postgres", PostgresSettings)
    if hosting == "none" and values["cdnEnabled"]:
        problems.bad("cdnEnabled", True, "needs an app to front: set appHosting to vercel or aws",
                     f"pulumi config set appHosting aws --stack {stack}")
    if values["appDnsProvider"] == "cloudflare" and hosting != "none" and not values["cloudflareZoneId"]:
        problems.bad("cloudflareZoneId", "", "is required when appDnsProvider is cloudflare",
                     f"pulumi config set cloudflareZoneId <32-hex zone id> --stack {stack}")
    if pg and pg.publicly_accessible and not values["databaseAllowedCidrs"]:
        problems.bad("postgresPubliclyAccessible", True,
                     "needs databaseAllowedCidrs: a public endpoint is only allowed behind an allow-list",
                     f"pulumi config set --path 'databaseAllowedCidrs[0]' <egress CIDR> --stack {stack}")
    if hosting == "aws" and values["natGateways"] == "none":
        problems.bad("natGateways", "none", "ECS tasks in private subnets need a NAT to pull images and reach AWS APIs",
                     f"pulumi config set natGateways single --stack {stack}")
    vc = built.get_as("vercel", VercelSettings)
    if hosting == "vercel" and vc is not None:
        _check_vercel_reach(values, vc, pg, problems)


def _check_vercel_reach(values: Values, vc: VercelSettings, pg: PostgresSettings | None,
                        problems: _Problems) -> None:
    """Vercel's functions reach the data tier through Secure Compute, or from the internet."""
    stack = problems.stack
    if vc.secure_compute:
        try:
            overlap = ipaddress.ip_network(vc.secure_compute_cidr).overlaps(ipaddress.ip_network(values.text("vpcCidr")))
        except ValueError:
            overlap = False
        if overlap:
            problems.bad("vercelSecureComputeCidr", vc.secure_compute_cidr,
                         f"must not overlap vpcCidr ({values['vpcCidr']}); peered networks need distinct ranges")
        return
    # Without Secure Compute, Vercel's functions come from the internet: say how to reach the data.
    if values["redisEnabled"]:
        problems.bad("redisEnabled", True,
                     "ElastiCache is reachable only inside the VPC; Vercel needs vercelSecureCompute to use it",
                     f"pulumi config set vercelSecureCompute true --stack {stack}  "
                     f"(or: pulumi config set redisEnabled false)")
    if pg and not pg.publicly_accessible:
        problems.bad("postgresEnabled", True,
                     "a private database is unreachable from Vercel without vercelSecureCompute",
                     f"pulumi config set vercelSecureCompute true --stack {stack}  (or the explicit opt-in: "
                     f"pulumi config set postgresPubliclyAccessible true, with databaseAllowedCidrs)")


def _check_dr_engine(pg: PostgresSettings, problems: _Problems) -> None:
    """The DR replica keeps automated backups (so a promoted copy has point-in-time recovery), and
    RDS keeps backups on PostgreSQL read replicas only from 14.1."""
    if not pg.replica_backups_supported:
        problems.bad("postgresEngineVersion", pg.engine_version,
                     f"must be 14.1 or later while postgresDrRegion is set ({pg.dr_region}): the DR replica "
                     "keeps automated backups, which RDS supports on PostgreSQL read replicas only from 14.1",
                     f"pulumi config set postgresEngineVersion 16 --stack {problems.stack}  (a major upgrade "
                     f"of the primary; or drop the DR replica: pulumi config rm postgresDrRegion)")


def _check_cloudflare_plan(built: Sections, problems: _Problems) -> None:
    """Rate limiting rules the zone's plan cannot hold: Cloudflare would refuse the whole ruleset at `up`."""
    cf = built.get_as("cloudflare", CloudflareSettings)
    limits = built.get_as("rate_limits", RateLimitSettings)
    stack = problems.stack
    if cf is None or limits is None or not cf.manage_zone:
        return
    plan = RATE_LIMIT_PLANS[cf.plan]
    keys = settings_keys(CloudflareSettings, "cloudflare") | settings_keys(RateLimitSettings, "rateLimit")
    for limit in cf.plan_limits(limits):
        key = keys[limit.field]
        if limit.field == "rate_limit_rules":
            fitting = [rule for rule, _, _, period in cf.ratelimits(limits)
                       if rule != "general" or period in plan.periods][:plan.max_rules] or [RULES[1]]
            way_out = f"pulumi config rm {key} --stack {stack} && " + " && ".join(
                f"pulumi config set --path '{key}[{i}]' {rule} --stack {stack}" for i, rule in enumerate(fitting))
        elif limit.field == "rate_limit_period_seconds":
            way_out = f"pulumi config set {key} {max(plan.periods)} --stack {stack}"
        else:
            way_out = f"pulumi config set {key} block --stack {stack}"
        problems.bad(key, limit.value, f"{limit.allowed} (cloudflarePlan is {cf.plan})",
                     f"{way_out}  (or, if the zone is on {limit.plan}: "
                     f"pulumi config set cloudflarePlan {limit.plan} --stack {stack})")


def _check_dr_cidr(values: Values, problems: _Problems) -> None:
    try:
        dr = NetworkSettings(vpc_cidr=values.text("postgresDrVpcCidr"))
    except InvalidArgs as err:
        problems.bad("postgresDrVpcCidr", values["postgresDrVpcCidr"], err.problems[0].allowed)
        return
    try:
        overlap = ipaddress.ip_network(dr.vpc_cidr).overlaps(ipaddress.ip_network(values.text("vpcCidr")))
    except ValueError:
        return  # vpcCidr itself is reported by the network section
    if overlap:
        problems.bad("postgresDrVpcCidr", dr.vpc_cidr, f"must not overlap vpcCidr ({values['vpcCidr']})")


def from_runtime() -> StackSettings:
    """Read the config the engine handed this process (PULUMI_CONFIG, or set_all_config under mocks)."""
    from pulumi.runtime import config as rc

    keys = set(rc.CONFIG.get()) | set(rc.get_config_env())
    raw = {k: str(rc.get_config(k)) for k in keys}
    secret = {k for k in keys if rc.is_config_secret(k) or k in rc.get_config_secret_keys_env()}
    return load(raw, secret, pulumi.get_stack())

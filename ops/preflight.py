"""`preflight`: what a `pulumi up` of the stack needs from the account and the environment, checked
before it runs (nothing of the stack has to exist yet).

One row per check: no placeholder left in the stack config; AWS credentials (and their region
against awsRegion); the stack's secrets provider usable (AWS KMS key enabled and able to encrypt,
or a passphrase in the environment); the DNS zone the stack writes to (a public Route 53 hosted
zone in this account, or a Cloudflare zone id and API token); the ECS image and the ops (backup)
image; and the quotas that most often stop a first deploy (VPCs, Elastic IPs, NAT gateways per AZ), counted from the config.
Values of secrets (tokens, passphrases) are never printed: only whether they are set.
"""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from ops.common import Check, client, session_region

if TYPE_CHECKING:  # stack_config imports pulumi: the commands import it only when they read a stack
    from stack_config import StackSettings

# RFC 2606: second-level names reserved for documentation, and reserved top-level names.
RESERVED_DOMAINS = ("example.com", "example.net", "example.org")
RESERVED_TLDS = ("example", "test", "invalid", "localhost")
PLACEHOLDER_ZONE_ID = "0123456789abcdef0123456789abcdef"  # the seed examples' stand-in
_ZONE_ID = re.compile(r"^[0-9a-f]{32}$")
_SLACK_PLACEHOLDER = re.compile(r"^[TCG]0{8,20}$")
_PLACEHOLDER_TEXT = re.compile(r"replace[-_ ]?me|change[-_ ]?me|\bplaceholder\b|<[^<>]+>|\bx{3,}\b", re.IGNORECASE)
_ECR = re.compile(r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/"
                  r"(?P<repo>[a-z0-9][a-z0-9._/-]*)(?::(?P<tag>[\w][\w.-]{0,127}))?(?:@(?P<digest>sha256:[0-9a-f]{64}))?$")
# Cloudflare's provider reads its credentials from these (pulumi_cloudflare Provider docstrings).
CLOUDFLARE_TOKEN_ENV = "CLOUDFLARE_API_TOKEN"
CLOUDFLARE_LEGACY_ENV = ("CLOUDFLARE_API_KEY", "CLOUDFLARE_EMAIL")
PASSPHRASE_ENV = ("PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE")


@dataclass(frozen=True)
class Quota:
    service: str
    code: str
    name: str
    default: int


VPCS = Quota("vpc", "L-F678F1CE", "VPCs per Region", 5)
ELASTIC_IPS = Quota("ec2", "L-0263D0A3", "EC2-VPC Elastic IPs", 5)
NATS_PER_AZ = Quota("vpc", "L-FE5A380F", "NAT gateways per Availability Zone", 5)


@dataclass
class Context:
    cfg: StackSettings
    raw: Mapping[str, str]  # the config as the program gets it ({"platform:key": text})
    secret_keys: set[str]
    stack_file: Path
    outputs: dict = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=lambda: os.environ)

    def set_cmd(self, key: str, value: str = "<value>", index: int | None = None) -> str:
        target = key if index is None else f"--path '{key}[{index}]'"
        return f"pulumi config set {target} {value} --stack {self.cfg.stack}"


def _error(err: Exception) -> str:
    code = getattr(err, "response", {}).get("Error", {}).get("Code")
    return f"{code or type(err).__name__}: {err}"[:300]


def _guard(name: str, fn: Callable[[], list[Check]]) -> list[Check]:
    """An AWS error becomes a failed row naming the error, never a traceback."""
    try:
        return fn()
    except Exception as err:  # noqa: BLE001 - reported as a failed check
        return [Check(name, False, _error(err))]


# ---- 1. placeholders ---------------------------------------------------------------------------
def _reserved(name: str) -> bool:
    name = name.lower().rstrip(".")
    return (any(name == d or name.endswith("." + d) for d in RESERVED_DOMAINS)
            or name.rsplit(".", 1)[-1] in RESERVED_TLDS)


def _values(ctx: Context) -> list[tuple[str, int | None, str]]:
    """(key, index in an array or None, text) for every plain value of the project's namespace."""
    out: list[tuple[str, int | None, str]] = []
    for full, text in sorted(ctx.raw.items()):
        namespace, _, key = full.partition(":")
        if namespace != "platform" or full in ctx.secret_keys:
            continue  # a secret's value is neither known offline nor printed
        try:
            parsed = json.loads(text) if text.startswith("[") else None
        except ValueError:
            parsed = None
        if isinstance(parsed, list):
            out += [(key, i, str(v)) for i, v in enumerate(parsed)]
        else:
            out.append((key, None, text))
    return out


def _placeholder(ctx: Context, key: str, index: int | None, text: str) -> tuple[str, str] | None:
    """Why the value looks left to fill in and the command that fixes it, or None."""
    if key in ("appDomain", "appDnsZone") and text and _reserved(text):
        return "a reserved example domain (RFC 2606)", ctx.set_cmd(key, "<your domain>")
    if key == "alarmEmails" and _reserved(text.rpartition("@")[2]):
        return "an address at a reserved example domain (RFC 2606)", ctx.set_cmd(key, "<address>", index)
    if key == "alarmWebhookUrls" and _reserved(urlsplit(text).hostname or ""):
        return "a URL at a reserved example domain (RFC 2606)", ctx.set_cmd(key, "<https URL>", index)
    if key == "cloudflareZoneId" and text == PLACEHOLDER_ZONE_ID:
        return "the examples' placeholder zone id", ctx.set_cmd(key, "<zone id from the Cloudflare dashboard>")
    if key in ("alarmSlackTeamId", "alarmSlackChannelId") and _SLACK_PLACEHOLDER.match(text):
        what = "workspace id (T…)" if key == "alarmSlackTeamId" else "channel id (C…)"
        return f"a placeholder Slack {what}", ctx.set_cmd(key, f"<Slack {what}>")
    if _PLACEHOLDER_TEXT.search(text):
        return "looks like a value left to fill in", ctx.set_cmd(key, "<value>", index)
    return None


def placeholders(ctx: Context) -> list[Check]:
    checks = []
    for key, index, text in _values(ctx):
        shown = f"{key}[{index}]" if index is not None else key
        found = _placeholder(ctx, key, index, text)
        if found:
            why, fix = found
            checks.append(Check(f"placeholder {shown}", False, f"{text!r} is {why}", fix))
    return checks or [Check("placeholders", True, "none left in the stack config")]


# ---- 3. credentials and the secrets provider ---------------------------------------------------
def credentials(ctx: Context) -> tuple[list[Check], str | None]:
    try:
        me = client("sts", ctx.cfg.aws_region).get_caller_identity()
    except Exception as err:  # noqa: BLE001 - no credentials is a finding, not a crash
        return [Check("aws credentials", False, f"sts get-caller-identity failed: {_error(err)}; the DNS zone, "
                      "image, KMS and quota checks need them and were skipped",
                      "export AWS_PROFILE=<profile> (aws sso login --profile <profile>), or the CI's OIDC role")], None
    checks = [Check("aws credentials", True, f"account {me['Account']} as {me['Arn']} (the stack config pins no "
                    "account: aws:allowedAccountIds is not read by this program)")]
    found_region = session_region()
    if found_region == ctx.cfg.aws_region:
        checks.append(Check("aws region", True, f"credentials' region {found_region} = awsRegion"))
    else:
        checks.append(Check("aws region", True, f"credentials' region is {found_region or 'unset'}, awsRegion is "
                            f"{ctx.cfg.aws_region}: the stack deploys to awsRegion, but a KMS secrets provider "
                            "URL without ?region= and the AWS CLI use the credentials' region",
                            f"export AWS_REGION={ctx.cfg.aws_region}", warn=True))
    account: str = me["Account"]
    return checks, account


def _stack_document(path: Path) -> dict:
    import yaml

    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except (OSError, yaml.YAMLError):
        return {}
    return doc if isinstance(doc, dict) else {}


def secrets_provider(ctx: Context, aws_ok: bool) -> list[Check]:
    """What `pulumi` needs to decrypt (and encrypt) this stack's secrets, from the stack file's
    secretsprovider / encryptedkey / encryptionsalt (a passphrase stack has only the salt)."""
    doc = _stack_document(ctx.stack_file)
    provider = str(doc.get("secretsprovider") or "")
    change = (f"pulumi stack change-secrets-provider 'awskms://alias/pulumi-secrets?region={ctx.cfg.aws_region}' "
              f"--stack {ctx.cfg.stack}")
    if provider.startswith("awskms://"):
        if not aws_ok:
            return [Check("secrets provider", False, f"{provider}: not checked without AWS credentials")]
        return _guard("secrets provider", lambda: _kms(ctx, provider, doc.get("encryptedkey")))
    if provider == "passphrase" or (not provider and doc.get("encryptionsalt")):
        found = [v for v in PASSPHRASE_ENV if v in ctx.env]  # an empty passphrase is a valid one
        if PASSPHRASE_ENV[1] in found and not Path(ctx.env[PASSPHRASE_ENV[1]]).is_file():
            return [Check("secrets provider", False, f"passphrase: {PASSPHRASE_ENV[1]} names no readable file",
                          f"export {PASSPHRASE_ENV[1]}=<path of the file holding the passphrase>")]
        if found:
            return [Check("secrets provider", True, f"passphrase, from ${found[0]} (value not shown)")]
        return [Check("secrets provider", False, "passphrase, but neither PULUMI_CONFIG_PASSPHRASE nor "
                      "PULUMI_CONFIG_PASSPHRASE_FILE is set: pulumi cannot decrypt the stack's secrets",
                      "export PULUMI_CONFIG_PASSPHRASE_FILE=<file with the passphrase> "
                      "(or PULUMI_CONFIG_PASSPHRASE, from the CI's secret store)")]
    if not provider:
        return [Check("secrets provider", True, f"{ctx.stack_file.name} names none: the backend's default (Pulumi "
                      "Cloud's per-stack key; a self-managed backend asks for a passphrase at `stack init`)",
                      change, warn=True)]
    return [Check("secrets provider", True, f"{provider.split('://')[0]}: not checked (only awskms:// and "
                  "passphrase are)", warn=True)]


def _kms(ctx: Context, url: str, encrypted_key: str | None) -> list[Check]:
    parts = urlsplit(url)
    # gocloud.dev/secrets/awskms: host + path is the key id, alias or ARN (awskms:///arn:… has an empty host).
    key_id = (parts.netloc + parts.path).lstrip("/")
    asked = parse_qs(parts.query).get("region")
    region = (asked[0] if asked else None) or session_region() or ctx.cfg.aws_region
    kms = client("kms", region)
    fix = (f"create the key (aws kms create-key, then aws kms create-alias for an alias/ name) in {region}, or "
           f"pulumi stack change-secrets-provider 'awskms://<key id or alias>?region=<region>' --stack {ctx.cfg.stack}")
    try:
        key = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    except kms.exceptions.NotFoundException:
        return [Check("secrets provider", False, f"{url}: no KMS key {key_id} in {region}", fix)]
    if key["KeyState"] != "Enabled":
        return [Check("secrets provider", False, f"{url}: key {key['KeyId']} is {key['KeyState']}",
                      f"aws kms enable-key --key-id {key['KeyId']} --region {region}")]
    kms.encrypt(KeyId=key_id, Plaintext=b"pulumi preflight")
    detail = f"{url}: key {key['KeyId']} Enabled, encrypt works"
    if encrypted_key:  # the stack's data key: every pulumi command decrypts it first
        kms.decrypt(CiphertextBlob=base64.b64decode(encrypted_key))
        detail += ", the stack's encryptedkey decrypts"
    return [Check("secrets provider", True, detail)]


# ---- 1. DNS ------------------------------------------------------------------------------------
def dns(ctx: Context, aws_ok: bool) -> list[Check]:
    app = ctx.cfg.app
    if app.hosting == "none":
        return [Check("dns zone", True, "n/a: appHosting is none")]
    if app.dns_provider == "cloudflare":
        return _cloudflare(ctx)
    if not aws_ok:
        return []
    return _guard("dns zone", lambda: _route53(ctx))


def _route53(ctx: Context) -> list[Check]:
    zone = ctx.cfg.app.zone_name
    r53 = client("route53", ctx.cfg.aws_region)
    listed = r53.list_hosted_zones_by_name(DNSName=zone, MaxItems="100")["HostedZones"]
    same = [z for z in listed if z["Name"].rstrip(".").lower() == zone]
    public = [z for z in same if not (z.get("Config") or {}).get("PrivateZone")]
    private = len(same) - len(public)
    if len(public) == 1:
        return [Check("dns zone", True, f"public Route 53 zone {zone} is {public[0]['Id'].split('/')[-1]}")]
    if public:
        return [Check("dns zone", False, f"{len(public)} public Route 53 zones are named {zone}: the program's "
                      "lookup (aws.route53.get_zone) fails on more than one match",
                      "delete the zone(s) the registrar does not delegate to (compare their NS records)")]
    return [Check("dns zone", False, f"no public Route 53 hosted zone {zone} in this account"
                  + (f" ({private} private one(s) with that name do not count)" if private else ""),
                  f"aws route53 create-hosted-zone --name {zone} --caller-reference preflight-$(date +%s), then "
                  "point the domain's NS records at it; or " + ctx.set_cmd("appDnsZone", "<a zone in this account>"))]


def _cloudflare(ctx: Context) -> list[Check]:
    zone_id = ctx.cfg.cloudflare.zone_id if ctx.cfg.cloudflare else ""
    checks = [Check("cloudflare zone id", bool(_ZONE_ID.match(zone_id)) and zone_id != PLACEHOLDER_ZONE_ID,
                    f"{zone_id or 'unset'}" + (" is the placeholder" if zone_id == PLACEHOLDER_ZONE_ID else ""),
                    ctx.set_cmd("cloudflareZoneId", "<32-hex zone id from the dashboard>"))]
    if ctx.env.get(CLOUDFLARE_TOKEN_ENV):
        checks.append(Check("cloudflare token", True, f"{CLOUDFLARE_TOKEN_ENV} is set (value not shown)"))
    elif all(ctx.env.get(v) for v in CLOUDFLARE_LEGACY_ENV):
        checks.append(Check("cloudflare token", True, "the legacy global API key (CLOUDFLARE_API_KEY, "
                            "CLOUDFLARE_EMAIL) is set: it works, with every permission of the account",
                            f"export {CLOUDFLARE_TOKEN_ENV}=<token> and unset CLOUDFLARE_API_KEY", warn=True))
    else:
        checks.append(Check("cloudflare token", False, f"{CLOUDFLARE_TOKEN_ENV} is not set: the Cloudflare "
                            "provider cannot reach the zone",
                            f"export {CLOUDFLARE_TOKEN_ENV}=<token with Zone:DNS:Edit, Zone:Zone Settings:Edit "
                            "and Zone:WAF:Edit on the zone>"))
    return checks


# ---- 4. image ----------------------------------------------------------------------------------
def image(ctx: Context, account: str | None) -> list[Check]:
    e = ctx.cfg.ecs
    if ctx.cfg.app.hosting != "aws" or e is None:
        return [Check("ecs image", True, f"n/a: appHosting is {ctx.cfg.app.hosting}")]
    if e.image:
        return _pinned_image(ctx, e.image, account)
    if not e.image_tag:
        return [Check("ecs image", True, "first deploy: 0 tasks until an image tag is set "
                      f"(pulumi config set ecsImageTag <tag> --stack {ctx.cfg.stack})")]
    return _tagged_image(ctx, e.image_tag)


def _pinned_image(ctx: Context, image: str, account: str | None) -> list[Check]:
    """ecsImage: a whole reference, checked when it is in this account's ECR."""
    m = _ECR.match(image)
    if not m or m["account"] != account:
        return [Check("ecs image", True, f"{image}: not in this account's ECR, not checked")]
    ref = {"imageDigest": m["digest"]} if m["digest"] else {"imageTag": m["tag"] or "latest"}
    return _guard("ecs image", lambda: _ecr_image(m["region"], m["account"], m["repo"], ref, image,
                                                  ctx.set_cmd("ecsImage", "<image reference>")))


def _tagged_image(ctx: Context, tag: str) -> list[Check]:
    """ecsImageTag: a tag in the stack's own repository, which the first `pulumi up` creates."""
    first_deploy = (f"deploy once with ecsImageTag empty, push the image, then set the tag: "
                    f"pulumi config set ecsImageTag '' --stack {ctx.cfg.stack} && pulumi up … && docker push "
                    f"<ecrRepositoryUrl>:{tag} && pulumi config set ecsImageTag {tag} "
                    f"--stack {ctx.cfg.stack}")
    url = ctx.outputs.get("ecrRepositoryUrl")
    m = _ECR.match(f"{url}:{tag}") if url else None
    if not m:
        return [Check("ecs image", False, f"ecsImageTag is {tag!r}, but the stack has no ECR repository "
                      "yet (no ecrRepositoryUrl output): the first `pulumi up` creates it", first_deploy)]
    return _guard("ecs image", lambda: _ecr_image(m["region"], m["account"], m["repo"], {"imageTag": tag},
                                                  f"{url}:{tag}",
                                                  f"docker push {url}:{tag}, or "
                                                  + ctx.set_cmd("ecsImageTag", "<a tag in the repository>")))


def _ecr_image(region: str, registry: str, repo: str, ref: dict, shown: str, fix: str,
               name: str = "ecs image") -> list[Check]:
    ecr = client("ecr", region)
    try:
        found = ecr.describe_images(registryId=registry, repositoryName=repo, imageIds=[ref])["imageDetails"]
    except (ecr.exceptions.ImageNotFoundException, ecr.exceptions.RepositoryNotFoundException) as err:
        return [Check(name, False, f"{shown}: {_error(err)}", fix)]
    pushed = found[0].get("imagePushedAt") if found else None
    return [Check(name, bool(found), f"{shown} is in ECR" + (f" (pushed {pushed:%Y-%m-%d})" if pushed else ""),
                  fix)]


def backup_image(ctx: Context) -> list[Check]:
    """backupImageTag: the ops image of the scheduled backup and drill, in the stack's ops repository
    (opsRepositoryUrl), which the first `pulumi up` creates; without a tag the schedules stay off."""
    jobs = ctx.cfg.backup_jobs
    if jobs is None or not ctx.cfg.backup_jobs_runnable:  # the stack builds no jobs (plan: backup-jobs)
        return [Check("backup image", True, "n/a: no scheduled backups without postgresEnabled and "
                      "backupBucketEnabled (and backupJobsEnabled, and a NAT gateway)")]
    tag = jobs.image_tag
    build = ("docker build -f ops/Dockerfile --build-arg PG_MAJOR=$(.venv/bin/python -m ops pg-major --config "
             f"{ctx.stack_file.name}) -t <opsRepositoryUrl>:<git sha> . && docker push <opsRepositoryUrl>:<git sha> "
             f"&& {ctx.set_cmd('backupImageTag', '<git sha>')} (docs/operations.md, Scheduled backups)")
    if not tag:
        return [Check("backup image", True, "no backupImageTag: the scheduled backups and restore drill stay off "
                      "until the ops image is pushed and its tag set", build, warn=True)]
    url, empty = ctx.outputs.get("opsRepositoryUrl"), "''"
    m = _ECR.match(f"{url}:{tag}") if url else None
    if not m:
        return [Check("backup image", False, f"backupImageTag is {tag!r}, but the stack has no ops repository yet "
                      "(no opsRepositoryUrl output): the first `pulumi up` creates it",
                      f"{ctx.set_cmd('backupImageTag', empty)}, pulumi up, then {build}")]
    return _guard("backup image", lambda: _ecr_image(m["region"], m["account"], m["repo"], {"imageTag": tag},
                                                     f"{url}:{tag}", build, "backup image"))


# ---- 5. quotas ---------------------------------------------------------------------------------
def _quota(region: str, q: Quota) -> tuple[float | None, str]:
    """The account's value of a quota and where it came from, or None and why it could not be read."""
    sq = client("service-quotas", region)
    try:
        return sq.get_service_quota(ServiceCode=q.service, QuotaCode=q.code)["Quota"]["Value"], q.code
    except Exception as err:  # noqa: BLE001 - unreadable (AccessDenied, not implemented): the caller warns
        why = _error(err)
    try:  # a quota never raised may have no applied value: its default is the account's value
        return sq.get_aws_default_service_quota(ServiceCode=q.service, QuotaCode=q.code)["Quota"]["Value"], \
            f"{q.code}, AWS default"
    except Exception:  # noqa: BLE001
        return None, why.split(":")[0]


def _quota_row(name: str, region: str, q: Quota, current: int, adds: int, value: float | None, source: str,
               detail: str) -> Check:
    need = current + adds
    increase = (f"aws service-quotas request-service-quota-increase --service-code {q.service} --quota-code {q.code} "
                f"--desired-value {need} --region {region}")
    if value is None:
        return Check(name, True, f"{detail}: {current} + {adds} = {need}; the quota could not be read ({source}), "
                     f"AWS's default is {q.default}" + ("" if need <= q.default else ", which this would exceed"),
                     increase if need > q.default else "", warn=True)
    return Check(name, need <= value, f"{detail}: {current} + {adds} = {need} of {value:g} ({source})", increase)


def quotas(ctx: Context) -> list[Check]:
    cfg = ctx.cfg
    net = cfg.network
    nats = {"none": 0, "single": 1, "perAz": net.az_count}[net.nat_gateways]
    checks = _guard("quota vpcs", lambda: [_vpcs(cfg.aws_region)])
    dr_region = cfg.postgres.dr_region if cfg.postgres else None
    if dr_region:  # the DR replica's network (no NAT) in its own region
        checks += _guard("quota vpcs (dr)", lambda: [_vpcs(dr_region, " (dr)")])
    checks += _guard("availability zones", lambda: _zones_and_nats(cfg.aws_region, net.az_count, nats, cfg.stack))
    return checks


def _vpcs(region: str, suffix: str = "") -> Check:
    ec2 = client("ec2", region)
    current = sum(len(p["Vpcs"]) for p in ec2.get_paginator("describe_vpcs").paginate())
    value, source = _quota(region, VPCS)
    return _quota_row(f"quota vpcs{suffix}", region, VPCS, current, 1, value, source, f"VPCs in {region}")


def _zones_and_nats(region: str, az_count: int, nats: int, stack: str) -> list[Check]:
    ec2 = client("ec2", region)
    # As the program picks them: available AZs that need no opt-in (no Local or Wavelength zones).
    zones = sorted(z["ZoneName"] for z in ec2.describe_availability_zones(Filters=[
        {"Name": "state", "Values": ["available"]},
        {"Name": "opt-in-status", "Values": ["opt-in-not-required"]}])["AvailabilityZones"])
    checks = [Check("availability zones", len(zones) >= az_count,
                    f"azCount {az_count}, {len(zones)} available in {region}",
                    f"pulumi config set azCount {len(zones)} --stack {stack}")]
    if not nats:
        return checks + [Check("quota elastic ips", True, "natGateways none: the stack allocates no Elastic IP")]
    addresses = ec2.describe_addresses(Filters=[{"Name": "domain", "Values": ["vpc"]}])["Addresses"]
    value, source = _quota(region, ELASTIC_IPS)
    if value is None:  # the older way to read the same limit
        try:
            attrs = ec2.describe_account_attributes()["AccountAttributes"]
            value = next(float(a["AttributeValues"][0]["AttributeValue"]) for a in attrs
                         if a["AttributeName"] == "vpc-max-elastic-ips")
            source = "ec2 account attribute vpc-max-elastic-ips"
        except Exception:  # noqa: BLE001 - stays unreadable: a warning with the default
            pass
    checks.append(_quota_row("quota elastic ips", region, ELASTIC_IPS, len(addresses), nats, value, source,
                             f"Elastic IPs in {region} (one per NAT gateway)"))
    used = zones[:min(az_count, len(zones))][:nats]
    gateways = [g for p in ec2.get_paginator("describe_nat_gateways").paginate(
        Filter=[{"Name": "state", "Values": ["pending", "available"]}]) for g in p["NatGateways"]]
    subnet_az = {}
    if gateways:
        subnet_az = {s["SubnetId"]: s["AvailabilityZone"] for s in ec2.describe_subnets(
            SubnetIds=sorted({g["SubnetId"] for g in gateways}))["Subnets"]}
    per_az = {z: sum(subnet_az.get(g["SubnetId"]) == z for g in gateways) for z in used}
    busiest = max(used, key=lambda z: per_az[z]) if used else "-"
    value, source = _quota(region, NATS_PER_AZ)
    checks.append(_quota_row("quota nat gateways per az", region, NATS_PER_AZ, per_az.get(busiest, 0), 1, value,
                             source, f"NAT gateways in {busiest}, the fullest of the {len(used)} AZ(s) that get one"))
    return checks


# ---- all ---------------------------------------------------------------------------------------
def preflight(ctx: Context) -> list[Check]:
    checks = placeholders(ctx)
    creds, account = credentials(ctx)
    checks += creds
    aws_ok = account is not None
    checks += secrets_provider(ctx, aws_ok)
    checks += dns(ctx, aws_ok)
    if aws_ok:
        checks += image(ctx, account)
        checks += backup_image(ctx)
        checks += quotas(ctx)
    return checks

"""`python -m ops preflight` against moto_server on 127.0.0.1: every check passing and failing, with
its fix, on stack files written here (nothing of the stack exists yet, as before a first `up`)."""

from __future__ import annotations

import base64
import functools
import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from urllib.request import Request, urlopen

import pytest
from conftest import ROOT
from servers import free_port

PASSPHRASE = "pp-Wh1sper-n0t-for-logs"
CF_TOKEN = "cf-T0ken-n0t-for-logs-0123456789"
ZONE = "northwind-traders.io"
SECRET_ENV = ("PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE", "CLOUDFLARE_API_TOKEN",
              "CLOUDFLARE_API_KEY", "CLOUDFLARE_EMAIL")


@pytest.fixture
def aws(aws_env, monkeypatch):
    """A fresh moto account (the session's moto_server, its state reset: every test of the session
    makes what it reads) and an environment with nothing but its credentials."""
    import boto3

    moto = aws_env["AWS_ENDPOINT_URL"]
    urlopen(Request(f"{moto}/moto-api/reset", method="POST"), timeout=10).close()
    env = {"AWS_ENDPOINT_URL": moto, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1", "AWS_MAX_ATTEMPTS": "1"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    for key in (*SECRET_ENV, "AWS_PROFILE", "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL_SERVICE_QUOTAS"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)  # made anew, from this environment, on first use
    monkeypatch.setattr(boto3, "setup_default_session", _default_session)
    return SimpleNamespace(env=env, client=lambda service, region="us-east-1": boto3.client(service, region_name=region))


@functools.cache
def _models():
    """One botocore loader for every test's session: a new session reads the service models again
    (0.17 s for EC2's alone), and they do not change within a run."""
    import botocore.loaders

    return botocore.loaders.create_loader()


def _default_session(**kwargs) -> None:
    """boto3.setup_default_session (what boto3.client calls when there is no default session), with
    the models already read."""
    import boto3
    import botocore.session

    models = botocore.session.Session()
    models.register_component("data_loader", _models())
    boto3.DEFAULT_SESSION = boto3.Session(botocore_session=models, **kwargs)


def stack_file(tmp_path: Path, header: str = "", **config) -> Path:
    """A stack for a real-looking domain: ECS behind Route 53, an image outside ECR, KMS-less."""
    values = {"environment": "staging", "awsRegion": "us-east-1", "appHosting": "aws",
              "appDomain": f"shop.{ZONE}", "appDnsZone": ZONE, "ecsImage": "ghcr.io/northwind/shop:1.4.2",
              "alarmEmails": [f"oncall@{ZONE}"], **config}
    lines = [f"  platform:{k}: {json.dumps(v)}" for k, v in values.items() if v is not None]
    path = tmp_path / "Pulumi.shop.yaml"
    path.write_text(header + "config:\n" + "\n".join(lines) + "\n")
    return path


def preflight(capsys, path: Path, *extra: str) -> tuple[int, str]:
    from ops.__main__ import main

    code = main(["preflight", "--config", str(path), *extra])
    out, err = capsys.readouterr()
    for secret in (PASSPHRASE, CF_TOKEN):
        assert secret not in out + err
    return code, out + err


def row(out: str, status: str, name: str) -> str:
    """The detail and fix of the one row `status  name`, or fail the test."""
    lines = out.splitlines()
    found = [i for i, line in enumerate(lines) if line.startswith(f"  {status}  {name}  ") or
             line.startswith(f"  {status}  {name} ")]
    assert len(found) == 1, f"no single row {status} {name!r} in:\n{out}"
    i = found[0]
    fix = [line.strip().removeprefix("fix: ") for line in lines[i + 1:] if line.startswith("        fix: ")][:1]
    return lines[i] + ("\n" + fix[0] if fix and lines[i + 1].startswith("        fix: ") else "")


@pytest.fixture
def zone(aws):
    return aws.client("route53").create_hosted_zone(Name=ZONE, CallerReference="z1")["HostedZone"]["Id"]


@pytest.fixture
def kms_stack(aws):
    """An awskms:// secrets provider as `pulumi stack init --secrets-provider` leaves it: key, alias, data key."""
    kms = aws.client("kms")
    key = kms.create_key(Description="pulumi secrets")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/pulumi-secrets", TargetKeyId=key)
    blob = kms.encrypt(KeyId=key, Plaintext=os.urandom(32))["CiphertextBlob"]
    header = ("secretsprovider: awskms://alias/pulumi-secrets?region=us-east-1\n"
              f"encryptedkey: {base64.b64encode(blob).decode()}\n")
    return SimpleNamespace(key=key, header=header)


# ---- the whole command ----------------------------------------------------------------------------
def test_the_committed_staging_stack_fails_on_its_placeholders(aws, capsys, monkeypatch):
    """Exactly the deploy workflow's command (through ops.__main__.main, which `python -m ops` runs;
    tests/test_ops.py runs the module as a process); secrets in the environment stay there."""
    from ops.__main__ import main

    monkeypatch.chdir(ROOT)
    for key, value in {"PULUMI_CONFIG_PASSPHRASE": PASSPHRASE, "CLOUDFLARE_API_TOKEN": CF_TOKEN,
                       "PATH": str(Path(sys.executable).parent)}.items():  # no pulumi CLI: no outputs yet
        monkeypatch.setenv(key, value)
    code = main(["preflight", "--stack", "staging"])
    out, err = capsys.readouterr()
    done = subprocess.CompletedProcess([], code, out, err)
    assert done.returncode == 1, done.stdout + done.stderr
    assert PASSPHRASE not in done.stdout + done.stderr and CF_TOKEN not in done.stdout + done.stderr
    assert row(done.stdout, "FAIL", "placeholder appDomain").endswith(
        "'staging.example.com' is a reserved example domain (RFC 2606)\n"
        "pulumi config set appDomain <your domain> --stack staging")
    assert "pulumi config set appDnsZone <your domain> --stack staging" in row(
        done.stdout, "FAIL", "placeholder appDnsZone")
    assert "no public Route 53 hosted zone example.com" in row(done.stdout, "FAIL", "dns zone")
    assert "Pulumi.staging.yaml names none" in row(done.stdout, "WARN", "secrets provider")
    assert "no backupImageTag" in row(done.stdout, "WARN", "backup image")  # staging has a database
    assert done.stdout.rstrip().endswith("failed, 2 warnings")


def test_a_stack_with_its_zone_key_and_image_in_place_passes(aws, zone, kms_stack, tmp_path, capsys):
    code, out = preflight(capsys, stack_file(tmp_path, kms_stack.header))
    assert code == 0, out
    assert "none left in the stack config" in row(out, "PASS", "placeholders")
    assert f"public Route 53 zone {ZONE} is {zone.split('/')[-1]}" in row(out, "PASS", "dns zone")
    assert "Enabled, encrypt works, the stack's encryptedkey decrypts" in row(out, "PASS", "secrets provider")
    assert "account 123456789012" in row(out, "PASS", "aws credentials")
    assert "ghcr.io/northwind/shop:1.4.2: not in this account's ECR, not checked" in row(out, "PASS", "ecs image")
    assert "1 + 1 = 2 of 5 (L-F678F1CE)" in row(out, "PASS", "quota vpcs")
    assert "0 + 1 = 1 of 5" in row(out, "PASS", "quota elastic ips")
    assert "0 + 1 = 1 of 5 (L-FE5A380F)" in row(out, "PASS", "quota nat gateways per az")
    # The one warning: a database whose scheduled backups have no image yet (postgres is on by default).
    assert "the scheduled backups and restore drill stay off" in row(out, "WARN", "backup image")
    assert out.rstrip().endswith("passed, 0 failed, 1 warning")


# ---- 1. DNS ---------------------------------------------------------------------------------------
def test_the_zone_must_be_one_public_hosted_zone(aws, kms_stack, tmp_path, capsys):
    path = stack_file(tmp_path, kms_stack.header)
    code, out = preflight(capsys, path)
    assert code == 1
    assert row(out, "FAIL", "dns zone").endswith(
        f"no public Route 53 hosted zone {ZONE} in this account\n"
        f"aws route53 create-hosted-zone --name {ZONE} --caller-reference preflight-$(date +%s), then point the "
        "domain's NS records at it; or pulumi config set appDnsZone <a zone in this account> --stack shop")
    r53, vpc = aws.client("route53"), aws.client("ec2").create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    r53.create_hosted_zone(Name=ZONE, CallerReference="private", HostedZoneConfig={"PrivateZone": True},
                           VPC={"VPCRegion": "us-east-1", "VPCId": vpc})
    r53.create_hosted_zone(Name=f"shop.{ZONE}", CallerReference="sub")  # another name: no match either
    assert "(1 private one(s) with that name do not count)" in row(preflight(capsys, path)[1], "FAIL", "dns zone")
    r53.create_hosted_zone(Name=ZONE, CallerReference="p1")
    assert preflight(capsys, path)[0] == 0
    r53.create_hosted_zone(Name=ZONE, CallerReference="p2")
    assert "2 public Route 53 zones are named" in row(preflight(capsys, path)[1], "FAIL", "dns zone")


def test_cloudflare_needs_a_real_zone_id_and_the_providers_token(aws, kms_stack, tmp_path, capsys, monkeypatch):
    cloudflare = {"appDnsProvider": "cloudflare", "cloudflareRateLimitRules": ["auth"]}
    placeholder = stack_file(tmp_path, kms_stack.header, cloudflareZoneId="0123456789abcdef0123456789abcdef",
                             **cloudflare)
    code, out = preflight(capsys, placeholder)
    assert code == 1
    assert row(out, "FAIL", "placeholder cloudflareZoneId").endswith(
        "pulumi config set cloudflareZoneId <zone id from the Cloudflare dashboard> --stack shop")
    assert "is the placeholder" in row(out, "FAIL", "cloudflare zone id")
    assert row(out, "FAIL", "cloudflare token").endswith(
        "export CLOUDFLARE_API_TOKEN=<token with Zone:DNS:Edit, Zone:Zone Settings:Edit and Zone:WAF:Edit on the zone>")
    assert "dns zone" not in out  # no Route 53 lookup for a Cloudflare zone

    real = stack_file(tmp_path, kms_stack.header, cloudflareZoneId="9f3a1c0e5b7d4e2fa8c6b1d0e3f5a7c9", **cloudflare)
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", CF_TOKEN)
    code, out = preflight(capsys, real)
    assert code == 0, out
    assert "CLOUDFLARE_API_TOKEN is set (value not shown)" in row(out, "PASS", "cloudflare token")
    assert "9f3a1c0e5b7d4e2fa8c6b1d0e3f5a7c9" in row(out, "PASS", "cloudflare zone id")


# ---- 2. placeholders ------------------------------------------------------------------------------
def test_each_kind_of_placeholder_names_its_key_and_fix(aws, zone, kms_stack, tmp_path, capsys):
    path = stack_file(tmp_path, kms_stack.header, alarmEmails=[f"ops@{ZONE}", "oncall@example.org"],
                      alarmWebhookUrls=["https://hooks.example.net/pager"], alarmSlackTeamId="T00000000",
                      alarmSlackChannelId="C00000000", owner="REPLACE-ME", costCenter="CHANGEME")
    code, out = preflight(capsys, path)
    assert code == 1
    expected = {
        "placeholder alarmEmails[1]": "pulumi config set --path 'alarmEmails[1]' <address> --stack shop",
        "placeholder alarmWebhookUrls[0]": "pulumi config set --path 'alarmWebhookUrls[0]' <https URL> --stack shop",
        "placeholder alarmSlackTeamId": "pulumi config set alarmSlackTeamId <Slack workspace id (T…)> --stack shop",
        "placeholder alarmSlackChannelId": "pulumi config set alarmSlackChannelId <Slack channel id (C…)> --stack shop",
        "placeholder owner": "pulumi config set owner <value> --stack shop",
        "placeholder costCenter": "pulumi config set costCenter <value> --stack shop",
    }
    for name, fix in expected.items():
        assert row(out, "FAIL", name).endswith("\n" + fix), name
    assert "alarmEmails[0]" not in out  # the real address is not a placeholder
    assert out.rstrip().endswith(f"{len(expected)} failed, 1 warning")  # the backup image's: no tag yet


# ---- 3. credentials and secrets provider ---------------------------------------------------------
def test_without_credentials_the_aws_checks_are_skipped(aws, kms_stack, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", f"http://127.0.0.1:{free_port()}")  # nothing listens
    code, out = preflight(capsys, stack_file(tmp_path, kms_stack.header))
    assert code == 1
    assert "sts get-caller-identity failed" in row(out, "FAIL", "aws credentials")
    assert "export AWS_PROFILE=<profile>" in row(out, "FAIL", "aws credentials")
    assert "not checked without AWS credentials" in row(out, "FAIL", "secrets provider")
    assert not [name for name in ("dns zone", "ecs image", "backup image", "quota") if f"  {name}" in out]


def test_a_region_other_than_aws_region_is_a_warning_only(aws, zone, kms_stack, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    code, out = preflight(capsys, stack_file(tmp_path, kms_stack.header))
    assert code == 0, out
    assert row(out, "WARN", "aws region").endswith("export AWS_REGION=us-east-1")
    assert out.rstrip().endswith("0 failed, 2 warnings")  # and the backup image's (no tag yet)


def test_the_kms_key_must_exist_and_be_enabled(aws, zone, kms_stack, tmp_path, capsys):
    missing = stack_file(tmp_path, "secretsprovider: awskms://alias/no-such-key?region=us-east-1\n")
    assert row(preflight(capsys, missing)[1], "FAIL", "secrets provider").endswith(
        "no KMS key alias/no-such-key in us-east-1\ncreate the key (aws kms create-key, then aws kms create-alias for "
        "an alias/ name) in us-east-1, or pulumi stack change-secrets-provider 'awskms://<key id or alias>?"
        "region=<region>' --stack shop")
    aws.client("kms").disable_key(KeyId=kms_stack.key)
    code, out = preflight(capsys, stack_file(tmp_path, kms_stack.header))
    assert code == 1
    assert row(out, "FAIL", "secrets provider").endswith(
        f"is Disabled\naws kms enable-key --key-id {kms_stack.key} --region us-east-1")


def test_a_passphrase_stack_needs_the_passphrase_in_the_environment(aws, zone, tmp_path, capsys, monkeypatch):
    path = stack_file(tmp_path, "encryptionsalt: v1:c2FsdHNhbHQ=:v1:Zm9vYmFyYmF6:cXV4\n")
    code, out = preflight(capsys, path)
    assert code == 1
    assert row(out, "FAIL", "secrets provider").endswith(
        "export PULUMI_CONFIG_PASSPHRASE_FILE=<file with the passphrase> (or PULUMI_CONFIG_PASSPHRASE, from the "
        "CI's secret store)")
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE_FILE", str(tmp_path / "missing"))
    assert "names no readable file" in row(preflight(capsys, path)[1], "FAIL", "secrets provider")
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE_FILE")
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", PASSPHRASE)
    code, out = preflight(capsys, path)  # preflight() asserts the value never appears
    assert code == 0, out
    assert "passphrase, from $PULUMI_CONFIG_PASSPHRASE (value not shown)" in row(out, "PASS", "secrets provider")


# ---- 4. image -------------------------------------------------------------------------------------
MANIFEST = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                       "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 7,
                                  "digest": "sha256:" + "a" * 64}, "layers": []})


def test_an_image_tag_needs_the_stacks_repository_and_the_tag_in_it(aws, zone, kms_stack, tmp_path, capsys):
    path = stack_file(tmp_path, kms_stack.header, ecsImage=None, ecsImageTag="v1")
    code, out = preflight(capsys, path)
    assert code == 1
    assert row(out, "FAIL", "ecs image").endswith(
        "deploy once with ecsImageTag empty, push the image, then set the tag: pulumi config set ecsImageTag '' "
        "--stack shop && pulumi up … && docker push <ecrRepositoryUrl>:v1 && pulumi config set ecsImageTag v1 "
        "--stack shop")
    ecr = aws.client("ecr")
    url = ecr.create_repository(repositoryName="app-repo-4f2a9c1")["repository"]["repositoryUri"]
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"ecrRepositoryUrl": url}))
    assert row(preflight(capsys, path, "--outputs", str(outputs))[1], "FAIL", "ecs image").endswith(
        f"docker push {url}:v1, or pulumi config set ecsImageTag <a tag in the repository> --stack shop")
    ecr.put_image(repositoryName="app-repo-4f2a9c1", imageManifest=MANIFEST, imageTag="v1")
    code, out = preflight(capsys, path, "--outputs", str(outputs))
    assert code == 0, out
    assert f"{url}:v1 is in ECR" in row(out, "PASS", "ecs image")


def test_an_ecr_image_of_this_account_is_looked_up(aws, zone, kms_stack, tmp_path, capsys):
    ecr = aws.client("ecr")
    url = ecr.create_repository(repositoryName="shop")["repository"]["repositoryUri"]
    assert url.startswith("123456789012.dkr.ecr.us-east-1.amazonaws.com/")
    path = stack_file(tmp_path, kms_stack.header, ecsImage=f"{url}:2.0.0")
    assert "ImageNotFoundException" in row(preflight(capsys, path)[1], "FAIL", "ecs image")
    ecr.put_image(repositoryName="shop", imageManifest=MANIFEST, imageTag="2.0.0")
    assert preflight(capsys, path)[0] == 0
    other = stack_file(tmp_path, kms_stack.header, ecsImage="210987654321.dkr.ecr.us-east-1.amazonaws.com/shop:2")
    assert "not in this account's ECR, not checked" in row(preflight(capsys, other)[1], "PASS", "ecs image")


def test_an_empty_image_tag_is_a_first_deploy_with_no_tasks():
    import stack_config
    from offline.cliconfig import read_stack_config
    from ops.preflight import Context, image

    raw, secret = read_stack_config(ROOT / "Pulumi.staging.yaml", "staging")  # sets no image
    cfg = stack_config.load(raw, secret, "staging")
    assert cfg.ecs.image == cfg.ecs.image_tag == ""
    [check] = image(Context(cfg, raw, secret, ROOT / "Pulumi.staging.yaml"), "123456789012")
    assert check.ok and not check.warn
    assert check.detail.startswith("first deploy: 0 tasks until an image tag is set")


def backup_context(tmp_path: Path, outputs: dict | None = None, tag: str | None = None, **config):
    """The preflight context of a stack file, with backupImageTag set in it as `pulumi config set` does."""
    import stack_config
    from offline.cliconfig import read_stack_config
    from ops.preflight import Context

    path = stack_file(tmp_path, **config, **({"backupImageTag": tag} if tag is not None else {}))
    raw, secret = read_stack_config(path, "shop")
    cfg = stack_config.load(raw, secret, "shop")
    return Context(cfg, raw, secret, path, outputs or {})


def test_the_backup_image_tag_must_be_in_the_stacks_ops_repository(aws, tmp_path):
    from ops.preflight import backup_image

    [check] = backup_image(backup_context(tmp_path))  # first deploy: no tag, schedules off
    assert check.ok and check.warn and "stay off until the ops image is pushed" in check.detail
    assert check.fix.startswith("docker build -f ops/Dockerfile --build-arg PG_MAJOR=$(.venv/bin/python -m ops "
                                "pg-major --config Pulumi.shop.yaml) -t <opsRepositoryUrl>:<git sha> .")
    [check] = backup_image(backup_context(tmp_path, tag="3f9c2e1"))
    assert not check.ok and "no opsRepositoryUrl output" in check.detail
    assert check.fix.startswith("pulumi config set backupImageTag '' --stack shop, pulumi up, then docker build")
    ecr = aws.client("ecr")
    url = ecr.create_repository(repositoryName="platform-shop-ops")["repository"]["repositoryUri"]
    ctx = backup_context(tmp_path, {"opsRepositoryUrl": url}, tag="3f9c2e1")
    [check] = backup_image(ctx)
    assert not check.ok and f"{url}:3f9c2e1: ImageNotFoundException" in check.detail
    ecr.put_image(repositoryName="platform-shop-ops", imageManifest=MANIFEST, imageTag="3f9c2e1")
    [check] = backup_image(ctx)
    assert check.ok and not check.warn and f"{url}:3f9c2e1 is in ECR" in check.detail
    # No tag here: backupImageTag with postgresEnabled false is a ConfigError before any check runs.
    [check] = backup_image(backup_context(tmp_path, postgresEnabled=False, externalDatabaseUrl=None))
    assert check.ok and not check.warn and check.detail.startswith("n/a: no scheduled backups")


def test_pg_major_prints_the_stacks_postgres_major(tmp_path, capsys):
    from ops.__main__ import main

    assert main(["pg-major", "--config", str(stack_file(tmp_path, postgresEngineVersion="15.7"))]) == 0
    assert capsys.readouterr().out == "15\n"
    assert main(["pg-major", "--stack", "production"]) == 0 and capsys.readouterr().out == "16\n"  # the default
    assert main(["pg-major", "--config", str(stack_file(tmp_path, postgresEnabled=False))]) == 0
    assert capsys.readouterr().out == ""


def test_reading_a_stacks_settings_leaves_the_cloudflare_sdk_unimported():
    """pulumi_cloudflare imports every resource it has (about 1 s of the 1.6 s `ops pg-major` took):
    the components import it where they make a Cloudflare resource, not where their settings live."""
    probe = "import sys\nfrom ops.__main__ import main\nmain(['pg-major', '--stack', 'production'])\n" \
            "print(sorted(m for m in sys.modules if m.startswith('pulumi_cloudflare')))"
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.splitlines() == ["16", "[]"], done.stdout + done.stderr


# ---- 5. quotas ------------------------------------------------------------------------------------
def test_quotas_count_what_the_stack_adds_to_what_exists(aws, zone, kms_stack, tmp_path, capsys):
    ec2 = aws.client("ec2")
    for i in range(4):  # with the default VPC: 5, the default quota
        ec2.create_vpc(CidrBlock=f"10.{10 + i}.0.0/16")
    vpc = ec2.describe_vpcs()["Vpcs"][-1]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=ec2.describe_vpcs(VpcIds=[vpc])["Vpcs"][0]["CidrBlock"]
                               .replace("/16", "/24"), AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
    for _ in range(5):
        ec2.create_nat_gateway(SubnetId=subnet, AllocationId=ec2.allocate_address(Domain="vpc")["AllocationId"])
    code, out = preflight(capsys, stack_file(tmp_path, kms_stack.header))
    assert code == 1
    assert row(out, "FAIL", "quota vpcs").endswith(
        "5 + 1 = 6 of 5 (L-F678F1CE)\naws service-quotas request-service-quota-increase --service-code vpc "
        "--quota-code L-F678F1CE --desired-value 6 --region us-east-1")
    assert "--service-code ec2 --quota-code L-0263D0A3 --desired-value 6" in row(out, "FAIL", "quota elastic ips")
    assert "in us-east-1a, the fullest of the 1 AZ(s) that get one: 5 + 1 = 6 of 5" in row(
        out, "FAIL", "quota nat gateways per az")


def test_production_counts_its_dr_vpc_and_a_nat_per_az(aws, capsys):
    from ops.__main__ import main

    assert main(["preflight", "--stack", "production"]) == 1
    out = capsys.readouterr().out
    assert "VPCs in us-west-2: 1 + 1 = 2 of 5" in row(out, "PASS", "quota vpcs (dr)")
    assert "0 + 3 = 3 of 5" in row(out, "PASS", "quota elastic ips")  # natGateways perAz over azCount 3
    assert "azCount 3" in row(out, "PASS", "availability zones")


def test_more_azs_than_the_region_has_fails(aws, zone, kms_stack, tmp_path, capsys):
    code, out = preflight(capsys, stack_file(tmp_path, kms_stack.header, awsRegion="us-west-1", azCount="6"))
    assert code == 1
    assert row(out, "FAIL", "availability zones").endswith(
        "azCount 6, 2 available in us-west-1\npulumi config set azCount 2 --stack shop")


def test_an_unreadable_quota_is_a_warning_with_the_default(aws, zone, kms_stack, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_SERVICE_QUOTAS", f"http://127.0.0.1:{free_port()}")  # as if AccessDenied
    code, out = preflight(capsys, stack_file(tmp_path, kms_stack.header))
    assert code == 0, out
    assert "1 + 1 = 2; the quota could not be read (" in row(out, "WARN", "quota vpcs")
    assert "AWS's default is 5" in row(out, "WARN", "quota nat gateways per az")
    assert "(ec2 account attribute vpc-max-elastic-ips)" in row(out, "PASS", "quota elastic ips")


# ---- usage ----------------------------------------------------------------------------------------
def test_bad_config_or_arguments_exit_2(aws, tmp_path, capsys):
    from ops.__main__ import main

    assert main(["preflight"]) == 2
    assert "give --stack NAME or --config FILE" in capsys.readouterr().err
    code, out = preflight(capsys, stack_file(tmp_path, awsRegion="moon-1"))
    assert code == 2 and "awsRegion = 'moon-1': is not an AWS region botocore" in out
    assert main(["preflight", "--config", str(stack_file(tmp_path)), "--outputs", str(tmp_path / "none.json")]) == 2
    assert "cannot read stack outputs" in capsys.readouterr().err

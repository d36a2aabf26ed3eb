"""Secrets Manager rotation of the PostgreSQL credentials: the master (single user) and the app login
(alternating users), by one function in the VPC (components/rotation/handler.py).

The function reaches the primary on 5432 through its own security group (components/network.py) and
Secrets Manager and ECS through the VPC's NAT. It rotates the app login's secret, whose `url`/`readUrl`
the ECS task reads at start (components/ecs_service.py), then starts a new deployment of the service.
Physical replicas (in-region and the DR replica) copy roles and passwords from the primary.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws

from components._common import assume_role_policy, encrypted_log_group, json_output, regional_arn
from components._validation import Checker

HANDLER_FILE = Path(__file__).with_name("rotation") / "handler.py"
# The pure-Python driver and its dependencies, zipped from the installed packages (the same files on
# any deployer's OS): pg8000 needs scramp and python-dateutil; scramp needs asn1crypto; dateutil, six.
PACKAGES = ("pg8000", "scramp", "asn1crypto", "dateutil")
MODULES = ("six",)
# pg8000 and scramp read their version from their dist-info at import (importlib.metadata.version), so
# the archive carries it or the import fails in Lambda (aws/amazon-redshift-python-driver#200). Only
# METADATA: RECORD and INSTALLER differ between installers.
DISTRIBUTIONS = ("pg8000", "scramp")
RUNTIME = "python3.12"
# Each step is a few SQL statements and Secrets Manager calls; a login to a busy database may wait.
TIMEOUT_SECONDS = 60
MEMORY_MB = 256
# The group role that owns the app's objects; the app logins are its members (handler.py).
APP_GROUP = "app_owner"
# AWS's managed policy for functions in a VPC: the ENIs (ec2:CreateNetworkInterface & co., which take no
# resource-level scope) and CloudWatch Logs (AWS managed policy reference, AWSLambdaVPCAccessExecutionRole).
VPC_ACCESS_POLICY = "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"


def code_archive() -> pulumi.AssetArchive:
    """handler.py plus the driver's .py files (no __pycache__, so the archive hashes the same everywhere)."""
    assets: dict[str, pulumi.Asset | pulumi.Archive] = {"handler.py": pulumi.FileAsset(str(HANDLER_FILE))}
    for package in PACKAGES:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise RuntimeError(f"{package} is not installed: pip install -r requirements.txt")
        root = Path(next(iter(spec.submodule_search_locations)))
        for path in sorted(root.rglob("*.py")):
            assets[f"{package}/{path.relative_to(root).as_posix()}"] = pulumi.FileAsset(str(path))
    for module in MODULES:
        spec = importlib.util.find_spec(module)
        if spec is None or spec.origin is None:
            raise RuntimeError(f"{module} is not installed: pip install -r requirements.txt")
        assets[f"{module}.py"] = pulumi.FileAsset(spec.origin)
    for dist in DISTRIBUTIONS:
        metadata = importlib.metadata.distribution(dist)
        folder = f"{metadata.name.replace('-', '_')}-{metadata.version}.dist-info"
        assets[f"{folder}/METADATA"] = pulumi.FileAsset(str(metadata.locate_file(f"{folder}/METADATA")))
    return pulumi.AssetArchive(assets)


@dataclass(frozen=True)
class EcsTarget:
    """The service whose tasks read the app login's URLs: finishSecret starts a new deployment of it."""

    #: The cluster's name.
    cluster_name: pulumi.Input[str]
    #: The service's name.
    service_name: pulumi.Input[str]


@dataclass(frozen=True)
class DatabaseRotationArgs:
    #: Days between rotations of each secret, 1 to 1000 (Secrets Manager RotationRules.AutomaticallyAfterDays).
    rotation_days: int
    #: Tags for every taggable child.
    tags: dict[str, str]
    #: The master credentials' secret (RDS secret format: host, port, dbname, username, password).
    master_secret_arn: pulumi.Input[str]
    #: The app login's secret (Postgres.app_secret_arn).
    app_secret_arn: pulumi.Input[str]
    #: The KMS key both secrets and the function's environment are encrypted with (Postgres.kms_key).
    kms_key: aws.kms.Key
    #: Private subnets with a NAT route (Secrets Manager and ECS are reached through it).
    subnet_ids: Sequence[pulumi.Input[str]]
    #: The function's security group (components/network.py: 5432 to the database, 443 out).
    security_group_id: pulumi.Input[str]
    #: DATABASE_URL's host: the RDS Proxy when enabled, else the primary.
    writer_host: pulumi.Input[str]
    #: DATABASE_READ_URL's host: the private reader name.
    reader_host: pulumi.Input[str]
    #: The ECS service to redeploy after a rotation of the app login; None (default): none.
    ecs: EcsTarget | None = None
    #: Days the function's logs are kept; default 30.
    log_retention_days: int = 30

    def __post_init__(self) -> None:
        c = Checker("database rotation args")
        c.in_range("rotation_days", self.rotation_days, 1, 1000)
        c.require(len(self.subnet_ids) >= 1, "subnet_ids", len(self.subnet_ids), "needs the private subnets")
        c.raise_if_any()


class DatabaseRotation(pulumi.ComponentResource):
    """The rotation function, its role, logs and permissions, and a SecretRotation per secret."""

    function_arn: pulumi.Output[str]

    def __init__(self, name: str, args: DatabaseRotationArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:data:DatabaseRotation", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        secrets = {"master": args.master_secret_arn, "app": args.app_secret_arn}
        role, grants = self._role(name, args, secrets, child)
        # A key of its own: the database's key serves the services that use it through IAM only.
        logs = encrypted_log_group(f"{name}-logs", retention_days=args.log_retention_days, tags=args.tags,
                                   parent=self, purpose=f"{name}: rotation function")
        env: dict[str, pulumi.Input[str]] = {
            "MASTER_SECRET_ARN": args.master_secret_arn, "APP_GROUP": APP_GROUP,
            "WRITER_HOST": args.writer_host, "READER_HOST": args.reader_host}
        if args.ecs is not None:
            env |= {"ECS_CLUSTER": args.ecs.cluster_name, "ECS_SERVICE": args.ecs.service_name}
        function = aws.lambda_.Function(
            f"{name}-fn", description="Rotates the PostgreSQL master and app login secrets",
            runtime=RUNTIME, handler="handler.lambda_handler", code=code_archive(), role=role.arn,
            timeout=TIMEOUT_SECONDS, memory_size=MEMORY_MB, architectures=["x86_64"],
            vpc_config={"subnet_ids": args.subnet_ids, "security_group_ids": [args.security_group_id]},
            environment={"variables": env}, kms_key_arn=args.kms_key.arn,
            logging_config={"log_format": "Text", "log_group": logs.name},
            tags=args.tags,
            # A function in a VPC is refused at creation unless its role may already create the ENIs.
            opts=pulumi.ResourceOptions(parent=self, depends_on=grants))
        self.function_arn = function.arn
        for label, secret_arn in secrets.items():
            permission = aws.lambda_.Permission(
                f"{name}-invoke-{label}", function=function.name, action="lambda:InvokeFunction",
                principal="secretsmanager.amazonaws.com", source_arn=secret_arn, opts=child)
            # The first rotation starts at once (rotate_immediately defaults to true) and runs in AWS.
            aws.secretsmanager.SecretRotation(
                f"{name}-{label}", secret_id=secret_arn, rotation_lambda_arn=function.arn,
                rotation_rules={"automatically_after_days": args.rotation_days},
                opts=pulumi.ResourceOptions(parent=self, depends_on=[permission]))
        self.register_outputs({"function_arn": self.function_arn})

    def _role(self, name: str, args: DatabaseRotationArgs, secrets: dict[str, pulumi.Input[str]],
              child: pulumi.ResourceOptions) -> tuple[aws.iam.Role, list[pulumi.Resource]]:
        role = aws.iam.Role(f"{name}-role", assume_role_policy=assume_role_policy("lambda.amazonaws.com"),
                            description=f"{name}: rotates the PostgreSQL secrets", tags=args.tags, opts=child)
        vpc = aws.iam.RolePolicyAttachment(f"{name}-vpc-access", role=role.name, policy_arn=VPC_ACCESS_POLICY,
                                           opts=child)
        statements: list[dict[str, object]] = [
            # What the four steps call on the two secrets (Secrets Manager User Guide, "Permissions for
            # rotation": DescribeSecret, GetSecretValue, PutSecretValue, UpdateSecretVersionStage). The
            # passwords are generated in the function, so no GetRandomPassword (which takes no resource).
            {"Sid": "RotateTheSecrets", "Effect": "Allow", "Resource": list(secrets.values()),
             "Action": ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue",
                        "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage"]},
            {"Sid": "SecretsKey", "Effect": "Allow", "Resource": args.kms_key.arn,
             "Action": ["kms:Decrypt", "kms:GenerateDataKey"]},
        ]
        if args.ecs is not None:
            service = regional_arn(self, "ecs", pulumi.Output.concat(
                "service/", args.ecs.cluster_name, "/", args.ecs.service_name))
            statements.append({"Sid": "RedeployTheApp", "Effect": "Allow", "Action": "ecs:UpdateService",
                               "Resource": service})
        policy = aws.iam.RolePolicy(f"{name}-policy", role=role.id, policy=json_output(
            {"Version": "2012-10-17", "Statement": statements}), opts=child)
        return role, [vpc, policy]

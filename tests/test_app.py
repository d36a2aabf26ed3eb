"""The app tier: components/app.py (settings, the shared environment), components/vercel_app.py and
components/ecs_service.py (one component per hosting), and how they reach the data."""

import json

import pytest
from conftest import config_error, evaluate, example_graph, stack_graph, without_app

from components._validation import InvalidArgs
from components.app import APP_TYPE, AppSettings, EcsSettings, VercelSettings
from components.ecs_service import EcsService
from components.vercel_app import VercelApp
from offline.evaluate import is_secret


def container(g):
    return json.loads(g.named("app-task").input("containerDefinitions"))[0]


# ---- ECS Fargate (the canonical stacks) ------------------------------------------------------
def test_task_gets_secrets_from_secrets_manager_not_plain_env(any_stack):
    c = container(any_stack)
    env = {e["name"]: e["value"] for e in c["environment"]}
    assert env == {"NODE_ENV": "production", "LOG_LEVEL": env["LOG_LEVEL"],
                   "NEXT_PUBLIC_APP_URL": any_stack.stack_outputs["appUrl"], "PORT": "3000",
                   "UPLOADS_BUCKET": any_stack.stack_outputs["assetsBucketName"], "UPLOADS_PREFIX": "uploads/"}
    secret_arn = any_stack.named("app-env").outputs["arn"]
    names = {s["name"]: s["valueFrom"] for s in c["secrets"]}
    assert set(names) == {"DATABASE_URL", "DATABASE_READ_URL", "REDIS_URL", "JWT_SECRET", "BETTER_AUTH_SECRET"}
    # The database URLs come from the rotated app login's secret (tests/test_rotation.py), the rest from app-env.
    login = any_stack.named("postgres-app-credentials").outputs["arn"]
    assert names.pop("DATABASE_URL") == f"{login}:url::" and names.pop("DATABASE_READ_URL") == f"{login}:readUrl::"
    assert all(v == f"{secret_arn}:{k}::" for k, v in names.items())
    assert "postgresql://" not in json.dumps(c) and "rediss://" not in json.dumps(c)


def test_secret_holds_the_data_tier_urls(any_stack):
    version = any_stack.named("app-env-version")
    assert is_secret(version.inputs["secretString"])
    values = json.loads(version.input("secretString"))
    outputs = {k: any_stack.stack_outputs[k]["value"] for k in ("databaseUrl", "databaseReadUrl", "redisUrl")}
    # The database URLs are the rotated login's, in its own secret (tests/test_rotation.py), never the master's.
    assert "DATABASE_URL" not in values and "DATABASE_READ_URL" not in values
    assert outputs["databaseUrl"] not in version.input("secretString")
    assert values["REDIS_URL"] == outputs["redisUrl"] and values["REDIS_URL"].startswith("rediss://")
    assert len(values["JWT_SECRET"]) == 48 and values["JWT_SECRET"].isalnum()


def test_execution_role_reads_only_its_secret_and_key(any_stack):
    doc = json.loads(any_stack.named("app-execution-secrets").input("policy"))
    assert [(s["Action"], s["Resource"]) for s in doc["Statement"]] == [
        ("secretsmanager:GetSecretValue", [any_stack.named("app-env").outputs["arn"],
                                           any_stack.named("postgres-app-credentials").outputs["arn"]]),
        ("kms:Decrypt", [any_stack.named("app-key").outputs["arn"], any_stack.named("postgres-key").outputs["arn"]])]
    assert not [r for r in any_stack.resources if r.name.startswith("app-task-") and "Policy" in r.type
                and "uploads" not in r.name]


@pytest.mark.parametrize("source", ["staging", "production", "project-spark"])
def test_task_role_writes_uploads_under_the_prefix_only(source):
    g = example_graph(source) if "-" in source else stack_graph(source)
    bucket, key = g.named("cdn-assets"), g.named("cdn-assets-key")
    policy = g.named("app-task-uploads")
    assert policy.input("role") == g.named("app-task-role").outputs["id"]
    statements = json.loads(policy.input("policy"))["Statement"]
    assert all(s["Effect"] == "Allow" for s in statements)
    granted = {(a, r) for s in statements for a in [s["Action"]] * isinstance(s["Action"], str) or s["Action"]
               for r in [s["Resource"]] * isinstance(s["Resource"], str) or s["Resource"]}
    uploads = bucket.outputs["arn"] + "/uploads/*"
    assert {(a, r) for a, r in granted if a.startswith("s3:")} == {
        ("s3:PutObject", uploads), ("s3:AbortMultipartUpload", uploads), ("s3:ListMultipartUploadParts", uploads)}
    assert {(a, r) for a, r in granted if a.startswith("kms:")} == {
        ("kms:GenerateDataKey", key.outputs["arn"]), ("kms:Decrypt", key.outputs["arn"])}
    assert not [r for _, r in granted if r == "*" or r.endswith(":*")]
    env = {e["name"]: e["value"] for e in container(g)["environment"]}
    assert (env["UPLOADS_BUCKET"], env["UPLOADS_PREFIX"]) == (bucket.outputs["id"], "uploads/")
    # The bucket exists before the app's role policy and task definition are built.
    assert bucket.urn in policy.dependencies and bucket.urn in g.named("app-task").dependencies


def test_no_uploads_bucket_no_upload_grant():
    g = example_graph("generic-guide")
    assert not [r for r in g.resources if "uploads" in r.name]
    assert "UPLOADS_BUCKET" not in {e["name"] for e in container(g)["environment"]}


def test_service_alb_and_autoscaling(production, staging):
    svc = production.named("app-service")
    assert svc.input("launchType") == "FARGATE"
    assert svc.input("networkConfiguration")["assignPublicIp"] is False
    assert svc.input("networkConfiguration")["securityGroups"] == [production.named("network-app-sg").outputs["id"]]
    assert svc.input("deploymentCircuitBreaker") == {"enable": True, "rollback": True}
    assert "desiredCount" in svc.ignore_changes
    assert production.named("app-alb").input("enableDeletionProtection") is True
    assert staging.named("app-alb").input("enableDeletionProtection") is False
    alb = production.named("app-alb")
    assert alb.input("accessLogs") == {"bucket": production.named("app-alb-logs").outputs["id"],
                                       "prefix": "alb", "enabled": True}
    assert alb.input("dropInvalidHeaderFields") is True
    tg = production.named("app-tg")
    assert tg.input("healthCheck")["path"] == "/api/health"
    metrics = {p.input("targetTrackingScalingPolicyConfiguration")["predefinedMetricSpecification"]
               ["predefinedMetricType"] for p in production.of_type("aws:appautoscaling/policy:Policy")}
    assert metrics == {"ECSServiceAverageCPUUtilization", "ALBRequestCountPerTarget"}
    repo = production.named("app-repo")
    assert repo.input("imageScanningConfiguration") == {"scanOnPush": True}
    assert repo.input("imageTagMutability") == "IMMUTABLE"


def test_read_only_root_filesystem_with_writable_task_volumes(any_stack):
    """The image is read-only; Next.js standalone writes its caches under /app/.next/cache and Node
    writes temporary files under /tmp: each gets an ephemeral task volume (ecsWritablePaths)."""
    c = container(any_stack)
    assert c["readonlyRootFilesystem"] is True
    assert c["mountPoints"] == [{"sourceVolume": "tmp", "containerPath": "/tmp", "readOnly": False},
                                {"sourceVolume": "app-next-cache", "containerPath": "/app/.next/cache",
                                 "readOnly": False}]
    volumes = any_stack.named("app-task").input("volumes")
    assert volumes == [{"name": "tmp"}, {"name": "app-next-cache"}]  # no host path: Fargate task storage
    assert {m["sourceVolume"] for m in c["mountPoints"]} == {v["name"] for v in volumes}


def test_writable_paths_come_from_config():
    g = evaluate("staging", ecsWritablePaths=["/tmp", "/srv/app/.next/cache", "/var/run/app"])
    c = container(g)
    assert [m["containerPath"] for m in c["mountPoints"]] == ["/tmp", "/srv/app/.next/cache", "/var/run/app"]
    assert [v["name"] for v in g.named("app-task").input("volumes")] == ["tmp", "srv-app-next-cache", "var-run-app"]
    message = config_error("staging", ecsWritablePaths=["/", "/tmp"])
    assert "ecsWritablePaths" in message and "never / itself" in message, message


def counts(g) -> tuple[int, int, int]:
    scaling = g.named("app-scaling")
    return g.named("app-service").input("desiredCount"), scaling.input("minCapacity"), scaling.input("maxCapacity")


def test_no_image_yet_runs_no_task(any_stack):
    """The committed stacks set neither ecsImage nor ecsImageTag: the first `up` must not start
    tasks that cannot pull, and autoscaling must not raise them to its min."""
    assert counts(any_stack) == (0, 0, 0)
    repo = any_stack.named("app-repo").outputs["repositoryUrl"]
    assert container(any_stack)["image"] == f"{repo}:no-image-yet"
    assert "desiredCount" in any_stack.named("app-service").ignore_changes


def test_an_image_runs_the_configured_counts():
    g = evaluate("production", ecsImageTag="v1.4.2")
    assert counts(g) == (3, 3, 12)
    assert container(g)["image"] == g.named("app-repo").outputs["repositoryUrl"] + ":v1.4.2"
    g = evaluate("staging", ecsImage="ghcr.io/acme/web@sha256:" + "a" * 64)
    assert counts(g) == (1, 1, 2)
    assert container(g)["image"] == "ghcr.io/acme/web@sha256:" + "a" * 64


def test_image_and_image_tag_together_are_refused():
    msg = config_error(ecsImage="ghcr.io/acme/web:1.0", ecsImageTag="v1")
    assert "ecsImageTag = 'v1': must be empty while image is set ('ghcr.io/acme/web:1.0')" in msg
    assert ("fix: pulumi config rm ecsImageTag --stack staging  (keeps ecsImage; or, to deploy the stack's "
            "repository at that tag: pulumi config rm ecsImage --stack staging)") in msg
    assert "(1 problem)" in msg


def test_https_listener_redirect_and_cdn_only_origin(production):
    https, http = production.named("app-https"), production.named("app-http")
    assert https.input("protocol") == "HTTPS" and https.input("sslPolicy").startswith("ELBSecurityPolicy-TLS13")
    assert https.input("certificateArn") == production.named("app-alb-cert").outputs["arn"]
    assert https.input("defaultActions")[0]["fixedResponse"]["statusCode"] == "403"
    assert http.input("defaultActions")[0]["redirect"] == {"port": "443", "protocol": "HTTPS",
                                                            "statusCode": "HTTP_301"}
    secret = production.named("cdn-origin-secret").outputs["result"]
    rule = production.named("app-from-cdn")
    assert rule.input("conditions")[0]["httpHeader"] == {"httpHeaderName": "X-Origin-Verify", "values": [secret]}
    ingress = [r for r in production.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
               if r.name.startswith("app-alb-")]
    assert [(r.input("fromPort"), r.input("prefixListId")) for r in ingress] == [(443, "pl-3b927c52")]


@pytest.mark.parametrize("source", ["staging", "production", "generic-guide", "project-spark"])
def test_service_waits_for_what_attaches_its_target_group(source):
    """ECS refuses a target group no listener uses ("does not have an associated load balancer")."""
    g = example_graph(source) if "-" in source else stack_graph(source)
    tg = g.named("app-tg").outputs["arn"]
    forwards = [r for r in g.of_type("aws:lb/listener:Listener") + g.of_type("aws:lb/listenerRule:ListenerRule")
                if any(a.get("type") == "forward" and a.get("targetGroupArn") == tg
                       for a in (r.input("defaultActions") or []) + (r.input("actions") or []))]
    assert forwards
    service = g.named("app-service")
    assert service.input("loadBalancers")[0]["targetGroupArn"] == tg
    for r in forwards:
        assert r.urn in service.dependencies, r.name


def test_alb_without_cdn_takes_the_internet_on_80_and_443():
    g = example_graph("generic-guide")
    ingress = {r.name: r for r in g.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
               if r.name.startswith("app-alb-")}
    assert sorted(ingress) == ["app-alb-443-from-any4", "app-alb-443-from-any6", "app-alb-80-from-any4",
                               "app-alb-80-from-any6"]
    assert g.named("app-https").input("defaultActions")[0]["type"] == "forward"


# ---- Vercel ----------------------------------------------------------------------------------
def test_vercel_project_and_one_variable_per_key_and_target():
    g = evaluate(example="study-sphere", vercelEnvTargets=["production", "preview"])
    project = g.named("app-project")
    assert (project.input("framework"), project.input("nodeVersion")) == ("nextjs", "22.x")
    assert project.input("resourceConfig") == {"functionDefaultRegions": ["iad1"]}
    env = g.of_type("vercel:index/projectEnvironmentVariable:ProjectEnvironmentVariable")
    keys = {"DATABASE_URL", "DATABASE_READ_URL", "REDIS_URL", "JWT_SECRET", "NEXTAUTH_SECRET",
            "NODE_ENV", "NEXT_PUBLIC_APP_URL", "LOG_LEVEL"}
    assert sorted((v.input("key"), v.input("targets")[0]) for v in env) == sorted(
        (k, t) for k in keys for t in ("production", "preview"))
    assert {v.input("projectId") for v in env} == {g.stack_outputs["vercelProjectId"]}
    for v in env:
        secretish = v.input("key").endswith(("_URL", "_SECRET")) and v.input("key") != "NEXT_PUBLIC_APP_URL"
        assert v.input("sensitive") is secretish, v.input("key")
        assert is_secret(v.inputs["value"]) or not secretish, v.input("key")


def test_vercel_protects_previews_with_a_value_the_provider_accepts():
    import inspect
    import re

    from pulumiverse_vercel._inputs import ProjectVercelAuthenticationArgs

    doc = inspect.getdoc(ProjectVercelAuthenticationArgs.deployment_type)
    allowed = re.findall(r"`(\w+)`", doc.split("Must be one of", 1)[1])
    assert "standard_protection_new" in allowed and "all_except_custom_domains" not in allowed
    for app in ("study-sphere", "group-spaces", "contribux"):
        value = example_graph(app).named("app-project").input("vercelAuthentication")["deploymentType"]
        assert value in allowed, (app, value, allowed)
        # Standard Protection: previews and generated URLs need a Vercel login, production domains stay public.
        assert value == "standard_protection_new"


def test_vercel_urls_point_at_reachable_endpoints():
    g = example_graph("study-sphere")
    env = {v.input("key"): v.input("value") for v in
           g.of_type("vercel:index/projectEnvironmentVariable:ProjectEnvironmentVariable")}
    assert env["DATABASE_URL"] == g.stack_outputs["databaseUrl"]["value"]  # through the RDS Proxy
    assert ".proxy-" in env["DATABASE_URL"]
    replica = g.named("postgres-replica-0").outputs["address"]
    assert f"@{replica}:5432/" in env["DATABASE_READ_URL"]  # not the VPC-private reader zone
    assert env["REDIS_URL"].startswith("rediss://")
    assert env["NEXT_PUBLIC_APP_URL"] == "https://studysphere.example.com"


def test_vercel_domains_redirect_www_to_apex():
    g = example_graph("study-sphere")
    domains = {d.input("domain"): d.input("redirect") for d in g.of_type("vercel:index/projectDomain:ProjectDomain")}
    assert domains == {"studysphere.example.com": None, "www.studysphere.example.com": "studysphere.example.com",
                       "api.studysphere.example.com": None}


def test_secure_compute_network_is_trusted_by_cidr_only():
    g = example_graph("study-sphere")
    assert g.named("app-secure-compute").input("cidr") == "10.250.0.0/24"
    peer = {r.name: r for r in g.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
            if "peer" in r.name}
    assert {n: (r.input("fromPort"), r.input("cidrIpv4")) for n, r in peer.items()} == {
        "network-db-from-peer": (5432, "10.250.0.0/24"), "network-proxy-from-peer": (5432, "10.250.0.0/24"),
        "network-cache-from-peer": (6379, "10.250.0.0/24")}
    assert not g.of_type("aws:ec2/vpcPeeringConnectionAccepter:VpcPeeringConnectionAccepter")


def test_peering_request_is_accepted_and_routed():
    # The second `up` of the Secure Compute setup: the id Vercel's peering request shows is in config.
    g = evaluate(example="contribux", vercelPeeringConnectionId="pcx-0a1b2c3d4e5f60718")
    accepter = g.named("network-peering")
    assert accepter.input("vpcPeeringConnectionId") == "pcx-0a1b2c3d4e5f60718" and accepter.input("autoAccept")
    routes = [r for r in g.of_type("aws:ec2/route:Route") if "peer" in r.name]
    assert routes and all(r.input("destinationCidrBlock") == "10.250.0.0/24" and
                          r.input("vpcPeeringConnectionId") == "pcx-0a1b2c3d4e5f60718" for r in routes)


def test_public_database_opt_in_is_explicit_and_allow_listed():
    g = evaluate(example="group-spaces", postgresEnabled="true", externalDatabaseUrl=None,
                 postgresPubliclyAccessible="true", databaseAllowedCidrs=["198.51.100.10/32"])
    primary = g.named("postgres-primary")
    assert primary.input("publiclyAccessible") is True
    public = [g.named(f"network-public-{i}").outputs["id"] for i in range(2)]  # registration order varies
    assert g.named("postgres-subnets").input("subnetIds") == public
    ingress = [r for r in g.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
               if r.input("fromPort") == 5432 and (r.input("cidrIpv4") or r.input("cidrIpv6"))]
    assert [r.input("cidrIpv4") for r in ingress] == ["198.51.100.10/32"]
    params = {p["name"]: p["value"] for p in g.named("postgres-params").input("parameters")}
    assert params["rds.force_ssl"] == "1"


def test_nothing_opens_the_data_ports_to_the_internet():
    graphs = [stack_graph(s) for s in ("staging", "production")] + [example_graph(a) for a in (
        "study-sphere", "generic-guide", "project-spark", "group-spaces", "contribux")]
    for g in graphs:
        for r in g.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"):
            if r.input("fromPort") in (5432, 6379):
                assert r.input("cidrIpv4") not in ("0.0.0.0/0",) and r.input("cidrIpv6") != "::/0", r.name


# ---- validation --------------------------------------------------------------------------------
@pytest.mark.parametrize("cls, kwargs, field", [
    (AppSettings, {"hosting": "heroku"}, "hosting"),
    (AppSettings, {"hosting": "aws"}, "domain"),
    (AppSettings, {"hosting": "aws", "domain": "Example.COM"}, "domain"),
    (AppSettings, {"domain": "a.example.com", "dns_zone": "other.com"}, "dns_zone"),
    (AppSettings, {"secret_names": ("jwt",)}, "secret_names"),
    (AppSettings, {"secret_length": 16}, "secret_length"),
    (AppSettings, {"log_level": "verbose"}, "log_level"),
    (VercelSettings, {"regions": ()}, "regions"),
    (VercelSettings, {"regions": ("us-east-1",)}, "regions"),
    (VercelSettings, {"node_version": "16.x"}, "node_version"),
    (VercelSettings, {"env_targets": ("development",)}, "env_targets"),
    (VercelSettings, {"secure_compute_cidr": "0.0.0.0/0"}, "secure_compute_cidr"),
    (VercelSettings, {"peering_connection_id": "pcx-0a1b2c3d4e5f60718"}, "peering_connection_id"),
    (EcsSettings, {"cpu": 300}, "cpu"),
    (EcsSettings, {"cpu": 256, "memory_mb": 4096}, "memory_mb"),
    (EcsSettings, {"desired_count": 20}, "desired_count"),
    (EcsSettings, {"container_port": 80}, "container_port"),
    (EcsSettings, {"image_tag": "-v1"}, "image_tag"),
    (EcsSettings, {"image_tag": "no-image-yet"}, "image_tag"),
    (EcsSettings, {"image": "ghcr.io/acme/web:1.0", "image_tag": "v1"}, "image_tag"),
    (EcsSettings, {"writable_paths": ("/",)}, "writable_paths"),
    (EcsSettings, {"writable_paths": ("tmp",)}, "writable_paths"),
    (EcsSettings, {"writable_paths": ("/tmp", "/tmp")}, "writable_paths"),
])
def test_settings_refuse(cls, kwargs, field):
    with pytest.raises(InvalidArgs) as info:
        cls(**kwargs)
    assert field in [p.field for p in info.value.problems]


def test_vercel_without_private_networking_must_choose():
    msg = config_error(example="study-sphere", vercelSecureCompute="false", vercelSecureComputeCidr=None)
    assert "redisEnabled = True: ElastiCache is reachable only inside the VPC" in msg
    assert "postgresEnabled = True: a private database is unreachable from Vercel" in msg
    assert "pulumi config set vercelSecureCompute true --stack production" in msg


def test_public_database_needs_an_allow_list():
    msg = config_error(example="group-spaces", postgresEnabled="true", externalDatabaseUrl=None,
                       postgresPubliclyAccessible="true")
    assert "postgresPubliclyAccessible = True: needs databaseAllowedCidrs" in msg


def test_keys_of_the_other_hosting_are_refused():
    msg = config_error(vercelRegions=["cdg1"], ecsCpu="999")
    assert "vercelRegions = ('cdg1',): has no effect unless appHosting is vercel" in msg
    assert "fix: pulumi config rm vercelRegions --stack staging" in msg
    assert "ecsCpu = 999: must be one of 256, 512, 1024, 2048, 4096" in msg


def test_secure_compute_cidr_must_not_overlap_the_vpc():
    msg = config_error(example="study-sphere", vercelSecureComputeCidr="10.0.4.0/24")
    assert "vercelSecureComputeCidr = '10.0.4.0/24': must not overlap vpcCidr (10.0.0.0/16)" in msg


def test_aws_hosting_needs_nat():
    assert "natGateways = 'none': ECS tasks in private subnets need a NAT" in config_error(natGateways="none")


# ---- one component per hosting ---------------------------------------------------------------
def descendants(g, urn: str) -> list:
    found, frontier = [], [urn]
    while frontier:
        children = [r for r in g.resources if r.parent in frontier]
        found += children
        frontier = [r.urn for r in children]
    return found


@pytest.mark.parametrize("source", ["staging", "generic-guide"])
def test_aws_hosting_builds_no_vercel_resources(source):
    g = example_graph(source) if "-" in source else stack_graph(source)
    assert not [r.name for r in g.resources if r.type.startswith("vercel:")]
    app = g.named("app")
    kinds = {r.type.split(":")[0] + ":" + r.type.split(":")[1].split("/")[0] for r in descendants(g, app.urn)}
    assert {"aws:ecs", "aws:lb", "aws:ecr"} <= kinds and "vercel:index" not in kinds
    assert "vercelProjectId" not in g.stack_outputs and "ecsServiceName" in g.stack_outputs


@pytest.mark.parametrize("source", ["study-sphere", "group-spaces"])
def test_vercel_hosting_builds_no_ecs_alb_or_ecr(source):
    g = example_graph(source)
    app = g.named("app")
    kinds = {r.type.split("/")[0] for r in descendants(g, app.urn)}
    assert kinds <= {"vercel:index", "random:index"}, kinds
    # The scheduled backup jobs (issue 16) bring their own ECS cluster and ECR repository; the app none.
    jobs = {r.urn for r in descendants(g, g.named("backup-jobs").urn)}
    assert not [r.name for r in g.resources if r.type.split("/")[0] in ("aws:ecs", "aws:lb", "aws:ecr")
                and r.urn not in jobs]
    assert not {"ecrRepositoryUrl", "loadBalancerDnsName", "ecsServiceName"} & set(g.stack_outputs)
    assert "vercelProjectId" in g.stack_outputs


def test_no_hosting_builds_no_app_and_no_site_records():
    g = evaluate(**without_app())
    assert not g.of_type(APP_TYPE) and not g.of_type("platform:edge:Dns")
    assert not {"appUrl", "appEnvironmentKeys"} & set(g.stack_outputs)


def test_each_hosting_exposes_what_the_composition_wires():
    """The edge and the alarms read these without narrowing: the ECS service always has a load
    balancer and ACM records; Vercel has neither and validates its own certificates."""
    assert EcsService.origin_is_load_balancer and not VercelApp.origin_is_load_balancer
    assert VercelApp.validation_record_fqdns is None
    assert "load_balancer_target" in EcsService.__annotations__
    assert "load_balancer_target" not in VercelApp.__annotations__


def test_origin_secret_fits_each_origin(staging):
    """The ALB's listener rule compares 40 alphanumerics; Vercel's bypass takes exactly 32."""
    assert staging.named("cdn-origin-secret").input("length") == 40
    g = evaluate(example="study-sphere", cdnEnabled="true")
    secret = g.named("cdn-origin-secret")
    assert (secret.input("length"), secret.input("special")) == (32, False)
    assert secret.parent.endswith("pulumi:pulumi:Stack::platform-production")  # a stack-level resource
    assert g.named("app-cdn-bypass").input("secret") == secret.outputs["result"]


# The URNs the stacks' state holds for app-tier resources, from before the tier was split in two.
STATE_URNS = {
    "staging": ["platform:app:App::app", "platform:app:App$aws:ecs/service:Service::app-service",
                "platform:app:App$aws:lb/loadBalancer:LoadBalancer::app-alb",
                "platform:app:App$aws:s3/bucket:Bucket::app-alb-logs",
                "platform:app:App$aws:route53/record:Record::app-alb-validation-0",
                "platform:app:App$random:index/randomPassword:RandomPassword::app-jwt-secret"],
    "study-sphere": ["platform:app:App::app", "platform:app:App$vercel:index/project:Project::app-project",
                     "platform:app:App$vercel:index/projectEnvironmentVariable:ProjectEnvironmentVariable::"
                     "app-env-database-read-url-production",
                     "platform:app:App$vercel:index/network:Network::app-secure-compute"],
}


def state_urn(g, r, alias_types: dict[str, str]) -> str:
    """The URN the engine matches `r` against in existing state: its own, or the one its components'
    aliases give. A component's `Alias(type_=...)` passes to its children as the engine does it
    (pulumi/pulumi pkg/resource/deploy/step_generator.go, generateAliases/inheritedChildAlias:
    the parent alias's qualified type, then the child's type; names here do not change)."""
    head, project, qualified, name = r.urn.split("::")  # head: urn:pulumi:<stack>
    if r.urn in alias_types:  # the resource's own Alias(type_=...): its last type changes
        qualified = "$".join([*qualified.split("$")[:-1], alias_types[r.urn]])
    parent = next((p for p in g.resources if p.urn == r.parent), None)
    if parent is not None and parent.type != "pulumi:pulumi:Stack":
        qualified = state_urn(g, parent, alias_types).split("::")[2] + "$" + qualified.split("$")[-1]
    return "::".join([head, project, qualified, name])


@pytest.mark.parametrize("source", ["staging", "study-sphere"])
def test_app_tier_keeps_the_urns_in_existing_state(monkeypatch, source):
    """Splitting App must not replace what it created: every app-tier resource still matches the
    URN it was created under (directly, or through an alias on its component to APP_TYPE)."""
    from pulumi.runtime.mocks import MockMonitor

    aliases: dict[tuple[str, str], str] = {}
    register = MockMonitor.RegisterResource

    def recording(self, request):
        for a in request.aliases:  # components' only: the SDK gives some resources aliases of their own
            if a.spec.type and not request.custom:
                aliases[(request.type, request.name)] = a.spec.type
        return register(self, request)

    monkeypatch.setattr(MockMonitor, "RegisterResource", recording)
    g = evaluate(source, fresh=True) if source == "staging" else evaluate(example=source, fresh=True)
    alias_types = {r.urn: aliases[(r.type, r.name)] for r in g.resources if (r.type, r.name) in aliases}
    app = next(r for r in g.resources if r.name == "app" and not r.custom)
    tier = [app, *descendants(g, app.urn)]
    stack = "staging" if source == "staging" else "production"
    held = {state_urn(g, r, alias_types) for r in tier}
    assert {f"urn:pulumi:{stack}::platform::{u}" for u in STATE_URNS[source]} <= held
    assert all(u.split("::")[2].startswith(APP_TYPE) for u in held), sorted(held)

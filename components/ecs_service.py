"""The app on ECS Fargate behind an Application Load Balancer, in the stack's VPC.

The task runs in private subnets and reads its secrets (data-tier URLs, app secrets) from one
Secrets Manager secret at start; its image comes from the stack's ECR repository (or a full image
reference). The ALB takes HTTPS from the internet behind a regional WAF of its own, or only from
CloudFront (whose WAF then protects it) when a CDN fronts it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components._common import (
    HardenedBucket,
    assume_role_policy,
    bucket_arn,
    ecr_repository,
    encrypted_log_group,
    json_output,
    kms_key,
    logs_key_policy,
    rotation_exempt,
)
from components._dns_zone import DnsZone, SiteTarget, validated_certificate
from components._validation import Checker
from components._waf import CREDENTIAL_HEADERS, WAF_LOG_PREFIX, waf_logging, web_acl
from components.alarm_targets import LoadBalancerTarget, UptimeTarget
from components.app import (
    NO_IMAGE_TAG,
    AppSettings,
    DataUrls,
    EcsSettings,
    UploadsBucket,
    app_environment,
    cdn_origin_secret,
    split_from_app,
    volume_name,
)
from components.rate_limits import RateLimitSettings

# The ALB's listener rule compares this header; 40 alphanumerics, as the stacks were created with.
ORIGIN_SECRET_LENGTH = 40
CONTAINER = "app"  # the container's name in the task definition
# The env secret's values are read once, at task start, and the database and cache URLs in it
# follow their own secrets: rotation is a redeploy (docs/operations.md), not a Secrets Manager Lambda.
ENV_SECRET_ROTATION = "Read at task start - rotate the values with pulumi up --replace and a new deployment - docs/operations.md"
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
PredefinedMetric = aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgsDict


@dataclass(frozen=True)
class EcsServiceArgs:
    #: The app's domain, health check path, log level and secret names (stack config).
    settings: AppSettings
    #: Task size, image, counts, autoscaling targets and ALB deletion protection (stack config).
    ecs: EcsSettings
    #: Tags every taggable child gets.
    tags: dict[str, str]
    #: Prefix of the task definition family ("<project>-app"), the Pulumi project name.
    project: str
    #: The data tier's URLs; the task reads `database_read_url` (the private reader zone) as DATABASE_READ_URL.
    data: DataUrls
    #: The VPC the ALB, its target group and the tasks live in.
    vpc_id: pulumi.Input[str]
    #: Subnets of the internet-facing ALB (at least 2 AZs).
    public_subnet_ids: Sequence[pulumi.Input[str]]
    #: Subnets of the tasks (no public IPs; they pull images and reach AWS APIs through NAT).
    private_subnet_ids: Sequence[pulumi.Input[str]]
    #: The tasks' security group (components/network.py); this component opens it to the ALB on the app port.
    app_security_group_id: pulumi.Input[str]
    #: The zone where the ALB certificate's ACM validation records are written.
    dns: DnsZone
    #: The seeds' per-IP limits, as rate-based rules of the ALB's own WAF (without a CDN; with
    #: one, the CDN's WAF enforces them).
    rate_limits: RateLimitSettings
    #: The stack's name, e.g. production: in the ALB's WAF log group name, unique per account and region.
    stack: str
    #: Days the task's CloudWatch logs and the ALB access logs are kept; default 30.
    log_retention_days: int = 30
    #: The header value (`EcsService.cdn_origin_secret`) CloudFront sends as X-Origin-Verify when a
    #: CDN fronts the ALB: then only CloudFront may reach it. None (default): no CDN, the ALB is public.
    origin_secret: pulumi.Input[str] | None = None
    #: The uploads bucket the task may write under its prefix; None (default): no uploads bucket.
    uploads: UploadsBucket | None = None

    @property
    def behind_cdn(self) -> bool:
        return self.origin_secret is not None

    def __post_init__(self) -> None:
        c = Checker("ecs service args")
        c.require(bool(self.stack), "stack", self.stack, "must be non-empty: it names the WAF log group")
        c.raise_if_any()


class EcsService(pulumi.ComponentResource):
    """ECR repository, task definition, Fargate service with autoscaling, and an ALB with TLS."""

    environment_keys: list[str]
    repository_url: pulumi.Output[str]
    cluster_name: pulumi.Output[str]
    service_name: pulumi.Output[str]
    load_balancer_dns_name: pulumi.Output[str]
    load_balancer_zone_id: pulumi.Output[str]
    origin_hostname: pulumi.Output[str]  # the ALB's name, what CloudFront forwards to
    origin_is_load_balancer = True
    origin_secret: pulumi.Input[str] | None  # what CloudFront must send (args.origin_secret)
    # The ACM validation records of the site's names, for another certificate of the same names.
    validation_record_fqdns: list[pulumi.Output[str]]
    site_target: SiteTarget  # where the site's DNS names point without a CDN
    load_balancer_target: LoadBalancerTarget
    uptime_target: UptimeTarget

    @staticmethod
    def cdn_origin_secret(name: str) -> pulumi.Output[str]:
        """The header value CloudFront sends the ALB: create it before the service, pass it as `origin_secret`."""
        return cdn_origin_secret(name, ORIGIN_SECRET_LENGTH)

    def __init__(self, name: str, args: EcsServiceArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:app:EcsService", name, None, split_from_app(opts))
        s, e, tags = args.settings, args.ecs, args.tags
        env = app_environment(name, s, args.data, args.uploads, inside_vpc=True, parent=self)
        self.environment_keys = env.keys
        self.origin_secret = args.origin_secret
        key = kms_key(f"{name}-key", f"{name}: app secrets, images and logs", tags, self._child,
                      policy=logs_key_policy(self))
        repo = self._repository(name, tags, key)
        env_secret = self._runtime_secret(name, tags, key, env.secrets)
        logs = encrypted_log_group(f"{name}-logs", retention_days=args.log_retention_days, key=key, tags=tags,
                                   parent=self)
        execution_role, task_role = self._roles(name, args, key, env_secret)
        image = e.image or pulumi.Output.concat(repo.repository_url, ":", e.image_tag or NO_IMAGE_TAG)
        value_from = {k: pulumi.Output.concat(env_secret.arn, ":", k, "::") for k in env.secrets}
        task = self._task_definition(name, args, image, env.plain, {**value_from, **env.references}, logs,
                                     execution_role, task_role)
        alb_sg = self._load_balancer_security_group(name, args)
        lb, target_group = self._load_balancer(name, args, alb_sg)
        _, validation, self.validation_record_fqdns = validated_certificate(
            f"{name}-alb", s.domain, args.dns, tags, self._child)
        attaches_target_group = self._listeners(name, args, lb, target_group, validation.certificate_arn)
        if not args.behind_cdn:
            self._web_acl(name, args, lb)
        cluster, service = self._service(name, args, task, target_group, attaches_target_group)
        self._autoscaling(name, args, cluster, service, lb, target_group)

        self.repository_url = repo.repository_url
        self.cluster_name, self.service_name = cluster.name, service.name
        self.load_balancer_dns_name = lb.dns_name
        self.load_balancer_zone_id = lb.zone_id
        self.origin_hostname = lb.dns_name
        self.site_target = SiteTarget(s.domain, lb.dns_name, lb.zone_id, description="load balancer")
        self.load_balancer_target = LoadBalancerTarget(lb.arn_suffix, target_group.arn_suffix)
        self.uptime_target = UptimeTarget(s.domain, s.health_check_path)
        self.register_outputs({"hosting": "aws", "load_balancer_dns_name": self.load_balancer_dns_name,
                               "repository_url": self.repository_url})

    @property
    def _child(self) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self)

    # ---- image and runtime secrets --------------------------------------------------------------
    def _repository(self, name: str, tags: dict[str, str], key: aws.kms.Key) -> aws.ecr.Repository:
        return ecr_repository(name, tags, key, self._child, keep=30)

    def _runtime_secret(self, name: str, tags: dict[str, str], key: aws.kms.Key,
                        secrets: dict[str, pulumi.Input[str]]) -> aws.secretsmanager.Secret:
        """One Secrets Manager secret holding every secret variable, as JSON keys the task definition names."""
        env_secret = aws.secretsmanager.Secret(f"{name}-env", kms_key_id=key.arn, recovery_window_in_days=7,
                                               description=f"{name}: runtime secrets of the app task",
                                               tags=rotation_exempt(tags, ENV_SECRET_ROTATION), opts=self._child)
        # Typed as an Input so mypy can solve Output.secret's `Input[U]` (from Output[str] alone it cannot).
        secret_string: pulumi.Input[str] = json_output(secrets)
        aws.secretsmanager.SecretVersion(f"{name}-env-version", secret_id=env_secret.id,
                                         secret_string=pulumi.Output.secret(secret_string), opts=self._child)
        return env_secret

    # ---- roles and task definition --------------------------------------------------------------
    def _roles(self, name: str, args: EcsServiceArgs, key: aws.kms.Key,
               env_secret: aws.secretsmanager.Secret) -> tuple[aws.iam.Role, aws.iam.Role]:
        """(execution role: pulls the image, reads the secret; task role: the app's own, writes uploads only)."""
        tags = args.tags
        execution_role = aws.iam.Role(f"{name}-execution-role",
                                      assume_role_policy=assume_role_policy("ecs-tasks.amazonaws.com"),
                                      tags=tags, opts=self._child)
        aws.iam.RolePolicyAttachment(
            f"{name}-execution-managed", role=execution_role.name,
            policy_arn="arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy", opts=self._child)
        secret_arns: list[pulumi.Input[str]] = [env_secret.arn]
        key_arns: list[pulumi.Input[str]] = [key.arn]
        database = args.data.database_secret
        if database is not None:  # the rotated app login's URLs (components/app.py DatabaseSecret)
            secret_arns.append(database.arn)
            key_arns.append(database.kms_key_arn)
        aws.iam.RolePolicy(f"{name}-execution-secrets", role=execution_role.id, policy=json_output({
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
                 "Resource": secret_arns[0] if len(secret_arns) == 1 else secret_arns},
                {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key_arns[0] if len(key_arns) == 1 else key_arns},
            ]}), opts=self._child)
        # The app gets its data through URLs and secrets; its own role may only write uploads.
        task_role = aws.iam.Role(f"{name}-task-role", assume_role_policy=assume_role_policy("ecs-tasks.amazonaws.com"),
                                 tags=tags, opts=self._child)
        if args.uploads is not None:
            u = args.uploads
            objects = pulumi.Output.concat(u.bucket_arn, "/", u.prefix, "*")
            aws.iam.RolePolicy(f"{name}-task-uploads", role=task_role.id, policy=json_output({
                "Version": "2012-10-17",
                "Statement": [
                    # PutObject also authorizes CreateMultipartUpload, UploadPart and CompleteMultipartUpload.
                    {"Sid": "WriteUploads", "Effect": "Allow", "Resource": objects,
                     "Action": ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"]},
                    # SSE-KMS: GenerateDataKey to write; Decrypt as well for the parts of a multipart upload.
                    {"Sid": "EncryptUploads", "Effect": "Allow", "Resource": u.kms_key_arn,
                     "Action": ["kms:GenerateDataKey", "kms:Decrypt"]},
                ]}), opts=self._child)
        return execution_role, task_role

    def _task_definition(self, name: str, args: EcsServiceArgs, image: pulumi.Input[str],
                         plain: dict[str, pulumi.Input[str]], secrets: dict[str, pulumi.Input[str]],
                         logs: aws.cloudwatch.LogGroup,
                         execution_role: aws.iam.Role, task_role: aws.iam.Role) -> aws.ecs.TaskDefinition:
        e = args.ecs
        environment = sorted({**plain, "PORT": str(e.container_port)}.items())
        definition: dict[str, object] = {
            "name": CONTAINER,
            "image": image,
            "essential": True,
            "portMappings": [{"containerPort": e.container_port, "protocol": "tcp"}],
            "environment": [{"name": k, "value": v} for k, v in environment],
            # The values stay in Secrets Manager: the task definition names only where they are.
            "secrets": [{"name": k, "valueFrom": secrets[k]} for k in sorted(secrets)],
            "logConfiguration": {"logDriver": "awslogs", "options": {
                "awslogs-group": logs.name, "awslogs-region": aws.get_region_output(
                    opts=pulumi.InvokeOutputOptions(parent=self)).region,
                "awslogs-stream-prefix": CONTAINER}},
            "linuxParameters": {"initProcessEnabled": True},
            # Read-only image; the app writes only to the task volumes mounted below (ephemeral
            # Fargate storage, emptied when the task stops).
            "readonlyRootFilesystem": True,
            "mountPoints": [{"sourceVolume": volume_name(p), "containerPath": p, "readOnly": False}
                            for p in e.writable_paths],
        }
        return aws.ecs.TaskDefinition(
            f"{name}-task", family=f"{args.project}-app", cpu=str(e.cpu), memory=str(e.memory_mb),
            network_mode="awsvpc", requires_compatibilities=["FARGATE"],
            runtime_platform={"operating_system_family": "LINUX", "cpu_architecture": "X86_64"},
            execution_role_arn=execution_role.arn, task_role_arn=task_role.arn,
            volumes=[{"name": volume_name(p)} for p in e.writable_paths],
            container_definitions=json_output([definition]), tags=args.tags, opts=self._child)

    # ---- load balancer --------------------------------------------------------------------------
    def _load_balancer_security_group(self, name: str, args: EcsServiceArgs) -> aws.ec2.SecurityGroup:
        """HTTPS in (from CloudFront only behind a CDN; else 80 and 443 from anywhere), the app port out."""
        tags, port = args.tags, args.ecs.container_port
        alb_sg = aws.ec2.SecurityGroup(f"{name}-alb-sg", vpc_id=args.vpc_id,
                                       description="Load balancer: HTTPS in, the app port out",
                                       tags={**tags, "Name": f"{name}-alb-sg"}, opts=self._child)
        for label, source, who in self._alb_sources(args.behind_cdn):
            for listener_port in (443,) if args.behind_cdn else (80, 443):
                purpose = "HTTPS" if listener_port == 443 else "HTTP redirect to HTTPS"
                aws.vpc.SecurityGroupIngressRule(
                    f"{name}-alb-{listener_port}-from-{label}", security_group_id=alb_sg.id, ip_protocol="tcp",
                    # EC2 takes only ASCII letters, digits, spaces and ._-:/()#,@[]+=&;{}!$* here.
                    from_port=listener_port, to_port=listener_port, description=f"{purpose} from {who}",
                    tags=tags, opts=self._child, **source)
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-alb-to-app", security_group_id=alb_sg.id, ip_protocol="tcp", from_port=port,
            to_port=port, referenced_security_group_id=args.app_security_group_id,
            description="ALB to the app tasks", tags=tags, opts=self._child)
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-app-from-alb", security_group_id=args.app_security_group_id, ip_protocol="tcp",
            from_port=port, to_port=port, referenced_security_group_id=alb_sg.id,
            description="App tasks from the ALB", tags=tags, opts=self._child)
        return alb_sg

    def _alb_sources(self, behind_cdn: bool) -> list[tuple[str, dict[str, pulumi.Input[str]], str]]:
        """(rule label, the ingress rule's source argument, who that is) for the ALB's listeners."""
        if behind_cdn:
            cloudfront = aws.ec2.get_managed_prefix_list_output(
                name="com.amazonaws.global.cloudfront.origin-facing", opts=pulumi.InvokeOutputOptions(parent=self))
            return [("cdn", {"prefix_list_id": cloudfront.id}, "CloudFront origin-facing servers")]
        return [("any4", {"cidr_ipv4": "0.0.0.0/0"}, "the internet (no CDN in front)"),
                ("any6", {"cidr_ipv6": "::/0"}, "the internet over IPv6 (no CDN in front)")]

    def _access_logs(self, name: str, args: EcsServiceArgs) -> HardenedBucket:
        def delivery_statements(b: aws.s3.Bucket) -> list[dict[str, object]]:
            # Regions from before August 2022 deliver as the regional ELB account; newer ones as
            # the log-delivery service. Both may write, only under the prefix.
            return [{
                "Sid": "AllowAlbAccessLogs", "Effect": "Allow", "Action": "s3:PutObject",
                "Principal": {"AWS": aws.elb.get_service_account_output(
                    opts=pulumi.InvokeOutputOptions(parent=self)).arn},
                "Resource": pulumi.Output.concat(bucket_arn(self, b), "/alb/*")}, {
                "Sid": "AllowAlbLogDelivery", "Effect": "Allow", "Action": "s3:PutObject",
                "Principal": {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"},
                "Resource": pulumi.Output.concat(bucket_arn(self, b), "/alb/*")}]

        return HardenedBucket(
            f"{name}-alb-logs", tags=args.tags, opts=self._child, key=None, data_class="logs",
            extra_statements=delivery_statements,
            lifecycle_rules=[{"id": "expire-logs", "status": "Enabled", "filter": {"prefix": ""},
                              "expiration": {"days": args.log_retention_days},
                              "noncurrent_version_expiration": {"noncurrent_days": 7},
                              "abort_incomplete_multipart_upload": {"days_after_initiation": 7}}])

    def _load_balancer(self, name: str, args: EcsServiceArgs,
                       alb_sg: aws.ec2.SecurityGroup) -> tuple[aws.lb.LoadBalancer, aws.lb.TargetGroup]:
        e, tags = args.ecs, args.tags
        access_logs = self._access_logs(name, args)
        # ELB checks that it may write the bucket when the ALB is created: the policy comes first.
        policy = access_logs.policy
        if policy is None:
            raise RuntimeError(f"{name}-alb-logs: the access log bucket's policy was deferred")
        log_config: aws.lb.LoadBalancerAccessLogsArgsDict = {"bucket": access_logs.bucket.id, "prefix": "alb",
                                                             "enabled": True}
        lb = aws.lb.LoadBalancer(
            f"{name}-alb", load_balancer_type="application", internal=False, security_groups=[alb_sg.id],
            subnets=args.public_subnet_ids, drop_invalid_header_fields=True, idle_timeout=60,
            enable_deletion_protection=e.deletion_protection, access_logs=log_config,
            tags=tags, opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]))
        target_group = aws.lb.TargetGroup(
            f"{name}-tg", port=e.container_port, protocol="HTTP", target_type="ip", vpc_id=args.vpc_id,
            deregistration_delay=30,
            health_check={"path": args.settings.health_check_path, "matcher": "200", "interval": 15,
                          "timeout": 5, "healthy_threshold": 2, "unhealthy_threshold": 3},
            tags=tags, opts=self._child)
        return lb, target_group

    def _web_acl(self, name: str, args: EcsServiceArgs, lb: aws.lb.LoadBalancer) -> None:
        """Without a CDN the ALB faces the internet: the CDN's web ACL (managed groups, rate rules),
        scope REGIONAL in the ALB's region, associated with it, its logs in that region."""
        acl = web_acl(name, scope="REGIONAL", limits=args.rate_limits, tags=args.tags, opts=self._child)
        # A regional resource takes only a REGIONAL ACL of its own region (WAF API AssociateWebACL).
        aws.wafv2.WebAclAssociation(f"{name}-waf-alb", web_acl_arn=acl.arn, resource_arn=lb.arn, opts=self._child)
        waf_logging(name, acl, log_name=f"{WAF_LOG_PREFIX}{name}-{args.stack}", retention_days=args.log_retention_days,
                    redacted_headers=list(CREDENTIAL_HEADERS), tags=args.tags, parent=self)

    def _listeners(self, name: str, args: EcsServiceArgs, lb: aws.lb.LoadBalancer, target_group: aws.lb.TargetGroup,
                   certificate_arn: pulumi.Output[str]) -> list[pulumi.Resource]:
        """HTTP redirects to HTTPS; HTTPS forwards (behind a CDN: only requests with the origin secret).

        Returns what attaches the target group to the ALB: ECS refuses a target group that no
        listener forwards to yet, so the service waits for these.
        """
        tags = args.tags
        aws.lb.Listener(f"{name}-http", load_balancer_arn=lb.arn, port=80, protocol="HTTP",
                        default_actions=[{"type": "redirect", "redirect": {
                            "port": "443", "protocol": "HTTPS", "status_code": "HTTP_301"}}],
                        tags=tags, opts=self._child)
        forward: aws.lb.ListenerDefaultActionArgsDict = {"type": "forward", "target_group_arn": target_group.arn}
        forbidden: aws.lb.ListenerDefaultActionArgsDict = {"type": "fixed-response", "fixed_response": {
            "content_type": "text/plain", "message_body": "forbidden", "status_code": "403"}}
        https = aws.lb.Listener(
            f"{name}-https", load_balancer_arn=lb.arn, port=443, protocol="HTTPS", ssl_policy=TLS_POLICY,
            certificate_arn=certificate_arn,
            default_actions=[forbidden if args.behind_cdn else forward], tags=tags, opts=self._child)
        if args.origin_secret is None:
            return [https]
        from_cdn = aws.lb.ListenerRule(
            f"{name}-from-cdn", listener_arn=https.arn, priority=10,
            actions=[{"type": "forward", "target_group_arn": target_group.arn}],
            conditions=[{"http_header": {"http_header_name": "X-Origin-Verify", "values": [args.origin_secret]}}],
            tags=tags, opts=self._child)
        return [https, from_cdn]

    # ---- service and autoscaling ----------------------------------------------------------------
    def _service(self, name: str, args: EcsServiceArgs, task: aws.ecs.TaskDefinition,
                 target_group: aws.lb.TargetGroup,
                 attaches_target_group: list[pulumi.Resource]) -> tuple[aws.ecs.Cluster, aws.ecs.Service]:
        e, tags = args.ecs, args.tags
        cluster = aws.ecs.Cluster(f"{name}-cluster", settings=[{"name": "containerInsights", "value": "enhanced"}],
                                  tags=tags, opts=self._child)
        service = aws.ecs.Service(
            f"{name}-service", cluster=cluster.arn, task_definition=task.arn, desired_count=self._counts(e)[0],
            launch_type="FARGATE", platform_version="LATEST", propagate_tags="SERVICE", enable_ecs_managed_tags=True,
            health_check_grace_period_seconds=60,
            deployment_circuit_breaker={"enable": True, "rollback": True},
            deployment_minimum_healthy_percent=100, deployment_maximum_percent=200,
            network_configuration={"subnets": args.private_subnet_ids, "assign_public_ip": False,
                                   "security_groups": [args.app_security_group_id]},
            load_balancers=[{"target_group_arn": target_group.arn, "container_name": CONTAINER,
                             "container_port": e.container_port}],
            tags=tags,
            # Autoscaling owns the running count after the first deploy.
            opts=pulumi.ResourceOptions(parent=self, depends_on=attaches_target_group,
                                        ignore_changes=["desired_count"]))
        return cluster, service

    @staticmethod
    def _counts(e: EcsSettings) -> tuple[int, int, int]:
        """(desired, min, max) tasks. No image yet (the first `up` creates the repository it will be
        pushed to): 0 tasks, so none fails to pull, and the target group stays empty."""
        return (e.desired_count, e.min_count, e.max_count) if e.has_image else (0, 0, 0)

    def _autoscaling(self, name: str, args: EcsServiceArgs, cluster: aws.ecs.Cluster, service: aws.ecs.Service,
                     lb: aws.lb.LoadBalancer, target_group: aws.lb.TargetGroup) -> None:
        e = args.ecs
        _, low, high = self._counts(e)
        # Min and max are 0 until an image is set, or autoscaling would raise the service to its min.
        # The `up` that sets ecsImageTag needs no desired_count (ignored above): it updates the task
        # definition and the service first (resource_id waits on the service), then raises this
        # target's min, and RegisterScalableTarget on an existing target moves a capacity below the
        # new min up to it (Application Auto Scaling API reference, RegisterScalableTarget).
        scaling = aws.appautoscaling.Target(
            f"{name}-scaling", service_namespace="ecs", scalable_dimension="ecs:service:DesiredCount",
            resource_id=pulumi.Output.concat("service/", cluster.name, "/", service.name),
            min_capacity=low, max_capacity=high, tags=args.tags, opts=self._child)
        metrics: list[tuple[str, int, PredefinedMetric]] = [
            ("cpu", e.cpu_target_percent, {"predefined_metric_type": "ECSServiceAverageCPUUtilization"}),
            ("requests", e.requests_per_target, {
                "predefined_metric_type": "ALBRequestCountPerTarget",
                "resource_label": pulumi.Output.concat(lb.arn_suffix, "/", target_group.arn_suffix)}),
        ]
        for label, target, metric in metrics:
            aws.appautoscaling.Policy(
                f"{name}-scale-{label}", policy_type="TargetTrackingScaling",
                service_namespace=scaling.service_namespace, resource_id=scaling.resource_id,
                scalable_dimension=scaling.scalable_dimension,
                target_tracking_scaling_policy_configuration={
                    "target_value": target, "scale_in_cooldown": 300, "scale_out_cooldown": 60,
                    "predefined_metric_specification": metric},
                opts=self._child)

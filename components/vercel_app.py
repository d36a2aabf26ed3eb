"""The app on Vercel: the project, its environment variables, the site's domains and, when the data
tier is private, Secure Compute (a Vercel-managed VPC peered with ours, see components/network.py).

DNS for the site points at Vercel (or at CloudFront when a CDN fronts it); Vercel reaches the data
tier over the internet or the peering, never through the VPC's private DNS.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumiverse_vercel as vercel

from components._dns_zone import SiteTarget, fqdns
from components.alarm_targets import UptimeTarget
from components.app import (
    VERCEL_APEX_IP,
    VERCEL_CNAME,
    AppSettings,
    DataUrls,
    UploadsBucket,
    VercelSettings,
    app_environment,
    cdn_origin_secret,
    split_from_app,
)

# Vercel takes a protection bypass of exactly 32 alphanumerics (pulumiverse_vercel
# ProjectProtectionBypass.secret); in front of Vercel, the CDN's origin secret is that bypass.
ORIGIN_SECRET_LENGTH = 32


@dataclass(frozen=True)
class VercelAppArgs:
    #: The app's domain, health check path, log level and secret names (stack config).
    settings: AppSettings
    #: The Vercel project's team, name, regions, environment targets and Secure Compute (stack config).
    vercel: VercelSettings
    #: The project's name when `vercel.project_name` is empty (the Pulumi project name).
    project: str
    #: The data tier's URLs; Vercel reads `external_database_read_url` as DATABASE_READ_URL.
    data: DataUrls
    #: The uploads bucket, named in UPLOADS_BUCKET/UPLOADS_PREFIX (Vercel gets no AWS role: see
    #: docs/architecture.md); None (default): no uploads bucket.
    uploads: UploadsBucket | None = None
    #: The protection bypass CloudFront sends (32 alphanumerics, `VercelApp.cdn_origin_secret`) when a
    #: CDN fronts the app; None (default): no CDN.
    origin_secret: pulumi.Input[str] | None = None


class VercelApp(pulumi.ComponentResource):
    """A Vercel project with the app's environment and the site's apex, www (redirect) and api domains."""

    project_id: pulumi.Output[str]
    environment_keys: list[str]
    origin_hostname: pulumi.Output[str]  # <project>.vercel.app, what CloudFront forwards to
    origin_is_load_balancer = False
    origin_secret: pulumi.Input[str] | None  # what CloudFront must send (args.origin_secret)
    # Vercel validates its own certificates: no ACM records another certificate could reuse.
    validation_record_fqdns: list[pulumi.Output[str]] | None = None
    site_target: SiteTarget  # where the site's DNS names point without a CDN
    uptime_target: UptimeTarget

    @staticmethod
    def cdn_origin_secret(name: str) -> pulumi.Output[str]:
        """The protection bypass CloudFront sends this app: create it before the app, pass it as `origin_secret`."""
        return cdn_origin_secret(name, ORIGIN_SECRET_LENGTH)

    def __init__(self, name: str, args: VercelAppArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:app:VercelApp", name, None, split_from_app(opts))
        s, v = args.settings, args.vercel
        env = app_environment(name, s, args.data, args.uploads, inside_vpc=False, parent=self)
        self.environment_keys = env.keys
        self.origin_secret = args.origin_secret
        project = self._project(name, args)
        self.project_id = project.id
        self.origin_hostname = pulumi.Output.concat(project.name, ".vercel.app")
        if args.origin_secret is not None:
            # Standard Protection covers "all domains except Production Custom Domains" (Vercel,
            # Deployment Protection), and the origin CloudFront uses is <project>.vercel.app, not
            # a custom domain: without a bypass every request through the CDN could meet Vercel's
            # login page. CloudFront sends this secret as x-vercel-protection-bypass.
            vercel.ProjectProtectionBypass(f"{name}-cdn-bypass", project_id=project.id, team_id=v.team_id or None,
                                           secret=args.origin_secret, note="CloudFront origin requests",
                                           opts=pulumi.ResourceOptions(parent=self))
        self._variables(name, v, project, env.plain, env.secrets)
        self._domains(name, s.domain, v, project)
        if v.secure_compute:
            # Secure Compute: functions run in a Vercel-managed AWS VPC with this CIDR. Vercel sends a
            # peering request to our VPC; once its id is in config, we accept it and route to the CIDR.
            vercel.Network(f"{name}-secure-compute", name=f"{v.project_name or args.project}-network",
                           cidr=v.secure_compute_cidr, region=v.regions[0], team_id=v.team_id or None,
                           opts=pulumi.ResourceOptions(parent=self))
        self.site_target = SiteTarget(s.domain, VERCEL_CNAME, apex_ip=VERCEL_APEX_IP, description="Vercel")
        self.uptime_target = UptimeTarget(s.domain, s.health_check_path)
        self.register_outputs({"hosting": "vercel", "project_id": self.project_id})

    def _project(self, name: str, args: VercelAppArgs) -> vercel.Project:
        v = args.vercel
        return vercel.Project(
            f"{name}-project",
            name=v.project_name or args.project,
            team_id=v.team_id or None,
            framework=v.framework,
            node_version=v.node_version,
            resource_config={"function_default_regions": list(v.regions)},
            git_repository={"type": "github", "repo": v.git_repository} if v.git_repository else None,
            # Standard Protection: previews and generated *.vercel.app deployment URLs need a Vercel
            # login; the production custom domains stay public (CloudFront passes with a bypass).
            vercel_authentication={"deployment_type": "standard_protection_new"},
            opts=pulumi.ResourceOptions(parent=self))

    def _variables(self, name: str, v: VercelSettings, project: vercel.Project,
                   plain: dict[str, pulumi.Input[str]], secrets: dict[str, pulumi.Input[str]]) -> None:
        """One variable per key and target; secrets are `sensitive` (write-only in Vercel)."""
        for key, value in {**plain, **secrets}.items():
            sensitive = key in secrets
            for target in v.env_targets:
                vercel.ProjectEnvironmentVariable(
                    f"{name}-env-{key.lower().replace('_', '-')}-{target}",
                    project_id=project.id, team_id=v.team_id or None, key=key,
                    value=pulumi.Output.secret(value) if sensitive else value,
                    targets=[target], sensitive=sensitive,
                    comment="managed by pulumi", opts=pulumi.ResourceOptions(parent=self))

    def _domains(self, name: str, domain: str, v: VercelSettings, project: vercel.Project) -> None:
        team = v.team_id or None
        apex, www, api = fqdns(domain)
        apex_domain = vercel.ProjectDomain(f"{name}-domain-apex", project_id=project.id, team_id=team,
                                           domain=apex, opts=pulumi.ResourceOptions(parent=self))
        vercel.ProjectDomain(f"{name}-domain-www", project_id=project.id, team_id=team, domain=www,
                             redirect=apex, redirect_status_code=308,
                             opts=pulumi.ResourceOptions(parent=self, depends_on=[apex_domain]))
        vercel.ProjectDomain(f"{name}-domain-api", project_id=project.id, team_id=team, domain=api,
                             opts=pulumi.ResourceOptions(parent=self))

"""Network tier: VPC over N AZs, public/private subnets, NAT, flow logs and the data-tier security groups."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components._common import assume_role_policy, encrypted_log_group, json_output, regional_arn
from components._validation import CLOUDWATCH_RETENTION_DAYS, Checker, bounded, choice

NAT_MODES = ("none", "single", "perAz")
POSTGRES_PORT = 5432
REDIS_PORT = 6379
# Each subnet is a sixteenth of the VPC: public subnets take slots 0..5, private slots 8..13.
_SUBNET_BITS = 4
_PRIVATE_OFFSET = 8


@dataclass(frozen=True)
class NetworkSettings:
    vpc_cidr: str = "10.0.0.0/16"
    az_count: int = bounded(2, 6, default=2)
    nat_gateways: str = choice(NAT_MODES, default="single")
    database_allowed_cidrs: tuple[str, ...] = ()
    cache_allowed_cidrs: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        c = Checker("network settings")
        try:
            net = ipaddress.IPv4Network(self.vpc_cidr, strict=True)
            c.require(16 <= net.prefixlen <= 22, "vpc_cidr", self.vpc_cidr,
                      "must be an IPv4 CIDR from /16 to /22")
        except ValueError:
            c.require(False, "vpc_cidr", self.vpc_cidr, "must be an IPv4 CIDR such as 10.0.0.0/16")
        c.declared(self, "az_count", "nat_gateways")
        c.cidrs("database_allowed_cidrs", self.database_allowed_cidrs)
        c.cidrs("cache_allowed_cidrs", self.cache_allowed_cidrs)
        c.raise_if_any()

    def subnet_cidrs(self) -> tuple[list[str], list[str]]:
        slots = list(ipaddress.IPv4Network(self.vpc_cidr).subnets(prefixlen_diff=_SUBNET_BITS))
        public = [str(s) for s in slots[: self.az_count]]
        private = [str(s) for s in slots[_PRIVATE_OFFSET: _PRIVATE_OFFSET + self.az_count]]
        return public, private


@dataclass(frozen=True)
class NetworkArgs:
    #: CIDR, AZ count, NAT mode and allow-listed client CIDRs (from stack config).
    settings: NetworkSettings
    #: Tags for every taggable child; each also gets a Name.
    tags: dict[str, str]
    #: Retention of the flow-log group, days: one of CloudWatch's values; default 30.
    log_retention_days: int = 30
    #: Region for every resource of this network, e.g. us-west-2; default "": the provider's.
    region: str = ""
    #: Create the PostgreSQL security group (5432 from app); default True.
    database: bool = True
    #: Create the Redis security group (6379 from app); default True.
    cache: bool = True
    #: Create the RDS Proxy security group between app and database; needs database; default False.
    proxy: bool = False
    #: Create the group of the database's rotation function (5432 to the database, 443 out); needs
    #: database; default False.
    rotation: bool = False
    #: Create the backup jobs' security group (5432 to the database, 443 out); needs database; default False.
    ops: bool = False
    #: CIDR of a peered network the data tier trusts (Vercel Secure Compute), /16 or longer;
    #: default "": none.
    peer_cidr: str = ""
    #: The pcx- id of the peer's peering request once it has sent it; default "" (until then the
    #: rules exist and the routes do not).
    peering_connection_id: str = ""

    def __post_init__(self) -> None:
        c = Checker("network args")
        if self.peer_cidr:
            c.cidrs("peer_cidr", [self.peer_cidr], min_prefix=16)
        c.require(bool(self.peer_cidr) or not self.peering_connection_id, "peering_connection_id",
                  self.peering_connection_id, "needs peer_cidr")
        c.one_of("log_retention_days", self.log_retention_days, CLOUDWATCH_RETENTION_DAYS)
        c.region("region", self.region, optional=True)
        c.require(self.database or not self.proxy, "proxy", self.proxy,
                  "needs database=True (the proxy only fronts the database)")
        c.require(self.database or not self.rotation, "rotation", self.rotation,
                  "needs database=True (the function rotates the database's credentials)")
        c.require(self.database or not self.ops, "ops", self.ops,
                  "needs database=True (the backup jobs dump the database)")
        c.raise_if_any()


class Network(pulumi.ComponentResource):
    """A VPC whose private subnets hold the data tier; ports open only to named groups and CIDRs."""

    vpc_id: pulumi.Output[str]
    public_subnet_ids: list[pulumi.Output[str]]
    private_subnet_ids: list[pulumi.Output[str]]
    availability_zones: pulumi.Output[list[str]]
    app_security_group_id: pulumi.Output[str]
    database_security_group_id: pulumi.Output[str] | None
    proxy_security_group_id: pulumi.Output[str] | None
    cache_security_group_id: pulumi.Output[str] | None
    rotation_security_group_id: pulumi.Output[str] | None
    ops_security_group_id: pulumi.Output[str] | None

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:network:Network", name, None, opts)
        self._args = args
        s = args.settings
        region = args.region or None
        child = pulumi.ResourceOptions(parent=self)
        tags = args.tags

        def named(suffix: str) -> dict[str, str]:
            return {**tags, "Name": f"{name}-{suffix}"}

        zones = aws.get_availability_zones_output(
            state="available",
            region=region,
            # Local and Wavelength zones lack most services; keep the region's own AZs.
            filters=[{"name": "opt-in-status", "values": ["opt-in-not-required"]}],
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        self.availability_zones = zones.names.apply(lambda names: list(names[: s.az_count]))

        vpc = aws.ec2.Vpc(f"{name}-vpc", cidr_block=s.vpc_cidr, enable_dns_hostnames=True,
                          enable_dns_support=True, region=region, tags=named("vpc"), opts=child)
        self.vpc_id = vpc.id

        # The default security group allows all traffic between its members; strip every rule.
        aws.ec2.DefaultSecurityGroup(f"{name}-default-sg", vpc_id=vpc.id, ingress=[], egress=[],
                                     region=region, tags=named("default-sg"), opts=child)

        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, region=region,
                                      tags=named("igw"), opts=child)
        public_rt = aws.ec2.RouteTable(f"{name}-public-rt", vpc_id=vpc.id, region=region,
                                       tags=named("public-rt"), opts=child)
        aws.ec2.Route(f"{name}-public-default", route_table_id=public_rt.id,
                      destination_cidr_block="0.0.0.0/0", gateway_id=igw.id, region=region, opts=child)

        public_cidrs, private_cidrs = s.subnet_cidrs()
        public, private = [], []
        def zone(i: int) -> pulumi.Output[str]:
            return zones.names.apply(lambda names: names[i])

        for i in range(s.az_count):
            az = zone(i)
            pub = aws.ec2.Subnet(f"{name}-public-{i}", vpc_id=vpc.id, cidr_block=public_cidrs[i],
                                 availability_zone=az, map_public_ip_on_launch=False,
                                 region=region, tags={**named(f"public-{i}"), "Tier": "public"},
                                 opts=child)
            aws.ec2.RouteTableAssociation(f"{name}-public-{i}-rta", subnet_id=pub.id,
                                          route_table_id=public_rt.id, region=region, opts=child)
            priv = aws.ec2.Subnet(f"{name}-private-{i}", vpc_id=vpc.id, cidr_block=private_cidrs[i],
                                  availability_zone=az, region=region,
                                  tags={**named(f"private-{i}"), "Tier": "private"}, opts=child)
            public.append(pub)
            private.append(priv)
        self.public_subnet_ids = [sn.id for sn in public]
        self.private_subnet_ids = [sn.id for sn in private]

        self._private_routes(name, s, vpc, public, private, region, named, child)
        self._flow_logs(name, args, vpc, region, tags, child)
        self._security_groups(name, args, vpc, region, child)

        self.register_outputs({
            "vpc_id": self.vpc_id,
            "public_subnet_ids": self.public_subnet_ids,
            "private_subnet_ids": self.private_subnet_ids,
            "availability_zones": self.availability_zones,
            "app_security_group_id": self.app_security_group_id,
        })

    def _private_routes(self, name, s, vpc, public, private, region, named, child) -> None:
        # none: isolated private subnets (the data tier needs no internet); single: one NAT
        # (cheap, one AZ's outage cuts egress); perAz: one NAT and route table per AZ.
        nat_count = {"none": 0, "single": 1, "perAz": s.az_count}[s.nat_gateways]
        nats = []
        for i in range(nat_count):
            eip = aws.ec2.Eip(f"{name}-nat-eip-{i}", domain="vpc", region=region,
                              tags=named(f"nat-eip-{i}"), opts=child)
            nats.append(aws.ec2.NatGateway(f"{name}-nat-{i}", allocation_id=eip.id,
                                           subnet_id=public[i].id, region=region,
                                           tags=named(f"nat-{i}"), opts=child))
        tables = max(nat_count, 1)
        peering = None
        if self._args.peering_connection_id:
            peering = aws.ec2.VpcPeeringConnectionAccepter(
                f"{name}-peering", vpc_peering_connection_id=self._args.peering_connection_id, auto_accept=True,
                region=region, tags=named("peering"), opts=child)
        for t in range(tables):
            rt = aws.ec2.RouteTable(f"{name}-private-rt-{t}", vpc_id=vpc.id, region=region,
                                    tags=named(f"private-rt-{t}"), opts=child)
            if nats:
                aws.ec2.Route(f"{name}-private-default-{t}", route_table_id=rt.id,
                              destination_cidr_block="0.0.0.0/0", nat_gateway_id=nats[t].id,
                              region=region, opts=child)
            if peering is not None:
                aws.ec2.Route(f"{name}-private-peer-{t}", route_table_id=rt.id,
                              destination_cidr_block=self._args.peer_cidr,
                              vpc_peering_connection_id=peering.vpc_peering_connection_id,
                              region=region, opts=child)
            for i, subnet in enumerate(private):
                if i % tables == t:
                    aws.ec2.RouteTableAssociation(f"{name}-private-{i}-rta", subnet_id=subnet.id,
                                                  route_table_id=rt.id, region=region, opts=child)

    def _flow_logs(self, name, args, vpc, region, tags, child) -> None:
        log_group = encrypted_log_group(f"{name}-flow-logs", retention_days=args.log_retention_days, region=region,
                                        tags=tags, parent=self, purpose=f"{name}: VPC flow logs")
        role = aws.iam.Role(
            f"{name}-flow-logs-role",
            assume_role_policy=assume_role_policy("vpc-flow-logs.amazonaws.com"),
            tags=tags, opts=child)
        # log_group.arn's value, known in preview (components/_common.py regional_arn).
        group_arn = regional_arn(self, "logs", pulumi.Output.concat("log-group:", log_group.name), region)
        aws.iam.RolePolicy(
            f"{name}-flow-logs-policy",
            role=role.id,
            policy=json_output({
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents",
                               "logs:DescribeLogGroups", "logs:DescribeLogStreams"],
                    "Resource": [group_arn, pulumi.Output.concat(group_arn, ":*")],
                }],
            }),
            opts=child)
        aws.ec2.FlowLog(f"{name}-flow-log", vpc_id=vpc.id, traffic_type="ALL",
                                        log_destination_type="cloud-watch-logs",
                                        log_destination=log_group.arn, iam_role_arn=role.arn,
                                        max_aggregation_interval=60, region=region,
                                        tags=tags, opts=child)

    def _security_groups(self, name: str, args: NetworkArgs, vpc: aws.ec2.Vpc, region: str | None,
                         child: pulumi.ResourceOptions) -> None:
        sg = _SecurityGroups(name, args, vpc, region, child)
        app = sg.group("app", "App tier (tasks, functions, bastions): the only group the data tier trusts")
        self.app_security_group_id = app.id
        sg.egress("app-https-out", app, 443, "HTTPS to AWS APIs and third-party services", cidr="0.0.0.0/0")
        self.database_security_group_id = None
        self.proxy_security_group_id = None
        self.cache_security_group_id = None
        self.rotation_security_group_id = None
        self.ops_security_group_id = None
        if args.database:
            db = self._database_group(sg, args, app)
            if args.proxy:
                self._proxy_group(sg, args, app, db)
            if args.rotation:
                self._rotation_group(sg, db)
            if args.ops:
                self._ops_group(sg, db)
        if args.cache:
            self._cache_group(sg, args, app)

    def _database_group(self, sg: _SecurityGroups, args: NetworkArgs,
                        app: aws.ec2.SecurityGroup) -> aws.ec2.SecurityGroup:
        db = self._tier_group(sg, args, app, "db", POSTGRES_PORT, "PostgreSQL",
                              f"PostgreSQL: {POSTGRES_PORT} from the app and proxy groups only",
                              args.settings.database_allowed_cidrs)
        self.database_security_group_id = db.id
        return db

    def _proxy_group(self, sg: _SecurityGroups, args: NetworkArgs, app: aws.ec2.SecurityGroup,
                     db: aws.ec2.SecurityGroup) -> None:
        proxy = sg.group("proxy", f"RDS Proxy: {POSTGRES_PORT} from the app group, to the database")
        self.proxy_security_group_id = proxy.id
        sg.ingress("proxy-from-app", proxy, POSTGRES_PORT, "App to RDS Proxy", source=app)
        sg.ingress("db-from-proxy", db, POSTGRES_PORT, "RDS Proxy to PostgreSQL", source=proxy)
        sg.egress("proxy-to-db", proxy, POSTGRES_PORT, "RDS Proxy to PostgreSQL", target=db)
        sg.egress("app-to-proxy", app, POSTGRES_PORT, "App to RDS Proxy", target=proxy)
        if args.peer_cidr:
            sg.ingress("proxy-from-peer", proxy, POSTGRES_PORT, f"RDS Proxy from the peered {args.peer_cidr}",
                       cidr=args.peer_cidr)

    def _rotation_group(self, sg: _SecurityGroups, db: aws.ec2.SecurityGroup) -> None:
        """The rotation function logs in to the primary itself (a new password works through RDS Proxy
        only once it is AWSCURRENT) and calls Secrets Manager and ECS over HTTPS through the NAT."""
        self.rotation_security_group_id = self._db_client_group(
            sg, db, "rotation", "Database credential rotation", "Rotation function",
            "Secrets Manager and ECS APIs")

    def _ops_group(self, sg: _SecurityGroups, db: aws.ec2.SecurityGroup) -> None:
        """The backup jobs: straight to the database (pg_dump and the drill's restore need a session
        of their own, not the proxy's pool), and HTTPS to AWS APIs (S3, ECR, Secrets Manager, logs)."""
        self.ops_security_group_id = self._db_client_group(
            sg, db, "ops", "Backup jobs", "Backup jobs", "AWS APIs")

    @staticmethod
    def _db_client_group(sg: _SecurityGroups, db: aws.ec2.SecurityGroup, name: str, what: str, who: str,
                         apis: str) -> pulumi.Output[str]:
        """A group for a job of the platform's own that logs in to PostgreSQL directly and calls AWS
        APIs over HTTPS through the NAT: 5432 to the database (and the database's ingress from it)."""
        group = sg.group(name, f"{what}: {POSTGRES_PORT} to the database, HTTPS out")
        sg.ingress(f"db-from-{name}", db, POSTGRES_PORT, f"{who} to PostgreSQL", source=group)
        sg.egress(f"{name}-to-db", group, POSTGRES_PORT, f"{who} to PostgreSQL", target=db)
        sg.egress(f"{name}-https-out", group, 443, f"{who} to {apis}", cidr="0.0.0.0/0")
        return group.id

    def _cache_group(self, sg: _SecurityGroups, args: NetworkArgs, app: aws.ec2.SecurityGroup) -> None:
        cache = self._tier_group(sg, args, app, "cache", REDIS_PORT, "Redis",
                                 f"Redis: {REDIS_PORT} from the app group only", args.settings.cache_allowed_cidrs)
        self.cache_security_group_id = cache.id

    @staticmethod
    def _tier_group(sg: _SecurityGroups, args: NetworkArgs, app: aws.ec2.SecurityGroup, prefix: str, port: int,
                    service: str, description: str, cidrs: Sequence[str]) -> aws.ec2.SecurityGroup:
        """A data tier's group: its port from the app group, the allow-listed CIDRs and the peer."""
        group = sg.group(prefix, description)
        sg.ingress(f"{prefix}-from-app", group, port, f"{service} from the app tier", source=app)
        sg.egress(f"app-to-{prefix}", app, port, f"App to {service}", target=group)
        for i, cidr in enumerate(cidrs):
            sg.ingress(f"{prefix}-from-cidr-{i}", group, port, f"{service} from allow-listed {cidr}", cidr=cidr)
        if args.peer_cidr:
            sg.ingress(f"{prefix}-from-peer", group, port, f"{service} from the peered {args.peer_cidr}",
                       cidr=args.peer_cidr)
        return group


class _SecurityGroups:
    """Creates a network's security groups and their one-port TCP rules, named after the network."""

    def __init__(self, name: str, args: NetworkArgs, vpc: aws.ec2.Vpc, region: str | None,
                 child: pulumi.ResourceOptions):
        self._name, self._args, self._vpc, self._region, self._child = name, args, vpc, region, child

    def group(self, suffix: str, description: str) -> aws.ec2.SecurityGroup:
        return aws.ec2.SecurityGroup(f"{self._name}-{suffix}-sg", vpc_id=self._vpc.id, description=description,
                                     region=self._region, tags={**self._args.tags, "Name": f"{self._name}-{suffix}-sg"},
                                     opts=self._child)

    def ingress(self, rule: str, sg: aws.ec2.SecurityGroup, port: int, description: str, *,
                source: aws.ec2.SecurityGroup | None = None, cidr: str | None = None) -> None:
        net = ipaddress.ip_network(cidr) if cidr else None
        aws.vpc.SecurityGroupIngressRule(
            f"{self._name}-{rule}", security_group_id=sg.id, ip_protocol="tcp", from_port=port,
            to_port=port, description=description,
            referenced_security_group_id=source.id if source is not None else None,
            cidr_ipv4=cidr if net and net.version == 4 else None,
            cidr_ipv6=cidr if net and net.version == 6 else None,
            region=self._region, tags=self._args.tags, opts=self._child)

    def egress(self, rule: str, sg: aws.ec2.SecurityGroup, port: int, description: str, *,
               target: aws.ec2.SecurityGroup | None = None, cidr: str | None = None) -> None:
        aws.vpc.SecurityGroupEgressRule(
            f"{self._name}-{rule}", security_group_id=sg.id, ip_protocol="tcp", from_port=port,
            to_port=port, description=description,
            referenced_security_group_id=target.id if target is not None else None,
            cidr_ipv4=cidr, region=self._region, tags=self._args.tags, opts=self._child)

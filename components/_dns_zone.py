"""DNS that several tiers write: ACM validation records and the site's apex/www/api names.

A stack's domain lives either in Route 53 (zone looked up by name) or in Cloudflare (zone id from
config); `DnsZone` hides which, so certificates and site records are written the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import pulumi
import pulumi_aws as aws

# pulumi_cloudflare imports all of its ~500 resource modules at once (about 1 s; pulumi_aws loads a
# service module on first use): it is imported where a Cloudflare resource is made, so that reading
# the settings these modules hold (stack_config, `python -m ops`) does not pay for it.

DNS_PROVIDERS = ("route53", "cloudflare")
HOSTS = ("", "www", "api")  # apex, www and api, as the seeds publish them (Vercel redirects www to the apex; CloudFront and the ALB serve it as is)
CLOUDFLARE_TTL = 300  # seconds; Cloudflare requires a ttl (1 means "automatic", required when proxied)


class CloudflareZone(Protocol):
    """What DnsZone.for_settings reads of the Cloudflare settings (components/dns.py CloudflareSettings)."""

    @property
    def zone_id(self) -> str: ...

    @property
    def proxied(self) -> bool: ...


@dataclass(frozen=True)
class DnsZone:
    """Writes records in one zone, whichever provider hosts it."""
    #: route53 or cloudflare.
    provider: str
    #: The Route 53 hosted zone id or the Cloudflare zone id (32 hex digits).
    zone_id: pulumi.Input[str]
    #: Cloudflare only, site names only: orange-cloud them (rate limits act on proxied traffic
    #: only). Default False: DNS-only.
    proxied: bool = False

    @classmethod
    def for_settings(cls, provider: str, zone_name: str, cloudflare: CloudflareZone | None,
                     opts: pulumi.InvokeOutputOptions) -> DnsZone:
        """The stack's zone: Cloudflare's by the id in config, Route 53's looked up by name (a public zone)."""
        proxied = bool(cloudflare and cloudflare.proxied)
        if provider == "cloudflare":
            if cloudflare is None:
                raise ValueError("dns zone: cloudflare = None: settings are required for a Cloudflare zone")
            return cls(provider, cloudflare.zone_id, proxied=proxied)
        zone = aws.route53.get_zone_output(name=zone_name, private_zone=False, opts=opts)
        return cls(provider, zone.zone_id, proxied=proxied)

    def record_name(self, record) -> pulumi.Output[str]:
        """The name a record of this zone was written under: Cloudflare's `name`, Route 53's `fqdn`."""
        return record.name if self.provider == "cloudflare" else record.fqdn

    def record(self, resource_name: str, fqdn: pulumi.Input[str], rtype: str, value: pulumi.Input[str],
               opts: pulumi.ResourceOptions, comment: str = "", proxied: bool = False):
        if self.provider == "cloudflare":
            import pulumi_cloudflare as cloudflare

            # DNS-only unless asked: Vercel asks for DNS-only records, and ACM must see its CNAMEs as they are.
            return cloudflare.DnsRecord(resource_name, zone_id=self.zone_id, name=fqdn, type=rtype,
                                        content=value, ttl=1 if proxied else CLOUDFLARE_TTL, proxied=proxied,
                                        comment=comment or None, opts=opts)
        return aws.route53.Record(resource_name, zone_id=self.zone_id, name=fqdn, type=rtype, ttl=300,
                                  records=[value], allow_overwrite=False, opts=opts)

    def alias(self, resource_name: str, fqdn: str, target: SiteTarget, opts: pulumi.ResourceOptions):
        """The site's names: Route 53 alias records (apex-safe) or Cloudflare CNAMEs (flattened at the apex)."""
        if self.provider == "route53" and target.alias_zone_id is not None:
            for rtype in ("A", "AAAA"):
                aws.route53.Record(f"{resource_name}-{rtype.lower()}", zone_id=self.zone_id, name=fqdn, type=rtype,
                                   aliases=[{"name": target.hostname, "zone_id": target.alias_zone_id,
                                             "evaluate_target_health": False}], opts=opts)
        elif self.provider == "route53" and target.apex_ip and "." not in fqdn.removesuffix(target.domain):
            self.record(resource_name, fqdn, "A", target.apex_ip, opts)
        else:
            self.record(resource_name, fqdn, "CNAME", target.hostname, opts, comment=target.description,
                        proxied=self.proxied)


@dataclass(frozen=True)
class SiteTarget:
    """Where apex/www/api point: CloudFront, an ALB, or Vercel."""
    #: The site's apex domain, e.g. example.com.
    domain: str
    #: The target's host name (CNAME or alias target), e.g. d123.cloudfront.net.
    hostname: pulumi.Input[str]
    #: Route 53 alias target zone (CloudFront, ALB); default None: CNAME records.
    alias_zone_id: pulumi.Input[str] | None = None
    #: Vercel's apex A record for DNS providers without flattening; default None.
    apex_ip: str | None = None
    #: Record comment on Cloudflare, e.g. CloudFront; default "".
    description: str = ""


def fqdns(domain: str) -> list[str]:
    return [f"{h}.{domain}" if h else domain for h in HOSTS]


def validated_certificate(name: str, domain: str, zone: DnsZone, tags: dict[str, str],
                          opts: pulumi.ResourceOptions, region: str | None = None,
                          validation_fqdns: list[pulumi.Output[str]] | None = None):
    """An ACM certificate for apex/www/api, DNS-validated through `zone`.

    Returns (certificate, validation, the validation records' names). ACM gives every certificate
    of an account the same validation CNAME for a name, in every region, and a second record for
    the same name fails ("already exists" on Route 53, an identical record on Cloudflare); so a
    second certificate for these names passes the first one's `validation_fqdns` and writes none.
    """
    names = fqdns(domain)
    cert = aws.acm.Certificate(f"{name}-cert", domain_name=names[0], subject_alternative_names=names[1:],
                               validation_method="DNS", key_algorithm="RSA_2048", region=region,
                               tags={**tags, "Name": f"{name}-cert"}, opts=opts)
    if validation_fqdns is None:
        validation_fqdns = []
        for i, fqdn in enumerate(names):
            option = _validation_option(cert, fqdn)
            validation_fqdns.append(zone.record_name(zone.record(
                f"{name}-validation-{i}", option.resource_record_name.apply(lambda n: n.rstrip(".")),
                "CNAME", option.resource_record_value.apply(lambda v: v.rstrip(".")), opts,
                comment="ACM validation")))
    validation = aws.acm.CertificateValidation(
        f"{name}-cert-validation", certificate_arn=cert.arn, region=region,
        validation_record_fqdns=validation_fqdns, opts=opts)
    return cert, validation, validation_fqdns


def _validation_option(cert: aws.acm.Certificate,
                       fqdn: str) -> pulumi.Output[aws.acm.outputs.CertificateDomainValidationOption]:
    """The record ACM asks for to validate `fqdn`."""
    return cert.domain_validation_options.apply(lambda options: next(o for o in options if o.domain_name == fqdn))

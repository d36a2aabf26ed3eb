"""The policy pack: `pulumi preview --policy-pack policies`. Rules live one module per concern."""

import alb  # noqa: F401  (each module registers its rules)
import backups  # noqa: F401
import cloudflare  # noqa: F401
import cloudfront  # noqa: F401
import cost  # noqa: F401
import ecs  # noqa: F401
import elasticache  # noqa: F401
import encryption  # noqa: F401
import iam  # noqa: F401
import logs  # noqa: F401
import monitoring  # noqa: F401
import network  # noqa: F401
import rds  # noqa: F401
import s3  # noqa: F401
import secretsmanager  # noqa: F401
import serverless  # noqa: F401
import stack  # noqa: F401
import tagging  # noqa: F401
import vercel  # noqa: F401
import waf  # noqa: F401
from _rules import REGISTRY
from pulumi_policy import EnforcementLevel, PolicyPack

PolicyPack(
    name="platform-guardrails",
    policies=REGISTRY,
    # Production is the default: every rule blocks. Staging relaxes named rules to advisory
    # with --policy-pack-config policies/config/staging.json.
    enforcement_level=EnforcementLevel.MANDATORY,
)

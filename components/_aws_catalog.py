"""What exists in AWS, for config checks that must not accept a name AWS would refuse at `up`:
regions (botocore's endpoint data), RDS DB instance classes and ElastiCache node types.

Each list names its source; none is fetched at run time (no network while a stack is evaluated).
"""

from __future__ import annotations

import difflib
import re
from functools import cache

import botocore  # type: ignore[import-untyped]  # botocore ships no type information (no py.typed)
import botocore.loaders  # type: ignore[import-untyped]

# The partition this program builds ARNs for: literal "arn:aws:" ARNs (the AWS-managed ECS task
# execution policy in components/ecs_service.py, CloudWatch's read-only policy for Chatbot in
# components/alarms.py) and services the other partitions lack (CloudFront with ACM in us-east-1,
# AWS Chatbot) would fail in aws-cn, aws-us-gov or the isolated partitions.
PARTITION = "aws"


@cache
def regions() -> dict[str, str]:
    """Every region botocore's endpoint data (botocore/data/endpoints.json, partitions -> regions)
    knows, with its partition: the list the AWS SDKs and CLI of this environment resolve."""
    data = botocore.loaders.create_loader().load_data("endpoints")
    return {region: p["partition"] for p in data["partitions"] for region in p["regions"]}


def region_problem(value: str) -> tuple[str, str | None] | None:
    """Why `value` cannot be this program's region, with the closest region of the aws partition;
    None when it can."""
    partition = regions().get(value)
    if partition == PARTITION:
        return None
    if partition:
        return (f"is a region of the {partition} partition; this program builds ARNs and uses services of the "
                f"aws partition only (arn:aws:... policies, CloudFront, AWS Chatbot)", None)
    ours = sorted(r for r, p in regions().items() if p == PARTITION)
    close = difflib.get_close_matches(value, ours, n=1, cutoff=0.6)
    hint = f"; did you mean '{close[0]}'?" if close else f" (e.g. {', '.join(ours[:3])}, …)"
    return (f"is not an AWS region botocore {botocore.__version__} knows (its endpoint data){hint}",
            close[0] if close else None)


# RDS DB instance classes. Source 1: the provider's own enum, pulumi_aws/rds/_enums.py InstanceType
# (pulumi-aws 7.x): it stops at the 6th generation (db.m6g, db.r6g) and holds classes RDS for
# PostgreSQL 13+ no longer offers (db.m1, db.t1, ...), so it cannot be the whole list.
# Source 2, the families it lacks with their sizes for RDS for PostgreSQL: Amazon RDS User Guide,
# "Supported DB engines for DB instance classes" (Concepts.DBInstanceClass.Support), read 2026-11-22.
# Neither says which region offers a class; `pulumi up` still fails on a class the region lacks.
RDS_FAMILIES_NOT_IN_THE_ENUM = {
    "db.m6i": ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge", "32xlarge"),
    "db.r6i": ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge", "32xlarge"),
    "db.m7g": ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge"),
    "db.r7g": ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge"),
    "db.m7i": ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge", "48xlarge"),
    "db.r7i": ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge", "48xlarge"),
    "db.m8g": ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge", "48xlarge"),
    "db.r8g": ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge", "48xlarge"),
}


@cache
def rds_instance_classes() -> frozenset[str]:
    from pulumi_aws.rds import InstanceType

    extra = {f"{family}.{size}" for family, sizes in RDS_FAMILIES_NOT_IN_THE_ENUM.items() for size in sizes}
    return frozenset({member.value for member in InstanceType} | extra)


_NODE = re.compile(r"cache\.[a-z0-9]+\.[a-z0-9]+")


@cache
def cache_node_types() -> frozenset[str]:
    """ElastiCache's current-generation node types, from botocore's own elasticache model: the
    CacheNode shape's documentation lists them (the API reference's list). Previous generations are
    left out: "creation of new clusters is not supported for these types" (the same text)."""
    model = botocore.loaders.create_loader().load_service_model("elasticache", "service-2")
    doc = re.sub(r"<[^>]+>", " ", model["shapes"]["CacheNode"]["documentation"])
    current = [part.split("Previous generation:")[0] for part in doc.split("Current generation:")[1:]]
    return frozenset(_NODE.findall(" ".join(current)))


def unknown(value: str, known: frozenset[str], what: str) -> tuple[str, str | None]:
    """Why `value` is refused, and the closest known name (None without one)."""
    close = difflib.get_close_matches(value, sorted(known), n=2, cutoff=0.6)
    return (f"is not {what}" + (f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""),
            close[0] if close else None)

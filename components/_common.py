"""Small builders several tiers share: a rotating KMS key and the IAM trust document."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws


def kms_key(name: str, description: str, tags: dict[str, str], opts: pulumi.ResourceOptions,
            region: str | None = None) -> aws.kms.Key:
    """A customer-managed key with yearly rotation and the longest deletion window."""
    return aws.kms.Key(name, description=description, enable_key_rotation=True,
                       deletion_window_in_days=30, region=region, tags=tags, opts=opts)


def assume_role_policy(service: str) -> str:
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                       "Principal": {"Service": service}}],
    })

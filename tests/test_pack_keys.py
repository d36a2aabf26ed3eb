"""KMS keys and SNS topics, written as a user would (policy_cases.Case)."""

from __future__ import annotations

import pulumi_aws as aws
import pytest
from policy_cases import Case, assert_case, ids

TAGS = {"Project": "platform", "Environment": "production", "Owner": "platform-team", "ManagedBy": "pulumi"}


def _key(rotate: bool):
    def program() -> None:
        aws.kms.Key("key", description="app data", enable_key_rotation=rotate, tags=TAGS)
    return program


CASES = [
    Case("kms-key-rotation", _key(False), _key(True), "enableKeyRotation is not true"),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_case(pack, case):
    assert_case(pack, case)

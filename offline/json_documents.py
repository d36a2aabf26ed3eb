"""Which inputs the AWS provider turns from an object into a JSON string before the analyzers see it.

pulumi-aws declares its policy-document inputs (`policy`, `assume_role_policy`, ...) with
`AltTypes: PolicyDocument` and `Transform: tfbridge.TransformJSONDocument` (pulumi-aws
provider/resources.go). The bridge applies the transform in the provider's Check
(pulumi-terraform-bridge pkg/tfbridge/transforms.go TransformJSONDocument: "We can't marshal
properties that contain unknowns. Turn these into an unknown value instead."), and the engine hands
Check's output to the analyzers (pulumi pkg/resource/deploy/step_generator.go: `inputs =
resp.Properties` before "Send the resource off to any Analyzers"). So a document the program passes
as an object reaches the pack as a JSON string, and as one unknown while any value in it is
unknown: offline/analyzer.py does the same to the recorded (pre-Check) inputs.

The SDK marks exactly those inputs `Union[str, 'PolicyDocumentArgs']` (pulumi_aws/iam/role.py
assume_role_policy ...): the table is read from the installed SDK, once per process.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from offline.evaluate import UNKNOWN, contains_unknown

_TOKEN = re.compile(r"super\(\w+, __self__\)\.__init__\(\s*'(aws:[^']+)'")
_FIELD = re.compile(r"^\s+([a-z_0-9]+): pulumi\.Input\[(?:Optional\[)?Union\[_builtins\.str, 'PolicyDocumentArgs'\]",
                    re.MULTILINE)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


@cache
def document_fields() -> dict[str, frozenset[str]]:
    """Type token -> the camelCase inputs the provider JSON-encodes."""
    import pulumi_aws

    out: dict[str, frozenset[str]] = {}
    for path in Path(pulumi_aws.__file__).parent.glob("*/*.py"):
        text = path.read_text()
        if "'PolicyDocumentArgs'" not in text:
            continue
        token = _TOKEN.search(text)
        fields = {_camel(f) for f in _FIELD.findall(text)}
        if token and fields:
            out[token.group(1)] = frozenset(fields)
    return out


def as_checked(resource_type: str, inputs: dict) -> dict:
    """A copy of `inputs` as the provider's Check returns them: each JSON-document input that the
    program gave as an object becomes its JSON string, or UNKNOWN when anything in it is unknown.
    Always a new dict: callers add the outputs to it, and the recorded graph is shared."""
    out = dict(inputs)
    for key in document_fields().get(resource_type, frozenset()) & out.keys():
        value: Any = out[key]
        if isinstance(value, (dict, list)):
            out[key] = UNKNOWN if contains_unknown(value) else json.dumps(value, separators=(",", ":"))
    return out

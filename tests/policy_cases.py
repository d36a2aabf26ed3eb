"""Policy fixtures written as a user would write the resources: a small program with the SDK classes
(pulumi_aws 7, pulumi_cloudflare, pulumiverse_vercel), evaluated under the same mocks as the real
program (conftest.inline_graph) and judged by the pack over the analyzer protocol.

A Case is a violating program and its compliant twin: the same resources with the one fix. The
violating graph must make the rule fire (at the given level, with the message, on a resource of
the violating program); the twin must not. Every other rule must judge both alike, so a case
proves what its rule reads and nothing else changed. Families live in tests/test_pack_*.py, each
with a CASES list; tests/test_policies.py checks that every rule of the pack has a case or fixture.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from conftest import inline_graph

from offline.analyzer import PolicyPackProcess, Verdict


@dataclass(frozen=True)
class Case:
    policy: str
    violating: Callable[[], None]
    compliant: Callable[[], None]
    message: str  # a part of the violation message
    id: str = ""  # pytest id suffix, when one policy has several cases
    preview: bool = False  # judge the preview graph (unknowns for computed values)
    config: Path | None = None  # a --policy-pack-config file; None: production's defaults
    level: str = "mandatory"
    stack: str = "production"

    @property
    def name(self) -> str:
        return f"{self.policy}-{self.id}" if self.id else self.policy


def judge(pack: PolicyPackProcess, case: Case, program: Callable[[], None]) -> Verdict:
    graph = inline_graph(program, preview=case.preview, stack=case.stack)
    return pack.analyze(graph, case.config)


def assert_case(pack: PolicyPackProcess, case: Case) -> None:
    bad, good = judge(pack, case, case.violating), judge(pack, case, case.compliant)
    fired = [d for d in bad.diagnostics if d.policy == case.policy]
    assert fired, f"{case.policy} did not fire; fired: {sorted(bad.fired())}"
    assert any(case.message in d.message for d in fired), [d.message for d in fired]
    assert all(d.level == case.level for d in fired), [(d.level, d.message) for d in fired]
    assert case.policy not in good.fired(), [d.message for d in good.diagnostics if d.policy == case.policy]
    assert bad.fired() ^ good.fired() == {case.policy}, (
        f"the twin differs in more than {case.policy}: {sorted(bad.fired() ^ good.fired())}")


def ids(cases: list[Case]) -> list[str]:
    return [c.name for c in cases]

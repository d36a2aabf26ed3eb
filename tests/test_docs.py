"""The README stays a short guide and every link in it and in docs/ leads somewhere: a relative
link names a file of the repo, and a `#fragment` names a heading of its target as GitHub makes
the anchor (lower case, punctuation dropped, spaces to hyphens, -1, -2 … for repeats)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^\s*```")
README_LINES = 250  # issue 17: the first screen and a short guide, references in docs/


def _prose(text: str) -> list[str]:
    """The lines outside fenced code blocks (a link in a code block is not a link)."""
    out, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            out.append(line)
    return out


def anchors(page: Path) -> set[str]:
    """GitHub's heading anchors: github-slugger (lower case; drop what is not a letter, digit,
    space, hyphen or underscore; each space to a hyphen; a repeat gets -1, -2, …)."""
    seen: dict[str, int] = {}
    out = set()
    for line in _prose(page.read_text()):
        m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not m:
            continue
        slug = re.sub(r"[^\w\- ]", "", m[1].strip().lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def links(page: Path) -> list[str]:
    return [m[1] for line in _prose(page.read_text()) for m in LINK.finditer(line)]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_link_resolves(page):
    broken = []
    for target in links(page):
        if re.match(r"[a-z]+:", target):  # https:, mailto:: not checked offline
            continue
        path, _, fragment = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists() or ROOT.resolve() not in (dest, *dest.parents):
            broken.append(f"{target}: no such file in the repo")
        elif fragment and dest.suffix == ".md" and fragment not in anchors(dest):
            broken.append(f"{target}: {dest.name} has no heading with the anchor #{fragment}")
    assert not broken, f"{page.relative_to(ROOT)}:\n  " + "\n  ".join(broken)


def test_every_docs_page_is_linked_from_the_readme():
    linked = {(README.parent / t.partition("#")[0]).resolve() for t in links(README)}
    orphans = [p.name for p in PAGES[1:] if p.resolve() not in linked]
    assert not orphans, f"docs/ pages the README does not link: {orphans}"


def test_the_readme_fits():
    n = len(README.read_text().splitlines())
    assert n <= README_LINES, f"README.md is {n} lines; move reference material into docs/ (limit {README_LINES})"


def test_the_anchor_rule_matches_github():
    page = ROOT / "docs" / "policy-pack.md"
    assert {"independent-scan-checkov", "how-the-pack-is-tested"} <= anchors(page)


def test_the_stack_table_states_each_stacks_log_retention():
    """The README's staging/production table against the stack files (it said 90 days after
    production moved to 365)."""
    row = next(line for line in README.read_text().splitlines() if line.startswith("| logs"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    for stack, cell in zip(("staging", "production"), cells[1:], strict=True):
        days = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]["platform:logRetentionDays"]
        assert cell == f"{days} days", (stack, cell, days)

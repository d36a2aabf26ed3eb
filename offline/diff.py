"""`./plan A --diff B` — what differs between two stacks, resource by resource, setting by setting.

Resources are matched by their URN without the stack (type chain + logical name). Settings are the
inputs of the preview-mode evaluation, where values computed by AWS are unknown on both sides, so
every difference shown comes from the stacks' configuration. Values that differ only by the stack's
name (tags, generated names) are counted, not listed. Secret values are never printed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from offline.evaluate import UNKNOWN, is_secret, natural_key

MAX_VALUE = 70


@dataclass
class Change:
    key: str   # type chain + name, without the stack
    name: str
    type: str
    settings: list[tuple[str, str, str]] = field(default_factory=list)  # (path, left, right)


@dataclass
class StackDiff:
    left: str
    right: str
    only_left: list[tuple[str, str]]   # (name, type)
    only_right: list[tuple[str, str]]
    changed: list[Change]
    same: int
    stack_name_only: int  # settings that differ only by the stack's name

    def to_dict(self) -> dict:
        return {"left": self.left, "right": self.right,
                "onlyLeft": [{"name": n, "type": t} for n, t in self.only_left],
                "onlyRight": [{"name": n, "type": t} for n, t in self.only_right],
                "changed": [{"name": c.name, "type": c.type,
                             "settings": [{"path": p, "left": a, "right": b} for p, a, b in c.settings]}
                            for c in self.changed],
                "unchanged": self.same, "settingsDifferingOnlyByStackName": self.stack_name_only}


def _key(r) -> str:
    return r.urn.split("::", 2)[2]  # urn:pulumi:<stack>::<project>::<type chain>::<name>


def _flatten(value: object, path: str, out: dict[str, object]) -> None:
    if is_secret(value):
        out[path] = "[secret]"
    elif isinstance(value, dict) and value:
        for k in sorted(value):
            _flatten(value[k], f"{path}.{k}" if path else k, out)
    elif isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
        for i, v in enumerate(value):
            _flatten(v, f"{path}[{i}]", out)
    else:
        out[path] = value


def _show(value, inner: bool = False) -> str:
    if value is None:
        return "(not set)"
    if value == UNKNOWN:
        return "<unknown>" if inner else "(known after apply)"
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # protobuf Structs carry every number as a double
    if isinstance(value, bool):
        text = str(value).lower()
    elif isinstance(value, list):
        text = "[" + ", ".join(_show(v, inner=True) for v in value) + "]"
    elif isinstance(value, str) and value != "[secret]":
        text = repr(value)
    else:
        text = str(value)
    return text if len(text) <= MAX_VALUE else text[:MAX_VALUE - 1] + "…"


def diff(left, right) -> StackDiff:
    """Compare two preview-mode graphs."""
    lefts = {_key(r): r for r in left.resources if r.type != "pulumi:pulumi:Stack"}
    rights = {_key(r): r for r in right.resources if r.type != "pulumi:pulumi:Stack"}

    def sub(text: str, stack: str) -> str:
        return re.sub(rf"\b{re.escape(stack)}\b", "<stack>", text)

    changed, same, by_name = [], 0, 0
    for key in sorted(set(lefts) & set(rights), key=lambda k: (natural_key(k.rsplit("::", 1)[1]), k)):
        a: dict[str, object] = {}
        b: dict[str, object] = {}
        _flatten(lefts[key].inputs, "", a)
        _flatten(rights[key].inputs, "", b)
        settings = []
        for path in sorted(set(a) | set(b), key=natural_key):
            va, vb = a.get(path), b.get(path)
            if va == vb:
                continue
            if isinstance(va, str) and isinstance(vb, str) and sub(va, left.stack) == sub(vb, right.stack):
                by_name += 1
                continue
            settings.append((path, _show(va), _show(vb)))
        if settings:
            r = lefts[key]
            changed.append(Change(key, r.name, r.type, settings))
        else:
            same += 1

    def only(mine: dict, other: dict) -> list[tuple[str, str]]:
        return sorted(((r.name, r.type) for k, r in mine.items() if k not in other), key=lambda x: (natural_key(x[0]), x[1]))

    return StackDiff(left.stack, right.stack, only(lefts, rights), only(rights, lefts), changed, same, by_name)


def cost_comparison(d: StackDiff, a, b) -> dict:
    """Both estimates side by side (the diff's JSON): each total with its unpriced count, and the
    difference only when it compares like with like (nothing unpriced on either side)."""
    comparable = not a.unpriced and not b.unpriced
    return {"currency": a.currency,
            d.left: {"monthlyTotal": a.total, "unpriced": a.unpriced, "budget": a.budget},
            d.right: {"monthlyTotal": b.total, "unpriced": b.unpriced, "budget": b.budget},
            "comparable": comparable, "difference": round(b.total - a.total, 2) if comparable else None}


def cost_line(d: StackDiff, a, b) -> str:
    """The monthly estimates of both stacks. A total that leaves resources out is a lower bound, so
    the difference of two such totals says nothing about which stack costs more: it is not shown."""
    if a.unpriced or b.unpriced:
        gaps = " and ".join(f"{n} unpriced in {stack}" for stack, n in ((d.left, a.unpriced), (d.right, b.unpriced))
                            if n)
        delta = f"difference not comparable: {gaps}, each total a lower bound"
    else:
        delta = f"{b.total - a.total:+,.2f}"
    return (f"  monthly estimate: {a.total:,.2f} → {b.total:,.2f} {a.currency} ({delta}); "
            f"budget: {a.budget or 0:,.2f} → {b.budget or 0:,.2f}; unpriced: {a.unpriced} → {b.unpriced}")


def render(d: StackDiff, costs: tuple | None = None) -> list[str]:
    lines = [f"Diff of stack '{d.left}' → '{d.right}' (preview-mode inputs; secrets shown as [secret])"]
    if costs:
        lines.append(cost_line(d, *costs))
    lines.append(f"  {len(d.only_right)} only in {d.right}, {len(d.only_left)} only in {d.left}, "
                 f"{len(d.changed)} changed, {d.same} the same"
                 + (f" ({d.stack_name_only} settings differ only by the stack's name: not shown)"
                    if d.stack_name_only else ""))
    for title, items, mark in ((f"only in {d.right}", d.only_right, "+"), (f"only in {d.left}", d.only_left, "-")):
        if items:
            lines.append(f"\n{title} ({len(items)}):")
            lines += [f"  {mark} {name}  ({typ})" for name, typ in items]
    if d.changed:
        lines.append(f"\nchanged ({len(d.changed)}):")
        for c in d.changed:
            lines.append(f"  ~ {c.name}  ({c.type})")
            lines += [f"      {path}: {a} → {b}" for path, a, b in c.settings]
    return lines

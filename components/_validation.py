"""Argument checks shared by the components' Settings classes.

Every Settings class collects all of its problems and raises one InvalidArgs, so a caller (the
stack config loader, a test, another program) sees every bad input at once, each named with the
value it had and what is allowed.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from components._aws_catalog import region_problem, unknown

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T")

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAILY = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")
_WEEKLY = re.compile(
    r"^(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):([0-5]\d)-"
    r"(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):([0-5]\d)$"
)
WEEK_MINUTES = 7 * 24 * 60
# The retention values CloudWatch Logs accepts (also used for S3 access-log expiry).
CLOUDWATCH_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096,
                             1827, 2192, 2557, 2922, 3288, 3653)


def bounded(lo: int, hi: int, default: int) -> int:
    """A Settings field holding an integer from lo to hi. The range is declared here once:
    Checker.declared checks it and the configuration table (offline/configdoc.py) shows it."""
    return dataclasses.field(default=default, metadata={"range": (lo, hi)})


def choice(options: tuple[T, ...], default: T) -> T:
    """A Settings field holding one of `options` (declared once, like bounded)."""
    return dataclasses.field(default=default, metadata={"choices": options})


def choices(options: tuple[T, ...], default: tuple[T, ...]) -> tuple[T, ...]:
    """A Settings field holding a tuple whose every element is one of `options`."""
    return dataclasses.field(default=default, metadata={"choices": options})


def declared_rule(metadata: Mapping[str, object]) -> str | None:
    """What a bounded/choice field allows, in the words of the configuration table."""
    rng = metadata.get("range")
    if isinstance(rng, tuple):
        return f"{rng[0]} to {rng[1]}"
    options = metadata.get("choices")
    if isinstance(options, tuple):
        return ", ".join(str(o) for o in options)
    return None


@dataclass(frozen=True)
class Problem:
    field: str
    value: object
    allowed: str
    # The closest allowed value, for the fixing command (keyword-only: subclasses add fields).
    suggestion: str | None = dataclasses.field(default=None, kw_only=True)


class InvalidArgs(ValueError):
    """One or more inputs of a component are out of range; `problems` names each."""

    def __init__(self, owner: str, problems: list[Problem]):
        self.owner = owner
        self.problems = problems
        lines = [f"{p.field}={p.value!r}: {p.allowed}" for p in problems]
        super().__init__(f"invalid {owner}: " + "; ".join(lines))


class Checker:
    def __init__(self, owner: str):
        self.owner = owner
        self.problems: list[Problem] = []

    def require(self, ok: bool, field: str, value: object, allowed: str, suggestion: str | None = None) -> bool:
        if not ok:
            self.problems.append(Problem(field, value, allowed, suggestion=suggestion))
        return ok

    def in_range(self, field: str, value: int, lo: int, hi: int) -> bool:
        return self.require(lo <= value <= hi, field, value, f"must be an integer from {lo} to {hi}")

    def one_of(self, field: str, value: object, choices: Collection[object]) -> bool:
        shown = ", ".join(str(c) for c in choices)
        return self.require(value in choices, field, value, f"must be one of {shown}")

    def matches(self, field: str, value: str, pattern: re.Pattern[str], allowed: str) -> bool:
        return self.match(field, value, pattern, allowed) is not None

    def match(self, field: str, value: str, pattern: re.Pattern[str], allowed: str) -> re.Match[str] | None:
        """`pattern`'s match of `value` for reading its groups; None (and a problem) when it does not match."""
        m = pattern.match(value)
        self.require(m is not None, field, value, allowed)
        return m

    def declared(self, settings: DataclassInstance, *fields: str) -> bool:
        """Check each named field against the range or choices its declaration holds (bounded,
        choice, choices), with in_range's and one_of's messages. Named rather than all at once so
        each check keeps its place among the class's other checks (the order of the problems)."""
        meta = {f.name: f.metadata for f in dataclasses.fields(settings)}
        ok = True
        for name in fields:
            value = getattr(settings, name)
            rng, options = meta[name].get("range"), meta[name].get("choices")
            if rng is not None:
                ok = self.in_range(name, value, *rng) and ok
            elif options is not None:
                for item in value if isinstance(value, tuple) else (value,):
                    ok = self.one_of(name, item, options) and ok
            else:
                raise TypeError(f"{type(settings).__name__}.{name} is not declared with bounded or choice")
        return ok

    def region(self, field: str, value: str, optional: bool = False) -> bool:
        """A region of botocore's endpoint data, in the aws partition (components/_aws_catalog.py)."""
        if optional and value == "":
            return True
        problem = region_problem(value)
        return self.require(problem is None, field, value, *(problem or ("", None)))

    def known(self, field: str, value: str, options: frozenset[str], what: str) -> bool:
        """`value` is one of `options` (a catalog of what exists in AWS), else a did-you-mean."""
        return self.require(value in options, field, value, *unknown(value, options, what))

    def cidrs(self, field: str, values: Iterable[str], min_prefix: int = 8) -> None:
        """Client CIDRs for a security group rule: valid networks, never the whole internet."""
        for value in values:
            try:
                net = ipaddress.ip_network(value, strict=True)
            except ValueError:
                self.require(False, field, value, f"{value} is not a CIDR: use networks such as 10.20.0.0/16")
                continue
            self.require(
                net.prefixlen >= min_prefix,
                field,
                value,
                f"{value} opens the port to the internet: use a prefix of /{min_prefix} or longer",
            )

    def daily_window(self, field: str, value: str, min_minutes: int) -> tuple[int, int] | None:
        m = self.match(field, value, _DAILY, "must be hh:mm-hh:mm in UTC, e.g. 03:00-04:00")
        if m is None:
            return None
        start = int(m[1]) * 60 + int(m[2])
        end = int(m[3]) * 60 + int(m[4])
        length = (end - start) % (24 * 60)
        if not self.require(
            length >= min_minutes, field, value, f"must be at least {min_minutes} minutes long"
        ):
            return None
        return start, length

    def weekly_window(self, field: str, value: str, min_minutes: int) -> tuple[int, int] | None:
        m = self.match(field, value, _WEEKLY, "must be ddd:hh:mm-ddd:hh:mm in UTC, e.g. sun:04:30-sun:05:30")
        if m is None:
            return None
        start = DAYS.index(m[1]) * 1440 + int(m[2]) * 60 + int(m[3])
        end = DAYS.index(m[4]) * 1440 + int(m[5]) * 60 + int(m[6])
        length = (end - start) % WEEK_MINUTES
        if not self.require(
            length >= min_minutes, field, value, f"must be at least {min_minutes} minutes long"
        ):
            return None
        return start, length

    def windows_apart(self, field: str, value: str, daily: tuple[int, int] | None,
                      weekly: tuple[int, int] | None, other: str) -> None:
        """AWS refuses a daily backup window that overlaps the weekly maintenance window."""
        if daily is None or weekly is None:
            return
        d_start, d_len = daily
        w_start, w_len = weekly
        for day in range(7):
            start = day * 1440 + d_start
            if _overlaps(start, d_len, w_start, w_len):
                self.require(False, field, value, f"must not overlap {other}")
                return

    def raise_if_any(self) -> None:
        if self.problems:
            raise InvalidArgs(self.owner, self.problems)


def _overlaps(a_start: int, a_len: int, b_start: int, b_len: int) -> bool:
    # Compare on the weekly circle: shift so that b starts at 0.
    rel = (a_start - b_start) % WEEK_MINUTES
    return rel < b_len or rel + a_len > WEEK_MINUTES

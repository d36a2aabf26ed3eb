"""Shared fixtures: the real program evaluated offline, per stack and mode, cached per session."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import sys
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from offline.cliconfig import ConfigValue, engine_config, read_stack_file  # noqa: E402
from offline.evaluate import Graph, run, stack_file  # noqa: E402
from stack_config import ConfigError  # noqa: E402

STACKS = ("staging", "production")
EXAMPLES = ("study-sphere", "generic-guide", "project-spark", "group-spaces", "contribux")


@cache
def takes_tags(typ: str) -> bool:
    """Whether the provider SDK's resource class takes `tags` (the ground truth for tag rules)."""
    package, module_path, _ = typ.split(":")
    module = importlib.import_module(f"pulumi_{package}." + module_path.split("/")[0].replace("index", ""))
    cls = getattr(module, typ.rsplit(":", 1)[1])
    return "tags" in inspect.signature(cls._internal_init).parameters


def example_file(app: str) -> Path:
    return ROOT / "examples" / app / "Pulumi.production.yaml"


def config_of(stack: str, example: str | None = None, secret: tuple[str, ...] = (),
              **overrides) -> tuple[dict[str, str], set[str]]:
    """The stack file with `overrides` applied as `pulumi config set` stores them (a str is a plain
    value, a list an array as `--path 'key[0]'` makes it, None removes the key; keys in `secret`
    as `--secret`), then handed over as the CLI does (defaults merged, types checked)."""
    values = read_stack_file(example_file(example) if example else stack_file(stack))
    for key, value in overrides.items():
        full = key if ":" in key else f"platform:{key}"
        if value is None:
            values.pop(full, None)
        else:
            values[full] = ConfigValue.of(value, secure=key in secret)
    for key in secret:
        full = f"platform:{key}"
        if full in values and not values[full].secure:
            values[full] = dataclasses.replace(values[full], secure=True)
    return engine_config(values, "production" if example else stack)


APP_PREFIXES = ("app", "ecs", "vercel", "cdn", "rateLimit", "cloudflare")


def without_app(stack: str = "staging") -> dict[str, None]:
    """Overrides that remove the stack's app tier and edge (for tests of the data tier alone)."""
    values = read_stack_file(stack_file(stack))
    return {k.split(":", 1)[1]: None for k in values if k.split(":", 1)[1].startswith(APP_PREFIXES)}


def evaluate(stack: str = "staging", *, preview: bool = False, secret: tuple[str, ...] = (),
             example: str | None = None, **overrides) -> Graph:
    """The stack's YAML (or a seed example's) with `overrides` ({"postgresReadReplicas": "3"}) evaluated offline."""
    if example:
        stack = "production"
    raw, secret_keys = config_of(stack, example, secret, **overrides)
    return run(raw, secret_keys, stack, preview=preview)


def config_error(stack: str = "staging", secret: tuple[str, ...] = (), example: str | None = None,
                 **overrides) -> str:
    """Evaluate and expect a ConfigError with nothing registered; return its message."""
    if example:
        stack = "production"
    raw, secret_keys = config_of(stack, example, secret, **overrides)
    graph = Graph(stack=stack, preview=False)
    with pytest.raises(ConfigError) as info:
        run(raw, secret_keys, stack, preview=False, graph=graph)
    registered = [r.type for r in graph.resources if r.type != "pulumi:pulumi:Stack"]
    assert registered == [], f"resources registered before the config error: {registered}"
    return str(info.value)


_cache: dict[tuple[str, bool], Graph] = {}


def example_graph(app: str, preview: bool = False) -> Graph:
    key = (f"example:{app}", preview)
    if key not in _cache:
        _cache[key] = evaluate(example=app, preview=preview)
    return _cache[key]


def stack_graph(stack: str, preview: bool = False) -> Graph:
    key = (stack, preview)
    if key not in _cache:
        _cache[key] = evaluate(stack, preview=preview)
    return _cache[key]


@pytest.fixture(params=STACKS)
def any_stack(request) -> Graph:
    return stack_graph(request.param)


@pytest.fixture
def staging() -> Graph:
    return stack_graph("staging")


@pytest.fixture
def production() -> Graph:
    return stack_graph("production")

"""Stack config as the Pulumi CLI hands it to a program, step by step from the CLI's source.

Read against pulumi/pulumi (commit 1b59498, 2026-08-21):
1. The stack file is parsed with gopkg.in/yaml.v3, namespaced with the project name, marshalled
   and parsed again into a config.Map (sdk/go/common/workspace/loaders.go, LoadProjectStackBytes,
   stackConfigNamespacedWithProject). Each value becomes a config.Value: a scalar as its text,
   a list or map as compact JSON with `object` set, `secure:` as ciphertext
   (sdk/go/common/resource/config/object.go, unmarshalObject and MarshalString).
2. Every `config:` key of Pulumi.yaml that the stack does not set gets its default
   (pkg/workspace/config.go, mergeConfig through ValidateStackConfigAndApplyProjectConfig; the
   value is made by createConfigValue: "%v" for string/int/bool, JSON for anything else).
3. Every declared key is checked against its type, the first failure in key order stops the run
   (pkg/workspace/config.go, validateStackConfigValues and validateStackConfigValue;
   sdk/go/common/workspace/project.go, ValidateConfigValue).
4. The engine decrypts the map (sdk/go/common/resource/config/map.go, Map.Decrypt: text as is,
   objects as JSON) and lists the keys holding secure values (Map.SecureKeys); the language host
   passes both as the environment variables PULUMI_CONFIG and PULUMI_CONFIG_SECRET_KEYS
   (pkg/resource/deploy/source_eval.go, evalSource.Iterate; sdk/python/cmd/pulumi-language-python
   main.go, pythonLanguageHost.Run, constructConfig and constructConfigSecretKeys).

Offline, a ciphertext cannot be decrypted: secure values read from a file become a placeholder
(still flagged secret). A value a test sets with `secure=True` keeps its plain text, as if it came
from `pulumi config set --secret`.
"""

from __future__ import annotations

import builtins
import copy
import functools
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

PROJECT_FILE = Path(__file__).resolve().parent.parent / "Pulumi.yaml"
# Stand-in for values encrypted with the stack's secrets provider (never decrypted offline).
SECRET_PLACEHOLDER = "offline://secret-placeholder"


class StackFileError(Exception):
    """The stack file is missing or not a Pulumi stack file."""


class CliConfigError(StackFileError):
    """What the CLI itself refuses before the program starts (a stack value of the wrong type)."""


@dataclass(frozen=True)
class ConfigValue:
    """A config.Value: its text (JSON when `object`), and whether it is secure."""

    text: str
    secure: bool = False
    object: bool = False

    @classmethod
    def of(cls, value: builtins.object, *, secure: bool = False) -> ConfigValue:  # the field `object` shadows it here
        """What `pulumi config set` stores: a str as text, a list or dict (from --path) as an object."""
        if isinstance(value, (list, dict)):
            return cls(go_json(value), secure, True)
        return cls(str(value), secure, False)


# ---- 1. the stack file, read as yaml.v3 reads it -----------------------------------------------
class _GoYamlLoader(yaml.SafeLoader):
    """PyYAML implements YAML 1.1 (`yes`, `on`, `0777`, `1_000`, sexagesimals); yaml.v3 resolves
    plain scalars by its own table (resolve.go, resolve). Every plain scalar goes through
    `_go_resolve`; quoted ones stay strings."""


_GoYamlLoader.yaml_implicit_resolvers = {}
_GO_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_GO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_GO_MAP = {**dict.fromkeys(("true", "True", "TRUE"), True), **dict.fromkeys(("false", "False", "FALSE"), False),
           **dict.fromkeys(("", "~", "null", "Null", "NULL"), None),
           **dict.fromkeys((".nan", ".NaN", ".NAN"), math.nan),
           **dict.fromkeys((".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"), math.inf),
           **dict.fromkeys(("-.inf", "-.Inf", "-.INF"), -math.inf)}


def _go_int(text: str) -> int | None:
    """strconv.ParseInt(text, 0, 64): 0x, 0o, 0b and a leading 0 (octal) prefixes."""
    sign, digits = (-1, text[1:]) if text[:1] == "-" else (1, text[1:] if text[:1] == "+" else text)
    base = 10
    for prefix, b in (("0x", 16), ("0X", 16), ("0o", 8), ("0O", 8), ("0b", 2), ("0B", 2)):
        if digits.startswith(prefix):
            digits, base = digits[2:], b
            break
    else:
        if len(digits) > 1 and digits.startswith("0"):
            digits, base = digits[1:], 8
    try:
        value = sign * int(digits, base) if digits and digits.isalnum() else None
    except ValueError:
        return None
    return value if value is not None and -(2 ** 63) <= value < 2 ** 64 else None


def _go_resolve(text: str):
    if text in _GO_MAP:
        return _GO_MAP[text]
    hint = text[:1]
    if hint == ".":
        try:
            return float(text)
        except ValueError:
            return text
    if hint and (hint.isdigit() or hint in "+-"):
        date = _GO_DATE.match(text)
        if date:  # a time.Time, which config's unmarshalObject turns into its String()
            y, m, d = (int(g) for g in date.groups())
            return f"{y:04d}-{m:02d}-{d:02d} 00:00:00 +0000 UTC"
        plain = text.replace("_", "")
        as_int = _go_int(plain)
        if as_int is not None:
            return as_int
        if _GO_FLOAT.match(plain):
            return float(plain)
    return text


def _construct_str(loader: yaml.SafeLoader, node: yaml.ScalarNode):
    value = loader.construct_scalar(node)
    return _go_resolve(value) if node.style is None and node.tag == "tag:yaml.org,2002:str" else value


_GoYamlLoader.add_constructor("tag:yaml.org,2002:str", _construct_str)


def go_yaml_load(text: str):
    # The same file is read again for every evaluation (Pulumi.yaml's 500 lines took 0.05-0.08 s
    # each time): parsed once per distinct text, and each caller gets its own copy to change.
    return copy.deepcopy(_go_yaml_parse(text))


@functools.lru_cache(maxsize=64)
def _go_yaml_parse(text: str):
    return yaml.load(text, Loader=_GoYamlLoader)  # noqa: S506 - a SafeLoader subclass


def go_json(value) -> str:
    """encoding/json.Marshal: compact, map keys sorted, <>& and U+2028/9 escaped, whole floats as ints."""
    def norm(v):
        if isinstance(v, float) and v.is_integer() and abs(v) < 1e21:
            return int(v)
        if isinstance(v, dict):
            return {str(k): norm(x) for k, x in v.items()}
        if isinstance(v, list):
            return [norm(x) for x in v]
        return v

    text = json.dumps(norm(value), separators=(",", ":"), sort_keys=True, ensure_ascii=False, allow_nan=False)
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(raw, escaped)
    return text


def _is_secure(value) -> bool:
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get("secure"), str)


def _decrypted(value):
    """An object's plain value, each ciphertext replaced by the placeholder (Map.Decrypt)."""
    if _is_secure(value):
        return SECRET_PLACEHOLDER
    if isinstance(value, dict):
        return {k: _decrypted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decrypted(v) for v in value]
    return value


def _contains_secure(value) -> bool:
    if _is_secure(value):
        return True
    if isinstance(value, dict):
        return any(_contains_secure(v) for v in value.values())
    if isinstance(value, list):
        return any(_contains_secure(v) for v in value)
    return False


def _scalar_text(value) -> str:
    """object.MarshalString for a scalar: bool/number as JSON, string as is."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return go_json(value)
    return value


def config_key(project: str, key: str) -> str:
    """config.ParseKey, with the project as namespace for a bare key (stackConfigNamespacedWithProject)."""
    colons = key.count(":")
    if colons == 0:
        return f"{project}:{key}"
    if colons == 1:
        return key
    if colons == 2 and key.split(":")[1] == "config":  # the old <namespace>:config:<name> form
        ns, _, name = key.split(":")
        return f"{ns}:{name}"
    raise StackFileError(f"could not parse {key} as a configuration key "
                         "(configuration keys should be of the form `<namespace>:<name>`)")


def read_stack_file(path: Path, project: str = "platform") -> dict[str, ConfigValue]:
    """The stack file's `config:` as config.Values, keyed "namespace:name"."""
    if not path.is_file():
        raise StackFileError(f"no stack file {path}: create it with `pulumi stack init <name>` "
                             "and `pulumi config set`, or copy Pulumi.staging.yaml")
    try:
        doc = go_yaml_load(path.read_text(encoding="utf-8-sig"))  # readFileStripUTF8BOM
    except yaml.YAMLError as err:
        raise StackFileError(f"{path.name} is not valid YAML: {err}") from None
    if doc is None:
        return {}
    if not isinstance(doc, dict) or not isinstance(doc.get("config") or {}, dict):
        raise StackFileError(f"{path.name} must be a mapping with a `config:` mapping inside")
    values: dict[str, ConfigValue] = {}
    for key, value in (doc.get("config") or {}).items():
        full = config_key(project, str(key))
        if _is_secure(value):
            values[full] = ConfigValue(SECRET_PLACEHOLDER, secure=True)
        elif isinstance(value, (list, dict)) or value is None:  # nil marshals as the object `null`
            values[full] = ConfigValue(go_json(_decrypted(value)), _contains_secure(value), True)
        else:
            values[full] = ConfigValue(_scalar_text(value))
    return values


# ---- 2-4. merge the project's defaults, check types, hand over -------------------------------
def project_schema(path: Path = PROJECT_FILE) -> tuple[str, dict[str, dict]]:
    doc = go_yaml_load(path.read_text(encoding="utf-8-sig"))
    return doc["name"], doc.get("config") or {}


def _default_value(default) -> ConfigValue:
    """createConfigValue: string, int and bool through "%v"; anything else as a JSON object."""
    if isinstance(default, bool):
        return ConfigValue("true" if default else "false")
    if isinstance(default, (str, int)):
        return ConfigValue(str(default))
    return ConfigValue(go_json(default), False, True)


def _type_name(spec: dict) -> str:
    """workspace.InferFullTypeName."""
    items = spec.get("items")
    return f"array<{_type_name(items)}>" if items else spec["type"]


def _atoi(text: str) -> bool:
    """strconv.Atoi on a 64-bit build: ASCII digits with an optional sign, within int64."""
    return re.fullmatch(r"[+-]?[0-9]+", text) is not None and -(2 ** 63) <= int(text) < 2 ** 63


def _valid(type_name: str, items: dict | None, value) -> bool:
    """workspace.ValidateConfigValue."""
    if type_name == "string":
        return isinstance(value, str)
    if type_name == "integer":
        if isinstance(value, bool):
            return False
        if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
            return True
        return isinstance(value, str) and _atoi(value)
    if type_name == "boolean":
        return value in ("true", "false") or isinstance(value, bool)
    if type_name == "object":
        return isinstance(value, dict)
    if not isinstance(value, list) or not items:
        return False
    return all(_valid(items["type"], items.get("items"), v) for v in value)


def engine_config(stack_values: dict[str, ConfigValue], stack: str,
                  project_file: Path = PROJECT_FILE) -> tuple[dict[str, str], set[str]]:
    """(PULUMI_CONFIG, PULUMI_CONFIG_SECRET_KEYS) for the program, or CliConfigError as the CLI says it."""
    project, schema = project_schema(project_file)
    merged = dict(stack_values)
    missing = []
    for key in sorted(schema):
        spec = schema[key] or {}
        full = config_key(project, key)
        if full in merged:
            continue
        if "default" in spec or "value" in spec:
            merged[full] = _default_value(spec.get("default", spec.get("value")))
        elif full.startswith(f"{project}:"):
            missing.append(key)
    if missing:
        shown = " ".join(f"'{k}'" for k in missing) if len(missing) == 1 else (
            ", ".join(f"'{k}'" for k in missing[:-1]) + f" and '{missing[-1]}'")
        raise CliConfigError(f"Stack '{stack}' is missing configuration value{'s' * (len(missing) > 1)} {shown}")
    for key in sorted(schema):
        spec = schema[key] or {}
        if "type" not in spec:
            continue  # not explicitly typed: nothing to check
        value = merged[config_key(project, key)]
        if spec.get("secret") and not value.secure:
            raise CliConfigError(f"Stack '{stack}' with configuration key '{key}' must be encrypted as it's secret")
        content = json.loads(value.text) if value.object else value.text
        if not _valid(spec["type"], spec.get("items"), content):
            raise CliConfigError(f"Stack '{stack}' with configuration key '{key}' must be of type "
                                 f"'{_type_name(spec)}'")
    return {k: v.text for k, v in merged.items()}, {k for k, v in merged.items() if v.secure}


def read_stack_config(path: Path, stack: str) -> tuple[dict[str, str], set[str]]:
    """The stack file at `path` as the program sees it under `pulumi preview --stack <stack>`."""
    return engine_config(read_stack_file(path), stack)

"""Read, validate, diff and apply tenant files.

``validate_dir`` reports *every* problem with file, key and a plain sentence; a directory with
any problem is applied not at all. ``apply`` is idempotent: it writes only what changed and
says what that was.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from motcua.db.database import SLUG
from motcua.tenancy.schema import Tenant, TenantFile

SECRET_WORDS = re.compile(r"(secret|password|passwd|token|api_key|apikey|private_key)$", re.I)


@dataclass(frozen=True)
class Problem:
    file: str
    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.key or '(file)'}: {self.message}"


@dataclass
class Loaded:
    tenants: list[Tenant] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def _unwrap(tp: Any) -> Any:
    """Annotated[X, ...] -> X; Optional[Struct] -> Struct (for recursion only)."""
    if typing.get_origin(tp) is typing.Annotated:
        return typing.get_args(tp)[0]
    return tp


def _struct_in(tp: Any) -> type[msgspec.Struct] | None:
    tp = _unwrap(tp)
    if isinstance(tp, type) and issubclass(tp, msgspec.Struct):
        return tp
    for arg in typing.get_args(tp):
        if isinstance(arg, type) and issubclass(arg, msgspec.Struct):
            return arg
    return None


def _describe(err: msgspec.ValidationError) -> str:
    text = str(err)
    text = re.sub(r" - at `\$[^`]*`$", "", text)
    return text[0].lower() + text[1:] if text else "invalid value"


def check_struct(value: Any, typ: type[msgspec.Struct], path: str, problems: list[tuple[str, str]]) -> None:
    """Collect every structural problem instead of stopping at the first, as msgspec does."""
    if not isinstance(value, Mapping):
        problems.append((path, f"must be a table, not {type(value).__name__}"))
        return
    hints = typing.get_type_hints(typ, include_extras=True)
    fields = {f.encode_name: f for f in msgspec.structs.fields(typ)}
    for key in value:
        if key not in fields:
            suggestion = difflib.get_close_matches(str(key), list(fields), n=1, cutoff=0.6)
            hint = f" (did you mean '{suggestion[0]}'?)" if suggestion else f"; known keys: {', '.join(sorted(fields))}"
            problems.append((f"{path}.{key}".lstrip("."), f"unknown key{hint}"))
    for name, f in fields.items():
        where = f"{path}.{name}".lstrip(".")
        if name not in value:
            if f.required:
                problems.append((where, "is required but missing"))
            continue
        tp, item = hints[f.name], value[name]
        nested = _struct_in(tp)
        origin = typing.get_origin(_unwrap(tp))
        if nested is not None and isinstance(item, Mapping) and origin is not list:
            check_struct(item, nested, where, problems)
        elif origin is list and nested is not None and isinstance(item, list):
            for i, element in enumerate(item):
                check_struct(element, nested, f"{where}[{i}]", problems)
        elif origin is dict and isinstance(item, Mapping):
            value_type = typing.get_args(_unwrap(tp))[1]
            for key, element in item.items():
                try:
                    msgspec.convert(element, type=value_type, strict=True)
                except msgspec.ValidationError as exc:
                    problems.append((f"{where}.{key}", _describe(exc)))
        else:
            try:
                msgspec.convert(item, type=tp, strict=True)
            except msgspec.ValidationError as exc:
                problems.append((where, _describe(exc)))


def _secret_looking_keys(value: Any, path: str = "") -> list[str]:
    found: list[str] = []
    if isinstance(value, Mapping):
        for k, v in value.items():
            where = f"{path}.{k}".lstrip(".")
            if isinstance(v, str) and SECRET_WORDS.search(str(k)) and not str(k).endswith("_env"):
                found.append(where)
            found += _secret_looking_keys(v, where)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += _secret_looking_keys(v, f"{path}[{i}]")
    return found


def _wards(stat_code: str) -> dict[str, str]:
    from vietnam_provinces import Ward

    return {str(int(w.code)): w.name for w in Ward.iter_all() if int(w.province_code) == int(stat_code)}


def province_name(stat_code: str) -> str | None:
    from vietnam_provinces import Province, ProvinceCode

    try:
        return Province.from_code(ProvinceCode(int(stat_code))).name
    except ValueError:
        return None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def semantic_problems(slug: str, raw: Mapping[str, Any], adapter_families: Any | None,
                      broken: set[str] = frozenset()) -> list[tuple[str, str]]:
    """Checks that need more than types. They read the raw table defensively so that they run
    even where other keys are broken, and skip what the structural pass already reported."""
    out: list[tuple[str, str]] = []
    if not SLUG.fullmatch(slug):
        out.append(("", f"the file name '{slug}' must be a lower-case ASCII slug like 'ca-mau'"))
    stat_code, name = _str(raw.get("stat_code")), _str(raw.get("name")) or ""
    real = province_name(stat_code) if stat_code and "stat_code" not in broken else None
    if stat_code and "stat_code" not in broken and real is None:
        out.append(("stat_code", f"'{stat_code}' is not a province code since the 2025 reorganisation"))
    elif real and name and real.lower() not in name.lower():
        out.append(("name", f"'{name}' does not match the province with statistical code {stat_code} ({real})"))
    configs = {"adapter": raw.get("adapter")}
    extra = raw.get("adapters")
    if isinstance(extra, Mapping):
        configs |= {f"adapters.{k}": v for k, v in extra.items()}
    for where, cfg in configs.items():
        if not isinstance(cfg, Mapping):
            continue
        secrets = cfg.get("secrets")
        for key in secrets if isinstance(secrets, Mapping) else ():
            if not str(key).endswith("_env") and f"{where}.secrets.{key}" not in broken:
                out.append((f"{where}.secrets.{key}", "secret keys must end in '_env' and name an environment variable"))
        family = _str(cfg.get("family"))
        if adapter_families is None or family is None:
            continue
        if family not in adapter_families:
            known = ", ".join(c.family for c in adapter_families) or "none"
            out.append((f"{where}.family", f"no adapter family '{family}' is installed (installed: {known})"))
        elif isinstance(cfg.get("settings", {}), Mapping):
            try:
                adapter_families.settings_for(family, cfg.get("settings", {}))
            except msgspec.ValidationError as exc:
                out.append((f"{where}.settings", _describe(exc)))
    for i, former in enumerate(raw.get("former") or []):
        adapter = _str(former.get("adapter")) if isinstance(former, Mapping) else None
        if adapter and not (isinstance(extra, Mapping) and adapter in extra):
            out.append((f"former[{i}].adapter", f"'{adapter}' is not in [adapters]"))
    codes: set[str] = set()
    wards: dict[str, str] | None = None
    for i, agency in enumerate(raw.get("agencies") or []):
        where = f"agencies[{i}]"
        if not isinstance(agency, Mapping) or any(b.startswith(where + ".") or b == where for b in broken):
            if isinstance(agency, Mapping) and _str(agency.get("code")):
                codes.add(agency["code"])
            continue
        code = _str(agency.get("code")) or ""
        if code in codes:
            out.append((f"{where}.code", f"agency code '{code}' appears twice"))
        codes.add(code)
        if agency.get("kind") == "commune":
            wards = wards if wards is not None else (_wards(stat_code) if real else {})
            ward = _str(agency.get("ward_code"))
            if not ward:
                out.append((f"{where}.ward_code", "a commune needs its ward_code (from the 2025 list of communes)"))
            elif real and ward not in wards:
                out.append((f"{where}.ward_code", f"'{ward}' is not a commune of {real}"))
        elif not agency.get("name"):
            out.append((f"{where}.name", "is required for agencies that are not communes"))
    for i, rule in enumerate(raw.get("routing") or []):
        agency = _str(rule.get("agency")) if isinstance(rule, Mapping) else None
        if agency and agency not in codes:
            out.append((f"routing[{i}].agency", f"'{agency}' is not one of this file's agencies"))
    return out


def load_file(path: Path, adapter_families: Any | None = None) -> tuple[Tenant | None, list[Problem]]:
    name = path.name
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        return None, [Problem(name, "", f"is not valid TOML: {exc}")]
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(name, "", f"cannot be read: {exc}")]
    found: list[tuple[str, str]] = []
    check_struct(raw, TenantFile, "", found)
    problems: dict[str, str] = dict(reversed(found))  # one sentence per key: the first one found
    for key in _secret_looking_keys(raw):
        problems[key] = "looks like a secret written in the file; name an environment variable with a key ending in '_env'"
    for key, message in semantic_problems(path.stem, raw, adapter_families, set(problems)):
        problems.setdefault(key, message)
    if problems:
        return None, [Problem(name, k, m) for k, m in problems.items()]
    return Tenant(slug=path.stem, file=msgspec.convert(raw, type=TenantFile, strict=True)), []


def load_dir(directory: Path, adapter_families: Any | None = None) -> Loaded:
    result = Loaded()
    paths = sorted(Path(directory).glob("*.toml"))
    if not paths:
        result.problems.append(Problem(str(directory), "", "holds no tenant files (*.toml)"))
    for path in paths:
        tenant, problems = load_file(path, adapter_families)
        result.problems += problems
        if tenant:
            result.tenants.append(tenant)
    seen: dict[tuple[str, str], str] = {}
    for t in result.tenants:
        keys = [("oa_id", t.file.zalo.oa_id)] if t.file.zalo else []
        keys += [("hosts", h) for h in t.file.hosts] + [("agency_code", c) for c in t.code_prefixes]
        for key, value in keys:
            other = seen.setdefault((key, value), t.slug)
            if other != t.slug:
                result.problems.append(Problem(f"{t.slug}.toml", key, f"'{value}' is already used by {other}.toml"))
    return result


def config_hash(tenant: Tenant) -> str:
    return hashlib.sha256(msgspec.json.encode(tenant.file, order="sorted")).hexdigest()


def secret_env(tenant: Tenant) -> dict[str, str]:
    """Secret purpose -> environment variable, for every secret the file names."""
    f = tenant.file
    out: dict[str, str] = {}
    if f.zalo:
        out["zalo.secret_key"] = f.zalo.secret_key_env
        out["zalo.app_secret"] = f.zalo.app_secret_env
    for key, env in f.adapter.secrets.items():
        out[f"adapter.{key.removesuffix('_env')}"] = env
    for name, cfg in f.adapters.items():
        for key, env in cfg.secrets.items():
            out[f"adapters.{name}.{key.removesuffix('_env')}"] = env
    return out


def read_secrets(tenant: Tenant, environ: Mapping[str, str] | None = None) -> tuple[dict[str, str], list[str]]:
    environ = os.environ if environ is None else environ
    found, missing = {}, []
    for purpose, env in secret_env(tenant).items():
        if environ.get(env):
            found[purpose] = environ[env]
        else:
            missing.append(f"{purpose} (environment variable {env} is not set)")
    return found, missing

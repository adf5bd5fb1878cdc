"""Every hook is documented in its spec and in the adapter guide, and exercised by a test."""

from __future__ import annotations

import inspect
from pathlib import Path

from motcua import hookspecs
from motcua.plugins import BUILTIN_PLUGINS, get_plugin_manager

ROOT = Path(__file__).resolve().parents[2]
SPECS = {name: fn for name, fn in vars(hookspecs).items() if name.startswith("motcua_") and callable(fn)}


def test_hooks_are_prefixed_and_documented():
    assert SPECS, "no hook specifications found"
    for name, fn in SPECS.items():
        doc = inspect.getdoc(fn) or ""
        assert "Called" in doc and "Return" in doc, f"{name}: say when it is called and what it returns"
        assert list(inspect.signature(fn).parameters) == ["registry"], f"{name}: hooks take one registry"


def test_every_hook_appears_in_the_adapter_guide_with_its_signature():
    guide = (ROOT / "adapters" / "README.md").read_text(encoding="utf-8")
    missing = [name for name in SPECS if f"{name}(registry" not in guide]
    assert missing == [], f"adapters/README.md does not show: {missing}"


def test_every_hook_is_exercised_by_a_test():
    tests = "\n".join(p.read_text(encoding="utf-8") for p in [*ROOT.glob("tests/**/*.py"), *ROOT.glob("adapters/*/tests/*.py")]
                      if p.name != Path(__file__).name)
    assert [name for name in SPECS if name not in tests] == []


def test_the_plugin_manager_loads_builtins_and_entry_points_without_unknown_hooks():
    pm = get_plugin_manager()
    names = {pm.get_name(p) for p in pm.get_plugins()}
    assert set(BUILTIN_PLUGINS) <= names
    pm.check_pending()  # an implementation of a hook nobody specified would fail here

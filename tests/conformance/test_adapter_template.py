"""``motcua adapters new``: the rendered distribution imports, registers, validates a tenant file,
and passes the conformance suite against its own sandbox before its author changes a line."""

from __future__ import annotations

import subprocess
import sys

import msgspec
import pytest

from motcua.onestop.contract import Capability
from motcua.onestop.registry import AdapterRegistry
from motcua.onestop.template import render_adapter
from motcua.tenancy.loader import load_file


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    root = tmp_path_factory.mktemp("adapters")
    path = render_adapter("quang-tri", root)
    sys.path.insert(0, str(path))
    yield path
    sys.path.remove(str(path))
    for name in [m for m in sys.modules if m.startswith("motcua_quang_tri")]:
        del sys.modules[name]


def test_it_renders_the_layout_every_adapter_has(rendered):
    assert rendered.name == "motcua-quang-tri"
    files = {p.relative_to(rendered).as_posix() for p in rendered.rglob("*") if p.is_file()}
    assert {"pyproject.toml", "motcua_quang_tri/plugin.py", "motcua_quang_tri/adapter.py", "motcua_quang_tri/wire.py",
            "motcua_quang_tri/mapping.py", "motcua_quang_tri/sandbox.py", "tests/test_quang_tri_conformance.py",
            "examples/example.toml"} <= files
    assert not any("__family__" in (rendered / f).read_text() or "__Family__" in (rendered / f).read_text() for f in files)
    assert 'quang_tri = "motcua_quang_tri.plugin"' in (rendered / "pyproject.toml").read_text()


def test_it_imports_registers_and_validates_a_tenant_file(rendered):
    from motcua_quang_tri import plugin
    from motcua_quang_tri.adapter import QuangTriAdapter

    registry = AdapterRegistry()
    plugin.motcua_register_adapters(registry=registry)
    assert registry.get("quang_tri") is QuangTriAdapter
    assert QuangTriAdapter.capabilities == {Capability.lookup_by_code, Capability.change_feed}
    tenant, problems = load_file(rendered / "examples" / "example.toml", registry)
    assert not problems, [str(p) for p in problems]
    with pytest.raises(msgspec.ValidationError):
        registry.settings_for("quang_tri", {"base_url": "http://x", "typo": 1})


def test_its_own_tests_pass_the_conformance_suite(rendered):
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "ignore",
                             "-o", "asyncio_mode=auto", "-o", "asyncio_default_fixture_loop_scope=session",
                             "-o", "asyncio_default_test_loop_scope=session", "--rootdir", str(rendered), "tests"],
                            cwd=rendered, capture_output=True, text=True, timeout=300,
                            env={**__import__("os").environ, "PYTHONPATH": str(rendered)})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "failed" not in result.stdout


@pytest.mark.parametrize("bad", ["", "9lives", "Quang Tri", "x" * 40])
def test_unusable_names_and_existing_directories_are_refused(tmp_path, bad):
    with pytest.raises(ValueError):
        render_adapter(bad, tmp_path)
    render_adapter("ha_tinh", tmp_path)
    with pytest.raises(FileExistsError):
        render_adapter("ha-tinh", tmp_path)

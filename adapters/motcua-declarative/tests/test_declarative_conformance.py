"""The shipped conformance suite against the declarative family, configured only by the example
tenant file (examples/hue.toml) and reading the family's sandbox."""

from pathlib import Path

import pytest

from motcua.onestop.registry import AdapterRegistry
from motcua.tenancy.loader import load_file
from motcua.testing.conformance import *  # noqa: F403 - the suite's tests
from motcua.testing.conformance import serve_sandbox
from motcua_declarative.adapter import DeclarativeAdapter

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "hue.toml"


def test_the_example_tenant_file_is_valid_with_the_family_installed():
    registry = AdapterRegistry()
    registry.register(DeclarativeAdapter)
    tenant, problems = load_file(EXAMPLE, registry)
    assert not problems, [str(p) for p in problems]
    assert tenant.file.adapter.family == "declarative"


@pytest.fixture(scope="module")
async def conformance_target():
    async with serve_sandbox(DeclarativeAdapter, EXAMPLE) as target:
        yield target

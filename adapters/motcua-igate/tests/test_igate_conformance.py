"""The shipped conformance suite against the igate sandbox (Cà Mau's tenant file)."""

from pathlib import Path

import pytest

from motcua.testing.conformance import *  # noqa: F403 - the suite's tests
from motcua.testing.conformance import serve_sandbox
from motcua_igate.adapter import IGateAdapter

TENANT = Path(__file__).resolve().parents[3] / "tenants" / "ca-mau.toml"


@pytest.fixture(scope="module")
async def conformance_target():
    async with serve_sandbox(IGateAdapter, TENANT) as target:
        yield target

"""The shipped conformance suite against the dvcqg sandbox, in both variants: An Giang's tenant
file speaks the LGSP's XML envelope; the same file switched to ``rpc`` speaks JSON."""

from pathlib import Path

import pytest

from motcua.testing.conformance import *  # noqa: F403 - the suite's tests
from motcua.testing.conformance import serve_sandbox
from motcua_dvcqg.adapter import DvcqgAdapter

TENANT = Path(__file__).resolve().parents[3] / "tenants" / "an-giang.toml"


@pytest.fixture(scope="module", params=["lgsp-xml", "rpc"])
async def conformance_target(request):
    async with serve_sandbox(DvcqgAdapter, TENANT, settings={"variant": request.param}) as target:
        yield target

"""The shipped conformance suite against the push sandbox (Đồng Nai's tenant file)."""

from pathlib import Path

import pytest

from motcua.testing.conformance import *  # noqa: F403 - the suite's tests
from motcua.testing.conformance import serve_sandbox
from motcua_push.adapter import PushAdapter

TENANT = Path(__file__).resolve().parents[3] / "tenants" / "dong-nai.toml"


@pytest.fixture(scope="module")
async def conformance_target():
    async with serve_sandbox(PushAdapter, TENANT) as target:
        yield target

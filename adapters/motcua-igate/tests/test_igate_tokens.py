"""iGate tokens: one client-credentials token serves many calls, and it is renewed a minute
before it expires, without waiting for a 401."""

import time
from pathlib import Path

import pytest

from motcua.testing.conformance import serve_sandbox
from motcua_igate.adapter import IGateAdapter

TENANT = Path(__file__).resolve().parents[3] / "tenants" / "ca-mau.toml"


@pytest.fixture(scope="module")
async def igate():
    async with serve_sandbox(IGateAdapter, TENANT) as target:
        yield target


async def test_one_token_serves_many_calls_and_is_renewed_before_it_expires(igate):
    adapter, control = igate.make_adapter(), igate.control
    try:
        before = (await control.state())["tokens_issued"]
        for code in igate.known_codes * 3:
            assert await adapter.lookup(code) is not None
        assert (await control.state())["tokens_issued"] == before + 1, "the token must be cached"
        first = adapter.http.token["access_token"]
        adapter.http.token["expires_at"] = int(time.time()) + 30  # inside the 60 s margin
        assert await adapter.lookup(igate.known_codes[0]) is not None
        assert (await control.state())["tokens_issued"] == before + 2
        assert adapter.http.token["access_token"] != first
    finally:
        await adapter.aclose()

"""The fault suite: each test breaks one local process (127.0.0.1 only) on purpose, bounded in
time, and prints what it counted (visible with ``-s``)."""

from __future__ import annotations

import pytest

from .helpers import OA, connect_oa


@pytest.fixture
async def sim(server, tenants):
    """An HTTP client on the in-process app (the Zalo simulator is at /sim)."""
    import httpx

    async with httpx.AsyncClient(base_url=server, timeout=30) as client:
        yield client


@pytest.fixture
async def oas(sim, runtime, tenants) -> dict[str, OA]:
    """Every demo province's OA, connected to the simulator, with signing material."""
    for slug in ("ca-mau", "an-giang", "dong-nai"):
        await connect_oa(sim, runtime, slug)
    return {slug: OA.of(tenants[slug]) for slug in ("ca-mau", "an-giang", "dong-nai")}


def report(title: str, **figures) -> None:
    print(f"\n[fault] {title}: " + ", ".join(f"{k}={v}" for k, v in figures.items()), flush=True)

"""Fixtures for online submission: OAs connected to the simulator's fake Zalo, a citizen who
talks to the OA through the simulator, and helpers to read what the simulator received."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from motcua.worker import Worker

from .helpers import jpeg_with_gps

FAMILIES = ["ca-mau", "an-giang", "dong-nai"]  # igate, dvcqg, push


@pytest.fixture
async def connected(tenants, server, runtime):
    """Every demo OA connected, as the OAuth callback would leave it (tokens from the simulator).
    Per test: other tests may rotate or expire the simulator's tokens in between."""
    from motcua.testing.zalo import connect_oa

    async with httpx.AsyncClient(base_url=server, timeout=10) as http:
        for slug in tenants.by_slug:
            await connect_oa(http, runtime, slug)
    return tenants


def urls_in(node: Any) -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        for v in node.values():
            found += urls_in(v)
    elif isinstance(node, list):
        for v in node:
            found += urls_in(v)
    elif isinstance(node, str) and node.startswith("http"):
        found.append(node)
    return found


@dataclass
class Citizen:
    """A Zalo user of one OA, driven through the simulator like a person with a phone."""

    http: httpx.AsyncClient
    runtime: Any
    slug: str
    user_id: str = ""

    async def send(self, **body: Any) -> dict[str, Any]:
        body = {"tenant": self.slug, **({"user_id": self.user_id} if self.user_id else {}), **body}
        r = await self.http.post("/sim/api/send", json=body)
        r.raise_for_status()
        data = r.json()
        self.user_id = data["user_id"]
        assert data["status_code"] == 200, data
        return data

    async def send_photo(self, data: bytes, name: str = "giay-to.jpg") -> str:
        """Pick a photo on the phone and send it in the chat (user_send_image)."""
        r = await self.http.post("/sim/api/upload", files={"file": (name, data, "image/jpeg")})
        r.raise_for_status()
        url = r.json()["url"]
        await self.send(type="image", image_url=url)
        return url

    async def outbox(self) -> list[dict[str, Any]]:
        r = await self.http.get("/sim/api/outbox", params={"user_id": self.user_id, "tenant": self.slug})
        r.raise_for_status()
        return r.json()

    async def texts(self) -> list[str]:
        out = []
        for m in await self.outbox():
            out += [s for s in _strings(m) if len(s) > 20]
        return out

    async def link(self, pattern: str) -> str:
        for m in reversed(await self.outbox()):
            for url in urls_in(m):
                if re.search(pattern, url):
                    return url
        raise AssertionError(f"no button link matching {pattern!r} in {await self.outbox()}")

    async def citizen_id(self) -> int:
        async with self.runtime.db.tenant(self.slug) as conn:
            return await conn.fetchval("SELECT id FROM citizen WHERE zalo_user_id = $1", self.user_id)


def _strings(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [s for v in node.values() for s in _strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v)]
    return [node] if isinstance(node, str) else []


async def drain(runtime) -> None:
    """Let the worker process everything that is ready (webhook events, sends, jobs)."""
    await Worker(runtime).run_until_idle(timeout=60)


@pytest.fixture
def photo() -> bytes:
    return jpeg_with_gps((1600, 1200))

"""Fixtures for citizen services: each demo OA connected to the simulator, a worker, and small
helpers to act as a citizen in the simulator and as the one-stop system through its sandbox."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from motcua.domain.notifications import service as notifications
from motcua.onestop.sandbox_world import SandboxControl
from motcua.worker import Worker

_connected: set[str] = set()


@pytest.fixture(autouse=True)
def daytime(monkeypatch):
    """Notifications wait out the province's quiet hours (21:00-07:00 in Việt Nam). Tests not about
    them judge quiet hours at 10:00 there, whatever the hour the suite runs (quiet-hour tests
    pass their own time)."""
    ten = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).replace(hour=10, minute=0)
    monkeypatch.setattr(notifications, "clock", lambda: ten.astimezone(UTC))


@pytest.fixture
async def connected(tenants, runtime, server):
    """Every demo OA holds a valid token pair from the simulator, as after the OAuth consent."""
    from motcua.testing.zalo import connect_oa

    async with httpx.AsyncClient(base_url=server, timeout=10) as http:
        for slug in ("ca-mau", "an-giang", "dong-nai"):
            if slug not in _connected:
                await connect_oa(http, runtime, slug)
                _connected.add(slug)
    return tenants


@pytest.fixture
def worker(runtime) -> Worker:
    return Worker(runtime, concurrency=8)


@dataclass
class Phone:
    """A citizen with Zalo, in the simulator."""

    http: httpx.AsyncClient
    worker: Worker
    tenant: str
    user_id: str | None = None

    async def send(self, type_: str = "text", **fields: Any) -> list[dict[str, Any]]:
        """Do something in Zalo, let Motcua's worker process it, and return what Motcua sent back."""
        since = await self.last_seq()
        body = {"tenant": self.tenant, "type": type_, **fields}
        if self.user_id:
            body["user_id"] = self.user_id
        r = await self.http.post("/sim/api/send", json=body)
        assert r.status_code == 200, r.text
        result = r.json()
        assert result["delivered"], result
        self.user_id = result["user_id"]
        # Replies normally arrive at the first idle; a send waiting on the rate limit takes a moment.
        return await eventually(self.worker, lambda: self.inbox(since), timeout=3.0) or []

    async def says(self, text: str) -> list[dict[str, Any]]:
        return await self.send("text", text=text)

    async def last_seq(self) -> int:
        items = (await self.http.get("/sim/api/outbox")).json()
        return items[-1]["seq"] if items else 0

    async def inbox(self, since: int = 0) -> list[dict[str, Any]]:
        if not self.user_id:
            return []
        return (await self.http.get("/sim/api/outbox", params={"since": since, "user_id": self.user_id})).json()


def text_of(message: dict[str, Any]) -> str:
    """The text a citizen reads in a message the simulator accepted (CS text or ZNS params)."""
    content = message.get("content") or {}
    if isinstance(content, dict):
        if "text" in content:
            return str(content["text"])
        data = content.get("template_data", content)
        return " ".join(str(v) for v in data.values())
    return str(content)


def buttons_of(message: dict[str, Any]) -> list[dict[str, Any]]:
    content = message.get("content") or {}
    attachment = content.get("attachment") if isinstance(content, dict) else None
    return list(((attachment or {}).get("payload") or {}).get("buttons") or [])


@pytest.fixture
async def phone(http, worker, connected):
    def make(tenant: str) -> Phone:
        return Phone(http, worker, tenant)
    return make


@pytest.fixture
async def sandbox(tenants):
    controls: list[SandboxControl] = []

    def make(tenant: str) -> SandboxControl:
        c = SandboxControl(tenants.sandbox_urls[tenant])
        controls.append(c)
        return c
    yield make
    for c in controls:
        await c.aclose()


async def eventually(worker: Worker, check, *, timeout: float = 15.0):
    """Run the worker until ``check()`` returns something truthy: sends may wait on the OA's rate
    limit or a retry for a moment, as they would in production."""
    import asyncio
    import time

    deadline = time.monotonic() + timeout
    while True:
        await worker.run_until_idle()
        result = await check()
        if result or time.monotonic() > deadline:
            return result
        await asyncio.sleep(0.2)

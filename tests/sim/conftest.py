"""Fixtures for the simulator's own contract: the app with the simulator on a real port, the
demo tenants applied, and a webhook receiver we control standing in for Motcua's endpoint."""

from __future__ import annotations

import asyncio
import socket
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from motcua.onestop.sandbox import serve_app, stop_server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Receiver:
    """A bare ASGI app that records every webhook POST exactly as it arrived (raw bytes)."""

    url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200
    delay: float = 0.0
    statuses: list[int] = field(default_factory=list)  # answered in order before falling back to `status`

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        self.requests.append({"path": scope["path"], "body": body, "at": time.monotonic(),
                              "headers": {k.decode().lower(): v.decode() for k, v in scope["headers"]}})
        await asyncio.sleep(self.delay)
        status = self.statuses.pop(0) if self.statuses else self.status
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": b'{"received":true}'})

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        import json

        out = []
        for r in self.requests:
            event = json.loads(r["body"])
            if name is None or event.get("event_name") == name:
                out.append({**r, "event": event})
        return out

    async def wait_for(self, name: str, count: int = 1, timeout: float = 5.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.events(name)
            if len(found) >= count:
                return found
            await asyncio.sleep(0.02)
        raise AssertionError(f"expected {count} {name} event(s), got {len(self.events(name))}: "
                             f"{[e['event'].get('event_name') for e in self.events()]}")


@pytest.fixture(scope="session")
async def receiver_server():
    receiver = Receiver()
    port = _free_port()
    receiver.url = f"http://127.0.0.1:{port}/hook"
    srv = await serve_app(receiver, "127.0.0.1", port)
    yield receiver
    await stop_server(srv)


@pytest.fixture
async def sim(server, tenants):
    """An HTTP client on the app under test (simulator at /sim), the demo tenants applied."""
    async with httpx.AsyncClient(base_url=server, timeout=10) as client:
        yield client


@pytest.fixture
async def hook(sim, receiver_server):
    """Cà Mau's OA posts its webhooks to our receiver for this test; everything is put back after."""
    receiver_server.requests.clear()
    receiver_server.status, receiver_server.delay, receiver_server.statuses = 200, 0.0, []
    before = (await sim.get("/sim/api/tenants")).json()
    ca_mau = next(t for t in before if t["tenant"] == "ca-mau")
    config = (await sim.post("/sim/api/config", json={})).json()
    r = await sim.post("/sim/api/oas/ca-mau", json={"webhook_url": receiver_server.url, "receipts": False,
                                                     "echoes": False})
    assert r.status_code == 200, r.text
    yield receiver_server
    await sim.delete("/sim/api/faults")
    await sim.post("/sim/api/config", json=config)
    restore = {k: v for k, v in ca_mau["config"].items() if k != "webhook_url"}
    await sim.post("/sim/api/oas/ca-mau", json={**restore, "webhook_url": None})


@pytest.fixture
async def tokens(sim):
    """A fresh valid token pair for Cà Mau's OA."""
    r = await sim.post("/sim/api/tokens/ca-mau", json={"rotate": True})
    assert r.status_code == 200, r.text
    return r.json()


async def new_user(sim: httpx.AsyncClient, tenant: str = "ca-mau", **fields: Any) -> dict[str, Any]:
    r = await sim.post("/sim/api/users", json={"tenant": tenant, **fields})
    assert r.status_code == 200, r.text
    return r.json()

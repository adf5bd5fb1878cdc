"""Staff-side fixtures: accounts for every role, signing in over HTTP, the demo OAs connected to
the simulator, citizens who write from the simulator, and a real browser (Debian's chromium)."""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from motcua.domain.auth import create_operator, create_staff_user
from motcua.worker import Worker

PASSWORD = "Mat-khau-thu-2025"
TP, DD = "000.00.07.H12", "000.00.13.H12"  # Cà Mau: Sở Tư pháp, Sở Nông nghiệp và Môi trường


@dataclass(frozen=True)
class Account:
    scope: str  # tenant slug or "_vendor"
    email: str
    password: str = PASSWORD


@pytest.fixture(scope="session")
async def accounts(runtime, tenants) -> dict[str, Account]:
    """One account per role (emails unique per test session so reruns never collide)."""
    tag = secrets.token_hex(3)
    made: dict[str, Account] = {}
    specs = [
        ("admin", "ca-mau", "admin", [], False), ("officer_tp", "ca-mau", "officer", [TP], False),
        ("officer_dd", "ca-mau", "officer", [DD], False), ("viewer", "ca-mau", "viewer", [], False),
        ("specialist", "ca-mau", "officer", [TP], True), ("ag_admin", "an-giang", "admin", [], False),
    ]
    for key, slug, role, agencies, specialist in specs:
        email = f"{key}.{tag}@{slug}.example.vn"
        async with runtime.db.tenant(slug) as conn:
            await create_staff_user(conn, slug, email=email, name=f"{key.replace('_', ' ').title()} {tag}", role=role,
                                    agencies=agencies, password=PASSWORD, specialist=specialist)
        made[key] = Account(slug, email)
    async with runtime.db.system() as conn:
        await create_operator(conn, email=f"operator.{tag}@vendor.example.vn", name="Vận hành", password=PASSWORD)
    made["operator"] = Account("_vendor", f"operator.{tag}@vendor.example.vn")
    return made


async def sign_in(client: httpx.AsyncClient, account: Account, *, password: str | None = None) -> httpx.Response:
    """Sign in as a browser would: load the form (CSRF cookie + field), post it."""
    page = await client.get("/login")
    token = re.search(r'name="_csrf" value="([^"]+)"', page.text).group(1)
    return await client.post("/login", data={"_csrf": token, "scope": account.scope, "email": account.email,
                                             "password": password or account.password, "next": ""})


async def csrf_of(client: httpx.AsyncClient) -> str:
    return (await client.get("/api/v1/staff/me")).json()["csrf"]


@pytest.fixture
async def client_for(server):
    """``await client_for("officer_tp")``: an httpx client signed in as that account."""
    clients: list[httpx.AsyncClient] = []

    async def make(account: Account) -> httpx.AsyncClient:
        c = httpx.AsyncClient(base_url=server, timeout=10)
        clients.append(c)
        r = await sign_in(c, account)
        assert r.status_code == 303, r.text
        return c

    yield make
    for c in clients:
        await c.aclose()


_connected: set[str] = set()


@pytest.fixture
async def connected(tenants, runtime, server):
    """The demo OAs hold a token pair from the simulator, as after the OAuth consent."""
    from motcua.testing.zalo import connect_oa

    async with httpx.AsyncClient(base_url=server, timeout=10) as http:
        for slug in ("ca-mau", "an-giang"):
            if slug not in _connected:
                await connect_oa(http, runtime, slug)
                _connected.add(slug)
    return tenants


@dataclass
class SimCitizen:
    tenant: str
    user_id: str
    citizen_id: int


@pytest.fixture
async def citizen(http, runtime, connected):
    """``await citizen("ca-mau", "text")``: a Zalo user writes to the OA in the simulator; Motcua's
    worker processes it. Returns the simulator user and our citizen row id."""

    async def make(tenant: str, text: str, user_id: str | None = None) -> SimCitizen:
        body: dict[str, Any] = {"tenant": tenant, "type": "text", "text": text}
        if user_id:
            body["user_id"] = user_id
        r = await http.post("/sim/api/send", json=body)
        assert r.status_code == 200, r.text
        uid = r.json()["user_id"]
        cid = None
        for _ in range(100):  # a background worker may be the one processing it
            await Worker(runtime).run_until_idle()
            async with runtime.db.tenant(tenant) as conn:
                cid = await conn.fetchval(
                    "SELECT c.id FROM citizen c WHERE c.zalo_user_id = $1 AND EXISTS (SELECT 1 FROM message m "
                    "WHERE m.tenant_id = c.tenant_id AND m.citizen_id = c.id AND m.direction = 'in' AND m.text = $2)",
                    uid, text)
            if cid:
                break
            await asyncio.sleep(0.1)
        assert cid, "the simulator's message did not reach Motcua"
        return SimCitizen(tenant, uid, cid)

    return make


async def open_conversation(runtime, tenant: str, citizen_id: int, topic: str) -> int:
    """What the bot does when a citizen asks for a person (hand-over)."""
    from motcua.domain.inbox import open_conversation as open_

    t = await runtime.tenant(tenant)
    async with runtime.db.tenant(tenant) as conn:
        return await open_(conn, t, citizen_id, topic=topic, text=topic)


async def outbox(http: httpx.AsyncClient, user_id: str) -> list[dict[str, Any]]:
    return (await http.get("/sim/api/outbox", params={"user_id": user_id})).json()


def texts(messages: list[dict[str, Any]]) -> list[str]:
    out = []
    for m in messages:
        content = m.get("content") or {}
        if isinstance(content, dict) and "text" in content:
            out.append(str(content["text"]))
        elif isinstance(content, dict):
            out.append(" ".join(str(v) for v in (content.get("template_data") or content).values()))
    return out


@pytest.fixture
async def running_worker(runtime):
    """A worker running in the background (for pages that wait on sends)."""
    worker = Worker(runtime, poll_seconds=0.2)
    task = asyncio.create_task(worker.run())
    yield worker
    worker.stop()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(task, 10)


@pytest.fixture
async def page_for(browser, server):
    """``await page_for(account)``: a fresh browser context signed in through the real form."""
    contexts = []

    async def make(account: Account | None = None, *, viewport: dict[str, int] | None = None):
        ctx = await browser.new_context(base_url=server, viewport=viewport or {"width": 1280, "height": 900},
                                        locale="vi-VN", accept_downloads=True)
        contexts.append(ctx)
        page = await ctx.new_page()
        page.set_default_timeout(10_000)
        if account is not None:
            await page.goto("/login")
            await page.select_option("#scope", account.scope)
            await page.fill("#email", account.email)
            await page.fill("#password", account.password)
            await page.click("button[type=submit]")
            await page.wait_for_load_state()
        return page

    yield make
    for ctx in contexts:
        await ctx.close()

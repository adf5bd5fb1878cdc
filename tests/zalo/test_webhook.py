"""Inbound webhooks over real HTTP: signatures, pings, idempotency, replays, routing, and what
the worker makes of the stored events (citizens, messages, consent, erasure, no echo loops)."""

from __future__ import annotations

import asyncio
import time

from motcua.channels.zalo.citizens import PHONE
from motcua.crypto import normalize_phone

from .conftest import new_user_id


async def count(runtime, slug: str, sql: str, *args) -> int:
    async with runtime.db.tenant(slug) as conn:
        return await conn.fetchval(sql, *args)


async def events_of(runtime, slug: str, user_id: str) -> int:
    return await count(runtime, slug, "SELECT count(*) FROM webhook_event WHERE source = 'zalo' AND "
                       "$1 IN (payload #>> '{sender,id}', payload #>> '{recipient,id}', payload #>> '{follower,id}')",
                       user_id)


async def test_an_unsigned_empty_ping_is_acknowledged_and_changes_nothing(http, runtime, ca_mau):
    for path in (f"/zalo/{ca_mau.slug}/webhook", "/zalo/webhook"):
        r = await http.post(path, content=b"{}", headers={"Content-Type": "application/json"})
        assert r.status_code == 200
    # Other tests' simulator receipts may arrive meanwhile; a ping would be an event without a name.
    assert await count(runtime, ca_mau.slug, "SELECT count(*) FROM webhook_event WHERE event_name = '' "
                       "OR payload = '{}'::jsonb") == 0


async def test_missing_or_wrong_signatures_get_401_and_write_nothing(http, runtime, ca_mau):
    user = new_user_id()
    event = ca_mau.event("user_send_text", user, text="xin chào")
    body, headers = ca_mau.signed(event)
    r = await http.post(f"/zalo/{ca_mau.slug}/webhook", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 401 and "X-ZEvent-Signature" in r.json()["detail"]
    _, wrong = ca_mau.signed(event, key=ca_mau.app_secret)  # the App Secret is not the signing key
    r = await http.post(f"/zalo/{ca_mau.slug}/webhook", content=body, headers=wrong)
    assert r.status_code == 401
    tampered = body.replace(b"xin ch", b"XIN CH")
    r = await http.post(f"/zalo/{ca_mau.slug}/webhook", content=tampered, headers=headers)
    assert r.status_code == 401
    assert await events_of(runtime, ca_mau.slug, user) == 0


async def test_a_reset_secret_key_is_read_again_at_once(http, runtime, ca_mau):
    """The OA's secret key is cached a minute; an admin who resets it in Zalo and stores the new
    one does not lose events signed with it meanwhile, and the old key stops working."""
    from motcua.channels.zalo.tokens import SECRET_KEY
    from motcua.crypto import put_secret

    assert (await ca_mau.post(http, ca_mau.event("user_send_text", new_user_id(), text="a"))).status_code == 200
    new_key = "reset-" + ca_mau.secret_key[6:]
    async with runtime.db.tenant(ca_mau.slug) as conn:
        await put_secret(conn, runtime.crypto, ca_mau.slug, SECRET_KEY, new_key)
    try:
        user = new_user_id()
        body, headers = ca_mau.signed(ca_mau.event("user_send_text", user, text="b"), key=new_key)
        assert (await http.post(f"/zalo/{ca_mau.slug}/webhook", content=body, headers=headers)).status_code == 200
        assert await events_of(runtime, ca_mau.slug, user) == 1
        old = await ca_mau.post(http, ca_mau.event("user_send_text", new_user_id(), text="c"))
        assert old.status_code == 401
    finally:
        async with runtime.db.tenant(ca_mau.slug) as conn:
            await put_secret(conn, runtime.crypto, ca_mau.slug, SECRET_KEY, ca_mau.secret_key)
        runtime.state.get("zalo.secret_keys", {}).pop(ca_mau.slug, None)


async def test_redeliveries_and_fifty_concurrent_copies_store_one_event_and_one_reply(http, runtime, ca_mau, worker):
    user = new_user_id()
    event = ca_mau.event("user_send_text", user, text="Cho tôi hỏi về hồ sơ khai sinh")
    first = await ca_mau.post(http, event)
    assert first.status_code == 200
    again = await ca_mau.post(http, event, headers={"num_retry": "1"})
    assert again.status_code == 200
    copies = await asyncio.gather(*(ca_mau.post(http, event, headers={"num_retry": "2"}) for _ in range(50)))
    assert {r.status_code for r in copies} == {200}
    assert await events_of(runtime, ca_mau.slug, user) == 1
    await worker.run_until_idle()
    await worker.run_until_idle()
    replies = await count(runtime, ca_mau.slug,
                          "SELECT count(*) FROM notification n JOIN citizen c ON c.tenant_id = n.tenant_id "
                          "AND c.id = n.citizen_id WHERE c.zalo_user_id = $1", user)
    assert replies == 1


async def test_stale_events_are_refused_as_replays(http, runtime, ca_mau):
    user = new_user_id()
    three_hours_ago = int(time.time() * 1000) - 3 * 3600 * 1000
    r = await ca_mau.post(http, ca_mau.event("user_send_text", user, text="cũ", ts=three_hours_ago))
    assert r.status_code == 422 and "replay" in r.json()["detail"]
    # The last retry of Zalo's ladder (~1 h 51 min after the event) is still accepted.
    r = await ca_mau.post(http, ca_mau.event("user_send_text", user, text="trễ", ts=int(time.time() * 1000) - 111 * 60_000),
                          headers={"num_retry": "5"})
    assert r.status_code == 200
    assert await events_of(runtime, ca_mau.slug, user) == 1


async def test_the_shared_url_routes_by_oa_id(http, runtime, ca_mau, an_giang):
    user = new_user_id()
    r = await ca_mau.post(http, ca_mau.follow(user), path="/zalo/webhook")
    assert r.status_code == 200
    r = await an_giang.post(http, an_giang.event("user_send_text", user, text="chào"), path="/zalo/webhook")
    assert r.status_code == 200
    assert await events_of(runtime, ca_mau.slug, user) == 1
    assert await events_of(runtime, an_giang.slug, user) == 1
    stranger = ca_mau.event("user_send_text", user, text="?")
    stranger["recipient"] = {"id": "1111111111111111111"}
    r = await ca_mau.post(http, stranger, path="/zalo/webhook")
    assert r.status_code == 404


async def test_a_text_makes_a_citizen_a_message_and_one_acknowledgement(http, runtime, ca_mau, worker):
    user = new_user_id()
    await ca_mau.post(http, ca_mau.event("user_send_text", user, text="Tôi muốn tra cứu hồ sơ", msg_id="m-" + user))
    await worker.run_until_idle()
    async with runtime.db.tenant(ca_mau.slug) as conn:
        citizen = await conn.fetchrow("SELECT * FROM citizen WHERE zalo_user_id = $1", user)
        assert citizen["oa_id"] == ca_mau.oa_id and citizen["user_id_by_app"] == "app-" + user
        assert citizen["last_interaction_at"] is not None
        msg = await conn.fetchrow("SELECT * FROM message WHERE citizen_id = $1", citizen["id"])
        assert (msg["direction"], msg["kind"], msg["text"], msg["zalo_msg_id"]) == \
            ("in", "text", "Tôi muốn tra cứu hồ sơ", "m-" + user)
        replies = await conn.fetch("SELECT * FROM notification WHERE citizen_id = $1", citizen["id"])
        assert len(replies) == 1 and replies[0]["body"]["text"]  # the bot's answer, or the acknowledgement


async def test_without_a_bot_citizens_get_a_kind_acknowledgement(http, runtime, ca_mau, worker):
    from motcua.channels.zalo.dispatch import ChatRegistry, chat_registry

    bot = chat_registry(runtime)
    runtime.state["zalo.chat"] = ChatRegistry()  # as before any bot plug-in registers
    try:
        user = new_user_id()
        await ca_mau.post(http, ca_mau.event("user_send_text", user, text="alo"))
        await ca_mau.post(http, ca_mau.follow(user))
        await worker.run_until_idle()
    finally:
        runtime.state["zalo.chat"] = bot
    async with runtime.db.tenant(ca_mau.slug) as conn:
        texts = sorted(r["body"]["text"] for r in await conn.fetch(
            "SELECT n.body FROM notification n JOIN citizen c ON c.tenant_id = n.tenant_id AND c.id = n.citizen_id "
            "WHERE c.zalo_user_id = $1", user))
    assert len(texts) == 2
    assert texts[0].startswith("Cảm ơn ông/bà đã nhắn tin") and texts[1].startswith("Cảm ơn ông/bà đã quan tâm")


async def test_echoes_and_receipts_never_trigger_a_reply(http, runtime, ca_mau, worker):
    user = new_user_id()
    for name in ("oa_send_text", "user_received_message"):
        echo = {"app_id": ca_mau.app_id, "sender": {"id": ca_mau.oa_id}, "recipient": {"id": user},
                "event_name": name, "message": {"msg_id": "echo-" + user, "text": "Cảm ơn"},
                "timestamp": str(int(time.time() * 1000))}
        assert (await ca_mau.post(http, echo)).status_code == 200
    await worker.run_until_idle()
    assert await events_of(runtime, ca_mau.slug, user) == 2
    assert await count(runtime, ca_mau.slug, "SELECT count(*) FROM notification n JOIN citizen c ON "
                       "c.tenant_id = n.tenant_id AND c.id = n.citizen_id WHERE c.zalo_user_id = $1", user) == 0
    assert await count(runtime, ca_mau.slug, "SELECT count(*) FROM webhook_event WHERE processed_at IS NOT NULL AND "
                       "event_name = 'oa_send_text' AND payload #>> '{recipient,id}' = $1", user) == 1


async def test_follow_shared_info_and_withdrawal(http, runtime, ca_mau, worker, crypto):
    user = new_user_id()
    await ca_mau.post(http, ca_mau.follow(user))
    info = {"name": "Trần Thị Bình", "phone": "0912 345 678",
            "full_address": {"user_city": "Cà Mau", "user_ward": "Phường An Xuyên", "user_address": "12 Lý Thường Kiệt"}}
    await ca_mau.post(http, ca_mau.event("user_submit_info", user, info=info))
    await worker.run_until_idle()
    async with runtime.db.tenant(ca_mau.slug) as conn:
        c = await conn.fetchrow("SELECT * FROM citizen WHERE zalo_user_id = $1", user)
        assert c["following"] and c["followed_at"] and c["consent_at"] and c["display_name"] == "Trần Thị Bình"
        assert crypto.open(ca_mau.slug, PHONE, c["phone_enc"]) == "84912345678"
        assert b"912345678" not in c["phone_enc"]
        assert c["phone_key"] == crypto.lookup_key(ca_mau.slug, "phone", normalize_phone("0912345678"))
        raw = await conn.fetchval("SELECT string_agg(payload::text, ' ') FROM webhook_event WHERE "
                                  "payload #>> '{sender,id}' = $1", user)
        assert "912345678" not in raw and "912 345 678" not in raw and "Lý Thường Kiệt" not in raw  # the raw event no longer holds them
    await ca_mau.post(http, ca_mau.event("user_send_text", user, text="Số tôi là 0912345678"))
    await ca_mau.post(http, ca_mau.event("user_withdraw", user))
    await worker.run_until_idle()
    async with runtime.db.tenant(ca_mau.slug) as conn:
        c = await conn.fetchrow("SELECT * FROM citizen WHERE zalo_user_id = $1", user)
        assert c["erased_at"] is not None
        assert (c["display_name"], c["phone_enc"], c["phone_key"], c["address_enc"]) == (None, None, None, None)
        assert await conn.fetchval("SELECT count(*) FROM message WHERE citizen_id = $1", c["id"]) == 0
        raw = await conn.fetchval("SELECT string_agg(payload::text, ' ') FROM webhook_event")
        assert "0912345678" not in raw


async def test_cleanup_keeps_recent_events_and_drops_those_past_retention(http, runtime, ca_mau, worker):
    from motcua.jobs import enqueue

    old_user, new_user = new_user_id(), new_user_id()
    await ca_mau.post(http, ca_mau.event("user_send_text", old_user, text="cũ"))
    await ca_mau.post(http, ca_mau.event("user_send_text", new_user, text="mới"))
    await worker.run_until_idle()
    async with runtime.db.tenant(ca_mau.slug) as conn:
        await conn.execute("UPDATE webhook_event SET received_at = now() - interval '400 days' "
                           "WHERE payload #>> '{sender,id}' = $1", old_user)
        await enqueue(conn, ca_mau.slug, "zalo.cleanup", {})
    await worker.run_until_idle()
    assert await events_of(runtime, ca_mau.slug, old_user) == 0
    assert await events_of(runtime, ca_mau.slug, new_user) == 1

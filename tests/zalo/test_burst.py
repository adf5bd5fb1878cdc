"""A burst of webhook events is processed in batches (``event_batch``): each event still once,
and one bad event never costs the others theirs."""

from __future__ import annotations

import pytest

from motcua.channels.zalo.dispatch import ChatRegistry, chat_registry
from motcua.worker import Worker

from .conftest import new_user_id


@pytest.fixture
def sizes(runtime, monkeypatch) -> list[int]:
    """The size of every batch the worker hands to the ``zalo.message`` batch handler (this test's)."""
    sizes: list[int] = []
    handler, size = runtime.plugins.jobs.batch_handlers["zalo.message"]

    async def counted(jobs, ctx):
        sizes.append(len(jobs))
        return await handler(jobs, ctx)

    monkeypatch.setitem(runtime.plugins.jobs.batch_handlers, "zalo.message", (counted, size))
    return sizes


async def inbound(runtime, slug: str, users: list[str]) -> dict[str, list[str]]:
    async with runtime.db.tenant(slug) as conn:
        rows = await conn.fetch("SELECT c.zalo_user_id, m.kind, m.text FROM message m JOIN citizen c "
                                "ON c.tenant_id = m.tenant_id AND c.id = m.citizen_id WHERE m.direction = 'in' "
                                "AND c.zalo_user_id = ANY($1::text[]) ORDER BY m.id", users)
    out: dict[str, list[str]] = {}
    for r in rows:
        out.setdefault(r["zalo_user_id"], []).append(r["text"] or r["kind"])
    return {user: sorted(texts) for user, texts in out.items()}  # concurrent jobs: no order across events


async def test_a_burst_is_processed_in_batches_each_event_once(http, runtime, ca_mau, worker, sizes):
    a, b, c = new_user_id(), new_user_id(), new_user_id()
    events = [ca_mau.event("user_send_text", a, text="xin chào"),
              ca_mau.follow(c),
              ca_mau.event("user_send_text", b, text="khai sinh cần giấy tờ gì"),
              ca_mau.event("user_send_text", a, text="tra cứu hồ sơ"),
              ca_mau.event("user_send_image", b, attachments=[{"type": "image", "payload": {"url": "https://x/1.jpg"}}]),
              ca_mau.event("oa_send_text", a, text="Chào ông/bà", sender={"id": ca_mau.oa_id}, recipient={"id": a}),
              ca_mau.event("user_send_text", c, text="cảm ơn")]
    for ev in events:
        assert (await ca_mau.post(http, ev)).status_code == 200
    await ca_mau.post(http, events[0])  # Zalo's retry of the first: stored once, so processed once

    await worker.run_until_idle()

    assert sizes and max(sizes) > 1, sizes  # the burst did go through the batch handler
    assert await inbound(runtime, ca_mau.slug, [a, b, c]) == {
        a: ["tra cứu hồ sơ", "xin chào"], b: ["image", "khai sinh cần giấy tờ gì"], c: ["cảm ơn"]}
    async with runtime.db.tenant(ca_mau.slug) as conn:
        stored = await conn.fetch(
            "SELECT id, event_name, processed_at IS NOT NULL AS processed FROM webhook_event "
            "WHERE coalesce(payload->'sender'->>'id', payload->'follower'->>'id') = ANY($1::text[]) "
            "OR payload->'recipient'->>'id' = ANY($1::text[])", [a, b, c])
        citizens = await conn.fetch("SELECT zalo_user_id, following, last_interaction_at IS NOT NULL AS talked "
                                    "FROM citizen WHERE zalo_user_id = ANY($1::text[])", [a, b, c])
        answered = {r["event_id"] for r in await conn.fetch(
            "SELECT split_part(n.dedupe_key, ':', 2)::bigint AS event_id FROM notification n JOIN citizen c "
            "ON c.tenant_id = n.tenant_id AND c.id = n.citizen_id "
            "WHERE n.dedupe_key LIKE 'reply:%' AND c.zalo_user_id = ANY($1::text[])", [a, b, c])}
    assert len(stored) == len(events) and all(r["processed"] for r in stored)
    assert sorted(r["zalo_user_id"] for r in citizens) == sorted([a, b, c])
    assert all(r["talked"] for r in citizens) and [r["following"] for r in citizens if r["zalo_user_id"] == c] == [True]
    assert {r["id"] for r in stored if r["event_name"] == "user_send_text"} <= answered  # every text answered


async def test_one_bad_event_in_a_burst_leaves_the_others_done_once(http, runtime, ca_mau, sizes):
    worker = Worker(runtime, concurrency=1, tenants=[ca_mau.slug])  # one job at a time: the rest join its batch

    async def fragile(event, ctx) -> bool:
        if event.text == "boom":
            raise RuntimeError("the bot tripped on this message")
        return False

    saved = chat_registry(runtime)
    runtime.state["zalo.chat"] = ChatRegistry([fragile, *saved.handlers])
    users = [new_user_id() for _ in range(6)]
    try:
        for i, user in enumerate(users):
            text = "boom" if i == 2 else f"xin chào {i}"
            assert (await ca_mau.post(http, ca_mau.event("user_send_text", user, text=text))).status_code == 200
        await worker.run_until_idle()
    finally:
        runtime.state["zalo.chat"] = saved

    assert sizes and max(sizes) > 1, sizes
    got = await inbound(runtime, ca_mau.slug, users)
    assert {u: got.get(u) for u in users if u != users[2]} == {u: [f"xin chào {i}"] for i, u in enumerate(users) if i != 2}
    assert users[2] not in got  # its effects were undone with it
    async with runtime.db.tenant(ca_mau.slug) as conn:
        waiting = await conn.fetch(
            "SELECT e.payload->'sender'->>'id' AS user, j.status, j.attempts, j.last_error FROM job j "
            "JOIN webhook_event e ON e.tenant_id = j.tenant_id AND e.id = (j.payload->>'event_id')::bigint "
            "WHERE j.kind = 'zalo.message' AND e.event_name = 'user_send_text' "
            "AND e.payload->'sender'->>'id' = ANY($1::text[])", users)
    assert [r["user"] for r in waiting] == [users[2]]  # only the bad one is left
    bad = waiting[0]
    assert bad["status"] == "queued" and bad["attempts"] == 1
    assert "the bot tripped" in bad["last_error"]  # retried later with its error, like any failed job

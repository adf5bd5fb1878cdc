"""The ``zalo.event`` and ``zalo.message`` jobs: what a stored webhook event means for Motcua.

Runs in the worker, in the event's tenant transaction (so its effects happen once): updates
the citizen (follow state, shared info, last interaction), stores inbound messages, applies
delivery receipts to ``notification``, erases a citizen who withdrew consent, and hands
citizen events to the conversation layer (``dispatch``). Echoes of the OA's own messages never
reach the conversation layer; an admin's reply from Zalo's OA chat tool is kept as an outbound
message.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from motcua import metrics
from motcua.channels.zalo import citizens, tokens
from motcua.channels.zalo.client import QuotaExceeded, RateLimited, Rejected, TokenExpired, WindowClosed, ZaloClient
from motcua.channels.zalo.dispatch import ChatContext, ChatEvent, dispatch, wants_chat
from motcua.channels.zalo.events import ZaloEvent, convert, submitted_info
from motcua.channels.zalo.outbox import Message, queue_messages, tracking_id
from motcua.jobs import Retry, enqueue
from motcua.jobs.queue import enqueue_many

if TYPE_CHECKING:
    import asyncpg
    from asyncpg import Record

    from motcua.jobs import Job, JobContext
    from motcua.tenancy.schema import Tenant

RECEIPT_GRACE = timedelta(minutes=2)  # a receipt may overtake the commit of its own send
BATCH_BUDGET = 0.5  # seconds of a batch's answers before the rest get jobs of their own

# Events that count as an interaction (open or extend the reply window), per zalo.md §1.5.
INTERACTIONS = frozenset({"follow", "user_submit_info", "user_click_chatnow", "user_reacted_message"})


def event_time(ev: ZaloEvent) -> datetime:
    try:
        return datetime.fromtimestamp(int(ev.ts) / 1000, UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return datetime.now(UTC)


SELECT_EVENTS = """
SELECT id, event_key, event_name, payload, zalo_server, processed_at, received_at > now() - $3::interval AS fresh
FROM webhook_event WHERE tenant_id = $1 AND id = ANY($2::bigint[]) ORDER BY id FOR UPDATE"""
MARK_PROCESSED = "UPDATE webhook_event SET processed_at = now() WHERE tenant_id = $1 AND id = ANY($2::bigint[])"


async def event_job(job: Job, ctx: JobContext) -> None:
    rows = await ctx.conn.fetch(SELECT_EVENTS, ctx.tenant_id, [int(job.payload["event_id"])], RECEIPT_GRACE)
    if not rows or rows[0]["processed_at"] is not None:
        return
    tenant = await ctx.runtime.tenant(ctx.tenant_id)
    if tenant is None or tenant.file.zalo is None:
        return
    await process_event(ctx, tenant, rows[0], convert(rows[0]["payload"]))


async def event_batch(jobs: list[Job], ctx: JobContext) -> set[int]:
    """``zalo.message`` jobs, a burst of citizens' messages (``user_send_*``), in a few statements: their citizens
    upserted at once, their messages stored at once, then each handed to the conversation, and
    all marked processed at once. Answers are sequential here, so once the batch has taken
    ``BATCH_BUDGET``, the remaining messages are answered by ``zalo.converse`` jobs, in parallel.
    Returns the ids of the jobs done; any other is left to ``event_job``."""
    started = time.monotonic()
    conn, slug = ctx.conn, ctx.tenant_id
    tenant = await ctx.runtime.tenant(slug)
    if tenant is None or tenant.file.zalo is None:
        return set()
    job_of = {int(j.payload["event_id"]): j.id for j in jobs}
    rows = await conn.fetch(SELECT_EVENTS, slug, list(job_of), RECEIPT_GRACE)
    found = {row["id"] for row in rows}
    done = {job_id for event_id, job_id in job_of.items() if event_id not in found}  # gone: nothing to do
    messages: list[tuple[Record, ZaloEvent, str]] = []
    msg_ids: set[str] = set()
    for row in rows:
        if row["processed_at"] is not None:
            done.add(job_of[row["id"]])
            continue
        ev = convert(row["payload"])
        user = ev.user()
        if ev.event_name.startswith("user_send_") and user and ev.msg_id and ev.msg_id not in msg_ids:
            messages.append((row, ev, user))
            msg_ids.add(ev.msg_id)
            done.add(job_of[row["id"]])
    if not messages:
        return done
    users: dict[str, tuple[str | None, datetime | None]] = {}
    for _, ev, user in messages:
        by_app, at = users.get(user, (None, None))
        when = event_time(ev)
        users[user] = (by_app or _by_app(ev), when if at is None else max(at, when))
    citizen = await citizens.upsert_many(conn, slug, tenant.file.zalo.oa_id, users)
    new = sorted(cid for cid, inserted in citizen.values() if inserted)
    if new:
        await enqueue_many(conn, slug, "zalo.profile", [{"citizen_id": c} for c in new],
                           dedupe_keys=[f"zalo.profile:{c}" for c in new], max_attempts=4)
    stored = await store_inbound_many(conn, slug, [(citizen[user][0], ev) for _, ev, user in messages])
    replies: list[Message] = []
    later: list[dict[str, int]] = []
    for (row, ev, user), (message_id, payload) in zip(messages, stored, strict=True):
        if time.monotonic() - started < BATCH_BUDGET:
            await _converse(ctx, tenant, row, ev, user, citizen[user][0], message_id, payload, replies)
        else:  # slow answers (a one-stop system that hangs): the rest are answered by jobs of their own
            later.append({"event_id": row["id"], "citizen_id": citizen[user][0], "message_id": message_id})
    if replies:
        await queue_messages(conn, tenant, replies)
    if later:
        await enqueue_many(conn, slug, "zalo.converse", later, dedupe_keys=[f"zalo.converse:{x['event_id']}" for x in later])
    await conn.execute(MARK_PROCESSED, slug, [row["id"] for row, _, _ in messages])
    for _, ev, _ in messages:
        metrics.EVENTS_PROCESSED.labels(slug, "zalo", ev.event_name).inc()
    return done


async def converse_job(job: Job, ctx: JobContext) -> None:
    """``zalo.converse``: the answer to a message that a batch stored but left to be answered."""
    rows = await ctx.conn.fetch(SELECT_EVENTS, ctx.tenant_id, [int(job.payload["event_id"])], RECEIPT_GRACE)
    tenant = await ctx.runtime.tenant(ctx.tenant_id)
    if not rows or tenant is None or tenant.file.zalo is None:
        return
    ev = convert(rows[0]["payload"])
    await _converse(ctx, tenant, rows[0], ev, ev.user() or "", int(job.payload["citizen_id"]),
                    int(job.payload["message_id"]), _inbound_payload(ev))


async def process_event(ctx: JobContext, tenant: Tenant, row: Record, ev: ZaloEvent) -> None:
    conn, slug = ctx.conn, ctx.tenant_id
    oa_id = tenant.file.zalo.oa_id
    at = event_time(ev)
    name = ev.event_name

    if ev.is_receipt or (name == "user_received_message"):
        matched = await apply_receipt(conn, slug, ev, at, zns=row["zalo_server"] == "ZNS")
        if not matched and row["fresh"]:
            raise Retry("receipt for a message whose send is not committed yet", delay=10)
    elif ev.is_oa_echo:
        await store_admin_reply(conn, slug, oa_id, ev)
    elif (user := ev.user()) is not None:
        interaction = at if (name.startswith("user_send_") or name in INTERACTIONS) else None
        citizen_id, new = await citizens.upsert(conn, slug, oa_id, user, by_app=_by_app(ev), interaction_at=interaction)
        if new and name != "user_withdraw":  # webhooks carry no name: ask Zalo once (§1.7)
            await enqueue(conn, slug, "zalo.profile", {"citizen_id": citizen_id}, dedupe_key=f"zalo.profile:{citizen_id}",
                          max_attempts=4)
        message_id = None
        payload: dict[str, Any] = {}
        if name == "follow":
            await conn.execute("UPDATE citizen SET following = true, followed_at = $3 WHERE tenant_id = $1 AND id = $2",
                               slug, citizen_id, at)
        elif name == "unfollow":
            await conn.execute("UPDATE citizen SET following = false WHERE tenant_id = $1 AND id = $2", slug, citizen_id)
        elif name == "user_submit_info":
            info = submitted_info(ev.info)
            await citizens.save_info(conn, ctx.runtime.crypto, slug, citizen_id, info, at)
            payload = {"shared": sorted(info)}  # which fields, never the values
            # The raw event carried the phone and address in clear: keep only that it happened.
            await conn.execute("UPDATE webhook_event SET payload = payload - 'info' || '{\"info\": \"sealed\"}' "
                               "WHERE tenant_id = $1 AND id = $2", slug, row["id"])
        elif name == "user_withdraw":
            await citizens.erase(conn, slug, citizen_id, user)
        elif name.startswith("user_send_"):
            [(message_id, payload)] = await store_inbound_many(conn, slug, [(citizen_id, ev)])
        if name != "user_withdraw":
            await _converse(ctx, tenant, row, ev, user, citizen_id, message_id, payload)
    await conn.execute(MARK_PROCESSED, slug, [row["id"]])
    metrics.EVENTS_PROCESSED.labels(slug, "zalo", name or "-").inc()


def _by_app(ev: ZaloEvent) -> str | None:
    return str(ev.user_id_by_app) if ev.user_id_by_app is not None else None


async def _converse(ctx: JobContext, tenant: Tenant, row: Record, ev: ZaloEvent, user: str, citizen_id: int,
                    message_id: int | None, payload: dict[str, Any], replies: list[Message] | None = None) -> None:
    """Hand a citizen's event to the conversation layer (the bot, or the default acknowledgement).
    With ``replies``, its replies are collected there instead of queued one by one."""
    if not wants_chat(ev):
        return
    name = ev.event_name
    kind = name.removeprefix("user_send_") if name.startswith("user_send_") else name
    chat = ChatEvent(event_id=row["id"], event_key=row["event_key"], event_name=name, kind=kind,
                     citizen_id=citizen_id, zalo_user_id=user, text=ev.message.text if ev.message else None,
                     payload=payload, message_id=message_id, raw=ev)
    await dispatch(chat, ChatContext(conn=ctx.conn, runtime=ctx.runtime, tenant=tenant, event=chat, pending=replies))


async def store_inbound_many(conn: asyncpg.Connection, slug: str,
                             messages: list[tuple[int, ZaloEvent]]) -> list[tuple[int, dict[str, Any]]]:
    """Citizens' messages as ``message`` rows (direction 'in'), one statement for all; returns
    each one's (id, payload). Attachments go in ``payload`` (an image's URL also as
    ``payload.url``). Several messages must have distinct msg_ids (how rows are matched)."""
    payloads = [_inbound_payload(ev) for _, ev in messages]
    rows = await conn.fetch(
        """INSERT INTO message (tenant_id, citizen_id, direction, author, kind, text, payload, zalo_msg_id)
           SELECT $1, c, 'in', 'citizen', k, t, p::jsonb, m
           FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[]) AS x(c, k, t, p, m)
           RETURNING id, zalo_msg_id""",
        slug, [c for c, _ in messages], [ev.event_name.removeprefix("user_send_") for _, ev in messages],
        [ev.message.text if ev.message else None for _, ev in messages], [json.dumps(p) for p in payloads],
        [ev.msg_id for _, ev in messages])
    if len(rows) == 1:
        return [(rows[0]["id"], payloads[0])]
    by_msg = {r["zalo_msg_id"]: r["id"] for r in rows}
    return [(by_msg[ev.msg_id], p) for (_, ev), p in zip(messages, payloads, strict=True)]


def _inbound_payload(ev: ZaloEvent) -> dict[str, Any]:
    msg = ev.message
    payload: dict[str, Any] = {}
    if msg and msg.attachments:
        payload["attachments"] = [{"type": a.type, "payload": a.payload} for a in msg.attachments]
        first = msg.attachments[0].payload
        if isinstance(first, dict) and first.get("url"):
            payload["url"] = first["url"]
        if isinstance(first, dict) and isinstance(first.get("coordinates"), dict):
            payload["coordinates"] = first["coordinates"]
    if msg and msg.quote_msg_id is not None:
        payload["quote_msg_id"] = str(msg.quote_msg_id)
    return payload


async def store_admin_reply(conn: asyncpg.Connection, slug: str, oa_id: str, ev: ZaloEvent) -> None:
    """An echo with ``admin_id`` is a person answering from Zalo's OA chat tool: keep it in the
    conversation. Echoes of our own API sends are already recorded by the sender."""
    if not ev.sender or ev.sender.admin_id is None or not (user := ev.user()):
        return
    citizen_id, _ = await citizens.upsert(conn, slug, oa_id, user)
    await conn.execute(
        """INSERT INTO message (tenant_id, citizen_id, direction, author, kind, text, payload, zalo_msg_id)
           VALUES ($1, $2, 'out', $3, $4, $5, '{}', $6)""",
        slug, citizen_id, f"oa-admin:{ev.sender.admin_id}", ev.event_name.removeprefix("oa_send_"),
        ev.message.text if ev.message else None, ev.msg_id)


async def apply_receipt(conn: asyncpg.Connection, slug: str, ev: ZaloEvent, at: datetime, *, zns: bool) -> bool:
    """Delivery and seen receipts move ``notification`` forward (never back). True if one matched."""
    msg = ev.message
    if msg is None:
        return True
    if ev.event_name == "user_seen_message":
        ids = [str(i) for i in (msg.msg_ids or [])] + ([ev.msg_id] if ev.msg_id else [])
        res = await conn.execute(
            """UPDATE notification SET seen_at = coalesce(seen_at, $3), delivered_at = coalesce(delivered_at, $3),
                 status = CASE WHEN status = 'sent' THEN 'delivered' ELSE status END
               WHERE tenant_id = $1 AND zalo_msg_id = ANY($2::text[])""", slug, ids, at)
        return res != "UPDATE 0"
    if zns or msg.tracking_id:
        when = at
        if msg.delivery_time is not None:  # ZNS: the device's receipt time, not the event's (§4.8)
            when = event_time(ZaloEvent(timestamp=msg.delivery_time))
        res = await conn.execute(
            """UPDATE notification SET status = 'delivered', delivered_at = coalesce(delivered_at, $3),
                 zalo_msg_id = coalesce(zalo_msg_id, $4), channel = coalesce(channel, 'zns')
               WHERE tenant_id = $1 AND tracking_id = $2 AND status IN ('queued', 'sent', 'delivered')""",
            slug, msg.tracking_id, when, ev.msg_id)
        if res == "UPDATE 0" and msg.tracking_id:
            # The worker died after Zalo accepted: the row is still queued with no tracking id
            # recorded. Our tracking ids are "<tenant>-<notification id>".
            nid = msg.tracking_id.rsplit("-", 1)[-1]
            if nid.isdigit() and tracking_id(slug, int(nid)) == msg.tracking_id:
                res = await conn.execute(
                    """UPDATE notification SET status = 'delivered', delivered_at = $3, zalo_msg_id = $4,
                         tracking_id = $5, channel = 'zns', sent_at = coalesce(sent_at, $3)
                       WHERE tenant_id = $1 AND id = $2 AND status IN ('queued', 'sent')""",
                    slug, int(nid), when, ev.msg_id, msg.tracking_id)
        return res != "UPDATE 0"
    res = await conn.execute(
        """UPDATE notification SET status = 'delivered', delivered_at = coalesce(delivered_at, $3)
           WHERE tenant_id = $1 AND zalo_msg_id = $2 AND status IN ('sent', 'delivered')""", slug, ev.msg_id, at)
    return res != "UPDATE 0"


async def profile_job(job: Job, ctx: JobContext) -> None:
    """``zalo.profile``: the new citizen's display name from ``/v3.0/oa/user/detail``. Best
    effort: a disconnected OA or a refusal leaves the name empty; network trouble retries."""
    conn, slug, rt = ctx.conn, ctx.tenant_id, ctx.runtime
    row = await conn.fetchrow("SELECT zalo_user_id, display_name, erased_at FROM citizen WHERE tenant_id = $1 AND id = $2",
                              slug, int(job.payload["citizen_id"]))
    if row is None or row["display_name"] or row["erased_at"]:
        return
    try:
        token = await tokens.access_token(rt, slug)
        detail = await ZaloClient(rt.http, rt.settings.zalo).user_detail(token, row["zalo_user_id"])
    except (tokens.NotConnected, Rejected, WindowClosed, QuotaExceeded, RateLimited, TokenExpired):
        return
    name = str(detail.get("display_name") or "").strip()
    if name:
        await conn.execute("UPDATE citizen SET display_name = $3 WHERE tenant_id = $1 AND id = $2 "
                           "AND display_name IS NULL AND erased_at IS NULL", slug, int(job.payload["citizen_id"]), name[:200])


async def cleanup_job(job: Job, ctx: JobContext) -> None:
    """``zalo.cleanup`` (daily per tenant): raw webhook events past the tenant's retention
    (``retention.webhook_events_days``; dedupe needs only Zalo's two-hour retry window), send
    attempts of finished messages after a week, and abandoned OAuth states."""
    conn, slug = ctx.conn, ctx.tenant_id
    tenant = await ctx.runtime.tenant(slug)
    days = tenant.file.retention.webhook_events_days if tenant else 90
    await conn.execute("DELETE FROM webhook_event WHERE tenant_id = $1 AND source = 'zalo' AND processed_at IS NOT NULL "
                       "AND received_at < now() - make_interval(days => $2)", slug, days)
    await conn.execute("""DELETE FROM zalo_send_attempt a USING notification n
                          WHERE a.tenant_id = $1 AND n.tenant_id = a.tenant_id AND n.id = a.notification_id
                            AND n.status <> 'queued' AND a.started_at < now() - interval '7 days'""", slug)
    await conn.execute("DELETE FROM zalo_oauth_state WHERE tenant_id = $1 AND created_at < now() - interval '1 hour'",
                       slug)
